"""Microsoft PVK private-key files: reader and writer (our own, cross-checked against OpenSSL in tests).

Layout (little-endian): header magic 0xB0B5F11E, reserved 0, keytype, encrypted, saltlen, keylen; then the
salt; then a PRIVATEKEYBLOB (BLOBHEADER 07 02 0000 aiKeyAlg, RSAPUBKEY 'RSA2' bitlen pubexp, then modulus,
p, q, dp, dq, qinv, d). When encrypted, the blob after its 8-byte BLOBHEADER is RC4-encrypted with
SHA1(salt + password): 16 bytes ("strong"), or 5 bytes + 11 zero bytes (legacy "weak").
"""
import hashlib
import os
import struct

from cryptography.hazmat.primitives.asymmetric import rsa

MAGIC = 0xB0B5F11E
RSA2 = 0x32415352
CALG_RSA_KEYX = 0xA400
CALG_RSA_SIGN = 0x2400


class PvkError(Exception):
    """kind: 'format' (not a PVK / unsupported) or 'password' (missing or wrong password)."""

    def __init__(self, kind, text):
        super().__init__(text)
        self.kind = kind


def rc4(key, data):
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray(len(data))
    i = j = 0
    for n, byte in enumerate(data):
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out[n] = byte ^ s[(s[i] + s[j]) & 0xFF]
    return bytes(out)


def _le(data):
    return int.from_bytes(data, 'little')


def read_pvk(data, password=None):
    """PVK bytes -> cryptography RSAPrivateKey."""
    if len(data) < 24:
        raise PvkError('format', 'too short for a PVK header')
    magic, reserved, keytype, encrypted, saltlen, keylen = struct.unpack('<6I', data[:24])
    if magic != MAGIC or reserved != 0 or len(data) < 24 + saltlen + keylen or keylen < 20:
        raise PvkError('format', 'not a PVK file')
    salt = data[24:24 + saltlen]
    blob = data[24 + saltlen:24 + saltlen + keylen]
    btype, version, _unused, alg = struct.unpack('<BBHI', blob[:8])
    if btype != 0x07 or version != 0x02 or alg not in (CALG_RSA_KEYX, CALG_RSA_SIGN):
        raise PvkError('format', 'not an RSA private key blob')
    body = blob[8:]
    if encrypted:
        if password is None:
            raise PvkError('password', 'the PVK is encrypted and no password was given')
        digest = hashlib.sha1(salt + password.encode('utf-8')).digest()
        for key in (digest[:16], digest[:5] + bytes(11)):
            candidate = rc4(key, body)
            if _le(candidate[:4]) == RSA2:
                body = candidate
                break
        else:
            raise PvkError('password', 'wrong password')
    magic2, bitlen, pubexp = struct.unpack('<III', body[:12])
    if magic2 != RSA2 or bitlen % 16:
        raise PvkError('format', 'not an RSA2 key')
    n8, n16 = bitlen // 8, bitlen // 16
    need = 12 + n8 + 5 * n16 + n8
    if len(body) < need:
        raise PvkError('format', 'truncated key')
    pos = 12
    parts = []
    for size in (n8, n16, n16, n16, n16, n16, n8):
        parts.append(_le(body[pos:pos + size]))
        pos += size
    n, p, q, dp, dq, qinv, d = parts
    try:
        numbers = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qinv, rsa.RSAPublicNumbers(pubexp, n))
        return numbers.private_key()
    except ValueError as exc:
        raise PvkError('format', 'inconsistent RSA key: %s' % exc)


def write_pvk(key, password=None, keytype=1):
    """cryptography RSAPrivateKey -> PVK bytes (strong RC4 encryption when a password is given)."""
    numbers = key.private_numbers()
    pub = numbers.public_numbers
    bitlen = key.key_size
    n8, n16 = bitlen // 8, bitlen // 16

    def le(value, size):
        return value.to_bytes(size, 'little')
    body = struct.pack('<III', RSA2, bitlen, pub.e) + le(pub.n, n8) + le(numbers.p, n16) + le(numbers.q, n16) + \
        le(numbers.dmp1, n16) + le(numbers.dmq1, n16) + le(numbers.iqmp, n16) + le(numbers.d, n8)
    header_blob = struct.pack('<BBHI', 0x07, 0x02, 0, CALG_RSA_KEYX if keytype == 1 else CALG_RSA_SIGN)
    salt = b''
    if password is not None:
        salt = os.urandom(16)
        body = rc4(hashlib.sha1(salt + password.encode('utf-8')).digest()[:16], body)
    blob = header_blob + body
    header = struct.pack('<6I', MAGIC, 0, keytype, 1 if password is not None else 0, len(salt), len(blob))
    return header + salt + blob
