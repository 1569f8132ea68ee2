# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""X.509 and key formats: parse PEM/DER/PKCS#12, thumbprints, and the PVK private-key format (no SQL).

SQL Server imports a certificate FROM BINARY (DER) and its private key only as PVK, Microsoft's
legacy key file. cryptography reads and writes neither PVK nor RC4 outside its "decrepit" corner, so
the writer (and a reader used to verify it) live here; the unit tests cross-check both against
OpenSSL's own PVK code (``openssl rsa -inform/-outform PVK``). Nothing here touches a server.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import os
import re
import struct
import traceback

# cryptography is imported on first use (_require_cryptography): the import costs about 30 ms, which a
# module that only reads catalog rows (a no-op run of master_key or certificate) should not pay.
x509 = serialization = rsa = pkcs12 = None

# PVK layout (OpenSSL crypto/pem/pvkfmt.c, Microsoft's PRIVATEKEYBLOB documentation).
PVK_MAGIC = 0xB0B5F11E
PVK_KEYTYPE_KEYX = 1          # AT_KEYEXCHANGE: what OpenSSL writes for RSA keys
PRIVATEKEYBLOB = 0x07
CALG_RSA_KEYX = 0xA400
RSA2_MAGIC = 0x32415352       # b'RSA2'
PVK_SALT_LENGTH = 16
PVK_HEADER = struct.Struct('<6I')

# SQL Server accepts imported private keys of 384 to 4096 bits in multiples of 64 (CREATE CERTIFICATE).
MIN_KEY_BITS, MAX_KEY_BITS, KEY_BITS_STEP = 384, 4096, 64

_PEM_BLOCK = re.compile(r'-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----', re.S)


class CertificateError(ValueError):
    """Certificate or key data that cannot be used; the message says what is wrong and what to give."""


def _require_cryptography():
    global x509, serialization, rsa, pkcs12  # pylint: disable=global-statement
    if x509 is not None:
        return
    try:
        from cryptography import x509 as x509_module
        from cryptography.hazmat.primitives import serialization as serialization_module
        from cryptography.hazmat.primitives.asymmetric import rsa as rsa_module
        from cryptography.hazmat.primitives.serialization import pkcs12 as pkcs12_module
    except ImportError:
        raise CertificateError('The Python library "cryptography" is required on the host that runs the module '
                               '(pip install cryptography): %s' % traceback.format_exc())
    x509, serialization, rsa, pkcs12 = x509_module, serialization_module, rsa_module, pkcs12_module


def _b64decode(text):
    compact = re.sub(r'\s+', '', text)
    return base64.b64decode(compact.encode('ascii'), validate=True)


def load_certificate(data, what='public_certificate'):
    """An x509.Certificate from PEM text, base64 DER text, or DER/PEM bytes. Exactly one certificate."""
    _require_cryptography()
    if isinstance(data, bytes) and b'-----BEGIN' in data:
        data = data.decode('ascii', 'replace')
    if isinstance(data, str):
        blocks = _PEM_BLOCK.findall(data)
        if 'PRIVATE KEY' in data:
            raise CertificateError('%s contains a private key. Give only the public certificate here; a certificate '
                                   'with its private key goes in pkcs12.' % what)
        if blocks:
            certs = [body for kind, body in blocks if kind in ('CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE')]
            if len(certs) != 1:
                raise CertificateError('%s must hold exactly one PEM certificate, found %d (a chain or bundle cannot be '
                                       'imported; give the partner\'s own certificate).' % (what, len(certs)))
            body = certs[0]
        elif '-----BEGIN' in data:
            raise CertificateError('%s has a PEM header but no complete "BEGIN CERTIFICATE"/"END CERTIFICATE" block.'
                                   % what)
        else:
            body = data
        try:
            der = _b64decode(body)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise CertificateError('%s is neither a PEM certificate nor base64-encoded DER.' % what)
    else:
        der = bytes(data)
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CertificateError('%s is not a valid X.509 certificate (%s). Give it as PEM or base64 DER, as the '
                               'certificate module returns in pem or der_base64.' % (what, exc))


def certificate_der(cert):
    _require_cryptography()
    return cert.public_bytes(serialization.Encoding.DER)


def thumbprint(der):
    """SHA-1 of the DER encoding as lowercase hex, which is what sys.certificates.thumbprint holds."""
    return hashlib.sha1(der).hexdigest()


