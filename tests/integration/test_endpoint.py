"""mssql.hadr.endpoint through real ansible-playbook against emulated instances."""
import socket

import pytest

from tests.emulator.fixtures import free_port
from tests.support.emulated_sql import (
    connect_grantees, create_logins, ddl_in, mirroring_endpoint, per_connection, play, query)

pytestmark = pytest.mark.slow

CREATE_DEFAULT = ('CREATE ENDPOINT [Hadr_endpoint] STATE = STARTED AS TCP (LISTENER_PORT = %d, LISTENER_IP = ALL) '
                  'FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS NEGOTIATE, ENCRYPTION = REQUIRED ALGORITHM AES, '
                  'ROLE = ALL)')


def listening(port):
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(('127.0.0.1', port)) == 0


def test_check_mode_create_then_idempotent(emulator):
    port = free_port()
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'predict', 'mssql.hadr.endpoint': {'port': port, 'fqdn': 'sql1.example.com'},
         'check_mode': True, 'register': 'predicted'},
        {'name': 'create', 'mssql.hadr.endpoint': {'port': port, 'fqdn': 'sql1.example.com'}},
        {'name': 'again', 'mssql.hadr.endpoint': {'port': port, 'fqdn': 'sql1.example.com'}},
    ], diff=True)
    assert run.rc == 0, run
    predicted, created, again = run.result('predict'), run.result('create'), run.result('again')

    assert predicted['changed'] and predicted['queries'] == [CREATE_DEFAULT % port]
    assert predicted['endpoint']['id'] is None and predicted['endpoint']['owner'] == 'sa'
    assert predicted['diff'] == {'before': {}, 'after': predicted['endpoint']}

    assert created['changed'] and created['queries'] == [CREATE_DEFAULT % port]
    expected = {'name': 'Hadr_endpoint', 'state': 'started', 'port': port, 'listener_ip': 'ALL', 'role': 'all',
                'authentication': 'windows', 'windows_protocol': 'negotiate', 'certificate': None,
                'encryption': 'required', 'encryption_algorithm': 'aes', 'owner': 'sa', 'in_use': False,
                'url': 'TCP://sql1.example.com:%d' % port}
    endpoint = dict(created['endpoint'])
    assert endpoint.pop('id') >= 65536
    assert endpoint == expected
    assert created['diff']['before'] == {} and created['diff']['after'] == created['endpoint']

    assert not again['changed'] and again['queries'] == [] and again['endpoint'] == created['endpoint']
    assert again['diff']['before'] == again['diff']['after']

    predict_trips, create_trips, again_trips = per_connection(emulator, mark)
    assert len(predict_trips) == 1 and ddl_in(predict_trips) == []          # check mode: one read, no DDL
    assert ddl_in(create_trips) == [CREATE_DEFAULT % port]
    assert len(again_trips) == 1 and ddl_in(again_trips) == []              # no-op: one round trip
    row = mirroring_endpoint(emulator)
    assert (row['name'], row['state_desc'], row['port'], row['connection_auth_desc'], row['role_desc'],
            row['encryption_algorithm_desc']) == ('Hadr_endpoint', 'STARTED', port, 'NEGOTIATE', 'ALL', 'AES')
    assert listening(port)


