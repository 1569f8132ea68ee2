"""The Hypothesis profiles of every test session (loaded by tests/conftest.py, so they hold for every test).

``mssql-hadr-test`` (the default; make test): derandomized, no example database, no deadline - the same
examples every run, whatever the machine's load, so the same code gets the same verdict.
``mssql-hadr-fuzz`` (make fuzz: HYPOTHESIS_PROFILE=mssql-hadr-fuzz): random, failures kept in .hypothesis/
and replayed first.
"""
import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, print_blob=True,
               # one emulator serves every example of a fuzz test; each example puts the catalog back
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile('mssql-hadr-test', derandomize=True, database=None, **_COMMON)
settings.register_profile('mssql-hadr-fuzz', **_COMMON)
PROFILE = os.environ.get('HYPOTHESIS_PROFILE', 'mssql-hadr-test')
if PROFILE not in ('mssql-hadr-test', 'mssql-hadr-fuzz'):
    PROFILE = 'mssql-hadr-test'
settings.load_profile(PROFILE)
