import pytest

from tests.fuzz.harness import Fuzzer


@pytest.fixture
def fuzzer(emulator):
    """A Fuzzer on a fresh emulated instance (one per test; its examples share it and clean up)."""
    fuzz = Fuzzer(emulator)
    yield fuzz
    fuzz.close()
