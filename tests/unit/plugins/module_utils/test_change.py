"""Shared module mechanics: recording, masking, check mode, failure reports."""
import pytest

from ansible_collections.mssql.hadr.plugins.module_utils._catalog import ModuleFailure, Statement
from ansible_collections.mssql.hadr.plugins.module_utils._change import ChangeRecorder, diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import quote_string
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import MssqlError
from tests.support.fake_module import FakeModule, ModuleExit


class RecordingConnection:
    """Stands in for a database connection (unit level: no server); fails on chosen statements."""

    def __init__(self, fail_on=None):
        self.executed = []
        self.fail_on = fail_on
        self.closed = False

    def execute(self, sql):
        if self.fail_on and self.fail_on in sql:
            raise MssqlError("Cannot find the login 'ghost'.", 15151, '42000', sql)
        self.executed.append(sql)

    def close(self):
        self.closed = True


def test_recorder_executes_and_masks():
    conn = RecordingConnection()
    changes = ChangeRecorder(conn, check_mode=False)
    changes.run(Statement('CREATE LOGIN [a] WITH PASSWORD = %s' % quote_string("s'ecret"), ["s'ecret"]))
    assert conn.executed == ["CREATE LOGIN [a] WITH PASSWORD = N's''ecret'"]
    assert changes.queries == ["CREATE LOGIN [a] WITH PASSWORD = N'********'"]
    assert changes.executed == changes.queries and changes.changed


def test_recorder_in_check_mode_executes_nothing():
    conn = RecordingConnection()
    changes = ChangeRecorder(conn, check_mode=True)
    changes.run(Statement('DROP ENDPOINT [e]'))
    assert conn.executed == [] and changes.executed == []
    assert changes.queries == ['DROP ENDPOINT [e]'] and changes.changed


def run(work, **module_kwargs):
    module = FakeModule(**module_kwargs)
    conn = RecordingConnection(fail_on='ghost')
    with pytest.raises(ModuleExit):
        run_module(module, work, connection=conn)
    assert conn.closed
    return module.outcome


def test_run_module_success_returns_changed_and_queries():
    def work(module, conn, changes):
        changes.run(Statement('GRANT CONNECT ON ENDPOINT::[e] TO [a]'))
        return {'endpoint': 'e'}
    kind, result = run(work)
    assert kind == 'exit'
    assert result == {'endpoint': 'e', 'changed': True, 'queries': ['GRANT CONNECT ON ENDPOINT::[e] TO [a]']}


def test_run_module_reports_what_ran_before_a_sql_error():
    def work(module, conn, changes):
        changes.run(Statement('GRANT CONNECT ON ENDPOINT::[e] TO [a]'))
        changes.run(Statement('GRANT CONNECT ON ENDPOINT::[e] TO [ghost]'))
    kind, result = run(work)
    assert kind == 'fail'
    assert result['error_number'] == 15151
    assert result['executed'] == ['GRANT CONNECT ON ENDPOINT::[e] TO [a]']
    assert result['failed_statement'] == 'GRANT CONNECT ON ENDPOINT::[e] TO [ghost]'
    assert result['changed'] is True
    assert "Cannot find the login 'ghost'" in result['msg']
    assert 'already executed before the failure: GRANT CONNECT ON ENDPOINT::[e] TO [a]' in result['msg']


def test_run_module_validation_failure_changes_nothing():
    def work(module, conn, changes):
        raise ModuleFailure('certificate is required when authentication uses certificates', option='certificate')
    kind, result = run(work)
    assert kind == 'fail'
    assert result['msg'] == 'certificate is required when authentication uses certificates'
    assert result['option'] == 'certificate' and result['changed'] is False and result['executed'] == []


def test_diff_result_only_in_diff_mode():
    assert diff_result(FakeModule(diff=False), {'a': 1}, {'a': 2}) == {}
    assert diff_result(FakeModule(diff=True), {'a': 1}, {'a': 2}) == {'diff': {'before': {'a': 1}, 'after': {'a': 2}}}
