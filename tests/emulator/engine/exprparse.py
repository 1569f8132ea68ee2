"""Recursive-descent parser for T-SQL SELECT statements, search conditions and scalar expressions."""
import datetime

from .catalog import format_datetime
from .errors import SqlError, err, not_implemented
from . import select as S
from . import types as T

CMP_OPS = ('=', '<>', '!=', '<', '>', '<=', '>=', '!<', '!>')
CLAUSE_END = ('FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'UNION', 'EXCEPT', 'INTERSECT', 'OPTION', 'FOR',
              'INTO', 'ON', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'OUTER', 'THEN', 'ELSE', 'END',
              'WHEN', 'AND', 'OR', 'ASC', 'DESC', 'AS')


def parse_select_statement(st):
    """A top-level SELECT (with UNION and ORDER BY)."""
    sel = parse_query(st)
    if st.at('ORDER'):
        st.next()
        st.expect('BY')
        sel.order_by = parse_order_list(st)
    if st.at('OPTION'):
        raise not_implemented('OPTION query hints')
    if st.at('FOR'):
        raise not_implemented('FOR XML / FOR JSON')
    return sel


def parse_order_list(st):
    items = []
    while True:
        node = parse_scalar(st)
        desc = st.accept('ASC', 'DESC') == 'DESC'
        items.append((node, desc))
        if not st.accept_op(','):
            return items


def parse_query(st):
    sel = parse_query_spec(st)
    while st.at('UNION', 'EXCEPT', 'INTERSECT'):
        word = st.next().value.upper()
        if word != 'UNION':
            raise not_implemented(word)
        all_ = bool(st.accept('ALL'))
        if st.at_op('('):
            raise not_implemented('parenthesised UNION operands')
        sel.unions.append((all_, parse_query_spec(st)))
    return sel


def parse_query_spec(st):
    st.expect('SELECT')
    sel = S.Select()
    if st.accept('DISTINCT'):
        sel.distinct = True
    else:
        st.accept('ALL')
    if st.accept('TOP'):
        if st.accept_op('('):
            sel.top = parse_scalar(st)
            st.expect_op(')')
        else:
            tok = st.tok
            if tok.kind != 'num' or not isinstance(tok.value, int):
                raise st.error()
            st.next()
            sel.top = S.Lit(tok.value, 'bigint')
        if st.at('PERCENT') or st.at_seq('WITH', 'TIES'):
            raise not_implemented('TOP ... PERCENT / WITH TIES')
    while True:
        sel.items.append(parse_select_item(st))
        if not st.accept_op(','):
            break
    if st.at('INTO'):
        raise not_implemented('SELECT ... INTO')
    if st.accept('FROM'):
        while True:
            sel.sources.append(parse_table_source(st))
            if not st.accept_op(','):
                break
    if st.accept('WHERE'):
        sel.where = parse_predicate(st)
    if st.at('GROUP'):
        st.next()
        st.expect('BY')
        while True:
            sel.group_by.append(parse_scalar(st))
            if not st.accept_op(','):
                break
    if st.accept('HAVING'):
        sel.having = parse_predicate(st)
    return sel


def parse_select_item(st):
    tok = st.tok
    if st.accept_op('*'):
        return ('*', None), None
    # alias.* / schema.table.*
    if tok.kind in ('id', 'qid') and st.peek().kind == 'op' and st.peek().value == '.':
        j = 0
        while st.peek(j).kind in ('id', 'qid') and st.peek(j + 1).kind == 'op' and st.peek(j + 1).value == '.':
            j += 2
        if st.peek(j).kind == 'op' and st.peek(j).value == '*':
            names = [st.peek(k).value for k in range(0, j, 2)]
            for _unused in range(j + 1):
                st.next()
            return ('*', names[-1]), None
    # alias = expression
    if tok.kind in ('id', 'qid', 'str') and not tok.is_reserved and st.peek().kind == 'op' \
            and st.peek().value == '=':
        st.next()
        st.next()
        return parse_scalar(st), tok.value
    if tok.kind == 'var' and st.peek().kind == 'op' and st.peek().value == '=':
        raise not_implemented('variable assignment in SELECT')
    node = parse_scalar(st)
    alias = None
    if st.accept('AS'):
        alias = _alias(st)
    elif st.tok.kind in ('qid', 'str') or (st.tok.kind == 'id' and not st.tok.is_reserved):
        alias = _alias(st)
    return node, alias


