"""SQL Server type names, precedence, parsing of type specifications, and value conversion (CAST/CONVERT)."""
import datetime
import re
import uuid

from .catalog import format_datetime, parse_datetime
from .errors import SqlError, err

STRING = ('nvarchar', 'varchar', 'nchar', 'char')
INTEGER = ('bigint', 'int', 'smallint', 'tinyint', 'bit')
# Data type precedence, highest first (Microsoft's "Data type precedence" page; subset).
PRECEDENCE = ['sql_variant', 'datetime2', 'datetime', 'float', 'decimal', 'bigint', 'int', 'smallint',
              'tinyint', 'bit', 'uniqueidentifier', 'nvarchar', 'nchar', 'varchar', 'char', 'varbinary']


def base(t):
    return t.split('(')[0]


def length(t):
    m = re.search(r'\((\w+)', t)
    if not m:
        return None
    return -1 if m.group(1) == 'max' else int(m.group(1))


def normalize(t):
    """A type name as a client declared it ('NVARCHAR', 'sysname', 'varchar(max)') -> our canonical form."""
    t = (t or 'nvarchar(4000)').lower().replace(' ', '')
    b = base(t)
    if b == 'sysname':
        return 'nvarchar(128)'
    if b == 'numeric':
        return 'decimal' + t[len(b):] if '(' in t else 'decimal(18,0)'
    if b in ('decimal',) and '(' not in t:
        return 'decimal(18,0)'
    if b in STRING + ('varbinary', 'binary') and '(' not in t:
        return '%s(%s)' % ('varbinary' if b == 'binary' else b, 4000 if b in ('nvarchar', 'nchar') else 8000)
    if b == 'binary':
        return 'varbinary' + t[len(b):]
    if b in ('real',):
        return 'float'
    if b in ('null', 'ntext'):
        return 'nvarchar(4000)'
    if b in ('text',):
        return 'varchar(8000)'
    return t


def is_string(t):
    return base(t) in STRING


def is_numeric(t):
    return base(t) in INTEGER + ('float', 'decimal')


def common_type(types):
    """The result type of CASE/COALESCE/arithmetic: highest precedence; strings widen."""
    types = [t for t in types if t != 'null']
    if not types:
        return 'int'
    best = min(types, key=lambda t: PRECEDENCE.index(base(t)) if base(t) in PRECEDENCE else 99)
    if is_string(best):
        unicode_ = any(base(t) in ('nvarchar', 'nchar') for t in types)
        lengths = [length(t) for t in types if is_string(t)]
        n = -1 if -1 in lengths else max(lengths)
        name = 'nvarchar' if unicode_ else 'varchar'
        return '%s(%s)' % (name, 'max' if n == -1 or n > (4000 if unicode_ else 8000) else n)
    if base(best) == 'varbinary':
        return best
    return best


SQLITE_AFFINITY = {'int': 'INTEGER', 'bigint': 'INTEGER', 'smallint': 'INTEGER', 'tinyint': 'INTEGER',
                   'bit': 'INTEGER', 'float': 'REAL'}

TYPE_NAMES = {'int', 'bigint', 'smallint', 'tinyint', 'bit', 'float', 'real', 'datetime', 'datetime2',
              'uniqueidentifier', 'sql_variant', 'nvarchar', 'varchar', 'nchar', 'char', 'varbinary', 'binary',
              'decimal', 'numeric', 'sysname', 'date', 'time', 'datetimeoffset', 'smalldatetime', 'money',
              'smallmoney', 'text', 'ntext', 'image', 'xml', 'geography', 'geometry', 'hierarchyid'}
UNSUPPORTED = {'date', 'time', 'datetimeoffset', 'smalldatetime', 'money', 'smallmoney', 'text', 'ntext', 'image',
               'xml', 'geography', 'geometry', 'hierarchyid', 'binary'}


