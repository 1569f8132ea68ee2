"""Issue 4: master keys, certificates (real X.509), PVK private keys, endpoint certificate rules."""
import datetime
import hashlib
import os
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.emulator.engine.pvk import PvkError, read_pvk, write_pvk
from tests.emulator.engine.testing import Harness, free_port

MK = "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master_Key_Passw0rd!'"
OPENSSL = shutil.which('openssl')


@pytest.fixture
def h(tmp_path):
    harness = Harness(str(tmp_path / 'data'))
    yield harness
    harness.close()


def check(error, number, severity, message):
    assert (error.number, error.severity, error.message) == (number, severity, message)


def self_signed(tmp_path, days=30, bits=1024, start=None):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'partner')])
    start = start or datetime.datetime.utcnow() - datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.DER)


# --- PVK --------------------------------------------------------------------------------------------
def _openssl(*args):
    return subprocess.run([OPENSSL] + list(args), capture_output=True, timeout=60, check=False)


@pytest.mark.skipif(OPENSSL is None, reason='openssl command not installed')
@pytest.mark.parametrize('password', [None, 'Pvk!Secret1'])
def test_pvk_reader_reads_openssl_output(tmp_path, password):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / 'key.pem'
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
    out = tmp_path / 'key.pvk'
    # OpenSSL 3 keeps RC4 (the PVK cipher) in its legacy provider
    args = ['rsa', '-provider', 'legacy', '-provider', 'default', '-in', str(pem), '-outform', 'PVK', '-out', str(out)]
    args += ['-pvk-none'] if password is None else ['-passout', 'pass:' + password]
    result = _openssl(*args)
    assert result.returncode == 0, result.stderr
    assert read_pvk(out.read_bytes(), password).private_numbers() == key.private_numbers()
    if password is not None:
        with pytest.raises(PvkError) as info:
            read_pvk(out.read_bytes(), 'wrong')
        assert info.value.kind == 'password'


