"""TDS 7.2-7.4 encoding and decoding (MS-TDS), no I/O.

Only what SQL Server clients actually send and read (see shared/reference/tds.md): packet framing,
PRELOGIN, LOGIN7, ALL_HEADERS, RPC parameters, and the server's tokens (COLMETADATA, ROW, DONE*,
ERROR/INFO, ENVCHANGE, LOGINACK, RETURNSTATUS, RETURNVALUE, FEATUREEXTACK).
"""
import datetime
import decimal
import re
import struct
import uuid
from dataclasses import dataclass

# Packet types (MS-TDS 2.2.3.1.1)
PT_SQL_BATCH, PT_RPC, PT_REPLY, PT_ATTENTION, PT_TM, PT_LOGIN7, PT_PRELOGIN = 0x01, 0x03, 0x04, 0x06, 0x0E, 0x10, 0x12
STATUS_EOM = 0x01
HEADER = struct.Struct('>BBHHBB')  # type, status, length (big-endian, header included), spid, packet id, window

# Tokens (MS-TDS 2.2.7)
TOK_COLMETADATA, TOK_ROW, TOK_ERROR, TOK_INFO, TOK_LOGINACK, TOK_ENVCHANGE = 0x81, 0xD1, 0xAA, 0xAB, 0xAD, 0xE3
TOK_DONE, TOK_DONEPROC, TOK_DONEINPROC, TOK_RETURNSTATUS, TOK_RETURNVALUE = 0xFD, 0xFE, 0xFF, 0x79, 0xAC
TOK_FEATUREEXTACK = 0xAE
DONE_FINAL, DONE_MORE, DONE_ERROR, DONE_INXACT, DONE_COUNT, DONE_ATTN = 0x00, 0x01, 0x02, 0x04, 0x10, 0x20
CURCMD_SELECT = 0xC1

# ENVCHANGE types
ENV_DATABASE, ENV_LANGUAGE, ENV_PACKETSIZE, ENV_COLLATION = 1, 2, 4, 7
ENV_BEGIN_TRAN, ENV_COMMIT_TRAN, ENV_ROLLBACK_TRAN = 8, 9, 10

# PRELOGIN options and ENCRYPTION values
PL_VERSION, PL_ENCRYPTION, PL_INSTOPT, PL_THREADID, PL_MARS, PL_TRACEID, PL_FEDAUTHREQUIRED = 0, 1, 2, 3, 4, 5, 6
ENCRYPT_OFF, ENCRYPT_ON, ENCRYPT_NOT_SUP, ENCRYPT_REQ = 0, 1, 2, 3

# Transaction manager request types
TM_BEGIN_XACT, TM_COMMIT_XACT, TM_ROLLBACK_XACT = 5, 7, 8

# RPC procedures sent by id instead of name
PROC_IDS = {1: 'sp_cursor', 2: 'sp_cursoropen', 3: 'sp_cursorprepare', 4: 'sp_cursorexecute',
            5: 'sp_cursorprepexec', 6: 'sp_cursorunprepare', 7: 'sp_cursorfetch', 8: 'sp_cursoroption',
            9: 'sp_cursorclose', 10: 'sp_executesql', 11: 'sp_prepare', 12: 'sp_execute',
            13: 'sp_prepexec', 14: 'sp_prepexecrpc', 15: 'sp_unprepare'}

TDS_7_4 = 0x74000004
# SQL_Latin1_General_CP1_CI_AS: LCID 0x0409 + flags, sort id 52
COLLATION = b'\x09\x04\xd0\x00\x34'
SERVER_VERSION = (16, 0, 1000)   # SQL Server 2022 RTM; LOGINACK and PRELOGIN VERSION


class ProtocolError(Exception):
    """The client sent something this server cannot decode."""


# ---------------------------------------------------------------- framing
def packets(payload, packet_size, ptype=PT_REPLY, spid=0):
    """Split one message into packets of at most packet_size bytes (header included)."""
    room = packet_size - HEADER.size
    chunks = [payload[i:i + room] for i in range(0, len(payload), room)] or [b'']
    out = bytearray()
    for number, chunk in enumerate(chunks, 1):
        status = STATUS_EOM if number == len(chunks) else 0
        out += HEADER.pack(ptype, status, len(chunk) + HEADER.size, spid, number % 256, 0) + chunk
    return bytes(out)


