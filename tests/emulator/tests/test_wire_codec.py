"""Unit tests of the TDS codec (tds.py) for what the client tests cannot reach directly."""
import struct

import pytest

from tests.emulator import tds
from tests.emulator.server import _bind


def obfuscate(password):
    out = bytearray()
    for byte in password.encode('utf-16-le'):
        byte = ((byte & 0x0F) << 4) | (byte >> 4)
        out.append(byte ^ 0xA5)
    return bytes(out)


def test_password_deobfuscation_inverts_the_client_side():
    assert tds.deobfuscate_password(obfuscate("Pa;ss}w0rd'é€")) == "Pa;ss}w0rd'é€"


@pytest.mark.parametrize('text, expected', [
    ('nvarchar(128)', tds.SqlType('nvarchar', 128)), ('NVARCHAR(MAX)', tds.SqlType('nvarchar', 'max')),
    ('decimal(18,2)', tds.SqlType('decimal', 18, 2)), ('sysname', tds.SqlType('nvarchar', 128)),
    ('varchar', tds.SqlType('varchar', 1)), ('int', tds.SqlType('int')),
])
def test_sql_type_parse(text, expected):
    assert tds.SqlType.parse(text) == expected


def test_a_value_longer_than_its_column_is_refused_not_sent():
    with pytest.raises(ValueError, match='does not fit a nvarchar'):
        tds.SqlType.parse('nvarchar(4000)').encode('x' * 4001)
    assert len(tds.SqlType.parse('nvarchar(4000)').encode('x' * 4000)) == 2 + 8000


def test_packets_split_at_the_negotiated_size_and_mark_the_last():
    payload = bytes(range(256)) * 40
    data = tds.packets(payload, 512)
    offset, chunks, statuses = 0, [], []
    while offset < len(data):
        ptype, status, length = struct.unpack_from('>BBH', data, offset)
        assert ptype == tds.PT_REPLY and length <= 512
        chunks.append(data[offset + 8:offset + length])
        statuses.append(status)
        offset += length
    assert b''.join(chunks) == payload
    assert statuses == [0] * (len(statuses) - 1) + [tds.STATUS_EOM]


def test_prelogin_answer_round_trips():
    options = tds.parse_prelogin(tds.build_prelogin(tds.ENCRYPT_ON, b'\x00', (16, 0, 4135)))
    assert options[tds.PL_ENCRYPTION] == b'\x01'
    assert options[tds.PL_VERSION][:4] == bytes([16, 0]) + struct.pack('>H', 4135)


def test_bind_names_and_types_from_the_declaration():
    values = [tds.RpcParam('', 'a', 'nvarchar(2)'), tds.RpcParam('', 'b' * 5000, 'nvarchar(max)'),
              tds.RpcParam('@named', 5, 'int')]
    bound = _bind('@P1 nvarchar(32),@P2 ntext, @named bigint OUTPUT', values)
    assert [(p.name, p.sqltype) for p in bound] == [('@P1', 'nvarchar(32)'), ('@P2', 'nvarchar(max)'),
                                                    ('@named', 'bigint')]


def test_sql_variant_encoding():
    assert tds.encode_variant(None) == b'\x00\x00\x00\x00'
    assert tds.encode_variant(7) == struct.pack('<I', 6) + b'\x38\x00' + struct.pack('<i', 7)
    text = tds.encode_variant('ab')
    assert text[4:6] == b'\xe7\x07' and text[-4:] == 'ab'.encode('utf-16-le')