def _alias(st):
    tok = st.tok
    if tok.kind in ('str', 'nstr') and tok.kind == 'str':
        st.next()
        return tok.value
    return st.name()


def parse_table_source(st):
    left = parse_table_primary(st)
    while True:
        if st.at('CROSS') and st.peek().kind == 'id' and st.peek().value.upper() == 'APPLY' or \
                st.at('OUTER') and st.peek().kind == 'id' and st.peek().value.upper() == 'APPLY':
            raise not_implemented('APPLY')
        if st.accept('CROSS'):
            st.expect('JOIN')
            left = S.Join(left, 'CROSS', parse_table_primary(st), None)
            continue
        kind = None
        if st.accept('INNER'):
            kind = 'INNER'
        elif st.at('LEFT', 'RIGHT', 'FULL'):
            kind = st.next().value.upper()
            st.accept('OUTER')
            kind += ' OUTER'
        elif st.at('JOIN'):
            kind = 'INNER'
        if kind is None:
            return left
        if st.at('LOOP', 'HASH', 'MERGE', 'REMOTE'):
            raise not_implemented('join hints')
        st.expect('JOIN')
        right = parse_table_source_nested(st)
        st.expect('ON')
        on = parse_predicate(st)
        left = S.Join(left, kind, right, on)


def parse_table_source_nested(st):
    return parse_table_primary(st)


def parse_table_primary(st):
    if st.accept_op('('):
        if st.at('SELECT'):
            sel = parse_query(st)
            st.expect_op(')')
            st.accept('AS')
            alias = st.name()
            if st.at_op('('):
                raise not_implemented('derived table column lists')
            return S.Derived(sel, alias)
        raise not_implemented('parenthesised joins')
    parts = parse_multipart(st)
    if st.at_op('('):
        raise not_implemented('table-valued functions (%s)' % '.'.join(parts))
    alias = None
    if st.accept('AS'):
        alias = st.name()
    elif st.tok.kind == 'qid' or (st.tok.kind == 'id' and not st.tok.is_reserved
                                  and st.tok.value.upper() not in ('APPLY',)):
        alias = st.name()
    if st.at('WITH') and st.peek().kind == 'op' and st.peek().value == '(':
        raise not_implemented('table hints')
    return S.TableRef(parts, alias)


def parse_multipart(st):
    parts = [st.name()]
    while st.at_op('.'):
        st.next()
        if st.at_op('.'):
            raise not_implemented('default-schema names (db..object)')
        parts.append(st.name())
    if len(parts) > 4:
        raise st.error()
    return parts


# --- search conditions ---------------------------------------------------------------------------
def parse_predicate(st):
    args = [parse_and(st)]
    while st.accept('OR'):
        args.append(parse_and(st))
    return args[0] if len(args) == 1 else S.Logic('OR', args)


def parse_and(st):
    args = [parse_not(st)]
    while st.accept('AND'):
        args.append(parse_not(st))
    return args[0] if len(args) == 1 else S.Logic('AND', args)


def parse_not(st):
    if st.accept('NOT'):
        return S.Logic('NOT', [parse_not(st)])
    return parse_condition(st)


