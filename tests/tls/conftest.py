"""Emulators that serve TLS, and module options that validate the server certificate through ca_file.

Tests collected under tests/tls get these ``emulator`` / ``emulator_factory`` in place of the plain ones,
so integration tests re-collected here (test_integration_over_tls.py) run unchanged over TLS with the
modules' default ``encrypt: true``.
"""
import pytest

from tests.emulator.fixtures import EmulatorInstance


class TlsEmulatorInstance(EmulatorInstance):
    """An instance started with --tls-cert/--tls-key whose module options validate that certificate."""

    def module_params(self):
        params = super().module_params()
        params.update(encrypt=True, ca_file=self.tls_cert)
        return params


@pytest.fixture
def emulator_factory(emulator_factory):  # pylint: disable=redefined-outer-name
    def make(**options):
        if not options.get('tls_cert'):
            options['tls'] = True
        instance = emulator_factory(**options)
        instance.__class__ = TlsEmulatorInstance
        return instance
    return make


@pytest.fixture
def emulator(emulator_factory):  # pylint: disable=redefined-outer-name
    return emulator_factory()