# ---------------------------------------------------------------- small writers
def b_varchar(text):
    return bytes([len(text)]) + text.encode('utf-16-le')


def us_varchar(text):
    data = text.encode('utf-16-le')
    return struct.pack('<H', len(data) // 2) + data


def envchange(kind, new, old):
    body = bytes([kind]) + new + old
    return bytes([TOK_ENVCHANGE]) + struct.pack('<H', len(body)) + body


def env_text(kind, new, old=''):
    return envchange(kind, b_varchar(new), b_varchar(old))


def env_bytes(kind, new, old=b''):
    return envchange(kind, bytes([len(new)]) + new, bytes([len(old)]) + old)


def message(token, number, state, severity, text, server, proc='', line=1):
    body = (struct.pack('<iBB', number, state, severity) + us_varchar(text) + b_varchar(server)
            + b_varchar(proc) + struct.pack('<i', line))
    return bytes([token]) + struct.pack('<H', len(body)) + body


def done(token=TOK_DONE, status=DONE_FINAL, curcmd=0, rowcount=0):
    return bytes([token]) + struct.pack('<HHQ', status, curcmd, rowcount)


def return_status(value=0):
    return bytes([TOK_RETURNSTATUS]) + struct.pack('<i', value)


def loginack(tds_version, prog_name='Microsoft SQL Server', version=SERVER_VERSION):
    body = (b'\x01' + struct.pack('>I', tds_version) + b_varchar(prog_name)
            + bytes([version[0], version[1]]) + struct.pack('>H', version[2]))
    return bytes([TOK_LOGINACK]) + struct.pack('<H', len(body)) + body


FEATUREEXTACK_EMPTY = bytes([TOK_FEATUREEXTACK, 0xFF])


# ---------------------------------------------------------------- column types
_TYPE_RE = re.compile(r'^\s*([a-z_0-9]+)\s*(?:\(\s*(max|\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$', re.I)
_INT_SIZES = {'tinyint': 1, 'smallint': 2, 'int': 4, 'bigint': 8}
_INT_FORMATS = {1: '<B', 2: '<h', 4: '<i', 8: '<q'}
_SHORTLEN = {'nvarchar': 0xE7, 'varchar': 0xA7, 'nchar': 0xEF, 'char': 0xAF, 'varbinary': 0xA5, 'binary': 0xAD}
_DATETIME_EPOCH = datetime.datetime(1900, 1, 1)
_DATE2_EPOCH = datetime.date(1, 1, 1)


@dataclass(frozen=True)
class SqlType:
    """A parsed type name such as 'nvarchar(128)', 'varbinary(max)' or 'decimal(18,2)'."""
    base: str
    length: object = None      # int, 'max' or None
    scale: int = 0

    @classmethod
    def parse(cls, text):
        match = _TYPE_RE.match(text or '')
        if not match:
            raise ValueError('unknown SQL type %r' % (text,))
        base, length, scale = match.group(1).lower(), match.group(2), match.group(3)
        if length is not None and length.lower() != 'max':
            length = int(length)
        elif length is not None:
            length = 'max'
        if base == 'decimal' or base == 'numeric':
            return cls('decimal', 18 if length is None else length, int(scale or 0))
        if base in ('nvarchar', 'varchar', 'nchar', 'char', 'varbinary', 'binary') and length is None:
            length = 1
        if base == 'sysname':
            return cls('nvarchar', 128)
        return cls(base, length)

    @property
    def is_max(self):
        return self.length == 'max'

    def type_info(self):
        base = self.base
        if base in _INT_SIZES:
            return bytes([0x26, _INT_SIZES[base]])
        if base == 'bit':
            return b'\x68\x01'
        if base == 'float':
            return b'\x6d\x08'
        if base == 'real':
            return b'\x6d\x04'
        if base == 'datetime':
            return b'\x6f\x08'
        if base == 'datetime2':
            return b'\x2a\x07'
        if base == 'date':
            return b'\x28'
        if base == 'uniqueidentifier':
            return b'\x24\x10'
        if base == 'decimal':
            return bytes([0x6A, 17, self.length, self.scale])
        if base == 'sql_variant':
            return b'\x62' + struct.pack('<I', 8016)
        if base in _SHORTLEN:
            wide = base in ('nvarchar', 'nchar')
            size = 0xFFFF if self.is_max else self.length * (2 if wide else 1)
            info = bytes([_SHORTLEN[base]]) + struct.pack('<H', size)
            return info + (COLLATION if base not in ('varbinary', 'binary') else b'')
        raise ValueError('type %r cannot be sent to clients' % (base,))

    def encode(self, value):
        """Encode one value (None = NULL) in this type's wire format."""
        base = self.base
        if base in _INT_SIZES:
            if value is None:
                return b'\x00'
            size = _INT_SIZES[base]
            return bytes([size]) + struct.pack(_INT_FORMATS[size], int(value))
        if base == 'bit':
            return b'\x00' if value is None else b'\x01' + (b'\x01' if value else b'\x00')
        if base in ('float', 'real'):
            if value is None:
                return b'\x00'
            return b'\x08' + struct.pack('<d', float(value)) if base == 'float' else b'\x04' + struct.pack('<f', value)
        if base == 'datetime':
            return b'\x00' if value is None else b'\x08' + encode_datetime(value)
        if base == 'datetime2':
            return b'\x00' if value is None else b'\x08' + encode_datetime2(value)
        if base == 'date':
            return b'\x00' if value is None else b'\x03' + (value - _DATE2_EPOCH).days.to_bytes(3, 'little')
        if base == 'uniqueidentifier':
            if value is None:
                return b'\x00'
            return b'\x10' + (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).bytes_le
        if base == 'decimal':
            return b'\x00' if value is None else b'\x11' + encode_decimal(value, self.scale)
        if base == 'sql_variant':
            return encode_variant(value)
        if base in _SHORTLEN:
            if value is None:
                return b'\xff' * (8 if self.is_max else 2)
            data = self._bytes(value)
            limit = None if self.is_max else self.length * (2 if base in ('nvarchar', 'nchar') else 1)
            if limit is not None and len(data) > limit:
                # the engine typed the column too small: sending it would desynchronise the client
                raise ValueError('a %d-byte value does not fit a %s(%d) column' % (len(data), base, self.length))
            if self.is_max:
                # PLP: total length, one chunk, terminator
                return struct.pack('<Q', len(data)) + (struct.pack('<I', len(data)) + data if data else b'') + \
                    b'\x00\x00\x00\x00'
            return struct.pack('<H', len(data)) + data
        raise ValueError('type %r cannot be sent to clients' % (base,))

    def _bytes(self, value):
        base = self.base
        if base in ('varbinary', 'binary'):
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise TypeError('%s column needs bytes, got %r' % (base, type(value).__name__))
            return bytes(value)
        text = str(value)
        if base in ('char', 'nchar'):
            text = text.ljust(self.length)
        return text.encode('utf-16-le') if base in ('nvarchar', 'nchar') else text.encode('cp1252')


def encode_datetime(value):
    """datetime: days since 1900-01-01 and 1/300 s ticks since midnight."""
    days = (value.date() - _DATETIME_EPOCH.date()).days
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    return struct.pack('<iI', days, int(round(seconds * 300)))


def encode_datetime2(value):
    """datetime2(7): 5-byte time in 100 ns units, 3-byte days since 0001-01-01."""
    ticks = (value.hour * 3600 + value.minute * 60 + value.second) * 10 ** 7 + value.microsecond * 10
    return ticks.to_bytes(5, 'little') + (value.date() - _DATE2_EPOCH).days.to_bytes(3, 'little')


def encode_decimal(value, scale):
    number = int(decimal.Decimal(value).scaleb(scale).to_integral_value())
    return (b'\x01' if number >= 0 else b'\x00') + abs(number).to_bytes(16, 'little')


def encode_variant(value):
    """SSVARIANT (MS-TDS 2.2.5.5.4): 4-byte length, base type, property bytes, data."""
    if value is None:
        return b'\x00\x00\x00\x00'
    if isinstance(value, bool):
        inner = b'\x32\x00' + (b'\x01' if value else b'\x00')
    elif isinstance(value, int):
        inner = b'\x38\x00' + struct.pack('<i', value) if -2 ** 31 <= value < 2 ** 31 else \
            b'\x7f\x00' + struct.pack('<q', value)
    elif isinstance(value, float):
        inner = b'\x3e\x00' + struct.pack('<d', value)
    elif isinstance(value, datetime.datetime):
        inner = b'\x3d\x00' + encode_datetime(value)
    elif isinstance(value, decimal.Decimal):
        scale = max(0, -value.as_tuple().exponent)
        inner = bytes([0x6A, 2, 38, scale]) + encode_decimal(value, scale)
    elif isinstance(value, (bytes, bytearray)):
        inner = b'\xa5\x02' + struct.pack('<H', 8000) + bytes(value)
    else:
        inner = b'\xe7\x07' + struct.pack('<H', 8000) + COLLATION + str(value).encode('utf-16-le')
    return struct.pack('<I', len(inner)) + inner


def colmetadata(columns):
    """columns: objects with .name, .sqltype (text) and .nullable."""
    out = bytearray([TOK_COLMETADATA]) + struct.pack('<H', len(columns))
    for column in columns:
        out += struct.pack('<IH', 0, 0x0001 if column.nullable else 0x0000)
        out += SqlType.parse(column.sqltype).type_info() + b_varchar(column.name)
    return bytes(out)


def rows(types, values):
    """ROW tokens for each tuple in values; types: list of SqlType."""
    out = bytearray()
    for row in values:
        if len(row) != len(types):
            raise ValueError('row has %d values for %d columns' % (len(row), len(types)))
        out.append(TOK_ROW)
        for sqltype, value in zip(types, row):
            out += sqltype.encode(value)
    return bytes(out)


def returnvalue_int(ordinal, name, value):
    return (bytes([TOK_RETURNVALUE]) + struct.pack('<H', ordinal) + b_varchar(name) + b'\x01'
            + struct.pack('<IH', 0, 0x0001) + b'\x26\x04' + SqlType('int').encode(value))


# ---------------------------------------------------------------- readers
class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, count):
        if self.pos + count > len(self.data):
            raise ProtocolError('truncated message: need %d bytes at offset %d of %d'
                                % (count, self.pos, len(self.data)))
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack('<H', self.take(2))[0]

    def u32(self):
        return struct.unpack('<I', self.take(4))[0]

    def u64(self):
        return struct.unpack('<Q', self.take(8))[0]

    def b_varchar(self):
        return self.take(self.u8() * 2).decode('utf-16-le')

    def at_end(self):
        return self.pos >= len(self.data)

    def peek(self):
        return self.data[self.pos]