@pytest.mark.parametrize('changes, statement, fields', [
    ({'endpoint_state': 'stopped'}, 'ALTER ENDPOINT [Hadr_endpoint] STATE = STOPPED', {'state': 'stopped'}),
    ({'endpoint_state': 'disabled'}, 'ALTER ENDPOINT [Hadr_endpoint] STATE = DISABLED', {'state': 'disabled'}),
    ({'port': '<NEWPORT>'}, 'ALTER ENDPOINT [Hadr_endpoint] AS TCP (LISTENER_PORT = <NEWPORT>)', {'port': '<NEWPORT>'}),
    ({'listener_ip': '127.0.0.1'},
     'ALTER ENDPOINT [Hadr_endpoint] AS TCP (LISTENER_PORT = <PORT>, LISTENER_IP = (127.0.0.1))',
     {'listener_ip': '127.0.0.1'}),
    ({'role': 'witness'}, 'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ROLE = WITNESS)', {'role': 'witness'}),
    ({'role': 'partner'}, 'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ROLE = PARTNER)', {'role': 'partner'}),
    ({'windows_protocol': 'kerberos'},
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS KERBEROS, ROLE = ALL)',
     {'windows_protocol': 'kerberos'}),
    ({'windows_protocol': 'ntlm'},
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS NTLM, ROLE = ALL)',
     {'windows_protocol': 'ntlm'}),
    ({'encryption': 'supported'},
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ENCRYPTION = SUPPORTED ALGORITHM AES, ROLE = ALL)',
     {'encryption': 'supported'}),
    ({'encryption': 'disabled'},
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ENCRYPTION = DISABLED, ROLE = ALL)',
     {'encryption': 'disabled', 'encryption_algorithm': None}),
    ({'encryption_algorithm': 'rc4_aes'},
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM RC4 AES, ROLE = ALL)',
     {'encryption_algorithm': 'rc4_aes'}),
    ({'encryption_algorithm': 'aes_rc4'},
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM AES RC4, ROLE = ALL)',
     {'encryption_algorithm': 'aes_rc4'}),
    ({'encryption_algorithm': 'rc4'},
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM RC4, ROLE = ALL)',
     {'encryption_algorithm': 'rc4'}),
])
def test_every_option_change(emulator, changes, statement, fields):
    port, new_port = free_port(), free_port()

    def fill(value):
        return new_port if value == '<NEWPORT>' else value
    changes = {key: fill(value) for key, value in changes.items()}
    fields = {key: fill(value) for key, value in fields.items()}
    statement = statement.replace('<NEWPORT>', str(new_port)).replace('<PORT>', str(port))
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'create', 'mssql.hadr.endpoint': {'port': port}},
        {'name': 'change', 'mssql.hadr.endpoint': dict({'port': port}, **changes)},
        {'name': 'again', 'mssql.hadr.endpoint': dict({'port': port}, **changes)},
    ], diff=True)
    assert run.rc == 0, run
    created, changed, again = run.result('create'), run.result('change'), run.result('again')
    assert changed['changed'] and changed['queries'] == [statement]
    expected = dict(created['endpoint'], **fields)
    machine = created['endpoint']['url'].split('//')[1].rsplit(':', 1)[0]
    expected['url'] = 'TCP://%s:%d' % (machine if expected['listener_ip'] == 'ALL' else expected['listener_ip'],
                                       expected['port'])
    assert changed['endpoint'] == expected
    assert changed['diff']['before'] == created['endpoint'] and changed['diff']['after'] == expected
    assert not again['changed'] and again['queries'] == [] and again['endpoint'] == expected
    if 'rc4' in (fields.get('encryption_algorithm') or ''):
        assert any('RC4' in warning for warning in changed['warnings'])
    if fields.get('encryption') == 'disabled':
        assert any('unencrypted' in warning for warning in changed['warnings'])
    trips = per_connection(emulator, mark)
    assert ddl_in(trips[1]) == [statement] and ddl_in(trips[2]) == [] and len(trips[2]) == 1
    row = mirroring_endpoint(emulator)
    assert row['port'] == expected['port'] and row['state_desc'] == expected['state'].upper()
    assert row['role_desc'] == expected['role'].upper()


def test_port_outside_documented_range_warns(emulator):
    port = next(p for p in range(40000, 40100) if not listening(p))
    run = play(emulator, [{'name': 'create', 'mssql.hadr.endpoint': {'port': port}}])
    assert run.rc == 0, run
    result = run.result('create')
    assert result['changed'] and result['endpoint']['port'] == port
    assert any('port %d is outside 1024-32767' % port in warning for warning in result['warnings'])


def test_names_that_need_quoting_are_created_exactly(emulator):
    names = ["ep]'; DROP LOGIN sa; --", 'Endpunkt-Spiegelung-äöü-終点']
    for name in names:
        port = free_port()
        run = play(emulator, [
            {'name': 'create', 'mssql.hadr.endpoint': {'name': name, 'port': port}},
            {'name': 'again', 'mssql.hadr.endpoint': {'name': name, 'port': port}},
            {'name': 'drop', 'mssql.hadr.endpoint': {'name': name, 'state': 'absent'}},
        ])
        assert run.rc == 0, run
        assert run.result('create')['endpoint']['name'] == name
        assert run.result('create')['queries'][0].startswith('CREATE ENDPOINT [%s] ' % name.replace(']', ']]'))
        assert not run.result('again')['changed']
        assert run.result('drop')['queries'] == ['DROP ENDPOINT [%s]' % name.replace(']', ']]')]
        assert mirroring_endpoint(emulator) is None
    assert query(emulator, "SELECT name FROM sys.server_principals WHERE name = 'sa'")   # sa survived


