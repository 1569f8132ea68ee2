"""Quoting and name validation: examples plus property tests over arbitrary text."""
import re

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.mssql.hadr.plugins.module_utils._tsql import (
    TsqlValueError, binary_literal, mask_secrets, parse_hex, quote_name, quote_string, validate_sysname)

DANGEROUS = st.sampled_from([']', "'", ';', '--', '/*', '*/', '\n', '\r', '[', '"', 'GO', ' ', 'ä', '😀', '\u202e'])
ANY_CHARACTER = st.characters(blacklist_characters='\x00', blacklist_categories=('Cs',))
NAME_TEXT = st.lists(st.one_of(DANGEROUS, ANY_CHARACTER), min_size=1, max_size=40).map(''.join)


def unquote_name(token):
    """Independent reader of a bracketed identifier: returns (name, rest of the text)."""
    assert token[0] == '['
    out, i = [], 1
    while True:
        ch = token[i]
        if ch == ']':
            if token[i + 1:i + 2] == ']':
                out.append(']')
                i += 2
                continue
            return ''.join(out), token[i + 1:]
        out.append(ch)
        i += 1


def unquote_string(token):
    assert token[:2] == "N'"
    out, i = [], 2
    while True:
        ch = token[i]
        if ch == "'":
            if token[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return ''.join(out), token[i + 1:]
        out.append(ch)
        i += 1


@pytest.mark.parametrize('name, quoted', [
    ('Hadr_endpoint', '[Hadr_endpoint]'),
    ('a]b', '[a]]b]'),
    ('x]];DROP LOGIN sa--', '[x]]]];DROP LOGIN sa--]'),
    ("it's", "[it's]"),
    ('DOMAIN\\svc$', '[DOMAIN\\svc$]'),
])
def test_quote_name_examples(name, quoted):
    assert quote_name(name) == quoted


@pytest.mark.parametrize('value, quoted', [
    ("it's", "N'it''s'"),
    ("'; DROP LOGIN sa; --", "N'''; DROP LOGIN sa; --'"),
    ('', "N''"),
    ('Grüße', "N'Grüße'"),
])
def test_quote_string_examples(value, quoted):
    assert quote_string(value) == quoted


@settings(max_examples=300)
@given(NAME_TEXT.filter(lambda s: s == s.rstrip(' ') and len(s.encode('utf-16-le')) // 2 <= 128))
def test_quote_name_round_trips_and_never_escapes(name):
    quoted = quote_name(name)
    # The statement continues after the identifier: the reader must stop exactly at the closing bracket.
    back, rest = unquote_name(quoted + ' TO [x]')
    assert back == name
    assert rest == ' TO [x]'


@settings(max_examples=300)
@given(st.text(alphabet=ANY_CHARACTER) | NAME_TEXT)
def test_quote_string_round_trips_and_never_escapes(value):
    back, rest = unquote_string(quote_string(value) + ', CHECK_POLICY = ON')
    assert back == value
    assert rest == ', CHECK_POLICY = ON'


@pytest.mark.parametrize('name, fragment', [
    ('', 'must not be empty'),
    ('a' * 129, 'at most 128'),
    ('😀' * 65, 'at most 128'),  # 130 UTF-16 code units
    ('a\x00b', 'NUL'),
    ('name ', 'trailing spaces'),
])
def test_validate_sysname_rejects(name, fragment):
    with pytest.raises(TsqlValueError, match=fragment):
        validate_sysname(name, 'login name')


def test_validate_sysname_accepts_128_and_names_the_option():
    assert validate_sysname('a' * 128) == 'a' * 128
    with pytest.raises(TsqlValueError, match='^endpoint name is 129'):
        quote_name('b' * 129, 'endpoint name')


def test_quote_string_rejects_nul():
    with pytest.raises(TsqlValueError, match='NUL'):
        quote_string('pa\x00ss', 'password')


@given(st.binary(max_size=64))
def test_binary_literal_round_trip(data):
    literal = binary_literal(data)
    assert re.fullmatch(r'0x[0-9A-F]*', literal)
    assert parse_hex(literal) == data
    assert parse_hex(literal[2:].lower()) == data


def test_parse_hex_rejects_garbage():
    with pytest.raises(TsqlValueError, match='not hexadecimal'):
        parse_hex('0xZZ', 'sid')


def test_mask_secrets_hides_literal_forms_only():
    secret = "p'w]ä"
    sql = "CREATE LOGIN [a] WITH PASSWORD = %s, CHECK_POLICY = ON" % quote_string(secret)
    masked = mask_secrets(sql, [secret, None, ''])
    assert masked == "CREATE LOGIN [a] WITH PASSWORD = N'********', CHECK_POLICY = ON"
    key = b'\x1e\xf1\x00secret'
    sql = 'CREATE CERTIFICATE [c] FROM BINARY = 0x01 WITH PRIVATE KEY (BINARY = %s)' % binary_literal(key)
    assert mask_secrets(sql, [key]).endswith('(BINARY = 0x********)')
    # A short secret that happens to occur elsewhere in the text does not mangle the statement.
    assert mask_secrets('CREATE LOGIN [a] WITH PASSWORD = %s' % quote_string('a'), ['a']) == \
        "CREATE LOGIN [a] WITH PASSWORD = N'********'"