def parse_condition(st):
    if st.accept('EXISTS'):
        st.expect_op('(')
        sel = parse_query(st)
        st.expect_op(')')
        return S.Exists(sel)
    if st.at_op('(') and not (st.peek().kind == 'id' and st.peek().value.upper() == 'SELECT'):
        save = st.i
        st.next()
        try:
            inner = parse_predicate(st)
            st.expect_op(')')
            if not (st.at_op(*CMP_OPS) or st.at_op('+', '-', '*', '/', '%') or st.at('IS', 'IN', 'LIKE', 'BETWEEN', 'NOT')):
                if isinstance(inner, (S.Cmp, S.Logic, S.IsNull, S.In, S.Like, S.Between, S.Exists)):
                    return inner
        except SqlError:
            pass
        st.i = save
    left = parse_scalar(st)
    negate = bool(st.accept('NOT'))
    if not negate and st.at_op(*CMP_OPS):
        op = st.next().value
        if st.at('ALL', 'ANY', 'SOME'):
            raise not_implemented('ALL/ANY/SOME comparisons')
        return S.Cmp(op, left, parse_scalar(st))
    if not negate and st.accept('IS'):
        neg = bool(st.accept('NOT'))
        st.expect('NULL')
        return S.IsNull(left, neg)
    if st.accept('IN'):
        st.expect_op('(')
        if st.at('SELECT'):
            sel = parse_query(st)
            st.expect_op(')')
            return S.In(left, None, sel, negate)
        values = [parse_scalar(st)]
        while st.accept_op(','):
            values.append(parse_scalar(st))
        st.expect_op(')')
        return S.In(left, values, None, negate)
    if st.accept('LIKE'):
        pattern = parse_scalar(st)
        escape = parse_scalar(st) if st.accept('ESCAPE') else None
        return S.Like(left, pattern, escape, negate)
    if st.accept('BETWEEN'):
        low = parse_scalar(st)
        st.expect('AND')
        high = parse_scalar(st)
        return S.Between(left, low, high, negate)
    if negate:
        raise st.error()
    near = st.tok if st.tok.kind != 'eof' else st.tokens[st.i - 1]
    raise SqlError(4145, "An expression of non-boolean type specified in a context where a condition is "
                   "expected, near '%s'." % near.near_text(), 15, aborts_batch=True)


# --- scalar expressions --------------------------------------------------------------------------
def parse_scalar(st):
    node = parse_term(st)
    while st.at_op('+', '-', '&', '|', '^'):
        op = st.next().value
        node = S.Binary(op, node, parse_term(st))
    return node


def parse_term(st):
    node = parse_factor(st)
    while st.at_op('*', '/', '%'):
        op = st.next().value
        node = S.Binary(op, node, parse_factor(st))
    return node


def parse_factor(st):
    if st.at_op('-', '+', '~'):
        op = st.next().value
        arg = parse_factor(st)
        if op == '+':
            return arg
        if op == '-' and isinstance(arg, S.Lit) and isinstance(arg.value, (int, float)):
            return S.Lit(-arg.value, arg.typ)
        if op == '~':
            raise not_implemented('bitwise NOT')
        return S.Unary(op, arg)
    node = parse_primary(st)
    if st.at('COLLATE'):
        raise not_implemented('COLLATE')
    return node


def _number_literal(tok):
    v = tok.value
    if isinstance(v, int):
        if v <= 2 ** 31 - 1:
            return S.Lit(v, 'int')
        if v <= 2 ** 63 - 1:
            return S.Lit(v, 'bigint')
        return S.Lit(float(v), 'decimal(38,0)')
    if isinstance(v, float):
        return S.Lit(v, 'float')
    digits = v.split('.')
    return S.Lit(float(v), 'decimal(%d,%d)' % (max(1, len(v) - 1), len(digits[1]) if len(digits) > 1 else 0))