def parse_prelogin(payload):
    """-> {option: bytes}"""
    reader, options = Reader(payload), {}
    while True:
        option = reader.u8()
        if option == 0xFF:
            return options
        offset, length = struct.unpack('>HH', reader.take(4))
        options[option] = bytes(payload[offset:offset + length])


def build_prelogin(encryption, mars_requested, version=SERVER_VERSION):
    values = [(PL_VERSION, bytes(version[:2]) + struct.pack('>H', version[2]) + b'\x00\x00'),
              (PL_ENCRYPTION, bytes([encryption])), (PL_INSTOPT, b'\x00'), (PL_THREADID, b''), (PL_MARS, b'\x00')]
    if mars_requested is None:
        values.pop()
    table_len = 5 * len(values) + 1
    head, body = bytearray(), bytearray()
    for option, value in values:
        head += struct.pack('>BHH', option, table_len + len(body), len(value))
        body += value
    return bytes(head + b'\xff' + body)


@dataclass
class Login7:
    tds_version: int
    packet_size: int
    host: str
    user: str
    password: str
    app: str
    server: str
    library: str
    language: str
    database: str
    has_features: bool


_LOGIN_FIELDS = ('host', 'user', 'password', 'app', 'server', 'extension', 'library', 'language', 'database')


def deobfuscate_password(raw):
    """LOGIN7 password: each byte XOR 0xA5, then nibbles swapped (MS-TDS 2.2.6.4)."""
    out = bytearray()
    for byte in raw:
        byte ^= 0xA5
        out.append(((byte & 0x0F) << 4) | (byte >> 4))
    return out.decode('utf-16-le')


