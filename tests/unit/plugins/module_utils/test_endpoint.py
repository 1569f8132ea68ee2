"""The endpoint family's pure logic: parsing catalog rows, differences, statements, grants, the in-use check."""
import datetime

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as ep
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import ModuleFailure, hex_lower, iso_utc
from ansible_collections.mssql.hadr.plugins.module_utils._x509 import der_to_pem
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import TsqlValueError

PARAMS = dict(name='Hadr_endpoint', endpoint_state='started', port=5022, listener_ip='ALL', role='all',
              authentication='windows', windows_protocol='negotiate', certificate=None, encryption='required',
              encryption_algorithm='aes', owner=None)


def params(**changes):
    result = dict(PARAMS)
    result.update(changes)
    return result


def endpoint_row(**changes):
    row = dict(endpoint_id=65536, name='Hadr_endpoint', state_desc='STARTED', role=3, connection_auth=3,
               certificate_id=0, encryption_algorithm=2, port=5022, ip_address=None, owner='sa',
               certificate_name=None)
    row.update(changes)
    return row


def test_parse_endpoint_maps_every_code():
    parsed = ep.parse_endpoint([endpoint_row()])
    assert parsed == {'name': 'Hadr_endpoint', 'id': 65536, 'state': 'started', 'port': 5022, 'listener_ip': 'ALL',
                      'role': 'all', 'authentication': 'windows', 'windows_protocol': 'negotiate',
                      'certificate': None, 'encryption': 'required', 'encryption_algorithm': 'aes', 'owner': 'sa'}
    cert = ep.parse_endpoint([endpoint_row(connection_auth=9, certificate_name='c1', encryption_algorithm=7,
                                           role=2, ip_address='10.0.0.5', state_desc='DISABLED')])
    assert (cert['authentication'], cert['windows_protocol'], cert['certificate']) == (
        'certificate_windows', 'kerberos', 'c1')
    assert (cert['encryption'], cert['encryption_algorithm'], cert['role'], cert['listener_ip'], cert['state']) == (
        'supported', 'rc4_aes', 'witness', '10.0.0.5', 'disabled')
    assert ep.parse_endpoint([]) is None


@pytest.mark.parametrize('code, expected', sorted(ep.ENCRYPTION_CODES.items()))
def test_every_encryption_code_round_trips_through_the_ddl_clause(code, expected):
    spec = dict(encryption=expected[0], encryption_algorithm=expected[1])
    clause = ep._encryption_clause(spec)
    if expected[0] == 'disabled':
        assert clause == 'ENCRYPTION = DISABLED'
    else:
        assert clause == 'ENCRYPTION = %s ALGORITHM %s' % (expected[0].upper(), expected[1].upper().replace('_', ' '))


def test_desired_endpoint_validates_input():
    assert ep.desired_endpoint(params())['windows_protocol'] == 'negotiate'
    cert = ep.desired_endpoint(params(authentication='certificate', certificate='c'))
    assert cert['windows_protocol'] is None and cert['certificate'] == 'c'
    assert ep.desired_endpoint(params(encryption='disabled'))['encryption_algorithm'] is None
    with pytest.raises(ModuleFailure, match='needs a certificate'):
        ep.desired_endpoint(params(authentication='certificate_windows'))
    with pytest.raises(ModuleFailure, match='authentication is windows'):
        ep.desired_endpoint(params(certificate='c'))
    for port in (0, 70000, -1):
        with pytest.raises(ModuleFailure, match='not a TCP port'):
            ep.desired_endpoint(params(port=port))
    with pytest.raises(ModuleFailure, match='not an IPv4 or IPv6 address'):
        ep.desired_endpoint(params(listener_ip='10.0.0.300'))
    with pytest.raises(ModuleFailure, match='not an IPv4 or IPv6 address'):
        ep.desired_endpoint(params(listener_ip='10.0.0.1); DROP LOGIN sa; --'))
    with pytest.raises(TsqlValueError, match='at most 128'):
        ep.desired_endpoint(params(name='e' * 129))
    with pytest.raises(TsqlValueError, match='owner'):
        ep.desired_endpoint(params(owner=''))


