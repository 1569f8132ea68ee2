"""Python implementations of T-SQL built-ins, registered as SQLite functions.

Functions that depend on the caller (SUSER_SNAME(), HAS_PERMS_BY_NAME ...) read engine.current, the
execution context of the statement being run (statements run one at a time under the engine lock).
An SqlError raised inside a function is stashed and re-raised after SQLite aborts the query.
"""
import calendar
import datetime
import re
import uuid

from .catalog import format_datetime
from .errors import SqlError
from . import types as T


def _guard(engine, fn):
    def wrapper(*args):
        try:
            return fn(*args)
        except SqlError as exc:
            engine.pending_error = exc
            raise
    return wrapper


def _like_regex(pattern, escape):
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == '%':
            out.append('.*')
        elif ch == '_':
            out.append('.')
        elif ch == '[':
            j = pattern.find(']', i + 1)
            if j < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:j]
                if body.startswith('^'):
                    body = '^' + body[1:].replace('\\', '\\\\')
                else:
                    body = body.replace('\\', '\\\\')
                out.append('[%s]' % body)
                i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return '(?is)' + ''.join(out) + r'\Z'


def like(value, pattern, escape):
    if value is None or pattern is None:
        return None
    value = value.rstrip(' ') if isinstance(value, str) else str(value)
    return 1 if re.match(_like_regex(pattern, escape), value) else 0


def datediff(part, a, b):
    if a is None or b is None:
        return None
    a, b = T.to_python_datetime(a), T.to_python_datetime(b)
    if part == 'year':
        return b.year - a.year
    if part == 'quarter':
        return (b.year - a.year) * 4 + (b.month - 1) // 3 - (a.month - 1) // 3
    if part == 'month':
        return (b.year - a.year) * 12 + b.month - a.month
    if part == 'day':
        return (b.date() - a.date()).days
    if part == 'week':
        # Sunday-based weeks (DATEFIRST 7)
        return ((b.date() - datetime.timedelta(days=(b.weekday() + 1) % 7)) -
                (a.date() - datetime.timedelta(days=(a.weekday() + 1) % 7))).days // 7
    trunc = {'hour': 3600, 'minute': 60, 'second': 1}
    if part in trunc:
        ta = calendar.timegm(a.timetuple()) // trunc[part]
        tb = calendar.timegm(b.timetuple()) // trunc[part]
        return tb - ta
    delta = b - a
    return delta.days * 86400000 + delta.seconds * 1000 + delta.microseconds // 1000


def dateadd(part, n, d):
    if n is None or d is None:
        return None
    d = T.to_python_datetime(d)
    n = int(n)
    if part in ('year', 'quarter', 'month'):
        months = n * {'year': 12, 'quarter': 3, 'month': 1}[part]
        total = d.year * 12 + d.month - 1 + months
        year, month = divmod(total, 12)
        day = min(d.day, calendar.monthrange(year, month + 1)[1])
        return format_datetime(d.replace(year=year, month=month + 1, day=day))
    seconds = {'week': 604800, 'day': 86400, 'hour': 3600, 'minute': 60, 'second': 1}.get(part)
    delta = datetime.timedelta(seconds=n * seconds) if seconds else datetime.timedelta(milliseconds=n)
    return format_datetime(d + delta)


def register(conn, engine):
    """Register every tsql_* function on one SQLite connection of this engine."""
    def g(fn):
        return _guard(engine, fn)

    def cast(value, target, source, style):
        return T.convert(value, target, source, style)

    def trycast(value, target, source, style):
        try:
            return T.convert(value, target, source, style)
        except SqlError:
            return None

    def div(a, b, op):
        if a is None or b is None:
            return None
        if b == 0:
            raise SqlError(8134, 'Divide by zero error encountered.', 16, aborts_batch=True)
        if isinstance(a, int) and isinstance(b, int):
            q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
            return q if op == '/' else a - q * b
        return a / b if op == '/' else a % b

    def ci_find(haystack, needle, start=1):
        if haystack is None or needle is None:
            return None
        return haystack.casefold().find(needle.casefold(), max(int(start or 1), 1) - 1) + 1

    def replace(s, old, new):
        if s is None or old is None or new is None:
            return None
        return re.sub(re.escape(old), lambda m: new, s, flags=re.I) if old else s

    def datalength(value, typ):
        if value is None:
            return None
        if isinstance(value, bytes):
            return len(value)
        if T.base(typ) in ('nvarchar', 'nchar', 'sql_variant'):
            return len(str(value)) * 2
        if T.base(typ) in ('int',):
            return 4
        return len(str(value))

    def concat(*args):
        return ''.join(a for a in args if a is not None)

    def binconcat(a, b):
        return None if a is None or b is None else bytes(a) + bytes(b)

    def substring(s, start, n):
        if s is None or start is None or n is None:
            return None
        if n < 0:
            raise SqlError(537, 'Invalid length parameter passed to the LEFT or SUBSTRING function.', 16,
                           aborts_batch=True)
        begin = start - 1
        end = begin + n
        return s[max(begin, 0):max(end, 0)]

    funcs = {
        'tsql_cast': cast, 'tsql_trycast': trycast, 'tsql_div': div,
        'tsql_like': like,
        'tsql_lower': lambda s: None if s is None else s.lower(),
        'tsql_upper': lambda s: None if s is None else s.upper(),
        'tsql_len': lambda s: None if s is None else len(s.rstrip(' ')),
        'tsql_ltrim': lambda s: None if s is None else s.lstrip(' '),
        'tsql_rtrim': lambda s: None if s is None else s.rstrip(' '),
        'tsql_trim': lambda s: None if s is None else s.strip(' '),
        'tsql_substring': substring,
        'tsql_left': lambda s, n: None if s is None or n is None else s[:max(int(n), 0)],
        'tsql_right': lambda s, n: None if s is None or n is None else (s[-int(n):] if int(n) > 0 else ''),
        'tsql_replace': replace, 'tsql_charindex': lambda n, h, s=1: ci_find(h, n, s),
        'tsql_datalength': datalength, 'tsql_concat': concat, 'tsql_binconcat': binconcat,
        'tsql_newid': lambda: str(uuid.uuid4()).upper(),
        'tsql_datediff': datediff, 'tsql_dateadd': dateadd,
    }
    for name, fn in funcs.items():
        conn.create_function(name, -1, g(fn))
    for name in ('serverproperty', 'suser_sname', 'suser_name', 'suser_id', 'suser_sid', 'user_name', 'user_id',
                 'db_name', 'db_id', 'is_srvrolemember', 'has_perms_by_name', 'pwdcompare', 'loginproperty',
                 'certencoded', 'cert_id', 'certproperty'):
        method = getattr(engine, 'fn_' + name)
        conn.create_function('tsql_' + name, -1, g(method))
