"""TLS for the emulator: server contexts and a self-signed test certificate."""
import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def server_contexts(cert_file, key_file):
    """-> (context for TLS inside PRELOGIN, context for TDS 8.0 strict TLS)."""
    in_band = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    in_band.load_cert_chain(cert_file, key_file)
    # TDS 7.x TLS is capped at 1.2: real SQL Server does so, and FreeTDS+GnuTLS deadlocks on 1.3
    # inside PRELOGIN packets (tds.md gotcha 5).
    in_band.maximum_version = ssl.TLSVersion.TLSv1_2
    strict = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    strict.load_cert_chain(cert_file, key_file)
    strict.set_alpn_protocols(['tds/8.0'])
    return in_band, strict


def write_self_signed(cert_file, key_file, common_name='localhost', alt_names=('localhost', '127.0.0.1')):
    """Write a self-signed server certificate (PEM) and its unencrypted key (PEM, mode 0600)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    sans = []
    for alt in alt_names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(alt)))
        except ValueError:
            sans.append(x509.DNSName(alt))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    with open(cert_file, 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return cert_file, key_file