def parse_primary(st):
    tok = st.tok
    if tok.kind == 'num':
        st.next()
        return _number_literal(tok)
    if tok.kind == 'str':
        st.next()
        return S.Lit(tok.value, 'varchar(%d)' % max(1, len(tok.value)))
    if tok.kind == 'nstr':
        st.next()
        return S.Lit(tok.value, 'nvarchar(%s)' % (max(1, len(tok.value)) if len(tok.value) <= 4000 else 'max'))
    if tok.kind == 'bin':
        st.next()
        return S.Lit(tok.value, 'varbinary(%d)' % max(1, len(tok.value)))
    if tok.kind == 'var':
        st.next()
        return S.Var(tok.value)
    if tok.kind == 'sysvar':
        st.next()
        return system_variable(tok.value)
    if st.accept_op('('):
        if st.at('SELECT'):
            sel = parse_query(st)
            st.expect_op(')')
            return S.Subquery(sel)
        node = parse_scalar(st)
        st.expect_op(')')
        return node
    if tok.kind == 'id':
        word = tok.value.upper()
        if word == 'NULL':
            st.next()
            return S.Lit(None, 'null')
        if word == 'CASE':
            return parse_case(st)
        if word in ('CAST', 'TRY_CAST') and _is_call(st):
            st.next()
            st.expect_op('(')
            arg = parse_scalar(st)
            st.expect('AS')
            target = T.parse_type(st)
            st.expect_op(')')
            return S.Cast(arg, target, None, word == 'TRY_CAST')
        if word in ('CONVERT', 'TRY_CONVERT') and _is_call(st):
            st.next()
            st.expect_op('(')
            target = T.parse_type(st)
            st.expect_op(',')
            arg = parse_scalar(st)
            style = parse_scalar(st) if st.accept_op(',') else None
            st.expect_op(')')
            return S.Cast(arg, target, style, word == 'TRY_CONVERT')
        if word in ('CURRENT_TIMESTAMP',):
            st.next()
            return now_node('datetime', utc=False)
        if word in ('SYSTEM_USER', 'SESSION_USER', 'CURRENT_USER', 'USER') and not _is_call(st):
            st.next()
            if word == 'SYSTEM_USER':
                return S.Raw(lambda c: (c.bind(c.xc.session.login_name), 'nvarchar(128)'))
            return S.Raw(lambda c: (c.bind(c.xc.engine.user_name(c.xc.session)), 'nvarchar(128)'))
        if _is_call(st) and not tok.is_reserved or word in ('LEFT', 'RIGHT', 'COALESCE', 'NULLIF') and _is_call(st):
            return parse_function(st)
        if tok.is_reserved:
            raise st.error()
    if tok.kind in ('id', 'qid'):
        parts = [st.name()]
        while st.at_op('.'):
            st.next()
            if st.at_op('*'):
                raise st.error()
            parts.append(st.name())
        if st.at_op('('):
            raise not_implemented('user-defined or schema-qualified function %s' % '.'.join(parts))
        if len(parts) > 4:
            raise st.error()
        return S.Col(parts)
    raise st.error()


def _is_call(st):
    nxt = st.peek()
    return nxt.kind == 'op' and nxt.value == '('


def parse_case(st):
    st.expect('CASE')
    operand = None
    if not st.at('WHEN'):
        operand = parse_scalar(st)
    whens = []
    while st.accept('WHEN'):
        cond = parse_scalar(st) if operand is not None else parse_predicate(st)
        st.expect('THEN')
        whens.append((cond, parse_scalar(st)))
    if not whens:
        raise st.error()
    default = parse_scalar(st) if st.accept('ELSE') else None
    st.expect('END')
    return S.Case(operand, whens, default)


def now_node(typ, utc):
    def emit(c):
        now = datetime.datetime.utcnow() if utc else datetime.datetime.now()
        return c.bind(format_datetime(now)), typ
    return S.Raw(emit)


