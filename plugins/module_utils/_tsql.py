# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure T-SQL text helpers: quoting identifiers and literals, validating names.

Every statement the collection sends is plain text built from these helpers, so they are the only
place where user input meets SQL. They never touch a connection and are unit- and property-tested.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii

SYSNAME_MAX_LENGTH = 128
# CREATE LOGIN holds at most 128 characters, and the TDS LOGIN7 packet carries no more: counted, like a
# sysname, in UTF-16 code units (sysname_length).
PASSWORD_MAX_LENGTH = 128


class TsqlValueError(ValueError):
    """A name or value that cannot be used in a statement. The message says why and what to do."""


def sysname_length(name):
    """Length as SQL Server counts it: UTF-16 code units (a sysname is nvarchar(128))."""
    return len(name.encode('utf-16-le')) // 2


def validate_sysname(name, what='name'):
    """Return ``name`` when it is a valid sysname, else raise TsqlValueError naming ``what``."""
    if not isinstance(name, str):
        raise TsqlValueError('%s must be a string, got %s' % (what, type(name).__name__))
    if name == '':
        raise TsqlValueError('%s must not be empty' % what)
    if '\x00' in name:
        raise TsqlValueError('%s %r contains a NUL character, which SQL Server names cannot hold' % (what, name))
    length = sysname_length(name)
    if length > SYSNAME_MAX_LENGTH:
        raise TsqlValueError('%s is %d characters long; SQL Server names hold at most %d (sysname). Use a shorter %s.'
                             % (what, length, SYSNAME_MAX_LENGTH, what))
    if name != name.rstrip(' '):
        # SQL Server ignores trailing spaces when it compares names: [a ] and [a] are the same object.
        raise TsqlValueError('%s %r ends with a space; SQL Server ignores trailing spaces in names, '
                             'so it would clash with %r. Remove the trailing spaces.' % (what, name, name.rstrip(' ')))
    return name


def quote_name(name, what='name'):
    """Bracket-quote an identifier after validating it: ``a]b`` becomes ``[a]]b]``."""
    validate_sysname(name, what)
    return '[' + name.replace(']', ']]') + ']'


def quote_string(value, what='value'):
    """Quote a Unicode string literal: ``it's`` becomes ``N'it''s'``."""
    if not isinstance(value, str):
        raise TsqlValueError('%s must be a string, got %s' % (what, type(value).__name__))
    if '\x00' in value:
        raise TsqlValueError('%s contains a NUL character, which T-SQL string literals cannot carry' % what)
    return "N'" + value.replace("'", "''") + "'"


def binary_literal(data):
    """A varbinary literal: ``b'\\x01\\xab'`` becomes ``0x01AB``."""
    if not isinstance(data, (bytes, bytearray)):
        raise TsqlValueError('binary value must be bytes, got %s' % type(data).__name__)
    return '0x' + binascii.hexlify(bytes(data)).decode('ascii').upper()


def parse_hex(value, what='value'):
    """Bytes from hex text as users and catalog views write it: ``0x01AB`` or ``01ab``."""
    text = value.strip()
    if text[:2].lower() == '0x':
        text = text[2:]
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, TypeError, ValueError):
        raise TsqlValueError('%s %r is not hexadecimal (expected something like 0x0A1B...)' % (what, value))


def mask_secrets(sql, secrets):
    """Replace each secret's literal (as quote_string or binary_literal wrote it) by ``********``.

    Statements are built with those two helpers only, so the literal form is the only form in which a
    secret can appear; replacing raw substrings instead would mangle statements for short secrets.
    """
    for secret in secrets:
        if not secret:
            continue
        if isinstance(secret, (bytes, bytearray)):
            sql = sql.replace(binary_literal(secret), '0x********')
        else:
            sql = sql.replace(quote_string(secret), "N'********'")
    return sql