def test_ip_addresses_are_canonical():
    assert ep.normalise_ip('ALL') == 'ALL' and ep.normalise_ip(None) == 'ALL' and ep.normalise_ip('all') == 'ALL'
    assert ep.normalise_ip('FE80:0:0::1') == 'fe80::1'
    assert ep.normalise_ip(' 10.1.2.3 ') == '10.1.2.3'


def test_create_statement_spells_out_every_option_and_quotes_names():
    spec = ep.desired_endpoint(params(name="a]b'c; --", owner='DOM\\svc]x', authentication='windows_certificate',
                                      certificate='cert]1', windows_protocol='kerberos', listener_ip='::1',
                                      encryption='supported', encryption_algorithm='aes_rc4', role='partner',
                                      endpoint_state='stopped', port=7022))
    assert ep.create_endpoint_sql(spec) == (
        "CREATE ENDPOINT [a]]b'c; --] AUTHORIZATION [DOM\\svc]]x] STATE = STOPPED AS TCP (LISTENER_PORT = 7022, "
        "LISTENER_IP = ('::1')) FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS KERBEROS CERTIFICATE [cert]]1], "
        "ENCRYPTION = SUPPORTED ALGORITHM AES RC4, ROLE = PARTNER)")
    plain = ep.create_endpoint_sql(ep.desired_endpoint(params(listener_ip='10.0.0.5')))
    assert plain == ('CREATE ENDPOINT [Hadr_endpoint] STATE = STARTED AS TCP (LISTENER_PORT = 5022, '
                     'LISTENER_IP = (10.0.0.5)) FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS NEGOTIATE, '
                     'ENCRYPTION = REQUIRED ALGORITHM AES, ROLE = ALL)')


def current_endpoint(**changes):
    parsed = ep.parse_endpoint([endpoint_row()])
    parsed.update(changes)
    return parsed


def test_no_difference_means_no_statement():
    desired = ep.desired_endpoint(params())
    fields = ep.endpoint_differences(current_endpoint(), desired)
    assert fields == [] and ep.alter_endpoint_sql('Hadr_endpoint', desired, fields) is None
    # Owner spelled in another case is the same login; certificate names compare the same way.
    assert ep.endpoint_differences(current_endpoint(owner='SA'), ep.desired_endpoint(params(owner='sa'))) == []


@pytest.mark.parametrize('option, value, expected', [
    ('endpoint_state', 'stopped', 'ALTER ENDPOINT [Hadr_endpoint] STATE = STOPPED'),
    ('port', 5023, 'ALTER ENDPOINT [Hadr_endpoint] AS TCP (LISTENER_PORT = 5023)'),
    ('listener_ip', '10.0.0.5', 'ALTER ENDPOINT [Hadr_endpoint] AS TCP (LISTENER_PORT = 5022, LISTENER_IP = (10.0.0.5))'),
    ('role', 'witness', 'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ROLE = WITNESS)'),
    ('windows_protocol', 'ntlm',
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS NTLM, ROLE = ALL)'),
    ('encryption', 'disabled',
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ENCRYPTION = DISABLED, ROLE = ALL)'),
    ('encryption_algorithm', 'rc4_aes',
     'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM RC4 AES, ROLE = ALL)'),
])
def test_each_option_change_alters_only_that_option(option, value, expected):
    desired = ep.desired_endpoint(params(**{option: value}))
    fields = ep.endpoint_differences(current_endpoint(), desired)
    assert fields and set(fields) <= {'state', 'port', 'listener_ip', 'role', 'windows_protocol', 'encryption',
                                      'encryption_algorithm'}
    assert ep.alter_endpoint_sql('Hadr_endpoint', desired, fields) == expected