def system_variable(name):
    upper = name.upper()
    values = {
        '@@SERVERNAME': lambda c: (c.bind(c.xc.engine.server_name), 'nvarchar(128)'),
        '@@SERVICENAME': lambda c: (c.bind(c.xc.engine.service_name), 'nvarchar(128)'),
        '@@VERSION': lambda c: (c.bind(c.xc.engine.version_string()), 'nvarchar(300)'),
        '@@SPID': lambda c: (c.bind(c.xc.session.spid), 'smallint'),
        '@@TRANCOUNT': lambda c: (c.bind(c.xc.session.trancount), 'int'),
        '@@LANGUAGE': lambda c: (c.bind('us_english'), 'nvarchar(128)'),
        '@@ROWCOUNT': lambda c: (c.bind(c.xc.session.last_rowcount), 'int'),
        '@@ERROR': lambda c: (c.bind(c.xc.session.last_error), 'int'),
        '@@MAX_PRECISION': lambda c: (c.bind(38), 'tinyint'),
        '@@TEXTSIZE': lambda c: (c.bind(c.xc.session.options.get('TEXTSIZE', 2147483647)), 'int'),
        '@@OPTIONS': lambda c: (c.bind(5496), 'int'),
    }
    if upper not in values:
        if upper in ('@@IDENTITY', '@@FETCH_STATUS', '@@PROCID', '@@NESTLEVEL', '@@DBTS', '@@LOCK_TIMEOUT',
                     '@@CONNECTIONS', '@@CPU_BUSY', '@@IDLE', '@@IO_BUSY', '@@PACKET_ERRORS', '@@PACK_RECEIVED',
                     '@@PACK_SENT', '@@TIMETICKS', '@@TOTAL_ERRORS', '@@TOTAL_READ', '@@TOTAL_WRITE',
                     '@@REMSERVER', '@@DATEFIRST', '@@LANGID', '@@MAX_CONNECTIONS', '@@MICROSOFTVERSION'):
            raise not_implemented(upper)
        raise err(137, name, aborts_batch=True)
    return S.Raw(values[upper])


# --- built-in functions ----------------------------------------------------------------------------
def parse_function(st):
    tok = st.next()
    name = tok.value.upper()
    st.expect_op('(')
    if name in ('DATEADD', 'DATEDIFF', 'DATEDIFF_BIG'):
        part = st.name().lower()
        if part not in DATEPARTS:
            raise SqlError(155, "'%s' is not a recognized %s option." % (part, name.lower()), 15,
                           aborts_batch=True)
        st.expect_op(',')
        a = parse_scalar(st)
        st.expect_op(',')
        b = parse_scalar(st)
        st.expect_op(')')
        return S.Func(name, [a, b], _datefunc(name, DATEPARTS[part]))
    distinct = False
    star = False
    args = []
    if name in S.AGGREGATES:
        if st.accept('DISTINCT'):
            distinct = True
        else:
            st.accept('ALL')
        if name in ('COUNT', 'COUNT_BIG') and st.at_op('*'):
            st.next()
            star = True
    if not star and not st.at_op(')'):
        args.append(parse_scalar(st))
        while st.accept_op(','):
            args.append(parse_scalar(st))
    st.expect_op(')')
    if st.at('OVER'):
        raise not_implemented('window functions (OVER)')
    if st.at('WITHIN'):
        raise not_implemented('WITHIN GROUP')
    spec = FUNCTIONS.get(name)
    if spec is None:
        if name in S.KNOWN_UNIMPLEMENTED:
            raise not_implemented('function %s' % name)
        raise err(195, tok.value, aborts_batch=True)
    low, high, handler = spec
    if not star and not (low <= len(args) <= (high if high is not None else len(args))):
        if low == high:
            raise SqlError(174, 'The %s function requires %d argument(s).' % (tok.value.lower(), low), 15,
                           aborts_batch=True)
        raise SqlError(189, 'The %s function requires %d to %d arguments.' % (tok.value.lower(), low, high), 15,
                       aborts_batch=True)
    return S.Func(name, args, handler, agg=name in S.AGGREGATES, distinct=distinct, star=star)


DATEPARTS = {'year': 'year', 'yy': 'year', 'yyyy': 'year', 'quarter': 'quarter', 'qq': 'quarter', 'q': 'quarter',
             'month': 'month', 'mm': 'month', 'm': 'month', 'dayofyear': 'day', 'dy': 'day', 'y': 'day',
             'day': 'day', 'dd': 'day', 'd': 'day', 'week': 'week', 'wk': 'week', 'ww': 'week', 'hour': 'hour',
             'hh': 'hour', 'minute': 'minute', 'mi': 'minute', 'n': 'minute', 'second': 'second', 'ss': 'second',
             's': 'second', 'millisecond': 'millisecond', 'ms': 'millisecond'}


