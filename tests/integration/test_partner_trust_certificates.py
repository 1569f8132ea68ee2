"""mssql.hadr.partner_trust, certificate topology (needs the emulator's certificate support, part 2)."""
import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import _x509
from tests.support.emulated_sql import connect_grantees
from tests.support.secrets_play import ddl_in, execute, login_row, per_connection, play, query, user_row
from tests.support.certificates import der, pem, rsa_key, self_signed

pytestmark = pytest.mark.slow

ENDPOINT = ('CREATE ENDPOINT [Hadr_endpoint] STATE = STOPPED AS TCP (LISTENER_PORT = %d) '
            'FOR DATABASE_MIRRORING (ROLE = ALL)')


def partner_cert(number, generation=0):
    return self_signed(rsa_key(2048, slot=100 + number * 10 + generation), common_name='sql%d-gen%d'
                       % (number, generation))


def owned_thumbprints(emulator, user):
    rows = query(emulator, 'SELECT c.thumbprint FROM sys.certificates AS c JOIN sys.database_principals AS dp '
                           'ON dp.principal_id = c.principal_id WHERE dp.name = ?', user)
    return sorted(bytes(row['thumbprint']).hex() for row in rows)


@pytest.mark.parametrize('count', [2, 7])
def test_all_certificate_partners_in_one_connection(emulator, count):
    execute(emulator, ENDPOINT % 5994)
    certs = [partner_cert(n) for n in range(1, count + 1)]
    partners = [{'name': 'sql%d' % n, 'public_certificate': pem(c)} for n, c in enumerate(certs, 1)]
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'trust', 'mssql.hadr.partner_trust': {'partners': partners}},
        {'name': 'again', 'mssql.hadr.partner_trust': {'partners': partners}},
    ], public_blobs=[der(c) for c in certs], diff=True)
    assert run.rc == 0, str(run)
    trust = run.result('trust')
    first = trust['partners'][0]
    thumbprint = _x509.thumbprint(der(certs[0]))
    assert first == {'name': 'sql1', 'login': 'sql1_login', 'user': 'sql1_user',
                     'certificate': 'sql1_cert_' + thumbprint[:8], 'thumbprint': thumbprint, 'windows_account': None,
                     'changed': True, 'actions': ['created login', 'created user', 'imported certificate',
                                                  'granted CONNECT'], 'removed_certificates': []}
    assert trust['queries'][:4] == [
        "CREATE LOGIN [sql1_login] WITH PASSWORD = N'********', DEFAULT_DATABASE = [master], CHECK_POLICY = ON, "
        "CHECK_EXPIRATION = OFF", 'CREATE USER [sql1_user] FOR LOGIN [sql1_login]',
        'CREATE CERTIFICATE [sql1_cert_%s] AUTHORIZATION [sql1_user] FROM BINARY = 0x%s'
        % (thumbprint[:8], der(certs[0]).hex().upper()),
        'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [sql1_login]']
    assert len(trust['queries']) == 4 * count
    assert trust['diff']['after']['sql1'] == {'login': True, 'connect': True, 'user': True,
                                              'certificates': [thumbprint]}
    assert not run.result('again')['changed']
    trust_trips, again_trips = per_connection(emulator, mark)
    assert len(trust_trips) == 1 + 4 * count and len(again_trips) == 1 and ddl_in(again_trips) == []
    assert connect_grantees(emulator) == sorted('sql%d_login' % n for n in range(1, count + 1))
    for number, cert in enumerate(certs, 1):
        assert owned_thumbprints(emulator, 'sql%d_user' % number) == [_x509.thumbprint(der(cert))]
        assert user_row(emulator, 'sql%d_user' % number)['login_name'] == 'sql%d_login' % number


def test_rotation_beside_the_old_certificate_then_removal(emulator):
    execute(emulator, ENDPOINT % 5993)
    old, new = partner_cert(1, 0), partner_cert(1, 1)
    old_tp, new_tp = _x509.thumbprint(der(old)), _x509.thumbprint(der(new))
    first = [{'name': 'sql1', 'public_certificate': pem(old)}]
    second = [{'name': 'sql1', 'public_certificate': pem(new)}]
    run = play(emulator, [
        {'name': 'first', 'mssql.hadr.partner_trust': {'partners': first}},
        {'name': 'rotate', 'mssql.hadr.partner_trust': {'partners': second}},
        {'name': 'rotate again', 'mssql.hadr.partner_trust': {'partners': second}},
        {'name': 'clean up', 'mssql.hadr.partner_trust': {'partners': second, 'remove_other_certificates': True}},
    ], public_blobs=[der(old), der(new)])
    assert run.rc == 0, str(run)
    rotate = run.result('rotate')
    assert rotate['partners'][0]['actions'] == ['imported certificate']
    assert rotate['queries'] == ['CREATE CERTIFICATE [sql1_cert_%s] AUTHORIZATION [sql1_user] FROM BINARY = 0x%s'
                                 % (new_tp[:8], der(new).hex().upper())]
    assert not run.result('rotate again')['changed']
    assert run.result('clean up')['queries'] == ['DROP CERTIFICATE [sql1_cert_%s]' % old_tp[:8]]
    assert run.result('clean up')['partners'][0]['removed_certificates'] == ['sql1_cert_%s' % old_tp[:8]]
    assert owned_thumbprints(emulator, 'sql1_user') == [new_tp]


