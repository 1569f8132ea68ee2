import os
import sys

from tests.support import collection_path
# Imported for its effect: it loads the Hypothesis profile of this session (tests/support/hypothesis_profiles.py).
from tests.support import hypothesis_profiles  # noqa: F401  # pylint: disable=unused-import

_COLLECTIONS = collection_path()
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
os.environ['ANSIBLE_COLLECTIONS_PATH'] = os.pathsep.join(
    p for p in (_COLLECTIONS, os.environ.get('ANSIBLE_COLLECTIONS_PATH')) if p)

# The emulator's fixtures (emulator, emulator_factory) for every test package.
pytest_plugins = ['tests.emulator.fixtures'] if os.path.exists(
    os.path.join(os.path.dirname(__file__), 'emulator', 'fixtures.py')) else []