def der_to_pem(der):
    body = base64.b64encode(der).decode('ascii')
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' % '\n'.join(lines)


def _utc(value):
    """cryptography's naive UTC datetimes (older versions) or aware ones (newer) as aware UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def validity(cert):
    """(start, expiry) as aware UTC datetimes."""
    start = getattr(cert, 'not_valid_before_utc', None) or _utc(cert.not_valid_before)
    expiry = getattr(cert, 'not_valid_after_utc', None) or _utc(cert.not_valid_after)
    return start, expiry


def describe(cert):
    """Facts of a certificate taken from its own bytes (used when the catalog cannot be read yet)."""
    der = certificate_der(cert)
    start, expiry = validity(cert)
    key = cert.public_key()
    return {
        'thumbprint': thumbprint(der),
        'subject': cert.subject.rfc4514_string(),
        'issuer': cert.issuer.rfc4514_string(),
        'serial': '%x' % cert.serial_number,
        'start_date': start,
        'expiry_date': expiry,
        'key_length': getattr(key, 'key_size', None),
        'pem': der_to_pem(der),
        'der_base64': base64.b64encode(der).decode('ascii'),
    }


def read_pkcs12_source(value, what='pkcs12'):
    """The PKCS#12 bytes from a path on the module's host or from base64 text."""
    if isinstance(value, bytes):
        return value
    text = value.strip()
    if len(text) < 4096 and (text.startswith('/') or text.startswith('~') or os.path.sep in text
                             and not re.match(r'^[A-Za-z0-9+/=\s]+$', text)):
        path = os.path.expanduser(text)
        if not os.path.isfile(path):
            raise CertificateError('%s looks like a path, but %s is not a file on the host that runs the module.'
                                   % (what, path))
        with open(path, 'rb') as handle:
            return handle.read()
    try:
        return _b64decode(text)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CertificateError('%s is neither base64 PKCS#12 data nor the path of a PKCS#12 (.pfx/.p12) file.' % what)


def _looks_like_pfx(data):
    """True when data starts like a DER PFX (SEQUENCE, INTEGER version 3): then a failure means a wrong password."""
    if len(data) < 8 or data[0:1] != b'\x30':
        return False
    length_octets = data[1] & 0x7F if data[1] & 0x80 else 0
    offset = 2 + length_octets
    return data[offset:offset + 3] == b'\x02\x01\x03'


def check_rsa_key_size(bits, what):
    if bits < MIN_KEY_BITS or bits > MAX_KEY_BITS or bits % KEY_BITS_STEP:
        raise CertificateError('%s has a %d-bit key; SQL Server imports RSA keys of %d to %d bits in multiples of %d.'
                               % (what, bits, MIN_KEY_BITS, MAX_KEY_BITS, KEY_BITS_STEP))


def load_pkcs12(data, password, what='pkcs12'):
    """(certificate, RSA private key) from PKCS#12 bytes; checks that the key belongs to the certificate."""
    _require_cryptography()
    secret = password.encode('utf-8') if password else None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except (ValueError, TypeError):
        if _looks_like_pfx(data):
            raise CertificateError('Cannot decrypt %s with pkcs12_password: the password is wrong (or missing).' % what)
        raise CertificateError('%s is not PKCS#12 data (a .pfx/.p12 file, as a path or base64).' % what)
    if key is None:
        raise CertificateError('%s holds no private key. For a certificate without its key use public_certificate.'
                               % what)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError('%s holds a %s key; SQL Server certificates need an RSA key.'
                               % (what, type(key).__name__.lstrip('_')))
    candidates = [cert] if cert is not None else list(extra or [])
    if not candidates:
        raise CertificateError('%s holds no certificate, only a private key.' % what)
    public = key.public_key().public_numbers()
    matching = [c for c in candidates if getattr(c.public_key(), 'public_numbers', lambda: None)() == public]
    if not matching:
        raise CertificateError('The private key in %s does not match its certificate (different public key).' % what)
    cert = matching[0]
    check_rsa_key_size(key.key_size, what)
    return cert, key


# ------------------------------------------------------------------------------------------------
# PVK


def _rc4(key, data):
    """RC4, which PVK uses; kept here because cryptography only offers it from its 'decrepit' module."""
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) & 0xFF
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in bytearray(data):
        i = (i + 1) & 0xFF
        j = (j + state[i]) & 0xFF
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) & 0xFF])
    return bytes(out)