def test_bad_input_fails_clearly_and_changes_nothing(emulator):
    port = free_port()
    create_logins(emulator, 'grantee1')
    run = play(emulator, [{'name': 'create', 'mssql.hadr.endpoint': {'port': port}},
                          {'name': 'grant', 'mssql.hadr.endpoint_permission': {'logins': ['grantee1']}}])
    assert run.rc == 0, run
    before = mirroring_endpoint(emulator)
    mark = emulator.mark_log()
    cases = [
        ('long name', {'name': 'e' * 129, 'port': port}, 'at most 128'),
        ('port 0', {'port': 0}, 'port 0 is not a TCP port'),
        ('port 70000', {'port': 70000}, 'port 70000 is not a TCP port'),
        ('port of another process', {'port': emulator.port}, 'bound by another process'),
        ('not an address', {'port': port, 'listener_ip': 'sql1.example.com'}, 'not an IPv4 or IPv6 address'),
        ('injection in address', {'port': port, 'listener_ip': '1.2.3.4); DROP ENDPOINT x; --'},
         'not an IPv4 or IPv6 address'),
        ('certificate missing', {'port': port, 'authentication': 'certificate'}, 'needs a certificate'),
        ('certificate without certificate authentication', {'port': port, 'certificate': 'c'},
         'authentication is windows'),
        ('unknown owner', {'port': port, 'owner': 'nobody'}, "Login 'nobody' (owner) does not exist"),
        ('second mirroring endpoint', {'name': 'Other_endpoint', 'port': port},
         "already has a database mirroring endpoint, named 'Hadr_endpoint'"),
        ('system endpoint name', {'name': 'TSQL Default TCP', 'port': port}, 'is a TSQL endpoint'),
    ]
    tasks = [{'name': name, 'mssql.hadr.endpoint': args, 'ignore_errors': True} for name, args, dummy in cases]
    run = play(emulator, tasks)
    for name, dummy, message in cases:
        result = run.result(name)
        assert result.get('failed'), (name, result)
        assert message in result['msg'], (name, result['msg'])
        assert not result.get('changed'), (name, result)
    assert run.result('second mirroring endpoint')['existing_endpoint'] == 'Hadr_endpoint'
    # The port owned by another process is the only case that reaches SQL Server (7890), and nothing ran.
    port_case = run.result('port of another process')
    assert port_case['error_number'] == 7890 and port_case['executed'] == []
    trips = per_connection(emulator, mark)
    assert [ddl_in(statements) for statements in trips] == [[]] * 3 + [[
        'ALTER ENDPOINT [Hadr_endpoint] AS TCP (LISTENER_PORT = %d)' % emulator.port]] + [[]] * (len(cases) - 4)
    assert mirroring_endpoint(emulator) == before and connect_grantees(emulator) == ['grantee1']


def test_linux_refuses_windows_authentication_before_any_ddl(emulator_factory):
    linux = emulator_factory(platform='linux')
    mark = linux.mark_log()
    run = play(linux, [{'name': 'windows on linux', 'mssql.hadr.endpoint': {'port': free_port()},
                        'ignore_errors': True},
                       {'name': 'fallback on linux', 'ignore_errors': True, 'mssql.hadr.endpoint': {
                           'port': free_port(), 'authentication': 'certificate_windows', 'certificate': 'c'}}])
    for name in ('windows on linux', 'fallback on linux'):
        result = run.result(name)
        assert result['failed'] and 'SQL Server on Linux does not support' in result['msg']
        assert 'use authentication: certificate' in result['msg'] and result['queries'] == []
    assert all(ddl_in(trips) == [] for trips in per_connection(linux, mark))
    assert mirroring_endpoint(linux) is None


def test_in_use_guard_both_ways(emulator):
    port, new_port = free_port(), free_port()
    run = play(emulator, [{'name': 'create', 'mssql.hadr.endpoint': {'port': port}}])
    assert run.rc == 0, run
    emulator.ctl('mark-in-use', '--availability-group', 'AG1')
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'refused', 'mssql.hadr.endpoint': {'port': new_port}, 'ignore_errors': True},
        {'name': 'refused in check mode', 'mssql.hadr.endpoint': {'port': new_port}, 'ignore_errors': True,
         'check_mode': True},
        {'name': 'drop refused', 'mssql.hadr.endpoint': {'state': 'absent'}, 'ignore_errors': True},
        {'name': 'no-op is fine', 'mssql.hadr.endpoint': {'port': port}},
        {'name': 'allowed', 'mssql.hadr.endpoint': {'port': new_port, 'reconfigure_in_use': True}},
    ])
    for name in ('refused', 'refused in check mode'):
        result = run.result(name)
        assert result['failed'] and not result['changed'], result
        assert 'Refusing to change port (%d -> %d)' % (port, new_port) in result['msg']
        assert "availability group 'AG1'" in result['msg'] and 'reconfigure_in_use: true' in result['msg']
        assert result['in_use_sessions'] and 'AG1' in result['in_use_sessions'][0]
    assert "Refusing to drop endpoint 'Hadr_endpoint'" in run.result('drop refused')['msg']
    noop = run.result('no-op is fine')
    assert not noop['changed'] and noop['endpoint']['in_use'] is True
    allowed = run.result('allowed')
    assert allowed['changed'] and allowed['queries'] == [
        'ALTER ENDPOINT [Hadr_endpoint] AS TCP (LISTENER_PORT = %d)' % new_port]
    trips = per_connection(emulator, mark)
    assert [ddl_in(t) for t in trips] == [[], [], [], [], allowed['queries']]
    assert mirroring_endpoint(emulator)['port'] == new_port


