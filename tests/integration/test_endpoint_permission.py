"""mssql.hadr.endpoint_permission through real ansible-playbook against emulated instances."""
import pytest

from tests.support.emulated_sql import (
    connect_grantees, create_logins, ddl_in, per_connection, play)
from tests.emulator.fixtures import free_port

pytestmark = pytest.mark.slow
GRANT = 'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [%s]'
REVOKE = 'REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [%s]'


@pytest.fixture
def with_endpoint(emulator):
    run = play(emulator, [{'name': 'create', 'mssql.hadr.endpoint': {'port': free_port()}}])
    assert run.rc == 0, run
    return emulator


def test_grant_check_mode_idempotence_and_round_trips(with_endpoint):
    emulator = with_endpoint
    logins = ['sql]2; --', "o'brien", 'partner3', 'Ünïcødé_登录']
    create_logins(emulator, *logins)
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'predict', 'mssql.hadr.endpoint_permission': {'logins': logins}, 'check_mode': True},
        {'name': 'grant', 'mssql.hadr.endpoint_permission': {'logins': logins}},
        {'name': 'again', 'mssql.hadr.endpoint_permission': {'logins': [name.upper() for name in logins]}},
    ], diff=True)
    assert run.rc == 0, run
    expected = [GRANT % name.replace(']', ']]') for name in logins]
    predicted, granted, again = run.result('predict'), run.result('grant'), run.result('again')
    assert predicted['changed'] and predicted['queries'] == expected
    assert predicted['grantees_before'] == [] and predicted['grantees_after'] == sorted(logins, key=str.casefold)
    assert granted['queries'] == expected and granted['granted'] == logins
    assert granted['diff'] == {'before': {'grantees': []}, 'after': {'grantees': sorted(logins, key=str.casefold)}}
    assert not again['changed'] and again['queries'] == [] and again['grantees_before'] == granted['grantees_after']
    predict_trips, grant_trips, again_trips = per_connection(emulator, mark)
    assert len(predict_trips) == 1 and ddl_in(predict_trips) == []
    assert ddl_in(grant_trips) == expected and len(grant_trips) == 1 + len(expected)
    assert len(again_trips) == 1
    assert connect_grantees(emulator) == sorted(logins)


def test_exclusive_and_absent(with_endpoint):
    emulator = with_endpoint
    create_logins(emulator, 'login_a', 'login_b', 'login_c')
    run = play(emulator, [
        {'name': 'grant all', 'mssql.hadr.endpoint_permission': {'logins': ['login_a', 'login_b', 'login_c']}},
        {'name': 'only a', 'mssql.hadr.endpoint_permission': {'logins': ['login_a'], 'exclusive': True}},
        {'name': 'only a again', 'mssql.hadr.endpoint_permission': {'logins': ['login_a'], 'exclusive': True}},
        {'name': 'revoke a', 'mssql.hadr.endpoint_permission': {'logins': ['login_a', 'never_existed'], 'state': 'absent'}},
        {'name': 'revoke a again', 'mssql.hadr.endpoint_permission': {'logins': ['login_a'], 'state': 'absent'}},
    ], diff=True)
    assert run.rc == 0, run
    only = run.result('only a')
    assert only['queries'] == [REVOKE % 'login_b', REVOKE % 'login_c'] and only['revoked'] == ['login_b', 'login_c']
    assert only['grantees_after'] == ['login_a']
    assert not run.result('only a again')['changed']
    assert run.result('revoke a')['queries'] == [REVOKE % 'login_a'] and run.result('revoke a')['grantees_after'] == []
    assert not run.result('revoke a again')['changed']
    assert connect_grantees(emulator) == []


def test_missing_logins_fail_before_any_change(with_endpoint):
    emulator = with_endpoint
    create_logins(emulator, 'real')
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'missing', 'ignore_errors': True,
         'mssql.hadr.endpoint_permission': {'logins': ['real', 'ghost1', 'ghost2']}},
        {'name': 'too long', 'ignore_errors': True, 'mssql.hadr.endpoint_permission': {'logins': ['x' * 129]}},
        {'name': 'no such endpoint', 'ignore_errors': True,
         'mssql.hadr.endpoint_permission': {'endpoint': 'nope', 'logins': ['real']}},
    ])
    missing = run.result('missing')
    assert missing['failed'] and "Login(s) 'ghost1', 'ghost2' do not exist" in missing['msg']
    assert missing['missing_logins'] == ['ghost1', 'ghost2'] and missing['queries'] == []
    assert 'at most 128' in run.result('too long')['msg']
    assert "Endpoint 'nope' does not exist" in run.result('no such endpoint')['msg']
    assert all(ddl_in(trips) == [] for trips in per_connection(emulator, mark))
    assert connect_grantees(emulator) == []


def test_no_endpoint_fails_clearly(emulator):
    create_logins(emulator, 'login_a')
    run = play(emulator, [{'name': 'grant', 'ignore_errors': True,
                           'mssql.hadr.endpoint_permission': {'logins': ['login_a']}}])
    result = run.result('grant')
    assert result['failed'] and 'no database mirroring endpoint' in result['msg']


def test_revoke_while_in_use_is_guarded(with_endpoint):
    emulator = with_endpoint
    create_logins(emulator, 'login_a', 'login_b')
    run = play(emulator, [{'name': 'grant', 'mssql.hadr.endpoint_permission': {'logins': ['login_a', 'login_b']}}])
    assert run.rc == 0, run
    emulator.ctl('mark-in-use', '--availability-group', 'AG1')
    run = play(emulator, [
        {'name': 'exclusive refused', 'ignore_errors': True,
         'mssql.hadr.endpoint_permission': {'logins': ['login_a'], 'exclusive': True}},
        {'name': 'revoke refused', 'ignore_errors': True,
         'mssql.hadr.endpoint_permission': {'logins': ['login_b'], 'state': 'absent'}},
        {'name': 'grant is fine', 'mssql.hadr.endpoint_permission': {'logins': ['login_a']}},
        {'name': 'revoke allowed', 'mssql.hadr.endpoint_permission': {
            'logins': ['login_b'], 'state': 'absent', 'reconfigure_in_use': True}},
    ])
    for name in ('exclusive refused', 'revoke refused'):
        result = run.result(name)
        assert result['failed'] and "Refusing to revoke CONNECT on the endpoint from 'login_b'" in result['msg']
        assert "availability group 'AG1'" in result['msg']
    assert not run.result('grant is fine')['changed']
    assert run.result('revoke allowed')['queries'] == [REVOKE % 'login_b']
    assert connect_grantees(emulator) == ['login_a']
