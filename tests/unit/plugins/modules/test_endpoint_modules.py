"""The endpoint modules' decisions, run against canned catalog rows (no server): what they refuse before any
statement, what they run, what they return. The same paths run for real in tests/integration/test_endpoint*.py."""
import datetime

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as C
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as ep
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import ModuleFailure
from ansible_collections.mssql.hadr.plugins.module_utils._change import ChangeRecorder
from ansible_collections.mssql.hadr.plugins.modules import endpoint, endpoint_info, endpoint_permission
from tests.support.fake_module import FakeModule

NOW = datetime.datetime.utcnow()
DAY = datetime.timedelta(days=1)


class CannedConnection:
    """Answers each read constant of _endpoint (or a module) with canned result sets, in batch order."""

    def __init__(self, answers):
        self.answers = answers       # list of (sql text, [result sets])
        self.reads = []
        self.executed = []

    def query_sets(self, sql, params=()):
        self.reads.append((sql, list(params)))
        found = sorted((sql.index(text), sets) for text, sets in self.answers if text in sql)
        return [result for dummy, sets in found for result in sets]

    def execute(self, sql):
        self.executed.append(sql)


def Module(module, check_mode=False, diff=False, **params):   # pylint: disable=invalid-name
    return FakeModule(module.argument_spec(), check_mode, diff, **params)


def endpoint_row(**changes):
    row = dict(endpoint_id=65536, name='Hadr_endpoint', state_desc='STARTED', role=3, connection_auth=3,
               certificate_id=0, encryption_algorithm=2, port=5022, ip_address=None, owner='sa',
               certificate_name=None)
    row.update(changes)
    return row


def cert_row(name='c1', kind='MK', start=-10, expiry=300):
    return dict(certificate_id=256, name=name, pvt_key_encryption_type=kind, start_date=NOW + start * DAY,
                expiry_date=NOW + expiry * DAY)


def grant(grantee, state='GRANT', endpoint_id=65536, permission='CONNECT'):
    return dict(endpoint_id=endpoint_id, permission_name=permission, state_desc=state, grantee=grantee,
                grantee_type='SQL_LOGIN')


def endpoint_answers(current=None, permissions=(), replicas=(), certificates=(), logins=(), platform='Windows',
                     others=()):
    endpoints = [dict(endpoint_id=4, name='TSQL Default TCP', type_desc='TSQL', port=0, owner='sa')]
    endpoints += [dict(endpoint_id=r['endpoint_id'], name=r['name'], type_desc='DATABASE_MIRRORING',
                       port=r['port'], owner=r['owner']) for r in ([current] if current else [])]
    endpoints += list(others)
    return [
        (ep.SERVER_CONTEXT_SQL, [[dict(login_name='sa', machine_name='SQL1', server_name='SQL1')],
                                 [dict(host_platform=platform)]]),
        (ep.ALL_ENDPOINTS_SQL, [endpoints]),
        (ep.MIRRORING_ENDPOINT_SQL, [[current] if current else []]),
        (ep.ENDPOINT_PERMISSIONS_SQL, [list(permissions)]),
        (ep.IN_USE_SQL, [list(replicas), []]),
        (C.certificates_sql('master'), [list(certificates)]),
        ('FROM sys.server_principals AS p LEFT JOIN sys.sql_logins',
         [[dict(name=n, type_desc='SQL_LOGIN', is_disabled=0) for n in logins]]),
    ]


def run_endpoint(answers, check_mode=False, **params):
    module = Module(endpoint, check_mode=check_mode, diff=True, **params)
    conn = CannedConnection(answers)
    changes = ChangeRecorder(conn, check_mode)
    result = endpoint.run(module, conn, changes)
    return result, conn, changes, module


def test_create_with_certificate_in_one_statement():
    answers = endpoint_answers(certificates=[cert_row('c1')], logins=['own'])
    result, conn, changes, module = run_endpoint(answers, authentication='certificate', certificate='c1', owner='own')
    assert conn.executed == [
        'CREATE ENDPOINT [Hadr_endpoint] AUTHORIZATION [own] STATE = STARTED AS TCP (LISTENER_PORT = 5022, '
        'LISTENER_IP = ALL) FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE [c1], ENCRYPTION = REQUIRED '
        'ALGORITHM AES, ROLE = ALL)']
    assert conn.reads[0][1] == ['own'] and len(conn.reads) == 2     # one read, one re-read after the change


@pytest.mark.parametrize('certificate, reason', [
    (None, 'it does not exist in master'),
    (cert_row('c1', kind='PW'), 'its private key is protected by a password, not by the database master key'),
    (cert_row('c1', kind='NA'), 'it has no private key'),
    (cert_row('c1', expiry=-1), 'it expired on'),
    (cert_row('c1', start=5), 'it is not valid yet'),
])
def test_unusable_certificate_fails_before_any_ddl(certificate, reason):
    answers = endpoint_answers(certificates=[certificate] if certificate else [])
    with pytest.raises(ModuleFailure) as failure:
        run_endpoint(answers, authentication='certificate', certificate='c1')
    assert "Certificate 'c1' cannot serve the endpoint: %s" % reason in failure.value.msg
    assert ('15151' if certificate is None else '28055') in failure.value.msg


