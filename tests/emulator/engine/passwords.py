"""SQL Server password hashes (sys.sql_logins.password_hash, PWDCOMPARE, CREATE LOGIN ... HASHED)."""
import hashlib
import os


def hash_password(password, salt=None):
    """SQL Server 2012+ password hash: 0x0200 + 4-byte salt + SHA-512(UTF-16LE(password) + salt)."""
    salt = os.urandom(4) if salt is None else salt
    return b'\x02\x00' + salt + hashlib.sha512(password.encode('utf-16-le') + salt).digest()


def valid_password_hash(stored):
    """0x0200 + salt + SHA-512 (SQL Server 2012+) or 0x0100 + salt + SHA-1 (2005/2008, still accepted)."""
    return (len(stored) == 70 and stored[:2] == b'\x02\x00') or (len(stored) == 26 and stored[:2] == b'\x01\x00')


def check_password(password, stored):
    if stored is None or password is None or not valid_password_hash(bytes(stored)):
        return False
    stored = bytes(stored)
    if stored[:2] == b'\x01\x00':
        return hashlib.sha1(password.encode('utf-16-le') + stored[2:6]).digest() == stored[6:]
    return hash_password(password, stored[2:6]) == stored