def _datefunc(name, part):
    def handler(c, scope, f):
        a, at = f.args[0].emit(c, scope)
        b, bt = f.args[1].emit(c, scope)
        if name == 'DATEADD':
            b = S.coerce(b, bt, 'datetime')
            return 'tsql_dateadd(%s, %s, %s)' % (S.sql_string(part), a, b), 'datetime'
        a, b = S.coerce(a, at, 'datetime'), S.coerce(b, bt, 'datetime')
        return 'tsql_datediff(%s, %s, %s)' % (S.sql_string(part), a, b), \
            'bigint' if name == 'DATEDIFF_BIG' else 'int'
    return handler


def _call(sqlname, rettype=None, with_types=False):
    """fn(args...) returning rettype (None: the first argument's type)."""
    def handler(c, scope, f):
        emitted = [a.emit(c, scope) for a in f.args]
        args = [s for s, _unused in emitted]
        if with_types:
            args += [S.sql_string(t) for _unused, t in emitted]
        typ = rettype if rettype is not None else (emitted[0][1] if emitted else 'int')
        if typ == 'null':
            typ = 'int'
        return '%s(%s)' % (sqlname, ', '.join(args)), typ
    return handler


def _coalesce(sqlname):
    def handler(c, scope, f):
        emitted = [a.emit(c, scope) for a in f.args]
        typ = emitted[0][1] if sqlname == 'ifnull' and emitted[0][1] != 'null' else \
            T.common_type([t for _unused, t in emitted])
        return '%s(%s)' % (sqlname, ', '.join(S.coerce(s, t, typ) for s, t in emitted)), typ
    return handler


def _aggregate(c, scope, f):
    if f.star:
        return 'count(*)', 'bigint' if f.name == 'COUNT_BIG' else 'int'
    if any(a.has_agg for a in f.args):
        raise SqlError(130, 'Cannot perform an aggregate function on an expression containing an aggregate or a '
                       'subquery.', 16, aborts_batch=True)
    s, t = f.args[0].emit(c, scope)
    collate = ' COLLATE TSQL' if T.is_string(t) and f.name in ('MIN', 'MAX') else ''
    inner = ('DISTINCT ' if f.distinct else '') + s + collate
    if f.name in ('COUNT', 'COUNT_BIG'):
        return 'count(%s)' % inner, 'bigint' if f.name == 'COUNT_BIG' else 'int'
    if f.name == 'AVG' and T.base(t) in T.INTEGER:
        return 'CAST(avg(%s) AS INTEGER)' % inner, 'int'
    if f.name == 'SUM':
        return 'sum(%s)' % inner, 'bigint' if T.base(t) == 'bigint' else ('int' if T.base(t) in T.INTEGER else t)
    return '%s(%s)' % (f.name.lower(), inner), t


def _concat(c, scope, f):
    emitted = [a.emit(c, scope) for a in f.args]
    unicode_ = any(T.base(t) in ('nvarchar', 'nchar') for _unused, t in emitted)
    args = ['tsql_cast(%s, %s, %s, NULL)' % (s, S.sql_string('nvarchar(max)'), S.sql_string(t)) for s, t in emitted]
    return 'tsql_concat(%s)' % ', '.join(args), 'nvarchar(max)' if unicode_ else 'varchar(max)'


def _string_arg_cast(sqlname, rettype=None):
    def handler(c, scope, f):
        emitted = [a.emit(c, scope) for a in f.args]
        s, t = emitted[0]
        if not T.is_string(t) and t != 'null':
            s = 'tsql_cast(%s, %s, %s, NULL)' % (s, S.sql_string('varchar(8000)'), S.sql_string(t))
            t = 'varchar(8000)'
        rest = [x for x, _unused in emitted[1:]]
        return '%s(%s)' % (sqlname, ', '.join([s] + rest)), rettype or (t if t != 'null' else 'varchar(1)')
    return handler


def _now(utc, typ):
    def handler(c, scope, f):
        return now_node(typ, utc).emit(c, scope)
    return handler


