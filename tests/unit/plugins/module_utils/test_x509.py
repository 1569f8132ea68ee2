"""Certificate helpers: parsing, thumbprints, PKCS#12, and the PVK writer/reader checked against OpenSSL."""
import base64
import hashlib
import os
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ansible_collections.mssql.hadr.plugins.module_utils import _x509
from ansible_collections.mssql.hadr.plugins.module_utils._x509 import CertificateError
from tests.support.certificates import der, ec_key, pem, pfx, rsa_key, self_signed

# OpenSSL 3 keeps RC4 (the PVK cipher) in its legacy provider.
LEGACY = ('-provider', 'legacy', '-provider', 'default')
PASSWORDS = ['secret', "it's]a;--pass", 'pässwörd-ünïcödé-密码', 'x' * 200]
KEY_SHAPES = [(1024, 65537, 0), (2048, 65537, 0), (2048, 3, 1), (1536, 65537, 0), (3072, 65537, 0),
              (4096, 65537, 0)]


def run_openssl(tmp_path, *args, data=None, password=None):
    args = list(args)
    if password is not None:
        pw_file = tmp_path / 'pw'
        pw_file.write_bytes(password.encode('utf-8'))
        args = [a.replace('@PW', 'file:%s' % pw_file) for a in args]
    proc = subprocess.run(['openssl'] + args, input=data, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def same_key(a, b):
    return a.private_numbers() == b.private_numbers()


def openssl_reads_pvk(tmp_path, pvk, password=None):
    """OpenSSL's own PVK reader: returns the key it found, as a cryptography key."""
    path = tmp_path / 'in.pvk'
    path.write_bytes(pvk)
    args = ['rsa', '-inform', 'PVK', '-in', str(path), '-outform', 'DER']
    args += ['-passin', '@PW'] if password is not None else []
    out = run_openssl(tmp_path, *(args + list(LEGACY)), password=password)
    return serialization.load_der_private_key(out, None)


def openssl_writes_pvk(tmp_path, key, mode, password=None):
    path = tmp_path / 'key.der'
    path.write_bytes(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    args = ['rsa', '-inform', 'DER', '-in', str(path), '-outform', 'PVK', '-pvk-%s' % mode]
    args += ['-passout', '@PW'] if password is not None else []
    return run_openssl(tmp_path, *(args + list(LEGACY)), password=password)


# ---------------------------------------------------------------- PVK against OpenSSL


@pytest.mark.parametrize('shape', KEY_SHAPES, ids=lambda s: '%d-e%d' % s[:2])
def test_unencrypted_pvk_is_byte_identical_to_openssl(tmp_path, shape):
    key = rsa_key(*shape)
    assert _x509.pvk_from_key(key) == openssl_writes_pvk(tmp_path, key, 'none')


@pytest.mark.parametrize('shape', KEY_SHAPES, ids=lambda s: '%d-e%d' % s[:2])
def test_openssl_reads_our_unencrypted_pvk(tmp_path, shape):
    key = rsa_key(*shape)
    assert same_key(openssl_reads_pvk(tmp_path, _x509.pvk_from_key(key)), key)


@pytest.mark.parametrize('password', PASSWORDS)
@pytest.mark.parametrize('shape', [(2048, 65537, 0), (1024, 65537, 0), (4096, 65537, 0)], ids=lambda s: str(s[0]))
def test_openssl_reads_our_encrypted_pvk(tmp_path, shape, password):
    key = rsa_key(*shape)
    pvk = _x509.pvk_from_key(key, password)
    assert pvk[12:16] == b'\x01\x00\x00\x00'   # the encrypted flag is set
    assert same_key(openssl_reads_pvk(tmp_path, pvk, password), key)


@pytest.mark.parametrize('password', PASSWORDS)
@pytest.mark.parametrize('mode', ['strong', 'weak'])
def test_we_read_openssl_encrypted_pvk(tmp_path, mode, password):
    key = rsa_key(2048)
    pvk = openssl_writes_pvk(tmp_path, key, mode, password)
    assert same_key(_x509.key_from_pvk(pvk, password), key)
    with pytest.raises(CertificateError, match='password is wrong'):
        _x509.key_from_pvk(pvk, password + 'x')


def test_our_encrypted_pvk_with_fixed_salt_matches_openssl_layout(tmp_path):
    """Same salt => same bytes: decrypting OpenSSL's file with its salt re-encrypts to exactly our output."""
    key = rsa_key(2048)
    theirs = openssl_writes_pvk(tmp_path, key, 'strong', 'pw')
    salt = theirs[24:40]
    assert _x509.pvk_from_key(key, 'pw', salt=salt) == theirs


def test_encrypted_pvk_hides_the_key_bytes():
    key = rsa_key(2048)
    plain = _x509.pvk_from_key(key)
    encrypted = _x509.pvk_from_key(key, 'pw')
    d_bytes = key.private_numbers().d.to_bytes(256, 'little')
    assert d_bytes in plain and d_bytes not in encrypted
    assert len(encrypted) == len(plain) + _x509.PVK_SALT_LENGTH
    assert _x509.pvk_from_key(key, 'pw') != encrypted   # a fresh random salt every time


def test_pvk_reader_errors():
    key = rsa_key(2048)
    with pytest.raises(CertificateError, match='bad magic'):
        _x509.key_from_pvk(b'\x00' * 40)
    with pytest.raises(CertificateError, match='no password'):
        _x509.key_from_pvk(_x509.pvk_from_key(key, 'pw'))
    with pytest.raises(CertificateError, match='truncated'):
        _x509.key_from_pvk(_x509.pvk_from_key(key)[:-10])
    with pytest.raises(CertificateError, match='Only RSA'):
        _x509.pvk_from_key(ec_key())


# ---------------------------------------------------------------- certificates


def test_load_certificate_accepts_pem_base64_der_and_bytes():
    cert = self_signed(common_name='forms')
    b64 = base64.b64encode(der(cert)).decode()
    wrapped = '\n'.join(b64[i:i + 76] for i in range(0, len(b64), 76))
    for form in (pem(cert), b64, wrapped, der(cert), pem(cert).encode(), '\n' + pem(cert) + '\n\n'):
        assert _x509.certificate_der(_x509.load_certificate(form)) == der(cert)


def test_thumbprint_is_sha1_of_der_as_openssl_computes_it(tmp_path):
    cert = self_signed(common_name='thumb')
    out = run_openssl(tmp_path, 'x509', '-noout', '-fingerprint', '-sha1', data=pem(cert).encode()).decode()
    expected = out.strip().split('=', 1)[1].replace(':', '').lower()
    assert _x509.thumbprint(der(cert)) == expected == hashlib.sha1(der(cert)).hexdigest()


def test_describe_round_trips_through_its_own_pem_and_der_base64():
    key = rsa_key(3072)
    cert = self_signed(key, common_name='round-trip', days=30)
    facts = _x509.describe(cert)
    assert facts['key_length'] == 3072
    assert facts['subject'] == 'CN=round-trip' == facts['issuer']
    assert facts['serial'] == '%x' % cert.serial_number
    assert (facts['expiry_date'] - facts['start_date']).days == 30
    for form in (facts['pem'], facts['der_base64']):
        again = _x509.describe(_x509.load_certificate(form))
        assert again == facts


@pytest.mark.parametrize('bad, message', [
    ('not a certificate at all!', 'neither a PEM certificate nor base64'),
    ('QUJDREVGRw==', 'not a valid X.509 certificate'),
    ('-----BEGIN CERTIFICATE-----\nAAAA', 'no complete'),
    (b'\x30\x03\x02\x01\x01', 'not a valid X.509 certificate'),
])
def test_load_certificate_rejects_garbage_clearly(bad, message):
    with pytest.raises(CertificateError, match=message):
        _x509.load_certificate(bad)


def test_load_certificate_rejects_truncated_der_private_keys_and_bundles():
    cert = self_signed()
    with pytest.raises(CertificateError, match='not a valid X.509'):
        _x509.load_certificate(base64.b64encode(der(cert)[:-20]).decode())
    key_pem = rsa_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()
    with pytest.raises(CertificateError, match='contains a private key'):
        _x509.load_certificate(pem(cert) + key_pem)
    with pytest.raises(CertificateError, match='exactly one PEM certificate, found 2'):
        _x509.load_certificate(pem(cert) + pem(self_signed(common_name='other')))


# ---------------------------------------------------------------- PKCS#12


@pytest.mark.parametrize('password', ['pfx-pass', "q'uote]", 'ünïcödé'])
def test_pkcs12_from_base64_and_path(tmp_path, password):
    key = rsa_key(2048)
    cert = self_signed(key)
    data = pfx(cert, key, password)
    path = tmp_path / 'cert.pfx'
    path.write_bytes(data)
    for source in (base64.b64encode(data).decode(), str(path)):
        got_cert, got_key = _x509.load_pkcs12(_x509.read_pkcs12_source(source), password)
        assert der(got_cert) == der(cert) and same_key(got_key, key)


def test_pkcs12_made_by_openssl_legacy_and_modern(tmp_path):
    key = rsa_key(2048)
    cert = self_signed(key)
    (tmp_path / 'k.pem').write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (tmp_path / 'c.pem').write_text(pem(cert))
    for extra in ([], ['-legacy'] + list(LEGACY)):
        data = run_openssl(tmp_path, 'pkcs12', '-export', '-inkey', str(tmp_path / 'k.pem'), '-in',
                           str(tmp_path / 'c.pem'), '-passout', '@PW', *extra, password='op3nssl')
        got_cert, got_key = _x509.load_pkcs12(data, 'op3nssl')
        assert der(got_cert) == der(cert) and same_key(got_key, key)


def test_pkcs12_errors_are_clear(tmp_path):
    key = rsa_key(2048)
    cert = self_signed(key)
    data = pfx(cert, key, 'right')
    with pytest.raises(CertificateError, match='password is wrong'):
        _x509.load_pkcs12(data, 'wrong')
    with pytest.raises(CertificateError, match='not PKCS#12 data'):
        _x509.load_pkcs12(b'definitely not a pfx', 'x')
    with pytest.raises(CertificateError, match='does not match its certificate'):
        _x509.load_pkcs12(pkcs12.serialize_key_and_certificates(
            b'x', rsa_key(2048, slot=1), None, [cert], serialization.BestAvailableEncryption(b'pw')), 'pw')
    eck = ec_key()
    with pytest.raises(CertificateError, match='need an RSA key'):
        _x509.load_pkcs12(pfx(self_signed(eck), eck, 'pw'), 'pw')
    only_cert = pkcs12.serialize_key_and_certificates(b'x', None, cert, None,
                                                      serialization.BestAvailableEncryption(b'pw'))
    with pytest.raises(CertificateError, match='holds no private key'):
        _x509.load_pkcs12(only_cert, 'pw')
    with pytest.raises(CertificateError, match='not a file'):
        _x509.read_pkcs12_source(str(tmp_path / 'missing.pfx'))
    with pytest.raises(CertificateError, match='neither base64'):
        _x509.read_pkcs12_source('no such thing: ***')


def test_pkcs12_key_sizes_sql_server_refuses():
    small = rsa_key(1024)
    _x509.load_pkcs12(pfx(self_signed(small), small, 'pw'), 'pw')
    with pytest.raises(CertificateError, match='384 to 4096 bits'):
        _x509.check_rsa_key_size(4160, 'pkcs12')
    with pytest.raises(CertificateError, match='multiples of 64'):
        _x509.check_rsa_key_size(2050, 'pkcs12')


def test_pkcs12_key_written_as_pvk_is_read_back_by_openssl(tmp_path):
    """The full import path: PFX -> our PVK -> OpenSSL's reader gives the same key."""
    key = rsa_key(2048)
    data = pfx(self_signed(key), key, 'pfx')
    _cert, got = _x509.load_pkcs12(data, 'pfx')
    password = base64.b32encode(os.urandom(10)).decode()
    assert same_key(openssl_reads_pvk(tmp_path, _x509.pvk_from_key(got, password), password), key)