def _pvk_key(salt, password, weak=False):
    """RC4 key: SHA-1(salt || password), 128 bits; the 'weak' 40-bit form zeroes all but 5 bytes."""
    digest = hashlib.sha1(salt + password.encode('utf-8')).digest()[:16]
    return digest[:5] + b'\x00' * 11 if weak else digest


def _le(number, length):
    return number.to_bytes(length, 'little')


def _key_blob(key):
    """PRIVATEKEYBLOB: BLOBHEADER, RSAPUBKEY, then modulus, p, q, dp, dq, qinv, d little-endian."""
    numbers = key.private_numbers()
    public = numbers.public_numbers
    bits = key.key_size
    full, half = (bits + 7) // 8, (bits + 15) // 16
    if public.e >= 1 << 32:
        raise CertificateError('The RSA public exponent does not fit the PVK format (32 bits at most).')
    parts = [struct.pack('<BBHI', PRIVATEKEYBLOB, 2, 0, CALG_RSA_KEYX),
             struct.pack('<III', RSA2_MAGIC, bits, public.e), _le(public.n, full)]
    try:
        parts += [_le(value, half) for value in (numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp)]
        parts.append(_le(numbers.d, full))
    except OverflowError:
        raise CertificateError('This RSA key has CRT components too large for the PVK format.')
    return b''.join(parts)


def pvk_from_key(key, password=None, salt=None):
    """PVK bytes of an RSA private key: RC4-128 ("strong") encrypted under password, or plain without one."""
    _require_cryptography()
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError('Only RSA private keys can be written as PVK.')
    blob = _key_blob(key)
    if not password:
        return PVK_HEADER.pack(PVK_MAGIC, 0, PVK_KEYTYPE_KEYX, 0, 0, len(blob)) + blob
    salt = os.urandom(PVK_SALT_LENGTH) if salt is None else salt
    encrypted = blob[:8] + _rc4(_pvk_key(salt, password), blob[8:])
    return PVK_HEADER.pack(PVK_MAGIC, 0, PVK_KEYTYPE_KEYX, 1, len(salt), len(blob)) + salt + encrypted


def key_from_pvk(data, password=None):
    """The RSA private key in PVK bytes (the reader that checks our writer and OpenSSL's)."""
    _require_cryptography()
    if len(data) < PVK_HEADER.size:
        raise CertificateError('PVK data is too short.')
    magic, _reserved, _keytype, encrypted, salt_length, blob_length = PVK_HEADER.unpack_from(data)
    if magic != PVK_MAGIC:
        raise CertificateError('Not PVK data (bad magic number).')
    salt = data[PVK_HEADER.size:PVK_HEADER.size + salt_length]
    blob = data[PVK_HEADER.size + salt_length:PVK_HEADER.size + salt_length + blob_length]
    if len(blob) != blob_length:
        raise CertificateError('PVK data is truncated.')
    if encrypted:
        if not password:
            raise CertificateError('The PVK is encrypted and no password was given.')
        for weak in (False, True):
            plain = blob[:8] + _rc4(_pvk_key(salt, password, weak), blob[8:])
            if struct.unpack_from('<I', plain, 8)[0] == RSA2_MAGIC:
                blob = plain
                break
        else:
            raise CertificateError('The PVK password is wrong.')
    kind, version, _zero, algorithm = struct.unpack_from('<BBHI', blob)
    magic, bits, exponent = struct.unpack_from('<III', blob, 8)
    if kind != PRIVATEKEYBLOB or version != 2 or magic != RSA2_MAGIC or algorithm not in (CALG_RSA_KEYX, 0x2400):
        raise CertificateError('The PVK does not hold an RSA private key blob.')
    full, half = (bits + 7) // 8, (bits + 15) // 16
    offset = 20
    values = []
    for length in (full, half, half, half, half, half, full):
        values.append(int.from_bytes(blob[offset:offset + length], 'little'))
        offset += length
    modulus, p, q, dmp1, dmq1, iqmp, d = values
    public = rsa.RSAPublicNumbers(exponent, modulus)
    try:
        return rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, public).private_key()
    except ValueError as exc:
        raise CertificateError('The PVK key is inconsistent: %s' % exc)
