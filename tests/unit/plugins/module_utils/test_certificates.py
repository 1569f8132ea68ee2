"""Master key and certificate planning: sources, idempotence by thumbprint, guards, secrets masked."""
import base64
import datetime
import re

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as C
from ansible_collections.mssql.hadr.plugins.module_utils import _x509
from ansible_collections.mssql.hadr.plugins.module_utils._change import ChangeRecorder, ModuleFailure
from tests.support.certificates import der, pem, pfx, rsa_key, self_signed

NOW = datetime.datetime(2026, 6, 1, 12, 0, 0)


def params(**over):
    base = dict(name='b_cert', state='present', owner=None, subject=None, start_date=None, expiry_date=None,
                valid_days=None, public_certificate=None, pkcs12=None, pkcs12_password=None)
    base.update(over)
    return base


def row_for(cert, name='b_cert', encryption='NA', owner='b_user', **over):
    data = der(cert)
    row = {'certificate_id': 256, 'name': name, 'thumbprint': _certs_sha1(data), 'subject': 'partner-a',
           'issuer_name': 'partner-a', 'cert_serial_number': '01 02', 'start_date': NOW - datetime.timedelta(days=1),
           'expiry_date': NOW + datetime.timedelta(days=10), 'pvt_key_encryption_type': encryption,
           'key_length': 2048, 'owner': owner, 'der': data, 'login_name': None, 'user_name': None,
           'owner_login': None}
    row.update(over)
    return row


def _certs_sha1(data):
    import hashlib
    return hashlib.sha1(data).digest()


class Conn:
    def __init__(self):
        self.executed = []

    def execute(self, sql):
        self.executed.append(sql)


# ---------------------------------------------------------------- desired state


@pytest.mark.parametrize('over, message', [
    ({}, 'exactly one certificate source.*got none'),
    (dict(subject='s', public_certificate='x'), 'got subject, public_certificate'),
    (dict(subject='x' * 129), '1 to 128 characters'),
    (dict(subject='s', start_date='yesterday'), 'is not a date'),
    (dict(subject='s', start_date='2026-02-01', expiry_date='2026-01-01'), 'is not after'),
    (dict(subject='s', valid_days=0), 'at least 1'),
    (dict(subject='s', valid_days=3, expiry_date='2030-01-01'), 'not both'),
    (dict(public_certificate='garbage!'), 'neither a PEM certificate nor base64'),
    (dict(public_certificate='-----BEGIN CERTIFICATE-----\nAAAA'), 'no complete'),
    (dict(pkcs12='bm90IGEgcGZ4', pkcs12_password='x'), 'not PKCS#12'),
])
def test_bad_sources_fail_before_any_statement(over, message):
    with pytest.raises(ModuleFailure, match=message):
        C.desired_certificate(params(**over), now=NOW)


def test_wrong_pkcs12_password_and_mismatched_key():
    key = rsa_key()
    data = base64.b64encode(pfx(self_signed(key), key, 'right')).decode()
    with pytest.raises(ModuleFailure, match='password is wrong') as info:
        C.desired_certificate(params(pkcs12=data, pkcs12_password='wrong'))
    assert info.value.details['option'] == 'pkcs12'


def test_subject_dates_and_valid_days():
    spec = C.desired_certificate(params(subject="it's", start_date='2026-01-02', valid_days=30), now=NOW)
    assert spec['expiry_date'] == datetime.datetime(2026, 2, 1)
    sql, secrets = C.create_certificate_sql(spec)
    assert sql == ("CREATE CERTIFICATE [b_cert] WITH SUBJECT = N'it''s', START_DATE = '20260102 00:00:00', "
                   "EXPIRY_DATE = '20260201 00:00:00'") and secrets == ()
    spec = C.desired_certificate(params(subject='s', valid_days=2), now=NOW)
    assert spec['expiry_date'] == NOW + datetime.timedelta(days=2)


def test_public_certificate_statement_carries_the_der():
    cert = self_signed(common_name='b')
    spec = C.desired_certificate(params(public_certificate=pem(cert), owner="b'user"))
    assert spec['thumbprint'] == _x509.thumbprint(der(cert))
    sql, secrets = C.create_certificate_sql(spec)
    assert sql == "CREATE CERTIFICATE [b_cert] AUTHORIZATION [b'user] FROM BINARY = 0x%s" % der(cert).hex().upper()
    assert secrets == ()