def _session_fn(pyname, rettype):
    """fn(args...) implemented in functions.py with access to the session."""
    def handler(c, scope, f):
        emitted = [a.emit(c, scope) for a in f.args]
        return '%s(%s)' % (pyname, ', '.join(s for s, _unused in emitted)), rettype
    return handler


FUNCTIONS = {
    'ISNULL': (2, 2, _coalesce('ifnull')),
    'COALESCE': (2, None, _coalesce('coalesce')),
    'NULLIF': (2, 2, _call('nullif')),
    'LOWER': (1, 1, _string_arg_cast('tsql_lower')),
    'UPPER': (1, 1, _string_arg_cast('tsql_upper')),
    'LEN': (1, 1, _string_arg_cast('tsql_len', 'int')),
    'DATALENGTH': (1, 1, _call('tsql_datalength', 'int', with_types=True)),
    'LTRIM': (1, 1, _string_arg_cast('tsql_ltrim')),
    'RTRIM': (1, 1, _string_arg_cast('tsql_rtrim')),
    'TRIM': (1, 1, _string_arg_cast('tsql_trim')),
    'SUBSTRING': (3, 3, _string_arg_cast('tsql_substring')),
    'LEFT': (2, 2, _string_arg_cast('tsql_left')),
    'RIGHT': (2, 2, _string_arg_cast('tsql_right')),
    'REPLACE': (3, 3, _string_arg_cast('tsql_replace')),
    'CHARINDEX': (2, 3, _call('tsql_charindex', 'int')),
    'CONCAT': (2, None, _concat),
    'COUNT': (1, 1, _aggregate), 'COUNT_BIG': (1, 1, _aggregate), 'SUM': (1, 1, _aggregate),
    'MIN': (1, 1, _aggregate), 'MAX': (1, 1, _aggregate), 'AVG': (1, 1, _aggregate),
    'GETDATE': (0, 0, _now(False, 'datetime')), 'GETUTCDATE': (0, 0, _now(True, 'datetime')),
    'SYSDATETIME': (0, 0, _now(False, 'datetime2')), 'SYSUTCDATETIME': (0, 0, _now(True, 'datetime2')),
    'NEWID': (0, 0, _call('tsql_newid', 'uniqueidentifier')),
    'SERVERPROPERTY': (1, 1, _session_fn('tsql_serverproperty', 'sql_variant')),
    'SUSER_SNAME': (0, 1, _session_fn('tsql_suser_sname', 'nvarchar(128)')),
    'SUSER_NAME': (0, 1, _session_fn('tsql_suser_name', 'nvarchar(128)')),
    'SUSER_ID': (0, 1, _session_fn('tsql_suser_id', 'int')),
    'SUSER_SID': (0, 1, _session_fn('tsql_suser_sid', 'varbinary(85)')),
    'ORIGINAL_LOGIN': (0, 0, _session_fn('tsql_suser_sname', 'nvarchar(128)')),
    'USER_NAME': (0, 1, _session_fn('tsql_user_name', 'nvarchar(128)')),
    'USER_ID': (0, 1, _session_fn('tsql_user_id', 'int')),
    'DB_NAME': (0, 1, _session_fn('tsql_db_name', 'nvarchar(128)')),
    'DB_ID': (0, 1, _session_fn('tsql_db_id', 'smallint')),
    'IS_SRVROLEMEMBER': (1, 2, _session_fn('tsql_is_srvrolemember', 'int')),
    'HAS_PERMS_BY_NAME': (3, 5, _session_fn('tsql_has_perms_by_name', 'int')),
    'PWDCOMPARE': (2, 3, _session_fn('tsql_pwdcompare', 'int')),
    'LOGINPROPERTY': (2, 2, _session_fn('tsql_loginproperty', 'sql_variant')),
    'CERTENCODED': (1, 1, _session_fn('tsql_certencoded', 'varbinary(max)')),
    'CERT_ID': (1, 1, _session_fn('tsql_cert_id', 'int')),
    'CERTPROPERTY': (2, 2, _session_fn('tsql_certproperty', 'sql_variant')),
}
