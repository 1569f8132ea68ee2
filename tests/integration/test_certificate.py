"""mssql.hadr.certificate through real ansible-playbook (needs the emulator's certificate support, part 2)."""
import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ansible_collections.mssql.hadr.plugins.module_utils import _x509
from tests.support.secrets_play import ddl_in, execute, per_connection, play, query
from tests.support.certificates import der, pem, pfx, rsa_key, self_signed

pytestmark = pytest.mark.slow

KEY_PW = 'Mast3r-Key-Passw0rd!'
PFX_PW = "Pfx'Pässwörd]-秘密-2026"


def with_master_key(emulator):
    execute(emulator, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'%s'" % KEY_PW)


def catalog(emulator, name):
    rows = query(emulator, 'SELECT c.name, c.thumbprint, c.pvt_key_encryption_type AS pk, dp.name AS owner '
                           'FROM sys.certificates AS c LEFT JOIN sys.database_principals AS dp '
                           'ON dp.principal_id = c.principal_id WHERE c.name = ?', name)
    return rows[0] if rows else None


def key_material(key):
    """Every form of a private key that must never reach the output: PVK (plain), DER, PEM body."""
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    numbers = key.private_numbers()
    return [_x509.pvk_from_key(key), der_key, numbers.d.to_bytes(key.key_size // 8, 'little'),
            numbers.p.to_bytes(key.key_size // 16, 'little')]


def test_generated_certificate_needs_the_master_key_then_is_idempotent(emulator):
    name = "sql1]'; --сертификат"
    args = {'name': name, 'subject': "sql1 'mirroring' endpoint", 'valid_days': 400}
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'no master key', 'mssql.hadr.certificate': args, 'ignore_errors': True},
        {'name': 'master key', 'mssql.hadr.master_key': {'password': '{{ key_pw }}'}},
        {'name': 'predict', 'mssql.hadr.certificate': args, 'check_mode': True},
        {'name': 'create', 'mssql.hadr.certificate': args},
        {'name': 'again', 'mssql.hadr.certificate': args},
    ], secrets={'key_pw': KEY_PW}, diff=True)
    missing = run.result('no master key')
    assert missing['failed'] and 'Run mssql.hadr.master_key first' in missing['msg'] and missing['queries'] == []
    created = run.result('create')
    assert created['queries'][0].startswith("CREATE CERTIFICATE [sql1]]'; --сертификат] WITH SUBJECT = N'sql1 "
                                            "''mirroring'' endpoint', EXPIRY_DATE = '")
    assert run.result('predict')['changed'] and run.result('predict')['certificate']['thumbprint'] is None
    cert = created['certificate']
    assert cert['has_private_key'] and cert['private_key_encryption'] == 'master_key'
    assert 398 <= cert['days_to_expiry'] <= 400 and cert['key_length'] >= 2048
    der_bytes = base64.b64decode(cert['der_base64'])
    assert cert['thumbprint'] == hashlib.sha1(der_bytes).hexdigest()
    assert _x509.certificate_der(_x509.load_certificate(cert['pem'])) == der_bytes
    assert bytes(catalog(emulator, name)['thumbprint']).hex() == cert['thumbprint'] and cert['name'] == name
    again = run.result('again')
    assert not again['changed'] and again['certificate'] == cert and again['operation'] == 'none'
    trips = per_connection(emulator, mark)
    assert ddl_in(trips[0]) == [] and ddl_in(trips[2]) == [] and ddl_in(trips[4]) == [] and len(trips[4]) == 1


def test_two_instances_public_certificate_moves_only_through_module_outputs(emulator_factory):
    a, b = emulator_factory(), emulator_factory()
    with_master_key(a)
    b_connection = dict(b.module_params(), login_password='{{ mssql_sa_password }}')
    run = play(a, [
        {'name': 'A generates', 'mssql.hadr.certificate': {'name': 'a_cert', 'subject': 'instance A'},
         'register': 'a_cert'},
        {'name': 'B user', 'mssql.hadr.user': dict(b_connection, name='a_user', without_login=True)},
        {'name': 'B imports pem', 'mssql.hadr.certificate': dict(
            b_connection, name='a_cert_pem', owner='a_user', public_certificate='{{ a_cert.certificate.pem }}')},
        {'name': 'B again', 'mssql.hadr.certificate': dict(
            b_connection, name='a_cert_pem', owner='a_user', public_certificate='{{ a_cert.certificate.der_base64 }}')},
    ])
    assert run.rc == 0, str(run)
    thumbprint = run.result('A generates')['certificate']['thumbprint']
    imported = run.result('B imports pem')
    assert imported['certificate']['thumbprint'] == thumbprint and imported['certificate']['owner'] == 'a_user'
    assert imported['certificate']['has_private_key'] is False
    assert imported['queries'][0].startswith('CREATE CERTIFICATE [a_cert_pem] AUTHORIZATION [a_user] FROM BINARY = 0x')
    assert not run.result('B again')['changed']
    row = catalog(b, 'a_cert_pem')
    assert bytes(row['thumbprint']).hex() == thumbprint and row['pk'] == 'NA' and row['owner'] == 'a_user'


def test_replace_owner_and_guards(emulator):
    one, two = self_signed(common_name='one'), self_signed(common_name='two')
    execute(emulator, 'CREATE USER [u1] WITHOUT LOGIN', 'CREATE USER [u2] WITHOUT LOGIN')
    run = play(emulator, [
        {'name': 'import', 'mssql.hadr.certificate': {'name': 'peer', 'owner': 'u1', 'public_certificate': pem(one)}},
        {'name': 'owner', 'mssql.hadr.certificate': {'name': 'peer', 'owner': 'u2', 'public_certificate': pem(one)}},
        {'name': 'different', 'mssql.hadr.certificate': {'name': 'peer', 'public_certificate': pem(two)},
         'ignore_errors': True},
        {'name': 'same cert other name', 'mssql.hadr.certificate': {'name': 'peer2', 'public_certificate': pem(one)},
         'ignore_errors': True},
        {'name': 'replace', 'mssql.hadr.certificate': {'name': 'peer', 'owner': 'u2', 'public_certificate': pem(two),
                                                       'replace': True}},
    ], public_blobs=[der(one), der(two)])
    assert run.result('owner')['queries'] == ['ALTER AUTHORIZATION ON CERTIFICATE::[peer] TO [u2]']
    different = run.result('different')['msg']
    assert 'different certificate' in different and 'replace: true' in different
    assert "already in database 'master' as 'peer'" in run.result('same cert other name')['msg']
    replaced = run.result('replace')
    assert replaced['operation'] == 'replace' and replaced['queries'][0] == 'DROP CERTIFICATE [peer]'
    assert replaced['certificate']['thumbprint'] == _x509.thumbprint(der(two))
    execute(emulator, 'CREATE LOGIN [peer_login] FROM CERTIFICATE [peer]')
    run = play(emulator, [
        {'name': 'refused', 'mssql.hadr.certificate': {'name': 'peer', 'public_certificate': pem(one),
                                                       'replace': True}, 'ignore_errors': True},
        {'name': 'drop refused', 'mssql.hadr.certificate': {'name': 'peer', 'state': 'absent'}, 'ignore_errors': True},
    ], public_blobs=[der(one), der(two)])
    assert "used by login 'peer_login'" in run.result('refused')['msg'] and run.result('refused')['queries'] == []
    assert "used by login 'peer_login'" in run.result('drop refused')['msg']
    assert bytes(catalog(emulator, 'peer')['thumbprint']).hex() == _x509.thumbprint(der(two))


@pytest.mark.parametrize('form', ['base64', 'path'])
def test_pkcs12_import_keeps_the_key_secret(emulator, tmp_path, form):
    with_master_key(emulator)
    key = rsa_key(2048, slot=7)
    cert = self_signed(key, common_name='pki')
    data = pfx(cert, key, PFX_PW)
    path = tmp_path / 'endpoint.pfx'
    path.write_bytes(data)
    source = base64.b64encode(data).decode() if form == 'base64' else str(path)
    args = {'name': 'pki_cert', 'pkcs12': '{{ pfx }}', 'pkcs12_password': '{{ pfx_pw }}'}
    run = play(emulator, [
        {'name': 'import', 'mssql.hadr.certificate': args},
        {'name': 'again', 'mssql.hadr.certificate': args},
    ], secrets={'pfx': source, 'pfx_pw': PFX_PW}, extra_secrets=key_material(key) + [data], public_blobs=[der(cert)],
        diff=True)
    assert run.rc == 0, str(run)
    imported = run.result('import')
    assert imported['queries'] == ['CREATE CERTIFICATE [pki_cert] FROM BINARY = 0x%s WITH PRIVATE KEY (BINARY = '
                                   "0x********, DECRYPTION BY PASSWORD = N'********')" % der(cert).hex().upper()]
    assert imported['certificate']['thumbprint'] == _x509.thumbprint(der(cert))
    assert imported['certificate']['private_key_encryption'] == 'master_key'
    assert not run.result('again')['changed']
    assert catalog(emulator, 'pki_cert')['pk'] == 'MK'


def test_bad_input_fails_clearly_and_changes_nothing(emulator):
    key = rsa_key(2048, slot=8)
    cert = self_signed(key, common_name='bad')
    expired = self_signed(common_name='old', days=10, start_offset_days=-30)
    good_pfx = pfx(cert, key, PFX_PW)
    key_elsewhere = pkcs12.serialize_key_and_certificates(b'x', rsa_key(2048, slot=9), None, [cert],
                                                          serialization.BestAvailableEncryption(b'Pfx-Passw0rd'))
    cases = [
        ('garbage pem', {'name': 'c1', 'public_certificate':
                         '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----'}, 'neither a PEM'),
        ('garbage der', {'name': 'c2', 'public_certificate': base64.b64encode(b'0\x03\x02\x01\x01').decode()},
         'not a valid X.509 certificate'),
        ('wrong pfx password', {'name': 'c3', 'pkcs12': base64.b64encode(good_pfx).decode(),
                                'pkcs12_password': '{{ wrong_pw }}'}, 'password is wrong'),
        ('key does not match', {'name': 'c8', 'pkcs12': base64.b64encode(key_elsewhere).decode(),
                                'pkcs12_password': 'Pfx-Passw0rd'}, 'does not match its certificate'),
        ('not pfx', {'name': 'c4', 'pkcs12': 'bm90IGEgcGZ4', 'pkcs12_password': '{{ wrong_pw }}'}, 'not PKCS#12'),
        ('two sources', {'name': 'c5', 'subject': 's', 'public_certificate': pem(cert)}, 'mutually exclusive'),
        ('long subject', {'name': 'c6', 'subject': 's' * 129}, '1 to 128 characters'),
        ('long name', {'name': 'n' * 129, 'subject': 's'}, 'at most 128'),
        ('missing pfx file', {'name': 'c7', 'pkcs12': '/nonexistent/endpoint.pfx'}, 'is not a file'),
    ]
    mark = emulator.mark_log()
    run = play(emulator, [{'name': name, 'mssql.hadr.certificate': args, 'ignore_errors': True}
                          for name, args, dummy in cases] + [
        {'name': 'expired import', 'mssql.hadr.certificate': {'name': 'old_peer', 'public_certificate': pem(expired)}}],
        secrets={'wrong_pw': 'Wr0ng-Pfx-Passw0rd'}, extra_secrets=key_material(key),
        public_blobs=[der(cert), der(expired)])
    for name, dummy, text in cases:
        result = run.result(name)
        assert result['failed'] and text in result['msg'], (name, result['msg'])
    sent = [sql for trips in per_connection(emulator, mark) for sql in ddl_in(trips)]
    assert [sql.split(' FROM')[0] for sql in sent] == ['CREATE CERTIFICATE [old_peer]']
    expired_result = run.result('expired import')
    assert any("Certificate 'old_peer' expired on" in w for w in expired_result['warnings'])
    assert expired_result['certificate']['days_to_expiry'] < 0


def test_certificate_login_and_user_and_the_in_use_guard(emulator):
    peer = self_signed(common_name='peer-d')
    execute(emulator, 'CREATE ENDPOINT [Hadr_endpoint] STATE = STOPPED AS TCP (LISTENER_PORT = 5990) '
                      'FOR DATABASE_MIRRORING (ROLE = ALL)')
    run = play(emulator, [
        {'name': 'import', 'mssql.hadr.certificate': {'name': 'peer_d', 'public_certificate': pem(peer)}},
        {'name': 'certificate login', 'mssql.hadr.login': {'name': 'peer_d_login', 'type': 'certificate',
                                                           'certificate': 'peer_d'}},
        {'name': 'certificate login again', 'mssql.hadr.login': {'name': 'peer_d_login', 'type': 'certificate',
                                                                 'certificate': 'peer_d'}},
        {'name': 'other certificate', 'mssql.hadr.login': {'name': 'peer_d_login', 'type': 'certificate',
                                                           'certificate': 'other'}, 'ignore_errors': True},
        {'name': 'certificate user', 'mssql.hadr.user': {'name': 'peer_d_user', 'certificate': 'peer_d'}},
        {'name': 'user owning it', 'mssql.hadr.user': {'name': 'owner_user', 'without_login': True}},
    ])
    assert run.rc == 0, str(run)
    assert run.result('certificate login')['queries'] == ['CREATE LOGIN [peer_d_login] FROM CERTIFICATE [peer_d]']
    assert run.result('certificate login')['login']['type'] == 'certificate'
    assert not run.result('certificate login again')['changed']
    assert 'certificate of a login cannot change' in run.result('other certificate')['msg']
    assert run.result('certificate user')['queries'] == ['CREATE USER [peer_d_user] FOR CERTIFICATE [peer_d]']
    execute(emulator, 'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [peer_d_login]',
            "CREATE CERTIFICATE [owned] AUTHORIZATION [owner_user] FROM BINARY = 0x%s"
            % der(self_signed(common_name='owned')).hex())
    emulator.ctl('mark-in-use', '--availability-group', 'AG1')
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'drop owner user', 'mssql.hadr.user': {'name': 'owner_user', 'state': 'absent'},
         'ignore_errors': True},
        {'name': 'drop mapped certificate', 'mssql.hadr.certificate': {'name': 'peer_d', 'state': 'absent'},
         'ignore_errors': True},
        {'name': 'drop certificate login', 'mssql.hadr.login': {'name': 'peer_d_login', 'state': 'absent'},
         'ignore_errors': True},
    ])
    assert "owns certificate(s) 'owned'" in run.result('drop owner user')['msg']
    assert "used by login 'peer_d_login', user 'peer_d_user'" in run.result('drop mapped certificate')['msg']
    guarded = run.result('drop certificate login')
    assert guarded['msg'].startswith("Refusing to drop login 'peer_d_login'") and guarded['in_use_sessions']
    assert all(ddl_in(trips) == [] for trips in per_connection(emulator, mark))