def test_certificate_change_and_owner_change():
    current = current_endpoint(authentication='certificate', windows_protocol=None, certificate='old')
    desired = ep.desired_endpoint(params(authentication='certificate', certificate='new', owner='DOM\\ep'))
    fields = ep.endpoint_differences(current, desired)
    assert fields == ['certificate', 'owner']
    assert ep.alter_endpoint_sql('Hadr_endpoint', desired, fields) == (
        'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE [new], ROLE = ALL)')
    assert ep.alter_owner_sql('Hadr_endpoint', 'DOM\\ep') == 'ALTER AUTHORIZATION ON ENDPOINT::[Hadr_endpoint] TO [DOM\\ep]'
    after = ep.predicted_endpoint(current, desired)
    assert after['certificate'] == 'new' and after['owner'] == 'DOM\\ep' and after['id'] == 65536


def test_predicted_endpoint_for_a_new_endpoint_is_owned_by_the_caller():
    after = ep.predicted_endpoint(None, ep.desired_endpoint(params()), caller='sa')
    assert after['id'] is None and after['owner'] == 'sa' and after['name'] == 'Hadr_endpoint'


def test_grants_and_revokes():
    assert ep.grant_connect_sql('e]', 'DOM\\a') == 'GRANT CONNECT ON ENDPOINT::[e]]] TO [DOM\\a]'
    assert ep.grant_connect_sql('e', 'a', True) == 'GRANT CONNECT ON ENDPOINT::[e] TO [a] WITH GRANT OPTION'
    assert ep.revoke_connect_sql('e', "o'k") == "REVOKE CONNECT ON ENDPOINT::[e] FROM [o'k]"
    assert ep.revoke_connect_sql('e', 'a', cascade=True) == 'REVOKE CONNECT ON ENDPOINT::[e] FROM [a] CASCADE'


def test_plan_connect():
    have = ['DOM\\A', 'b', 'c']
    assert ep.plan_connect(have, ['dom\\a', 'd', 'D'], 'present', False) == (['d'], [])
    assert ep.plan_connect(have, ['dom\\a', 'd'], 'present', True, owner='c') == (['d'], ['b'])
    assert ep.plan_connect(have, ['B', 'zz'], 'absent', False) == ([], ['b'])
    assert ep.plan_connect([], ['owner'], 'present', False, owner='OWNER') == ([], [])
    assert ep.plan_connect(have, [], 'present', True) == ([], ['b', 'c', 'DOM\\A'])


def test_permissions_and_grantees():
    rows = [dict(endpoint_id=65536, permission_name='CONNECT', state_desc='GRANT', grantee='b', grantee_type='SQL_LOGIN'),
            dict(endpoint_id=65536, permission_name='CONNECT', state_desc='GRANT_WITH_GRANT_OPTION', grantee='A',
                 grantee_type='WINDOWS_LOGIN'),
            dict(endpoint_id=65536, permission_name='CONNECT', state_desc='DENY', grantee='x', grantee_type='SQL_LOGIN'),
            dict(endpoint_id=65536, permission_name='VIEW DEFINITION', state_desc='GRANT', grantee='v',
                 grantee_type='SQL_LOGIN'),
            dict(endpoint_id=4, permission_name='CONNECT', state_desc='GRANT', grantee='public', grantee_type='SERVER_ROLE')]
    permissions = ep.endpoint_permissions(rows, 65536)
    assert len(permissions) == 4
    assert ep.connect_grantees(permissions) == ['A', 'b']
    restore, skipped = ep.permissions_to_restore(permissions, new_owner='B', caller='sa')
    assert [p['grantee'] for p in skipped] == ['b']
    assert [ep.restore_permission_sql('e', p) for p in restore] == [
        'GRANT CONNECT ON ENDPOINT::[e] TO [A] WITH GRANT OPTION', 'DENY CONNECT ON ENDPOINT::[e] TO [x]',
        'GRANT VIEW DEFINITION ON ENDPOINT::[e] TO [v]']
    assert ep.endpoint_permissions(rows, None) == []


