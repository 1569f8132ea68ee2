import pytest

from tests.emulator.fixtures import EmulatorError, EmulatorInstance


@pytest.fixture(scope='module')
def module_emulators(tmp_path_factory):
    """emulator_factory for a whole test module (the reference run is shared by its tests)."""
    instances = []

    def make(**options):
        instance = EmulatorInstance(tmp_path_factory.mktemp('emulator'), **options)
        instances.append(instance)
        return instance.start()

    yield make
    failures = []
    for instance in instances:
        try:
            instance.stop()
        except EmulatorError as exc:
            failures.append(str(exc))
    if failures:
        raise EmulatorError('; '.join(failures))