def parse_type(stream):
    """type_name [ ( n | max | p, s ) ] -> our canonical sqltype string. For CAST/CONVERT."""
    from .errors import not_implemented
    tok = stream.tok
    if tok.kind not in ('id', 'qid') or tok.value.lower() not in TYPE_NAMES:
        if tok.kind in ('id', 'qid'):
            raise SqlError(243, "Type %s is not a defined system type." % tok.value, 16, aborts_batch=True)
        raise stream.error()
    stream.next()
    name = tok.value.lower()
    args = []
    if stream.accept_op('('):
        if stream.accept('MAX'):
            args.append('max')
        else:
            args.append(stream.integer())
            if stream.accept_op(','):
                args.append(stream.integer())
        stream.expect_op(')')
    if name in UNSUPPORTED:
        raise not_implemented('data type %s' % name)
    if name == 'sysname':
        return 'nvarchar(128)'
    if name == 'real':
        return 'float'
    if name in ('decimal', 'numeric'):
        p = args[0] if args else 18
        s = args[1] if len(args) > 1 else 0
        return 'decimal(%d,%d)' % (p, s)
    if name in ('nvarchar', 'varchar', 'nchar', 'char', 'varbinary'):
        n = args[0] if args else 30   # CAST/CONVERT default length is 30
        if n == 'max' and name in ('nchar', 'char'):
            raise stream.error()
        if n != 'max' and (n < 1 or n > (4000 if name in ('nvarchar', 'nchar') else 8000)):
            raise SqlError(131,
                           "The size (%d) given to the type '%s' exceeds the maximum allowed for any data type "
                           "(%d)." % (n, name, 4000 if name in ('nvarchar', 'nchar') else 8000), 15,
                           aborts_batch=True)
        return '%s(%s)' % (name, n)
    if args:
        raise stream.error()
    return name


# --- values --------------------------------------------------------------------------------------
# SQLite representation: datetime -> text 'YYYY-MM-DD HH:MM:SS.fff'; bit -> 0/1; uniqueidentifier -> upper text.
# sql_variant values keep their SQLite form; a datetime inside a variant is tagged so it can be recovered.
VARIANT_DATETIME = '\x01dt:'

_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']