def parse_login7(payload):
    if len(payload) < 94:
        raise ProtocolError('LOGIN7 shorter than its fixed part (%d bytes)' % len(payload))
    tds_version, packet_size = struct.unpack_from('<II', payload, 4)
    option_flags3 = payload[27]
    offsets = struct.unpack_from('<' + 'HH' * 9, payload, 36)
    fields = {}
    for index, name in enumerate(_LOGIN_FIELDS):
        start, count = offsets[2 * index], offsets[2 * index + 1]
        if name == 'extension':
            continue
        raw = bytes(payload[start:start + count * 2])
        fields[name] = deobfuscate_password(raw) if name == 'password' else raw.decode('utf-16-le')
    return Login7(tds_version=tds_version, packet_size=packet_size, has_features=bool(option_flags3 & 0x10),
                  **fields)


def all_headers(payload):
    """-> (offset after ALL_HEADERS, transaction descriptor bytes or None)."""
    if len(payload) < 4:
        return 0, None
    total = struct.unpack_from('<I', payload, 0)[0]
    if total < 4 or total > len(payload):
        return 0, None   # TDS < 7.2 sends no ALL_HEADERS
    reader, descriptor = Reader(payload, 4), None
    while reader.pos < total:
        length, kind = reader.u32(), reader.u16()
        data = reader.take(length - 6)
        if kind == 2:
            descriptor = bytes(data[:8])
    return total, descriptor


