"""Certificates, keys and PKCS#12 files for tests (unit and integration), made with cryptography.

Also tests itself against OpenSSL, so the fixtures other tests rely on are known to be what they claim.
"""
import datetime
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

_KEYS = {}


def rsa_key(bits=2048, exponent=65537, slot=0):
    """A cached RSA key (generating 4096-bit keys takes a while); slot picks a distinct key of that size."""
    cache = (bits, exponent, slot)
    if cache not in _KEYS:
        _KEYS[cache] = rsa.generate_private_key(public_exponent=exponent, key_size=bits)
    return _KEYS[cache]


def self_signed(key=None, common_name='partner-a', days=365, start_offset_days=-1):
    key = key or rsa_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=start_offset_days))
            .not_valid_after(now + datetime.timedelta(days=start_offset_days + days))
            .sign(key, hashes.SHA256()))


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def pfx(cert, key, password, name=b'test'):
    encryption = (serialization.BestAvailableEncryption(password.encode('utf-8')) if password
                  else serialization.NoEncryption())
    return pkcs12.serialize_key_and_certificates(name, key, cert, None, encryption)


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def openssl(*args, data=None):
    return subprocess.run(('openssl',) + args, input=data, capture_output=True, check=True).stdout


def test_self_signed_certificate_is_what_openssl_sees():
    cert = self_signed(common_name='factory-check', days=10)
    text = openssl('x509', '-noout', '-subject', '-enddate', data=pem(cert).encode()).decode()
    assert 'CN = factory-check' in text or 'CN=factory-check' in text
    assert cert.not_valid_after_utc.strftime('%b') in text


def test_pfx_opens_with_openssl_and_the_password():
    key = rsa_key()
    cert = self_signed(key)
    data = pfx(cert, key, 'pfx-pass')
    out = openssl('pkcs12', '-nodes', '-passin', 'pass:pfx-pass', data=data).decode()
    assert 'BEGIN CERTIFICATE' in out and 'PRIVATE KEY' in out