def _datetime_style(value, style):
    if style in (0, 100, None):
        hour = value.hour % 12 or 12
        half = 'AM' if value.hour < 12 else 'PM'
        return '%s %2d %d %2d:%02d%s' % (_MONTHS[value.month - 1], value.day, value.year, hour, value.minute, half)
    if style == 120:
        return value.strftime('%Y-%m-%d %H:%M:%S')
    if style == 121:
        return format_datetime(value)
    if style == 126:
        return value.strftime('%Y-%m-%dT%H:%M:%S.') + '%03d' % (value.microsecond // 1000)
    raise SqlError(281, '%d is not a valid style number when converting from datetime to a character string.'
                   % style, 16, aborts_batch=True)


_DATE_FORMATS = ['%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S',
                 '%Y-%m-%d %H:%M', '%Y-%m-%d', '%Y%m%d', '%Y%m%d %H:%M:%S', '%m/%d/%Y', '%m/%d/%Y %H:%M:%S',
                 '%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%dT%H:%M:%S.%fZ']


def parse_date_string(text):
    text = text.strip()
    m = re.fullmatch(r'(.*\.\d{1,6})\d*(Z?)', text)
    if m:
        text = m.group(1) + m.group(2)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise err(241, aborts_batch=True)


def to_python_datetime(v):
    if v is None or isinstance(v, datetime.datetime):
        return v
    if isinstance(v, str) and v.startswith(VARIANT_DATETIME):
        v = v[len(VARIANT_DATETIME):]
    return parse_datetime(v)


def _type_label(t):
    return base(t)


def _conversion_failed(value, source, target):
    kind = base(source) if is_string(source) else base(source)
    return err(245, kind, value, base(target), aborts_batch=True)


def convert(value, target, source, style=None):
    """CAST/CONVERT of one SQLite-represented value; returns the SQLite representation."""
    if value is None:
        return None
    tb = base(target)
    sb = base(source)
    if sb == 'sql_variant':
        if isinstance(value, str) and value.startswith(VARIANT_DATETIME):
            value, sb, source = value[len(VARIANT_DATETIME):], 'datetime', 'datetime'
        elif isinstance(value, str):
            sb, source = 'nvarchar', 'nvarchar(4000)'
        elif isinstance(value, bytes):
            sb, source = 'varbinary', 'varbinary(8000)'
        elif isinstance(value, float):
            sb, source = 'float', 'float'
        else:
            sb, source = 'int', 'int'
    if tb == 'sql_variant':
        if sb in ('datetime', 'datetime2'):
            return VARIANT_DATETIME + value
        return value
    if tb in STRING:
        n = length(target)
        if sb in ('datetime', 'datetime2'):
            text = _datetime_style(parse_datetime(value), style)
        elif isinstance(value, bytes):
            if style in (1, 2):
                text = ('0x' if style == 1 else '') + value.hex().upper()
            elif tb in ('nvarchar', 'nchar'):
                text = value.decode('utf-16-le', errors='replace')
            else:
                text = value.decode('latin-1')
        elif sb == 'float':
            text = repr(value) if style is None else str(value)
        else:
            text = str(value)
        if n not in (None, -1):
            if len(text) > n and sb in INTEGER + ('float', 'decimal'):
                return '*'   # SQL Server returns '*' when an int does not fit a short char type
            text = text[:n]
        if tb in ('nchar', 'char') and n and len(text) < n:
            text = text.ljust(n)
        return text
    if tb in INTEGER:
        if isinstance(value, str):
            s = value.strip()
            if not re.fullmatch(r'[+-]?\d+', s or 'x'):
                raise _conversion_failed(value, source, target)
            number = int(s)
        elif isinstance(value, bytes):
            number = int.from_bytes(value[-8:], 'big') if value else 0
        else:
            number = int(value)
        if tb == 'bit':
            return 1 if number else 0
        limits = {'tinyint': (0, 255), 'smallint': (-2 ** 15, 2 ** 15 - 1), 'int': (-2 ** 31, 2 ** 31 - 1),
                  'bigint': (-2 ** 63, 2 ** 63 - 1)}[tb]
        if not limits[0] <= number <= limits[1]:
            raise SqlError(8115, 'Arithmetic overflow error converting expression to data type %s.' % tb, 16,
                           aborts_batch=True)
        return number
    if tb == 'float' or tb == 'decimal':
        try:
            return float(value)
        except (TypeError, ValueError):
            raise SqlError(8114, 'Error converting data type %s to %s.' % (sb, tb), 16, aborts_batch=True)
    if tb in ('datetime', 'datetime2'):
        if sb in ('datetime', 'datetime2'):
            return value
        if isinstance(value, str):
            return format_datetime(parse_date_string(value))
        raise SqlError(529, 'Explicit conversion from data type %s to %s is not allowed.' % (sb, tb), 16,
                       aborts_batch=True)
    if tb == 'varbinary':
        n = length(target)
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str):
            if style in (1, 2):
                text = value[2:] if style == 1 and value[:2].lower() == '0x' else value
                try:
                    data = bytes.fromhex(text)
                except ValueError:
                    raise _conversion_failed(value, source, target)
            else:
                data = value.encode('utf-16-le') if sb in ('nvarchar', 'nchar') else value.encode('latin-1', 'replace')
        elif isinstance(value, int):
            size = {'bigint': 8, 'smallint': 2, 'tinyint': 1, 'bit': 1}.get(sb, 4)
            data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, 'big')
        else:
            raise SqlError(529, 'Explicit conversion from data type %s to varbinary is not allowed.' % sb, 16,
                           aborts_batch=True)
        return data if n in (None, -1) else data[:n]
    if tb == 'uniqueidentifier':
        try:
            return str(uuid.UUID(str(value))).upper()
        except ValueError:
            raise SqlError(8169, 'Conversion failed when converting from a character string to uniqueidentifier.',
                           16, aborts_batch=True)
    raise SqlError(529, 'Explicit conversion from data type %s to %s is not allowed.' % (sb, tb), 16,
                   aborts_batch=True)


def to_python(value, sqltype):
    """SQLite value -> the Python value the wire encodes for this column type."""
    if value is None:
        return None
    b = base(sqltype)
    if b == 'bit':
        return bool(value)
    if b in ('datetime', 'datetime2'):
        return to_python_datetime(value)
    if b == 'sql_variant':
        if isinstance(value, str) and value.startswith(VARIANT_DATETIME):
            return to_python_datetime(value)
        return value
    if b in ('int', 'bigint', 'smallint', 'tinyint'):
        return int(value)
    if b == 'float':
        return float(value)
    if b == 'decimal':
        import decimal
        return decimal.Decimal(str(value))
    if b == 'varbinary':
        return bytes(value) if not isinstance(value, bytes) else value
    if b in STRING or b == 'uniqueidentifier':
        return value if isinstance(value, str) else str(value)
    return value


def to_sqlite(value):
    """A parameter value from the wire -> SQLite representation."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime.datetime):
        return format_datetime(value)
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if type(value).__name__ == 'Decimal':
        return float(value)
    return value