@pytest.mark.skipif(OPENSSL is None, reason='openssl command not installed')
def test_pvk_writer_is_read_by_openssl(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / 'mine.pvk'
    path.write_bytes(write_pvk(key, 'Pvk!Secret2'))
    result = _openssl('rsa', '-provider', 'legacy', '-provider', 'default', '-inform', 'PVK', '-in', str(path),
                      '-passin', 'pass:Pvk!Secret2', '-noout', '-modulus')
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == 'Modulus=%X' % key.public_key().public_numbers().n


def test_pvk_rejects_garbage():
    with pytest.raises(PvkError) as info:
        read_pvk(b'\x00' * 64)
    assert info.value.kind == 'format'


# --- master key -------------------------------------------------------------------------------------
def test_master_key_lifecycle(h):
    check(h.fails("CREATE CERTIFICATE c WITH SUBJECT = 'c'", 15581), 15581, 16,
          'Please create a master key in the database or open the master key in the session before performing '
          'this operation.')
    h.ok(MK)
    check(h.fails(MK, 15578), 15578, 16,
          'There is already a master key in the database. Please drop it before performing this statement.')
    assert h.rows("SELECT name, principal_id, key_length, algorithm_desc FROM sys.symmetric_keys") == [
        ('##MS_DatabaseMasterKey##', 1, 256, 'AES_256')]
    assert h.value("SELECT is_master_key_encrypted_by_server FROM sys.databases WHERE name = 'master'") is True
    h.ok('ALTER MASTER KEY DROP ENCRYPTION BY SERVICE MASTER KEY')
    assert h.value("SELECT is_master_key_encrypted_by_server FROM sys.databases WHERE name = 'master'") is False
    h.fails("CREATE CERTIFICATE c WITH SUBJECT = 'c'", 15581)
    h.fails("OPEN MASTER KEY DECRYPTION BY PASSWORD = 'wrong'", 15313)
    h.ok("OPEN MASTER KEY DECRYPTION BY PASSWORD = 'Master_Key_Passw0rd!'")
    h.ok("CREATE CERTIFICATE c WITH SUBJECT = 'c'")
    h.ok('CLOSE MASTER KEY; ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY')
    check(h.fails('DROP MASTER KEY', 15580), 15580, 16,
          "Cannot drop master key because certificate 'c' is encrypted by it.")
    h.ok('DROP CERTIFICATE c; DROP MASTER KEY')
    assert h.rows('SELECT name FROM sys.symmetric_keys') == []
    h.fails("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'weak'", 15116)
    h.fails('CREATE MASTER KEY', 156)   # the password is required on SQL Server (KEY is reserved)


def test_master_key_is_per_database(h):
    h.ok(MK)
    h.ok('USE msdb')
    assert h.rows('SELECT name FROM sys.symmetric_keys') == []
    h.fails("CREATE CERTIFICATE c WITH SUBJECT = 'c'", 15581)


# --- generated certificates ---------------------------------------------------------------------------
def test_generated_certificate_defaults(h):
    h.ok(MK)
    before = datetime.datetime.utcnow().replace(microsecond=0)
    h.ok("CREATE CERTIFICATE dbm_certificate WITH SUBJECT = 'dbm'")
    row = h.rows("SELECT certificate_id, pvt_key_encryption_type, subject, issuer_name, key_length, start_date, "
                 "expiry_date, thumbprint, CERTENCODED(certificate_id), principal_id, sid FROM sys.certificates "
                 "WHERE name = 'dbm_certificate'")[0]
    cid, kind, subject, issuer, bits, start, expiry, thumbprint, der, owner, sid = row
    assert (kind, subject, issuer, bits, owner) == ('MK', 'dbm', 'dbm', 2048, 1)
    assert before - datetime.timedelta(seconds=2) <= start <= datetime.datetime.utcnow()
    assert expiry == start.replace(year=start.year + 1)
    assert thumbprint == hashlib.sha1(der).digest()
    cert = x509.load_der_x509_certificate(der)
    assert cert.subject.rfc4514_string() == 'CN=dbm' and cert.signature_hash_algorithm.name == 'sha256'
    assert h.value("SELECT CERT_ID('dbm_certificate')") == cid
    assert h.rows("SELECT CAST(CERTPROPERTY(%d, 'Subject') AS nvarchar(128)), CERTPROPERTY(%d, 'Expiry_Date')"
                  % (cid, cid)) == [('dbm', expiry)]
    assert h.value("SELECT CERT_ID('nope')") is None


def test_explicit_dates_password_protection_and_subject_length(h):
    h.ok(MK)
    h.ok("CREATE CERTIFICATE c1 ENCRYPTION BY PASSWORD = 'Cert!Passw0rd#1' WITH SUBJECT = 'c1', "
         "START_DATE = '2024-01-01', EXPIRY_DATE = '2044-01-01T00:00:00'")
    assert h.rows("SELECT pvt_key_encryption_type_desc, start_date, expiry_date FROM sys.certificates") == [
        ('ENCRYPTED_BY_PASSWORD', datetime.datetime(2024, 1, 1), datetime.datetime(2044, 1, 1))]
    check(h.fails("CREATE CERTIFICATE c2 WITH SUBJECT = '%s'" % ('s' * 129), 15212), 15212, 16,
          'Invalid certificate subject. The certificate subject must have between 1 and 128 characters.')
    h.ok("CREATE CERTIFICATE c2 WITH SUBJECT = '%s'" % ('s' * 128))
    check(h.fails("CREATE CERTIFICATE c1 WITH SUBJECT = 'again'", 15232), 15232, 16,
          "A certificate with name 'c1' already exists or this certificate already has been added to the database.")


def test_linux_limits_the_subject_to_64_characters(tmp_path):
    h = Harness(str(tmp_path / 'linux'), platform='linux')
    try:
        h.ok(MK)
        h.fails("CREATE CERTIFICATE c WITH SUBJECT = '%s'" % ('s' * 65), 15212)
        h.ok("CREATE CERTIFICATE c WITH SUBJECT = '%s'" % ('s' * 64))
    finally:
        h.close()


# --- imported certificates ----------------------------------------------------------------------------
def test_from_binary_public_only_and_duplicates(h, tmp_path):
    h.ok(MK)
    _unused, der = self_signed(tmp_path)
    h.ok('CREATE CERTIFICATE peer_cert FROM BINARY = 0x%s' % der.hex())
    assert h.rows("SELECT pvt_key_encryption_type, issuer_name, subject FROM sys.certificates") == [
        ('NA', 'partner', 'partner')]
    assert h.value("SELECT CERTENCODED(CERT_ID('peer_cert'))") == der
    # the same certificate (issuer and serial) under another name
    check(h.fails('CREATE CERTIFICATE other_name FROM BINARY = 0x%s' % der.hex(), 15232), 15232, 16,
          "A certificate with name 'other_name' already exists or this certificate already has been added to the "
          "database.")
    check(h.fails('CREATE CERTIFICATE bad FROM BINARY = 0x3082', 15297), 15297, 16,
          'The certificate, asymmetric key, or private key data is invalid.')


def test_from_binary_with_private_key(h, tmp_path):
    h.ok(MK)
    key, der = self_signed(tmp_path)
    pvk = write_pvk(key, 'Pvk!Secret1')
    h.fails("CREATE CERTIFICATE c FROM BINARY = 0x%s WITH PRIVATE KEY (BINARY = 0x%s, DECRYPTION BY PASSWORD = "
            "'wrong')" % (der.hex(), pvk.hex()), 15465)
    other_key, _unused = self_signed(tmp_path)
    error = h.fails("CREATE CERTIFICATE c FROM BINARY = 0x%s WITH PRIVATE KEY (BINARY = 0x%s, DECRYPTION BY "
                    "PASSWORD = 'x')" % (der.hex(), write_pvk(other_key, 'x').hex()), 15474)
    check(error, 15474, 16, 'Invalid private key. The private key does not match the public key of the '
                            'certificate.')
    h.ok("CREATE CERTIFICATE c FROM BINARY = 0x%s WITH PRIVATE KEY (BINARY = 0x%s, DECRYPTION BY PASSWORD = "
         "'Pvk!Secret1')" % (der.hex(), pvk.hex()))
    assert h.rows("SELECT pvt_key_encryption_type, key_length FROM sys.certificates") == [('MK', 1024)]
    h.fails("CREATE CERTIFICATE d FROM BINARY = 0x%s WITH PRIVATE KEY (BINARY = 0x00)" % der.hex(), 15464)


def test_endpoint_certificate_rules_28055(h, tmp_path):
    h.ok(MK)
    create = ("CREATE ENDPOINT ep AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING (ROLE = ALL, "
              "AUTHENTICATION = CERTIFICATE %%s)" % free_port())
    h.ok("CREATE CERTIFICATE pw_cert ENCRYPTION BY PASSWORD = 'Cert!Passw0rd#1' WITH SUBJECT = 'pw'")
    h.fails(create % 'pw_cert', 28055)
    h.ok("CREATE CERTIFICATE old_cert WITH SUBJECT = 'old', START_DATE = '2020-01-01', EXPIRY_DATE = '2021-01-01'")
    h.fails(create % 'old_cert', 28055)
    h.ok("CREATE CERTIFICATE future_cert WITH SUBJECT = 'f', START_DATE = '2090-01-01', EXPIRY_DATE = '2091-01-01'")
    h.fails(create % 'future_cert', 28055)
    check(h.fails(create % 'missing_cert', 15151), 15151, 16,
          "Cannot find the certificate 'missing_cert', because it does not exist or you do not have permission.")
    h.ok("ALTER CERTIFICATE pw_cert WITH PRIVATE KEY (DECRYPTION BY PASSWORD = 'Cert!Passw0rd#1')")
    h.ok(create % 'pw_cert')
    assert h.rows('SELECT connection_auth_desc FROM sys.database_mirroring_endpoints') == [('CERTIFICATE',)]
    h.fails("ALTER ENDPOINT ep FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE old_cert WINDOWS KERBEROS)",
            28055)
    h.ok("CREATE CERTIFICATE new_cert WITH SUBJECT = 'new'")
    h.ok("ALTER ENDPOINT ep FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE new_cert WINDOWS KERBEROS)")
    assert h.rows('SELECT connection_auth_desc FROM sys.database_mirroring_endpoints') == [('CERTIFICATE, KERBEROS',)]


def test_drop_certificate_in_use_and_owner_rules(h, tmp_path):
    h.ok(MK)
    h.ok("CREATE CERTIFICATE ep_cert WITH SUBJECT = 'ep'")
    h.ok("CREATE ENDPOINT ep AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = "
         "CERTIFICATE ep_cert)" % free_port())
    message = 'The certificate cannot be dropped because one or more entities are either signed or encrypted using it.'
    check(h.fails('DROP CERTIFICATE ep_cert', 15352), 15352, 16, message)
    _unused, der = self_signed(tmp_path)
    h.ok('CREATE CERTIFICATE login_cert FROM BINARY = 0x%s; CREATE LOGIN peer FROM CERTIFICATE login_cert' % der.hex())
    assert h.value("SELECT COUNT(*) FROM sys.server_principals l JOIN sys.certificates c ON c.sid = l.sid "
                   "WHERE l.type = 'C'") == 1
    check(h.fails('DROP CERTIFICATE login_cert', 15352), 15352, 16, message)
    h.ok('DROP LOGIN peer; DROP CERTIFICATE login_cert')
    # a user owning a certificate cannot be dropped (15138); ALTER AUTHORIZATION moves the ownership
    h.ok("CREATE LOGIN p2 WITH PASSWORD = 'Str0ng!Passw0rd'; CREATE USER p2_user FOR LOGIN p2")
    _unused, der2 = self_signed(tmp_path)
    h.ok('CREATE CERTIFICATE p2_cert AUTHORIZATION p2_user FROM BINARY = 0x%s' % der2.hex())
    check(h.fails('DROP USER p2_user', 15138), 15138, 16,
          'The database principal owns a certificate in the database, and cannot be dropped.')
    h.ok('ALTER AUTHORIZATION ON CERTIFICATE::p2_cert TO dbo')
    h.ok('DROP USER p2_user')
    h.fails('ALTER AUTHORIZATION ON CERTIFICATE::p2_cert TO nobody', 15151)
    h.fails('CREATE CERTIFICATE c9 AUTHORIZATION db_owner FROM BINARY = 0x%s' % self_signed(tmp_path)[1].hex(),
            15353)
    check(h.fails('DROP CERTIFICATE nope', 15151), 15151, 16,
          "Cannot drop the certificate 'nope', because it does not exist or you do not have permission.")


def test_backup_certificate_files(h):
    h.ok(MK)
    h.ok("CREATE CERTIFICATE c WITH SUBJECT = 'c'")
    h.ok("BACKUP CERTIFICATE c TO FILE = 'c.cer' WITH PRIVATE KEY (FILE = 'c.pvk', ENCRYPTION BY PASSWORD = "
         "'Pvk!Passw0rd#1')")
    der = open(os.path.join(h.data_dir, 'c.cer'), 'rb').read()
    assert der == h.value("SELECT CERTENCODED(CERT_ID('c'))")
    key = read_pvk(open(os.path.join(h.data_dir, 'c.pvk'), 'rb').read(), 'Pvk!Passw0rd#1')
    assert key.public_key().public_numbers() == x509.load_der_x509_certificate(der).public_key().public_numbers()
    assert h.value("SELECT pvt_key_last_backup_date FROM sys.certificates WHERE name = 'c'") is not None
    path = os.path.join(h.data_dir, 'c.cer')
    check(h.fails("BACKUP CERTIFICATE c TO FILE = 'c.cer'", 15240), 15240, 16,
          "Cannot write into file '%s'. Verify that you have write permissions, that the file path is valid, and "
          "that the file does not already exist." % path)
    h.ok("DROP CERTIFICATE c; CREATE CERTIFICATE pub FROM FILE = 'c.cer'")
    check(h.fails("BACKUP CERTIFICATE pub TO FILE = 'p.cer' WITH PRIVATE KEY (FILE = 'p.pvk', ENCRYPTION BY "
                  "PASSWORD = 'Pvk!Passw0rd#1')", 15246), 15246, 16,
          "Cannot dump the private key of certificate 'pub' because the private key cannot be found.")
    h.fails("CREATE CERTIFICATE missing FROM FILE = 'no-such-file.cer'", 15208)


def test_two_instances_share_a_certificate(tmp_path):
    """The Linux AG flow across two instances: the secondary imports the primary's files."""
    primary, secondary = Harness(str(tmp_path / 'p')), Harness(str(tmp_path / 's'))
    try:
        primary.ok(MK)
        primary.ok("CREATE CERTIFICATE dbm_certificate WITH SUBJECT = 'dbm'")
        cer, pvk = str(tmp_path / 'dbm.cer'), str(tmp_path / 'dbm.pvk')
        primary.ok("BACKUP CERTIFICATE dbm_certificate TO FILE = '%s' WITH PRIVATE KEY (FILE = '%s', ENCRYPTION BY "
                   "PASSWORD = 'Pvk!Passw0rd#1')" % (cer, pvk))
        secondary.ok(MK)
        secondary.ok("CREATE CERTIFICATE dbm_certificate FROM FILE = '%s' WITH PRIVATE KEY (FILE = '%s', "
                     "DECRYPTION BY PASSWORD = 'Pvk!Passw0rd#1')" % (cer, pvk))
        query = 'SELECT thumbprint, pvt_key_encryption_type FROM sys.certificates'
        assert primary.rows(query) == secondary.rows(query)
        secondary.ok("CREATE ENDPOINT ep AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING (ROLE = ALL, "
                     "AUTHENTICATION = CERTIFICATE dbm_certificate)" % free_port())
    finally:
        primary.close()
        secondary.close()


def test_certificates_and_master_key_survive_restart(h):
    h.ok(MK)
    h.ok("CREATE CERTIFICATE c WITH SUBJECT = 'c'")
    before = h.rows('SELECT name, thumbprint, pvt_key_encryption_type FROM sys.certificates')
    h.restart()
    assert h.rows('SELECT name, thumbprint, pvt_key_encryption_type FROM sys.certificates') == before
    h.ok("BACKUP CERTIFICATE c TO FILE = 'c.cer' WITH PRIVATE KEY (FILE = 'c.pvk', ENCRYPTION BY PASSWORD = "
         "'Pvk!Passw0rd#1')")