def test_expired_certificate_of_an_unchanged_endpoint_only_warns():
    current = endpoint_row(connection_auth=4, certificate_name='c1')
    answers = endpoint_answers(current, certificates=[cert_row('c1', expiry=-2)])
    result, conn, changes, module = run_endpoint(answers, authentication='certificate', certificate='c1')
    assert conn.executed == [] and not changes.changed
    assert any("certificate 'c1' cannot serve new connections: it expired" in w for w in module.warnings)


def test_port_used_by_another_endpoint_fails_before_ddl():
    broker = dict(endpoint_id=65537, name='Broker', type_desc='SERVICE_BROKER', port=4022, owner='sa')
    with pytest.raises(ModuleFailure, match="Port 4022 is already used by endpoint 'Broker'"):
        run_endpoint(endpoint_answers(others=[broker]), port=4022)


def test_in_use_refusal_lists_every_restarting_change():
    answers = endpoint_answers(endpoint_row(), replicas=[dict(availability_group='AG1', replica_server_name='SQL1',
                                                              role_desc='PRIMARY', connected_state_desc='CONNECTED')])
    with pytest.raises(ModuleFailure) as failure:
        run_endpoint(answers, port=5023, role='partner', check_mode=True)
    assert 'change port (5022 -> 5023), role (all -> partner)' in failure.value.msg


def test_owner_change_restores_grants_and_warns_about_the_callers_own():
    permissions = [grant('a'), grant('B', 'GRANT_WITH_GRANT_OPTION'), grant('x', 'DENY'), grant('sa'),
                   grant('new', endpoint_id=65536)]
    answers = endpoint_answers(endpoint_row(), permissions=permissions, logins=['new'])
    result, conn, changes, module = run_endpoint(answers, owner='new')
    assert conn.executed == ['ALTER AUTHORIZATION ON ENDPOINT::[Hadr_endpoint] TO [new]',
                             'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [a]',
                             'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [B] WITH GRANT OPTION',
                             'DENY CONNECT ON ENDPOINT::[Hadr_endpoint] TO [x]']
    assert result['regranted'] == conn.executed[1:]
    assert any("'sa'" in w and '4624' in w for w in module.warnings)
    assert not any("'new'" in w for w in module.warnings)


def test_check_mode_runs_nothing_and_predicts():
    result, conn, changes, module = run_endpoint(endpoint_answers(endpoint_row()), check_mode=True,
                                                 endpoint_state='stopped', fqdn='sql1.example.com')
    assert conn.executed == [] and changes.queries == ['ALTER ENDPOINT [Hadr_endpoint] STATE = STOPPED']
    assert result['endpoint']['state'] == 'stopped' and result['endpoint']['url'] == 'TCP://sql1.example.com:5022'
    assert result['diff']['before']['state'] == 'started' and len(conn.reads) == 1


def permission_answers(current=None, permissions=(), replicas=(), logins=()):
    answers = endpoint_answers(current, permissions, replicas, logins=logins)
    return [a for a in answers if a[0] not in (ep.SERVER_CONTEXT_SQL, C.certificates_sql('master'))]


def run_permission(answers, check_mode=False, **params):
    module = Module(endpoint_permission, check_mode=check_mode, diff=True, **params)
    conn = CannedConnection(answers)
    changes = ChangeRecorder(conn, check_mode)
    return endpoint_permission.run(module, conn, changes), conn, module


def test_permission_grants_revokes_and_cascades():
    answers = permission_answers(endpoint_row(), [grant('old'), grant('opt', 'GRANT_WITH_GRANT_OPTION'), grant('keep')],
                                 logins=['keep', 'New'])
    result, conn, module = run_permission(answers, logins=['keep', 'New'], exclusive=True)
    assert conn.executed == ['GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [New]',
                             'REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [old]',
                             'REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [opt] CASCADE']
    assert result['grantees_before'] == ['keep', 'old', 'opt'] and result['grantees_after'] == ['keep', 'New']
    assert result['diff'] == {'before': {'grantees': ['keep', 'old', 'opt']}, 'after': {'grantees': ['keep', 'New']}}