def test_pkcs12_statement_hides_key_and_password_and_decrypts_to_the_key():
    key = rsa_key()
    cert = self_signed(key)
    spec = C.desired_certificate(params(pkcs12=base64.b64encode(pfx(cert, key, 'pfx')).decode(),
                                        pkcs12_password='pfx'))
    statements, action = C.plan_certificate(None, spec, 'master')
    assert action == 'create'
    changes = ChangeRecorder(Conn(), check_mode=False)
    changes.apply(statements)
    executed = changes.conn.executed[0]
    match = re.search(r"PRIVATE KEY \(BINARY = 0x([0-9A-F]+), DECRYPTION BY PASSWORD = N'([A-Z2-7=]+)'\)", executed)
    pvk, password = bytes.fromhex(match.group(1)), match.group(2)
    assert _x509.key_from_pvk(pvk, password).private_numbers() == key.private_numbers()
    assert changes.queries == ['CREATE CERTIFICATE [b_cert] FROM BINARY = 0x%s WITH PRIVATE KEY (BINARY = '
                               "0x********, DECRYPTION BY PASSWORD = N'********')" % der(cert).hex().upper()]


# ---------------------------------------------------------------- idempotence and guards


def public_spec(cert, **over):
    return C.desired_certificate(params(public_certificate=pem(cert), **over))


def test_same_thumbprint_is_unchanged_and_different_one_needs_replace():
    cert, other = self_signed(common_name='one'), self_signed(common_name='two')
    assert C.plan_certificate(row_for(cert), public_spec(cert), 'master') == ([], 'none')
    with pytest.raises(ModuleFailure, match='different certificate.*replace: true'):
        C.plan_certificate(row_for(other), public_spec(cert), 'master')
    statements, action = C.plan_certificate(row_for(other), public_spec(cert), 'master', replace=True)
    assert action == 'replace' and statements[0].sql == 'DROP CERTIFICATE [b_cert]'
    assert statements[1].sql.startswith('CREATE CERTIFICATE [b_cert] FROM BINARY = 0x')


def test_replace_refused_while_used_and_names_the_users():
    cert, other = self_signed(common_name='one'), self_signed(common_name='two')
    with pytest.raises(ModuleFailure, match="used by endpoint 'Hadr_endpoint', login 'b_login'"):
        C.plan_certificate(row_for(other), public_spec(cert), 'master', replace=True,
                           in_use_by=["endpoint 'Hadr_endpoint'", "login 'b_login'"])


def test_same_certificate_under_another_name_is_15232():
    cert = self_signed()
    with pytest.raises(ModuleFailure, match="already in database 'master' as 'old_name'") as info:
        C.plan_certificate(None, public_spec(cert), 'master', same_thumbprint_elsewhere='old_name')
    assert info.value.details['error_number'] == 15232


def test_private_keys_need_the_master_key_public_ones_do_not():
    with pytest.raises(ModuleFailure, match='Run mssql.hadr.master_key first') as info:
        C.plan_certificate(None, C.desired_certificate(params(subject='s')), 'master', master_key_exists=False)
    assert info.value.details['error_number'] == 15581
    statements, dummy = C.plan_certificate(None, public_spec(self_signed()), 'master', master_key_exists=False)
    assert len(statements) == 1


def test_generated_certificate_matches_by_existence_with_private_key():
    spec = C.desired_certificate(params(subject='mine'))
    assert C.plan_certificate(row_for(self_signed(), encryption='MK'), spec, 'master') == ([], 'none')
    with pytest.raises(ModuleFailure, match='public only'):
        C.plan_certificate(row_for(self_signed(), encryption='NA'), spec, 'master')


def test_owner_change_and_adding_a_private_key():
    key = rsa_key()
    cert = self_signed(key)
    statements, action = C.plan_certificate(row_for(cert, owner='dbo'), public_spec(cert, owner='b_user'), 'master')
    assert action == 'owner'
    assert [s.sql for s in statements] == ['ALTER AUTHORIZATION ON CERTIFICATE::[b_cert] TO [b_user]']
    spec = C.desired_certificate(params(pkcs12=base64.b64encode(pfx(cert, key, 'p')).decode(), pkcs12_password='p'))
    statements, action = C.plan_certificate(row_for(cert, owner=None), spec, 'master')
    assert action == 'add_private_key' and statements[0].sql.startswith('ALTER CERTIFICATE [b_cert] WITH PRIVATE KEY')
    assert len(statements[0].secrets) == 2


