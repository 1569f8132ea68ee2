"""partner_trust's planning over catalog rows (no server): certificate topology, rotation, exclusive."""
import datetime

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import _x509
from ansible_collections.mssql.hadr.plugins.module_utils import _trust as PT
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import ModuleFailure
from ansible_collections.mssql.hadr.plugins.modules import partner_trust
from tests.support.certificates import der, pem, rsa_key, self_signed
from tests.support.fake_module import FakeModule

CERT_A = self_signed(rsa_key(2048, slot=20), common_name='a')
CERT_A2 = self_signed(rsa_key(2048, slot=21), common_name='a-rotated')
TP_A, TP_A2 = _x509.thumbprint(der(CERT_A)), _x509.thumbprint(der(CERT_A2))
ENDPOINT_ROW = {'endpoint_id': 65536, 'name': 'Hadr_endpoint', 'state_desc': 'STARTED', 'role': 3, 'connection_auth': 4,
                'certificate_id': 256, 'encryption_algorithm': 2, 'port': 5022, 'ip_address': None, 'owner': 'sa',
                'certificate_name': 'own'}


def Module(**params):   # pylint: disable=invalid-name
    return FakeModule(partner_trust.argument_spec(), check_mode=True, diff=True, **params)


def cert_row(cert, name, owner):
    return {'name': name, 'thumbprint': bytes.fromhex(_x509.thumbprint(der(cert))), 'owner': owner,
            'login_name': None, 'user_name': None, 'pvt_key_encryption_type': 'NA'}


def sets(logins=(), users=(), certs=(), grantees=(), in_use=False):
    permissions = [{'endpoint_id': 65536, 'permission_name': 'CONNECT', 'state_desc': 'GRANT', 'grantee': g,
                    'grantee_type': 'SQL_LOGIN'} for g in grantees]
    replicas = [{'availability_group': 'AG1', 'replica_server_name': 'sql1', 'role_desc': 'PRIMARY',
                 'connected_state_desc': 'CONNECTED'}] if in_use else []
    return [list(logins), list(users), list(certs), replicas, [], [ENDPOINT_ROW], permissions]


def login(name):
    return {'principal_id': 300, 'name': name, 'sid': b'\x01' * 16, 'type': 'S', 'is_disabled': False,
            'default_database_name': 'master', 'is_policy_checked': True, 'is_expiration_checked': False,
            'certificate_name': None}


def user(name, login_name):
    return {'principal_id': 5, 'name': name, 'type': 'S', 'authentication_type': 1, 'login_name': login_name,
            'certificate_name': None}


def plan(module, state, partners):
    desired = PT.desired_partners(dict(module.params, partners=partners))
    trust = PT.TrustPlan(state, module.params['endpoint'])
    results = [trust.partner(p, module.params) for p in desired]
    module.warnings.extend(trust.warnings)
    removed = trust.exclusive(desired, module.params) if module.params['exclusive'] else []
    return trust, results, removed


def test_new_certificate_partner_gets_login_user_certificate_and_connect():
    trust, results, dummy = plan(Module(), sets(), [{'name': 'a', 'public_certificate': pem(CERT_A)}])
    sql = [s.sql for s in trust.statements]
    assert sql[0].startswith("CREATE LOGIN [a_login] WITH PASSWORD = N'") and 'CHECK_POLICY = ON' in sql[0]
    assert sql[1:] == ['CREATE USER [a_user] FOR LOGIN [a_login]',
                       'CREATE CERTIFICATE [a_cert_%s] AUTHORIZATION [a_user] FROM BINARY = 0x%s'
                       % (TP_A[:8], der(CERT_A).hex().upper()),
                       'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [a_login]']
    assert trust.statements[0].secrets and trust.statements[0].secrets[0] in sql[0]   # the random password is masked
    assert results[0]['actions'] == ['created login', 'created user', 'imported certificate', 'granted CONNECT']


def test_existing_trust_is_unchanged_whatever_the_certificate_is_called():
    state = sets([login('a_login')], [user('a_user', 'a_login')], [cert_row(CERT_A, 'renamed', 'a_user')],
                 ['a_login'])
    trust, results, dummy = plan(Module(), state, [{'name': 'a', 'public_certificate': pem(CERT_A)}])
    assert trust.statements == [] and results[0]['certificate'] == 'renamed' and not results[0]['changed']