# ---------------------------------------------------------------- RPC parameters
@dataclass
class RpcParam:
    """One RPC parameter as the engine receives it: name ('' when unnamed), value, SQL type text."""
    name: str
    value: object
    sqltype: str
    output: bool = False


_FIXED_TYPES = {0x1F: ('null', 0), 0x30: ('tinyint', 1), 0x32: ('bit', 1), 0x34: ('smallint', 2),
                0x38: ('int', 4), 0x7F: ('bigint', 8), 0x3B: ('real', 4), 0x3E: ('float', 8),
                0x3C: ('money', 8), 0x7A: ('smallmoney', 4), 0x3D: ('datetime', 8), 0x3A: ('smalldatetime', 4)}
_BYTELEN_TYPES = {0x26: 'intn', 0x68: 'bit', 0x6D: 'float', 0x6E: 'money', 0x6F: 'datetime', 0x24: 'uniqueidentifier'}
_INTN_NAMES = {1: 'tinyint', 2: 'smallint', 4: 'int', 8: 'bigint'}
_USHORT_TYPES = {0xA5: 'varbinary', 0xA7: 'varchar', 0xAD: 'binary', 0xAF: 'char', 0xE7: 'nvarchar', 0xEF: 'nchar'}
_LONG_TYPES = {0x23: 'text', 0x63: 'ntext', 0x22: 'image'}


def _read_type_info(reader):
    """-> (sqltype text, decoder(reader) -> value)."""
    code = reader.u8()
    if code in _FIXED_TYPES:
        name, size = _FIXED_TYPES[code]
        return name, lambda r: _decode_fixed(name, r.take(size)) if size else None
    if code in _BYTELEN_TYPES:
        size = reader.u8()
        name = _BYTELEN_TYPES[code]
        if name == 'intn':
            name = _INTN_NAMES.get(size, 'bigint')
        elif name == 'float' and size == 4:
            name = 'real'
        return name, lambda r: _bytelen(r, lambda data: _decode_fixed(name, data))
    if code in (0x6A, 0x6C, 0x37, 0x3F):
        reader.u8()
        precision, scale = reader.u8(), reader.u8()
        return 'decimal(%d,%d)' % (precision, scale), lambda r: _bytelen(r, lambda d: _decode_decimal(d, scale))
    if code == 0x28:
        return 'date', lambda r: _bytelen(r, lambda d: _DATE2_EPOCH + datetime.timedelta(
            days=int.from_bytes(d, 'little')))
    if code in (0x29, 0x2A, 0x2B):
        scale = reader.u8()
        name = {0x29: 'time', 0x2A: 'datetime2', 0x2B: 'datetimeoffset'}[code]
        return '%s(%d)' % (name, scale), lambda r: _bytelen(r, lambda d: _decode_time_family(code, scale, d))
    if code in _USHORT_TYPES:
        name, size = _USHORT_TYPES[code], reader.u16()
        if code in (0xA7, 0xAF, 0xE7, 0xEF):
            reader.take(5)
        if size == 0xFFFF:
            return '%s(max)' % name, lambda r: _plp(r, name)
        length = size // 2 if name in ('nvarchar', 'nchar') else size
        return '%s(%d)' % (name, length), lambda r: _ushortlen(r, name)
    if code in _LONG_TYPES:
        reader.u32()
        if code != 0x22:
            reader.take(5)
        name = {0x23: 'varchar(max)', 0x63: 'nvarchar(max)', 0x22: 'varbinary(max)'}[code]
        return name, lambda r: _longlen(r, _LONG_TYPES[code])
    if code == 0xF1:
        if reader.u8():
            reader.b_varchar()
            reader.b_varchar()
            reader.take(reader.u16() * 2)
        return 'xml', lambda r: _plp(r, 'nvarchar')
    raise ProtocolError('unsupported RPC parameter type 0x%02x' % code)