def test_permission_refuses_missing_logins_and_in_use_revokes():
    with pytest.raises(ModuleFailure, match="Login\\(s\\) 'ghost' do not exist"):
        run_permission(permission_answers(endpoint_row(), logins=['a']), logins=['a', 'ghost'])
    replicas = [dict(availability_group='AG1', replica_server_name='S', role_desc='PRIMARY',
                     connected_state_desc='CONNECTED')]
    with pytest.raises(ModuleFailure, match="Refusing to revoke CONNECT on the endpoint from 'b'"):
        run_permission(permission_answers(endpoint_row(), [grant('b')], replicas), logins=['b'], state='absent')
    result, conn, module = run_permission(permission_answers(endpoint_row(), [grant('b')], replicas),
                                          logins=['b'], state='absent', reconfigure_in_use=True)
    assert conn.executed == ['REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [b]']
    with pytest.raises(ModuleFailure, match='no database mirroring endpoint'):
        run_permission(permission_answers(None, logins=['a']), logins=['a'])
    with pytest.raises(ModuleFailure, match='exclusive only applies to state: present'):
        run_permission(permission_answers(endpoint_row()), logins=['a'], state='absent', exclusive=True)


def test_permission_absent_for_missing_login_changes_nothing():
    result, conn, module = run_permission(permission_answers(endpoint_row(), [grant('b')]), logins=['gone'],
                                          state='absent')
    assert conn.executed == [] and result['revoked'] == [] and result['grantees_after'] == ['b']


def test_info_shapes_and_findings():
    der = b'0\x82\x01\x00' + b'\x01' * 10
    certs = [dict(certificate_id=256, name='own', thumbprint=b'\xab\xcd', subject='CN=own', issuer_name='CN=own',
                  cert_serial_number='01', start_date=datetime.datetime(2026, 1, 1), expiry_date=NOW + 10 * DAY,
                  pvt_key_encryption_type='MK', owner='dbo', owner_login='sa', login_name=None, key_length=2048, der=der),
             dict(certificate_id=257, name='peer', thumbprint=b'\x01', subject='CN=peer', issuer_name='CN=peer',
                  cert_serial_number='02', start_date=datetime.datetime(2025, 1, 1), expiry_date=NOW - DAY,
                  pvt_key_encryption_type='NA', owner='peer_user', owner_login='peer_login',
                  login_name=None, key_length=2048, der=der),
             dict(certificate_id=101, name='##MS_AgentSigningCertificate##', thumbprint=b'\x02', subject='x',
                  issuer_name='x', cert_serial_number='03', start_date=None, expiry_date=None,
                  pvt_key_encryption_type='NA', owner='dbo', owner_login='sa', login_name=None, key_length=2048, der=der)]
    answers = [
        (ep.SERVER_INFO_SQL, [[dict(server_name='SQL1', machine_name='SQL1', instance_name=None,
                                    product_version='16.0.1', edition='Developer', hadr_enabled='1')],
                              [dict(host_platform='Linux')],
                              [dict(servicename='SQL Server Agent (MSSQLSERVER)', service_account='agent'),
                               dict(servicename='SQL Server (MSSQLSERVER)', service_account='mssql')]]),
        (ep.MIRRORING_ENDPOINT_SQL, [[endpoint_row(connection_auth=4, certificate_name='own', encryption_algorithm=6)]]),
        (ep.ENDPOINT_PERMISSIONS_SQL, [[grant('peer_login')]]),
        (C.certificates_sql('master'), [certs]),
        (C.MASTER_KEY_OF_MASTER_SQL, [[dict(name='##MS_DatabaseMasterKey##')],
                                      [dict(is_master_key_encrypted_by_server=True)]]),
        (ep.ENDPOINT_USE_SQL, [[], [], []]),
    ]
    module = Module(endpoint_info, warn_days=30)
    conn = CannedConnection(answers)
    result = endpoint_info.run(module, conn, ChangeRecorder(conn, False))
    assert result['server'] == {'name': 'SQL1', 'machine': 'SQL1', 'instance': None, 'version': '16.0.1',
                                'edition': 'Developer', 'hadr_enabled': True, 'platform': 'Linux',
                                'service_account': 'mssql'}
    assert result['connect_grantees'] == ['peer_login'] and result['master_key'] == {
        'exists': True, 'encrypted_by_service_master_key': True}
    own, peer = result['certificates']
    assert own['thumbprint'] == 'abcd' and own['start_date'] == '2026-01-01T00:00:00Z' and own['used_by_endpoint']
    assert own['private_key_encryption'] == 'master_key' and own['has_private_key'] and own['days_to_expiry'] in (9, 10)
    assert own['login_has_connect'] is True   # sa owns the endpoint
    assert peer['owner_login'] == 'peer_login' and peer['login_has_connect'] is True and peer['days_to_expiry'] < 0
    assert own['pem'].startswith('-----BEGIN CERTIFICATE-----')
    codes = [w['code'] for w in result['security_warnings']]
    assert codes == ['rc4', 'certificate_expiring', 'certificate_expired']
    assert module.warnings == [w['message'] for w in result['security_warnings']]
    assert result['endpoint']['encryption_algorithm'] == 'aes_rc4' and result['endpoint']['url'] == 'TCP://SQL1:5022'