def test_exclusive_removes_an_unlisted_certificate_partner_completely(emulator):
    execute(emulator, ENDPOINT % 5992)
    one, two = partner_cert(1), partner_cert(2)
    both = [{'name': 'sql1', 'public_certificate': pem(one)}, {'name': 'sql2', 'public_certificate': pem(two)}]
    run = play(emulator, [
        {'name': 'both', 'mssql.hadr.partner_trust': {'partners': both}},
        {'name': 'only one', 'mssql.hadr.partner_trust': {'partners': both[:1], 'exclusive': True}},
        {'name': 'again', 'mssql.hadr.partner_trust': {'partners': both[:1], 'exclusive': True}},
    ], public_blobs=[der(one), der(two)])
    assert run.rc == 0, str(run)
    tp2 = _x509.thumbprint(der(two))
    assert run.result('only one')['queries'] == [
        'REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [sql2_login]', 'DROP CERTIFICATE [sql2_cert_%s]' % tp2[:8],
        'DROP USER [sql2_user]', 'DROP LOGIN [sql2_login]']
    assert run.result('only one')['removed'] == [{'login': 'sql2_login', 'partner': 'sql2', 'dropped': [
        'certificate sql2_cert_%s' % tp2[:8], 'user sql2_user', 'login sql2_login']}]
    assert not run.result('again')['changed']
    assert connect_grantees(emulator) == ['sql1_login'] and login_row(emulator, 'sql2_login') is None


def test_same_certificate_owned_by_someone_else_fails_before_any_change(emulator):
    execute(emulator, ENDPOINT % 5991)
    cert = partner_cert(3)
    execute(emulator, 'CREATE CERTIFICATE [manual] FROM BINARY = 0x%s' % der(cert).hex())
    mark = emulator.mark_log()
    run = play(emulator, [{'name': 'clash', 'ignore_errors': True, 'mssql.hadr.partner_trust': {
        'partners': [{'name': 'sql3', 'public_certificate': pem(cert)}]}}], public_blobs=[der(cert)])
    result = run.result('clash')
    assert result['failed'] and "already in master as 'manual'" in result['msg'] and result['queries'] == []
    assert all(ddl_in(trips) == [] for trips in per_connection(emulator, mark))


def test_replacing_or_dropping_a_partner_certificate_is_guarded_while_in_use(emulator):
    execute(emulator, ENDPOINT % 5988)
    old, new = partner_cert(4, 0), partner_cert(4, 1)
    name = 'sql4_cert_' + _x509.thumbprint(der(old))[:8]
    run = play(emulator, [{'name': 'trust', 'mssql.hadr.partner_trust': {
        'partners': [{'name': 'sql4', 'public_certificate': pem(old)}]}}], public_blobs=[der(old)])
    assert run.rc == 0, str(run)
    emulator.ctl('mark-in-use', '--availability-group', 'AG1')
    replace = {'name': name, 'owner': 'sql4_user', 'public_certificate': pem(new), 'replace': True}
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'replace refused', 'mssql.hadr.certificate': replace, 'ignore_errors': True},
        {'name': 'drop refused', 'mssql.hadr.certificate': {'name': name, 'state': 'absent'}, 'ignore_errors': True},
        {'name': 'rotation cleanup refused', 'ignore_errors': True, 'mssql.hadr.partner_trust': {
            'partners': [{'name': 'sql4', 'public_certificate': pem(new)}], 'remove_other_certificates': True}},
    ], public_blobs=[der(old), der(new)])
    assert run.result('replace refused')['msg'].startswith("Refusing to replace certificate '%s'" % name)
    assert run.result('drop refused')['msg'].startswith("Refusing to drop certificate '%s'" % name)
    assert run.result('rotation cleanup refused')['msg'].startswith("Refusing to drop certificate '%s' of partner "
                                                                    "'sql4'" % name)
    assert all(ddl_in(trips) == [] for trips in per_connection(emulator, mark))
    allowed = {'name': 'replace allowed', 'mssql.hadr.certificate': dict(replace, reconfigure_in_use=True)}
    run = play(emulator, [allowed], public_blobs=[der(old), der(new)])
    assert run.result('replace allowed')['operation'] == 'replace'
    assert owned_thumbprints(emulator, 'sql4_user') == [_x509.thumbprint(der(new))]