def test_rotation_adds_beside_and_cleanup_removes_the_old_one():
    state = sets([login('a_login')], [user('a_user', 'a_login')], [cert_row(CERT_A, 'a_cert_old', 'a_user')],
                 ['a_login'])
    trust, results, dummy = plan(Module(), state, [{'name': 'a', 'public_certificate': pem(CERT_A2)}])
    assert [s.sql.split(' FROM')[0] for s in trust.statements] == [
        'CREATE CERTIFICATE [a_cert_%s] AUTHORIZATION [a_user]' % TP_A2[:8]]
    trust, results, dummy = plan(Module(remove_other_certificates=True), state,
                                 [{'name': 'a', 'public_certificate': pem(CERT_A2)}])
    assert [s.sql.split(' FROM')[0] for s in trust.statements][-1] == 'DROP CERTIFICATE [a_cert_old]'
    assert results[0]['removed_certificates'] == ['a_cert_old'] and trust.removals


def test_exclusive_removes_unlisted_pattern_partners_and_only_revokes_others():
    state = sets([login('a_login'), login('b_login')], [user('a_user', 'a_login'), user('b_user', 'b_login')],
                 [cert_row(CERT_A, 'a_cert', 'a_user'), cert_row(CERT_A2, 'b_cert', 'b_user')],
                 ['a_login', 'b_login', 'DOM\\admin'])
    trust, dummy, removed = plan(Module(exclusive=True), state, [{'name': 'a', 'public_certificate': pem(CERT_A)}])
    assert [s.sql for s in trust.statements] == [
        'REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [b_login]', 'DROP CERTIFICATE [b_cert]',
        'DROP USER [b_user]', 'DROP LOGIN [b_login]', 'REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [DOM\\admin]']
    assert removed == [{'login': 'b_login', 'partner': 'b', 'dropped': ['certificate b_cert', 'user b_user',
                                                                        'login b_login']},
                       {'login': 'DOM\\admin', 'partner': None, 'dropped': []}]


def test_patterns_are_configurable_and_recognised_back():
    module = Module(login_pattern='HADR-{partner}', user_pattern='HADR-{partner}-user',
                    certificate_pattern='{partner}@{thumbprint}')
    trust, results, dummy = plan(module, sets(), [{'name': 'x]y', 'public_certificate': pem(CERT_A)}])
    assert results[0]['login'] == 'HADR-x]y' and results[0]['certificate'] == 'x]y@' + TP_A
    assert 'CREATE CERTIFICATE [x]]y@%s] AUTHORIZATION [HADR-x]]y-user]' % TP_A in trust.statements[2].sql
    assert PT.login_matcher('HADR-{partner}').match('hadr-Q').group(1) == 'Q'
    assert PT.login_matcher('a.{partner}+').match('aX{partner}+') is None


def test_certificate_owned_by_someone_else_is_refused():
    state = sets(certs=[cert_row(CERT_A, 'manual', 'dbo')])
    with pytest.raises(ModuleFailure, match="already in master as 'manual', owned by 'dbo'"):
        plan(Module(), state, [{'name': 'a', 'public_certificate': pem(CERT_A)}])


def test_expiring_partner_certificate_warns():
    soon = self_signed(rsa_key(2048, slot=22), common_name='soon', days=5)
    module = Module()
    plan(module, sets(), [{'name': 's', 'public_certificate': pem(soon)}])
    assert any("Partner 's'" in w and 'day(s)' in w for w in module.warnings)


def test_bad_patterns_and_names():
    with pytest.raises(ModuleFailure, match='must use exactly the fields {partner}'):
        PT.desired_partners(dict(Module(login_pattern='{partner}_{thumbprint}').params, partners=[]))
    with pytest.raises(ModuleFailure, match='not a valid format string'):
        PT.desired_partners(dict(Module(user_pattern='{partner').params, partners=[]))
    with pytest.raises(Exception, match='at most 128'):
        PT.desired_partners(dict(Module().params, partners=[{'name': 'p' * 125, 'public_certificate': pem(CERT_A)}]))


def test_missing_or_other_endpoint():
    state = sets()
    state[5] = []
    with pytest.raises(ModuleFailure, match='create it first with mssql.hadr.endpoint'):
        PT.TrustPlan(state, None)
    with pytest.raises(ModuleFailure, match="which is 'Hadr_endpoint'"):
        PT.TrustPlan(sets(), 'other')


def test_dates_in_warnings_are_utc_iso():
    assert datetime.datetime.fromisoformat(
        PT.certificates.predicted_certificate({'cert': CERT_A, 'key': None, 'name': 'n'})['expiry_date'].rstrip('Z'))