def _decode_fixed(name, data):
    if name in ('tinyint', 'smallint', 'int', 'bigint'):
        return int.from_bytes(data, 'little', signed=name != 'tinyint')
    if name == 'bit':
        return bool(data[0])
    if name in ('float', 'real'):
        return struct.unpack('<d' if len(data) == 8 else '<f', data)[0]
    if name == 'datetime':
        if len(data) == 4:
            days, minutes = struct.unpack('<HH', data)
            return _DATETIME_EPOCH + datetime.timedelta(days=days, minutes=minutes)
        days, ticks = struct.unpack('<iI', data)
        return _DATETIME_EPOCH + datetime.timedelta(days=days, microseconds=round(ticks * 10 ** 6 / 300))
    if name == 'uniqueidentifier':
        return str(uuid.UUID(bytes_le=bytes(data))).upper()
    if name in ('money', 'smallmoney'):
        raw = data if len(data) == 4 else data[4:8] + data[0:4]
        return decimal.Decimal(int.from_bytes(raw, 'little', signed=True)).scaleb(-4)
    return bytes(data)


def _decode_decimal(data, scale):
    number = int.from_bytes(data[1:], 'little')
    return decimal.Decimal(number if data[0] else -number).scaleb(-scale)


def _decode_time_family(code, scale, data):
    size = 3 if scale <= 2 else 4 if scale <= 4 else 5
    ticks = int.from_bytes(data[:size], 'little') * 10 ** (7 - scale)
    time_part = datetime.timedelta(microseconds=ticks // 10)
    if code == 0x29:
        return (datetime.datetime.min + time_part).time()
    days = int.from_bytes(data[size:size + 3], 'little')
    value = datetime.datetime(1, 1, 1) + datetime.timedelta(days=days) + time_part
    if code == 0x2B:
        offset = struct.unpack('<h', data[size + 3:size + 5])[0]
        value = value.replace(tzinfo=datetime.timezone.utc).astimezone(
            datetime.timezone(datetime.timedelta(minutes=offset)))
    return value


def _bytelen(reader, decode):
    length = reader.u8()
    return None if length == 0 else decode(reader.take(length))


def _text(name, data):
    if name in ('nvarchar', 'nchar', 'ntext'):
        return bytes(data).decode('utf-16-le')
    if name in ('varchar', 'char', 'text'):
        return bytes(data).decode('cp1252')
    return bytes(data)


def _ushortlen(reader, name):
    length = reader.u16()
    return None if length == 0xFFFF else _text(name, reader.take(length))


def _longlen(reader, name):
    # TEXTPTR length (0 = NULL), text pointer, timestamp, then a 4-byte data length (MS-TDS 2.2.5.2.3);
    # clients sending NTEXT RPC parameters (FreeTDS) send only the 4-byte length.
    length = reader.u32()
    return None if length == 0xFFFFFFFF else _text(name, reader.take(length))


def _plp(reader, name):
    total = reader.u64()
    if total == 0xFFFFFFFFFFFFFFFF:
        return None
    chunks = []
    while True:
        size = reader.u32()
        if size == 0:
            break
        chunks.append(reader.take(size))
    return _text(name, b''.join(chunks))


def parse_rpc(payload):
    """-> list of (procedure name, option flags, [RpcParam]) for each RPC in the request."""
    offset = all_headers(payload)[0]
    reader, calls = Reader(payload, offset), []
    while not reader.at_end():
        name_length = reader.u16()
        if name_length == 0xFFFF:
            proc_id = reader.u16()
            proc = PROC_IDS.get(proc_id, 'procid:%d' % proc_id)
        else:
            proc = reader.take(name_length * 2).decode('utf-16-le')
        flags = reader.u16()
        params = []
        while not reader.at_end() and reader.peek() not in (0x80, 0xFF, 0xFE):
            name = reader.b_varchar()
            status = reader.u8()
            sqltype, decode = _read_type_info(reader)
            params.append(RpcParam(name, decode(reader), sqltype, bool(status & 0x01)))
        calls.append((proc, flags, params))
        if not reader.at_end():
            reader.u8()   # batch separator between RPCs
    return calls