def test_drop_refused_while_used():
    with pytest.raises(ModuleFailure, match="used by user 'b_user'") as info:
        C.plan_drop_certificate(row_for(self_signed()), ["user 'b_user'"])
    assert info.value.details['error_number'] == 15352
    assert [s.sql for s in C.plan_drop_certificate(row_for(self_signed()), [])] == ['DROP CERTIFICATE [b_cert]']


# ---------------------------------------------------------------- returned shape


def test_parse_certificate_gives_lowercase_thumbprint_iso_dates_and_public_forms():
    cert = self_signed(common_name='shape')
    got = C.parse_certificate(row_for(cert, encryption='MK'), now=NOW)
    assert got['thumbprint'] == _x509.thumbprint(der(cert)) and got['thumbprint'] == got['thumbprint'].lower()
    assert got['expiry_date'] == '2026-06-11T12:00:00Z' and got['days_to_expiry'] == 10
    assert got['has_private_key'] and got['private_key_encryption'] == 'master_key'
    assert _x509.certificate_der(_x509.load_certificate(got['pem'])) == der(cert)
    assert base64.b64decode(got['der_base64']) == der(cert)
    assert set(got) == {'name', 'thumbprint', 'subject', 'issuer', 'serial', 'start_date', 'expiry_date',
                        'days_to_expiry', 'has_private_key', 'private_key_encryption', 'key_length', 'owner',
                        'pem', 'der_base64'}


def test_predicted_certificate_matches_what_parse_would_say():
    cert = self_signed(common_name='predict')
    predicted = C.predicted_certificate(public_spec(cert, owner='u'))
    assert predicted['thumbprint'] == _x509.thumbprint(der(cert)) and predicted['owner'] == 'u'
    assert predicted['has_private_key'] is False and predicted['pem'] == _x509.der_to_pem(der(cert))


def test_expiry_warnings():
    assert 'expired on' in C.expiry_warning('c', '2020-01-01T00:00:00Z', -3, 30)
    assert 'in 5 day(s)' in C.expiry_warning('c', 'x', 5, 30)
    assert C.expiry_warning('c', 'x', 31, 30) is None


# ---------------------------------------------------------------- master key


def key_state(exists=True, smk=True):
    return {'database': 'master', 'exists': exists, 'encrypted_by_service_master_key': smk and exists}


def test_master_key_create_and_mask():
    statements, after = C.plan_master_key(key_state(False), 'present', "p'w", True)
    changes = ChangeRecorder(Conn(), check_mode=True)
    changes.apply(statements)
    assert changes.queries == ["CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'********'"]
    assert after == key_state(True, True)
    with pytest.raises(ModuleFailure, match='password is required'):
        C.plan_master_key(key_state(False), 'present', None, True)


def test_master_key_existing_is_never_recreated():
    assert C.plan_master_key(key_state(), 'present', 'another password', True) == ([], key_state())


def test_master_key_service_master_key_protection_both_ways():
    statements, after = C.plan_master_key(key_state(smk=False), 'present', 'pw', True)
    assert [s.sql for s in statements] == ["OPEN MASTER KEY DECRYPTION BY PASSWORD = N'pw'",
                                           'ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY']
    assert after['encrypted_by_service_master_key']
    with pytest.raises(ModuleFailure, match='give its password'):
        C.plan_master_key(key_state(smk=False), 'present', None, True)
    statements, after = C.plan_master_key(key_state(), 'present', None, False)
    assert [s.sql for s in statements] == ['ALTER MASTER KEY DROP ENCRYPTION BY SERVICE MASTER KEY']


def test_master_key_drop_refused_while_it_protects_certificates():
    with pytest.raises(ModuleFailure, match="certificate\\(s\\) 'own_cert'"):
        C.plan_master_key(key_state(), 'absent', None, True, ['own_cert'])
    assert [s.sql for s in C.plan_master_key(key_state(), 'absent', None, True, [])[0]] == ['DROP MASTER KEY']
    assert C.plan_master_key(key_state(False), 'absent', None, True) == ([], key_state(False))