def test_in_use_by_database_mirroring(emulator):
    port = free_port()
    run = play(emulator, [{'name': 'create', 'mssql.hadr.endpoint': {'port': port}}])
    assert run.rc == 0, run
    emulator.ctl('mark-in-use', '--mirroring', 'mirrored_db')
    run = play(emulator, [{'name': 'stop', 'mssql.hadr.endpoint': {'port': port, 'endpoint_state': 'stopped'},
                           'ignore_errors': True}])
    result = run.result('stop')
    assert result['failed'] and "database mirroring of 'mirrored_db'" in result['msg']
    assert 'state (started -> stopped)' in result['msg']
    assert mirroring_endpoint(emulator)['state_desc'] == 'STARTED'


def test_owner_change_keeps_grants(emulator):
    port = free_port()
    create_logins(emulator, 'partner_a', 'partner_b', 'new_owner')
    run = play(emulator, [
        {'name': 'create', 'mssql.hadr.endpoint': {'port': port}},
        {'name': 'grant', 'mssql.hadr.endpoint_permission': {'logins': ['partner_a', 'partner_b', 'new_owner']}},
        {'name': 'owner', 'mssql.hadr.endpoint': {'port': port, 'owner': 'new_owner'}},
        {'name': 'again', 'mssql.hadr.endpoint': {'port': port, 'owner': 'NEW_OWNER'}},
    ], diff=True)
    assert run.rc == 0, run
    owner = run.result('owner')
    regrants = ['GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [partner_a]',
                'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [partner_b]']
    assert owner['queries'] == ['ALTER AUTHORIZATION ON ENDPOINT::[Hadr_endpoint] TO [new_owner]'] + regrants
    assert owner['regranted'] == regrants
    assert owner['endpoint']['owner'] == 'new_owner'
    assert owner['diff']['before']['owner'] == 'sa' and owner['diff']['after']['owner'] == 'new_owner'
    assert not run.result('again')['changed']
    assert connect_grantees(emulator) == ['partner_a', 'partner_b']   # the new owner needs none (4624)
    assert mirroring_endpoint(emulator)['owner'] == 'new_owner'


def test_sql_error_midway_reports_what_ran(emulator):
    port = free_port()
    create_logins(emulator, 'partner_a', 'new_owner')
    run = play(emulator, [
        {'name': 'create', 'mssql.hadr.endpoint': {'port': port}},
        {'name': 'grant', 'mssql.hadr.endpoint_permission': {'logins': ['partner_a']}},
    ])
    assert run.rc == 0, run
    emulator.ctl('fault', '--match', 'GRANT CONNECT', '--action', 'error:15151', '--times', '1')
    run = play(emulator, [{'name': 'owner', 'mssql.hadr.endpoint': {'port': port, 'owner': 'new_owner'},
                           'ignore_errors': True}])
    result = run.result('owner')
    assert result['failed'] and result['changed'] and result['error_number'] == 15151
    assert result['executed'] == ['ALTER AUTHORIZATION ON ENDPOINT::[Hadr_endpoint] TO [new_owner]']
    assert result['failed_statement'] == 'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [partner_a]'
    assert 'already executed before the failure: ALTER AUTHORIZATION' in result['msg']
    emulator.ctl('clear')
    # Running again repairs it: the owner is right, the missing grant comes back.
    run = play(emulator, [
        {'name': 'grant again', 'mssql.hadr.endpoint_permission': {'logins': ['partner_a']}}])
    assert run.result('grant again')['changed'] and connect_grantees(emulator) == ['partner_a']


def test_drop_and_absent_is_idempotent(emulator):
    port = free_port()
    run = play(emulator, [
        {'name': 'create', 'mssql.hadr.endpoint': {'port': port}},
        {'name': 'other name absent', 'mssql.hadr.endpoint': {'name': 'Not_this_one', 'state': 'absent'}},
        {'name': 'drop', 'mssql.hadr.endpoint': {'state': 'absent'}},
        {'name': 'drop again', 'mssql.hadr.endpoint': {'state': 'absent'}},
    ], diff=True)
    assert run.rc == 0, run
    other = run.result('other name absent')
    assert not other['changed'] and any("named 'Hadr_endpoint'" in w for w in other['warnings'])
    drop = run.result('drop')
    assert drop['changed'] and drop['queries'] == ['DROP ENDPOINT [Hadr_endpoint]'] and drop['endpoint'] is None
    assert drop['diff']['after'] == {} and drop['diff']['before']['name'] == 'Hadr_endpoint'
    assert not run.result('drop again')['changed']
    assert mirroring_endpoint(emulator) is None and not listening(port)