def test_in_use_sessions_and_guard():
    sessions = ep.in_use_sessions(
        [dict(availability_group='AG1', replica_server_name='SQL1', role_desc='PRIMARY', connected_state_desc='CONNECTED')],
        [dict(database_name='db', mirroring_role_desc='PRINCIPAL', mirroring_state_desc='SYNCHRONIZED',
              mirroring_partner_name='TCP://b:5022')])
    assert sessions == ["availability group 'AG1' (local replica 'SQL1', role PRIMARY, connected)",
                        "database mirroring of 'db' (role PRINCIPAL, synchronized, partner TCP://b:5022)"]
    with pytest.raises(ModuleFailure) as failure:
        ep.refuse_if_in_use(sessions, 'change port (5022 -> 5023)', False)
    assert "Refusing to change port (5022 -> 5023)" in failure.value.msg and "'AG1'" in failure.value.msg
    assert 'reconfigure_in_use: true' in failure.value.msg
    assert failure.value.details['in_use_sessions'] == sessions
    ep.refuse_if_in_use(sessions, 'drop', True)
    ep.refuse_if_in_use([], 'drop', False)


def test_certificate_problems():
    now = datetime.datetime(2026, 6, 1)
    good = dict(pvt_key_encryption_type='MK', start_date=datetime.datetime(2026, 1, 1),
                expiry_date=datetime.datetime(2027, 1, 1))
    assert ep.certificate_problem(good, now) is None
    assert ep.certificate_problem(None, now) == 'it does not exist in master'
    assert 'protected by a password' in ep.certificate_problem(dict(good, pvt_key_encryption_type='PW'), now)
    assert 'has no private key' in ep.certificate_problem(dict(good, pvt_key_encryption_type='NA'), now)
    assert ep.certificate_problem(dict(good, expiry_date=datetime.datetime(2026, 5, 1)), now) == \
        'it expired on 2026-05-01T00:00:00Z'
    assert 'not valid yet' in ep.certificate_problem(dict(good, start_date=datetime.datetime(2026, 7, 1)), now)


def test_formatting_helpers():
    assert iso_utc(datetime.datetime(2026, 1, 2, 3, 4, 5, 600)) == '2026-01-02T03:04:05Z'
    assert hex_lower(b'\xab\x01') == 'ab01'
    assert ep.endpoint_url('host.example.com', 5022) == 'TCP://host.example.com:5022'
    assert ep.endpoint_url('fe80::1', 5022) == 'TCP://[fe80::1]:5022'
    endpoint = {'listener_ip': '0.0.0.0', 'port': 5022}
    assert ep.with_url(endpoint, [], None, 'SQL1')['url'] == 'TCP://SQL1:5022'
    assert ep.with_url(dict(endpoint, listener_ip='10.0.0.5'), [], None, 'SQL1')['url'] == 'TCP://10.0.0.5:5022'
    assert ep.with_url(dict(endpoint, listener_ip='10.0.0.5'), ['x'], 'a.example', 'SQL1') == dict(
        endpoint, listener_ip='10.0.0.5', in_use=True, url='TCP://a.example:5022')
    assert ep.with_url(None, [], None, 'SQL1') is None
    pem = der_to_pem(b'\x30' * 100)
    assert pem.startswith('-----BEGIN CERTIFICATE-----\n') and pem.endswith('-----END CERTIFICATE-----\n')
    assert max(len(line) for line in pem.splitlines()) == 64


def test_warnings():
    assert ep.warnings_for(ep.desired_endpoint(params())) == []
    warnings = ep.warnings_for(ep.desired_endpoint(params(port=40000, encryption_algorithm='rc4')))
    assert any('outside 1024-32767' in w for w in warnings) and any('RC4' in w for w in warnings)
