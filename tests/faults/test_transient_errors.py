"""The connection layer retries SQL Server's transient errors (1205 deadlock victim, 1222 lock timeout) a
bounded number of times (mssql.py TRANSIENT_ERRORS, RETRY_ATTEMPTS); any other error fails at once, naming
the statement and the error number. Faults come from the emulator (ctl fault --action error:N)."""
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import RETRY_ATTEMPTS, TRANSIENT_ERRORS
from tests.fuzz.inprocess import run_module
from tests.fuzz.oracle import requests

LOGIN = dict(name='transient_login', password='Transient-Passw0rd!', check_policy=False)
CREATE = r'^CREATE LOGIN \[transient_login\]'


def attempts(emulator, mark, pattern='CREATE LOGIN'):
    """The error number (None: success) of each request whose SQL starts with ``pattern``, in order."""
    return [e['error'] for e in requests(emulator, mark).entries
            if e['kind'] in ('batch', 'rpc') and (e['sql'] or '').startswith(pattern)]


def test_the_retry_policy_is_what_this_test_assumes():
    assert set(TRANSIENT_ERRORS) == {1205, 1222} and RETRY_ATTEMPTS == 3


def test_a_deadlock_victim_statement_is_retried_and_succeeds(emulator):
    emulator.ctl('fault', '--match', CREATE, '--action', 'error:1205', '--times', RETRY_ATTEMPTS - 1)
    mark = emulator.mark_log()
    result = run_module('login', dict(emulator.module_params(), **LOGIN))
    assert not result.get('failed') and result['changed'], result
    assert attempts(emulator, mark) == [1205] * (RETRY_ATTEMPTS - 1) + [None]
    assert len(requests(emulator, mark).connections) == 1          # retried on the same connection


def test_a_lock_timeout_on_the_read_batch_is_retried(emulator):
    emulator.ctl('fault', '--match', r'^SELECT p\.principal_id', '--action', 'error:1222', '--times', 1)
    mark = emulator.mark_log()
    result = run_module('login', dict(emulator.module_params(), **LOGIN))
    assert not result.get('failed') and result['changed'], result
    assert attempts(emulator, mark, 'SELECT p.principal_id')[:2] == [1222, None]     # failed once, then read


def test_retries_are_bounded_then_the_failure_names_statement_and_number(emulator):
    emulator.ctl('fault', '--match', CREATE, '--action', 'error:1205', '--times', 10)
    mark = emulator.mark_log()
    result = run_module('login', dict(emulator.module_params(), **LOGIN))
    assert result['failed'] and result['error_number'] == 1205, result
    assert attempts(emulator, mark) == [1205] * RETRY_ATTEMPTS
    assert 'CREATE LOGIN [transient_login]' in result['msg'] and '1205' in result['msg'], result['msg']
    assert result['failed_statement'].startswith('CREATE LOGIN [transient_login]'), result
    assert not any(r[0] == 'transient_login' for r in _logins(emulator))


def test_other_errors_fail_fast_naming_statement_and_number(emulator):
    for number in (2627, 15247, 50000):
        emulator.ctl('fault', '--match', CREATE, '--action', 'error:%d' % number, '--times', 5)
        mark = emulator.mark_log()
        result = run_module('login', dict(emulator.module_params(), **LOGIN))
        assert result['failed'] and result['error_number'] == number, result
        assert attempts(emulator, mark) == [number], 'retried a non-transient error %d' % number
        assert 'CREATE LOGIN [transient_login]' in result['msg'] and str(number) in result['msg'], result['msg']
        emulator.ctl('clear')


def _logins(emulator):
    conn = emulator.connect()
    try:
        return conn.cursor().execute('SELECT name FROM sys.server_principals').fetchall()
    finally:
        conn.close()
