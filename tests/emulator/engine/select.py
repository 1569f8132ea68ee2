"""SELECT: a strict T-SQL parser that translates to SQLite SQL over the sys.* views.

Parsing builds small nodes; emitting them resolves names against the FROM scope (207 / 208 / 209 / 4104),
infers each column's SQL Server type, and produces SQLite SQL with named parameters. Anything valid in
T-SQL that this translator does not cover raises 50000 "not implemented", never a silent approximation.
"""
from .catalog import VIEWS, UNMODELLED_VIEWS
from .errors import SqlError, err, not_implemented
from . import types as T

# Built-in functions SQL Server has but the emulator does not implement (anything else unknown: 195).
KNOWN_UNIMPLEMENTED = frozenset('''
OBJECT_ID OBJECT_NAME SCHEMA_NAME SCHEMA_ID TYPE_NAME COL_NAME COL_LENGTH ASYMKEY_ID ASYMKEYPROPERTY
KEY_ID KEY_GUID CERTPRIVATEKEY ENCRYPTBYKEY DECRYPTBYKEY ENCRYPTBYCERT DECRYPTBYCERT HASHBYTES SIGNBYCERT
IS_MEMBER IS_ROLEMEMBER PERMISSIONS FORMAT STRING_AGG STRING_SPLIT STUFF REVERSE REPLICATE SPACE QUOTENAME
PARSENAME DATEPART DATENAME YEAR MONTH DAY EOMONTH ROW_NUMBER RANK DENSE_RANK NTILE ROUND FLOOR CEILING POWER
SQRT CHECKSUM BINARY_CHECKSUM ERROR_NUMBER ERROR_MESSAGE ERROR_SEVERITY ERROR_STATE XACT_STATE SCOPE_IDENTITY
IDENT_CURRENT DATABASEPROPERTYEX FILEPROPERTY FULLTEXTSERVICEPROPERTY CONNECTIONPROPERTY SESSIONPROPERTY
CONTEXT_INFO SESSION_CONTEXT APP_NAME HOST_NAME HOST_ID TRY_PARSE PARSE IIF CHOOSE JSON_VALUE JSON_QUERY
OPENJSON ISJSON SOUNDEX DIFFERENCE PATINDEX UNICODE NCHAR CHAR ASCII STR TRANSLATE CONCAT_WS SIGN ABS
'''.split())

AGGREGATES = ('COUNT', 'COUNT_BIG', 'SUM', 'MIN', 'MAX', 'AVG')


class Ctx:
    """One statement's translation: bound values and the execution context."""

    def __init__(self, xc):
        self.xc = xc            # execution context: .session .engine .params .database
        self.binds = {}

    def bind(self, value):
        name = 'b%d' % len(self.binds)
        self.binds[name] = value
        return ':' + name


def sql_string(text):
    return "'" + text.replace("'", "''") + "'"


# --- scope -------------------------------------------------------------------------------------------
class Table:
    def __init__(self, exposed, schema, alias_sql, columns, sql_names=None):
        self.exposed, self.schema, self.alias_sql, self.columns = exposed, schema, alias_sql, columns
        self.sql_names = sql_names or [name for name, _unused in columns]
        self.by_name = {}
        for (name, typ), sql_name in zip(columns, self.sql_names):
            self.by_name.setdefault(name.lower(), (sql_name, typ, name))


class Scope:
    def __init__(self, parent=None):
        self.parent = parent
        self.tables = []
        self.counter = parent.counter if parent else [0]

    def new_alias(self):
        self.counter[0] += 1
        return 't%d' % self.counter[0]

    def add(self, table):
        for other in self.tables:
            if other.exposed.lower() == table.exposed.lower():
                raise SqlError(1013, 'The objects "%s" and "%s" in the FROM clause have duplicate exposed names. '
                               'Use correlation names to distinguish them.' % (other.exposed, table.exposed),
                               16, aborts_batch=True)
        self.tables.append(table)

    def resolve(self, parts):
        column = parts[-1]
        scope = self
        if len(parts) == 1:
            while scope:
                found = [t for t in scope.tables if column.lower() in t.by_name]
                if len(found) > 1:
                    raise err(209, column, aborts_batch=True)
                if found:
                    sql_name, typ, name = found[0].by_name[column.lower()]
                    return '"%s"."%s"' % (found[0].alias_sql, sql_name), typ, name
                scope = scope.parent
            raise err(207, column, aborts_batch=True)
        table_name = parts[-2]
        schema = parts[-3] if len(parts) >= 3 else None
        while scope:
            for t in scope.tables:
                schema_matches = schema is None or (t.schema or '').lower() == schema.lower()
                if t.exposed.lower() == table_name.lower() and schema_matches:
                    if column.lower() not in t.by_name:
                        raise err(207, column, aborts_batch=True)
                    sql_name, typ, name = t.by_name[column.lower()]
                    return '"%s"."%s"' % (t.alias_sql, sql_name), typ, name
            scope = scope.parent
        raise err(4104, '.'.join(parts), aborts_batch=True)

    def star(self, qualifier=None):
        cols = []
        for t in self.tables:
            if qualifier is None or t.exposed.lower() == qualifier.lower():
                cols.extend(('"%s"."%s"' % (t.alias_sql, sql_name), typ, n)
                            for (n, typ), sql_name in zip(t.columns, t.sql_names))
        if qualifier is not None and not cols:
            raise err(4104, qualifier, aborts_batch=True)
        return cols


# --- expression nodes ----------------------------------------------------------------------------------
class Node:
    has_agg = False


class Lit(Node):
    def __init__(self, value, typ):
        self.value, self.typ = value, typ

    def emit(self, c, scope):
        if self.value is None:
            return 'NULL', 'null'
        return c.bind(self.value), self.typ


class Var(Node):
    def __init__(self, name):
        self.name = name

    def emit(self, c, scope):
        param = c.xc.params.get(self.name.lower())
        if param is None:
            raise err(137, self.name, aborts_batch=True)
        return c.bind(T.to_sqlite(param.value)), T.normalize(param.sqltype)


class Col(Node):
    def __init__(self, parts):
        self.parts = parts

    def emit(self, c, scope):
        sql, typ, _unused = scope.resolve(self.parts)
        return sql, typ

    def name(self, scope):
        return scope.resolve(self.parts)[2]


class Raw(Node):
    """Already-translated SQL computed from the execution context (e.g. @@SPID)."""

    def __init__(self, fn):
        self.fn = fn

    def emit(self, c, scope):
        return self.fn(c)


class Unary(Node):
    def __init__(self, op, arg):
        self.op, self.arg = op, arg
        self.has_agg = arg.has_agg

    def emit(self, c, scope):
        sql, typ = self.arg.emit(c, scope)
        if not T.is_numeric(typ) and typ != 'null':
            raise SqlError(8117, "Operand data type %s is invalid for minus operator." % T.base(typ), 16,
                           aborts_batch=True)
        return '(%s%s)' % (self.op, sql), typ


class Binary(Node):
    def __init__(self, op, left, right):
        self.op, self.left, self.right = op, left, right
        self.has_agg = left.has_agg or right.has_agg

    def emit(self, c, scope):
        ls, lt = self.left.emit(c, scope)
        rs, rt = self.right.emit(c, scope)
        lts, rts = T.is_string(lt), T.is_string(rt)
        if self.op == '+' and ((lts and (rts or rt == 'null')) or (rts and lt == 'null')):
            return '(%s || %s)' % (ls, rs), T.common_type([lt, rt])
        if T.base(lt) == 'varbinary' and T.base(rt) == 'varbinary' and self.op == '+':
            return 'tsql_binconcat(%s, %s)' % (ls, rs), 'varbinary(max)'
        typ = T.common_type([lt, rt])
        if not T.is_numeric(typ):
            raise SqlError(8117, 'Operand data type %s is invalid for %s operator.' % (
                T.base(lt if not T.is_numeric(lt) else rt),
                {'+': 'add', '-': 'subtract', '*': 'multiply', '/': 'divide', '%': 'modulo'}.get(self.op, self.op)),
                16, aborts_batch=True)
        ls, rs = coerce(ls, lt, typ), coerce(rs, rt, typ)
        if self.op in ('/', '%'):
            return 'tsql_div(%s, %s, %s)' % (ls, rs, sql_string(self.op)), typ
        if self.op in ('&', '|', '^'):
            if self.op == '^':
                return '((%s | %s) - (%s & %s))' % (ls, rs, ls, rs), typ
            return '(%s %s %s)' % (ls, self.op, rs), typ
        return '(%s %s %s)' % (ls, self.op, rs), typ


def coerce(sql, source, target):
    """Implicit conversion by data type precedence (strings to numbers / datetimes)."""
    if source == 'null' or T.base(source) == T.base(target):
        return sql
    if T.is_string(source) and (T.is_numeric(target) or T.base(target) in ('datetime', 'datetime2')):
        return 'tsql_cast(%s, %s, %s, NULL)' % (sql, sql_string(target), sql_string(source))
    return sql


class Case(Node):
    def __init__(self, operand, whens, default):
        self.operand, self.whens, self.default = operand, whens, default
        self.has_agg = any(t.has_agg or (getattr(w, 'has_agg', False)) for w, t in whens) or \
            bool(default and default.has_agg) or bool(operand and operand.has_agg)

    def emit(self, c, scope):
        parts = ['CASE']
        if self.operand is not None:
            os_, ot = self.operand.emit(c, scope)
            parts.append(os_ + (' COLLATE TSQL' if T.is_string(ot) else ''))
        types = []
        branches = []
        for cond, then in self.whens:
            cs, ct = cond.emit(c, scope)
            ts, tt = then.emit(c, scope)
            types.append(tt)
            branches.append((cs, ts, tt, ct))
        if self.default is not None:
            ds, dt = self.default.emit(c, scope)
            types.append(dt)
        typ = T.common_type(types)
        for cs, ts, tt, ct in branches:
            if self.operand is not None:
                cs = coerce(cs, ct, ot)
            parts.append('WHEN %s THEN %s' % (cs, coerce(ts, tt, typ)))
        if self.default is not None:
            parts.append('ELSE %s' % coerce(ds, dt, typ))
        parts.append('END')
        return ' '.join(parts), typ


class Cast(Node):
    def __init__(self, arg, target, style=None, try_=False):
        self.arg, self.target, self.style, self.try_ = arg, target, style, try_
        self.has_agg = arg.has_agg

    def emit(self, c, scope):
        sql, typ = self.arg.emit(c, scope)
        style = 'NULL'
        if self.style is not None:
            ss, st = self.style.emit(c, scope)
            style = ss
        fn = 'tsql_trycast' if self.try_ else 'tsql_cast'
        return '%s(%s, %s, %s, %s)' % (fn, sql, sql_string(self.target), sql_string(typ), style), self.target


class Func(Node):
    """A built-in function: handler(c, scope, args) -> (sql, type)."""

    def __init__(self, name, args, handler, agg=False, distinct=False, star=False):
        self.name, self.args, self.handler = name, args, handler
        self.distinct, self.star = distinct, star
        self.has_agg = agg or any(a.has_agg for a in args)

    def emit(self, c, scope):
        return self.handler(c, scope, self)


class Subquery(Node):
    def __init__(self, select):
        self.select = select

    def emit(self, c, scope):
        sql, columns = self.select.emit(c, scope)
        if len(columns) != 1:
            raise SqlError(116, 'Only one expression can be specified in the select list when the subquery is '
                           'not introduced with EXISTS.', 16, aborts_batch=True)
        return '(%s)' % sql, columns[0][1]


# --- predicates ------------------------------------------------------------------------------------
class Cmp(Node):
    def __init__(self, op, left, right):
        self.op, self.left, self.right = op, left, right
        self.has_agg = left.has_agg or right.has_agg

    def emit(self, c, scope):
        ls, lt = self.left.emit(c, scope)
        rs, rt = self.right.emit(c, scope)
        op = {'!=': '<>', '!<': '>=', '!>': '<='}.get(self.op, self.op)
        typ = T.common_type([lt, rt])
        ls, rs = coerce(ls, lt, typ), coerce(rs, rt, typ)
        collate = ' COLLATE TSQL' if T.is_string(lt) and T.is_string(rt) else ''
        return '(%s %s %s%s)' % (ls, op, rs, collate), 'bool'


class Logic(Node):
    def __init__(self, op, args):
        self.op, self.args = op, args
        self.has_agg = any(a.has_agg for a in args)

    def emit(self, c, scope):
        if self.op == 'NOT':
            return '(NOT %s)' % self.args[0].emit(c, scope)[0], 'bool'
        return '(%s)' % (' %s ' % self.op).join(a.emit(c, scope)[0] for a in self.args), 'bool'


class IsNull(Node):
    def __init__(self, arg, negate):
        self.arg, self.negate = arg, negate
        self.has_agg = arg.has_agg

    def emit(self, c, scope):
        return '(%s IS %sNULL)' % (self.arg.emit(c, scope)[0], 'NOT ' if self.negate else ''), 'bool'


class In(Node):
    def __init__(self, arg, values, select, negate):
        self.arg, self.values, self.select, self.negate = arg, values, select, negate
        self.has_agg = arg.has_agg

    def emit(self, c, scope):
        ls, lt = self.arg.emit(c, scope)
        if self.select is not None:
            inner, columns = self.select.emit(c, scope)
            if len(columns) != 1:
                raise SqlError(116, 'Only one expression can be specified in the select list when the subquery '
                               'is not introduced with EXISTS.', 16, aborts_batch=True)
            rhs = inner
            types = [lt, columns[0][1]]
        else:
            emitted = [v.emit(c, scope) for v in self.values]
            types = [lt] + [t for _unused, t in emitted]
            typ = T.common_type(types)
            rhs = ', '.join(coerce(s, t, typ) for s, t in emitted)
            ls = coerce(ls, lt, typ)
        collate = ' COLLATE TSQL' if all(T.is_string(t) or t == 'null' for t in types) and T.is_string(lt) else ''
        return '((%s%s) %sIN (%s))' % (ls, collate, 'NOT ' if self.negate else '', rhs), 'bool'


class Like(Node):
    def __init__(self, arg, pattern, escape, negate):
        self.arg, self.pattern, self.escape, self.negate = arg, pattern, escape, negate
        self.has_agg = arg.has_agg

    def emit(self, c, scope):
        ls, lt = self.arg.emit(c, scope)
        ps, pt = self.pattern.emit(c, scope)
        es = self.escape.emit(c, scope)[0] if self.escape is not None else 'NULL'
        if not T.is_string(lt):
            ls = 'tsql_cast(%s, %s, %s, NULL)' % (ls, sql_string('nvarchar(4000)'), sql_string(lt))
        return '(%stsql_like(%s, %s, %s))' % ('NOT ' if self.negate else '', ls, ps, es), 'bool'


class Between(Node):
    def __init__(self, arg, low, high, negate):
        self.arg, self.low, self.high, self.negate = arg, low, high, negate
        self.has_agg = arg.has_agg

    def emit(self, c, scope):
        a, at = self.arg.emit(c, scope)
        lo, lt = self.low.emit(c, scope)
        hi, ht = self.high.emit(c, scope)
        typ = T.common_type([at, lt, ht])
        collate = ' COLLATE TSQL' if T.is_string(typ) else ''
        return '(%s %sBETWEEN %s AND %s%s)' % (coerce(a, at, typ), 'NOT ' if self.negate else '',
                                               coerce(lo, lt, typ), coerce(hi, ht, typ), collate), 'bool'


class Exists(Node):
    def __init__(self, select):
        self.select = select

    def emit(self, c, scope):
        return '(EXISTS (%s))' % self.select.emit(c, scope)[0], 'bool'


# --- FROM items -------------------------------------------------------------------------------------
class TableRef:
    def __init__(self, parts, alias):
        self.parts, self.alias = parts, alias

    def emit(self, c, scope):
        parts = self.parts
        written = '.'.join(parts)
        database = c.xc.database
        if len(parts) == 3:
            database = parts[0]
            if not c.xc.engine.database_exists(database):
                raise err(208, written, aborts_batch=True)
            parts = parts[1:]
        elif len(parts) > 3:
            raise not_implemented('linked server names (%s)' % written)
        if len(parts) != 2 or parts[0].lower() not in ('sys', 'information_schema'):
            raise err(208, written, aborts_batch=True)
        key = '%s.%s' % (parts[0].lower(), parts[1].lower())
        if key in UNMODELLED_VIEWS or parts[0].lower() == 'information_schema':
            raise not_implemented('catalog view %s' % key)
        if key not in VIEWS:
            raise err(208, written, aborts_batch=True)
        view_scope, columns, _unused = VIEWS[key]
        alias_sql = scope.new_alias()
        if view_scope == 'database':
            names = ', '.join('"%s"' % n for n, _unused in columns)
            source = '(SELECT %s FROM "%s" WHERE _db = %s)' % (names, key, c.bind(database))
        else:
            source = '"%s"' % key
        scope.add(Table(self.alias or parts[1], None if self.alias else parts[0], alias_sql, columns))
        return '%s AS "%s"' % (source, alias_sql)


class Derived:
    def __init__(self, select, alias):
        self.select, self.alias = select, alias

    def emit(self, c, scope):
        sql, columns = self.select.emit(c, scope.parent)
        for i, (name, _unused) in enumerate(columns):
            if not name:
                raise err(8155, i + 1, self.alias, aborts_batch=True)
        alias_sql = scope.new_alias()
        scope.add(Table(self.alias, None, alias_sql, columns, ['c%d' % i for i in range(len(columns))]))
        return '(%s) AS "%s"' % (sql, alias_sql)


class Join:
    def __init__(self, left, kind, right, on):
        self.left, self.kind, self.right, self.on = left, kind, right, on

    def emit(self, c, scope):
        ls = self.left.emit(c, scope)
        rs = self.right.emit(c, scope)
        if self.on is None:
            return '%s CROSS JOIN %s' % (ls, rs)
        return '%s %s JOIN %s ON %s' % (ls, self.kind, rs, self.on.emit(c, scope)[0])


class Select:
    def __init__(self):
        self.distinct = False
        self.top = None
        self.items = []           # (node | ('*', qualifier), alias)
        self.sources = []
        self.where = None
        self.group_by = []
        self.having = None
        self.order_by = []        # (node, desc)
        self.unions = []          # (all, Select)

    def emit(self, c, outer_scope):
        scope = Scope(outer_scope)
        from_sql = ', '.join(src.emit(c, scope) for src in self.sources)
        where_sql = self.where.emit(c, scope)[0] if self.where else None
        group_sql = []
        for node in self.group_by:
            gs, gt = node.emit(c, scope)
            group_sql.append(gs + (' COLLATE TSQL' if T.is_string(gt) else ''))
        having_sql = self.having.emit(c, scope)[0] if self.having else None
        columns = []
        select_sql = []
        for item, alias in self.items:
            if isinstance(item, tuple):
                expanded = scope.star(item[1])
                if not expanded:
                    raise SqlError(263, 'Must specify table to select from.', 16, aborts_batch=True)
                for sql, typ, name in expanded:
                    select_sql.append('%s AS "c%d"' % (sql, len(columns)))
                    columns.append((name, typ))
                continue
            sql, typ = item.emit(c, scope)
            if typ == 'bool':
                raise SqlError(4145, 'An expression of non-boolean type specified in a context where a condition '
                               'is expected.', 15, aborts_batch=True)
            name = alias if alias is not None else (item.name(scope) if isinstance(item, Col) else '')
            if typ == 'null':
                typ = 'int'
            select_sql.append('%s AS "c%d"' % (sql, len(columns)))
            columns.append((name, typ))
        sql = 'SELECT %s%s' % ('DISTINCT ' if self.distinct else '', ', '.join(select_sql))
        if self.sources:
            sql += ' FROM ' + from_sql
        if where_sql:
            sql += ' WHERE ' + where_sql
        if group_sql:
            sql += ' GROUP BY ' + ', '.join(group_sql)
        if having_sql:
            sql += ' HAVING ' + having_sql
        for all_, other in self.unions:
            osql, ocols = other.emit(c, outer_scope)
            if len(ocols) != len(columns):
                raise SqlError(205, 'All queries combined using a UNION, INTERSECT or EXCEPT operator must have '
                               'an equal number of expressions in their target lists.', 16, aborts_batch=True)
            columns = [(n, T.common_type([t, ot])) for (n, t), (_unused, ot) in zip(columns, ocols)]
            sql += (' UNION ALL ' if all_ else ' UNION ') + osql
        if self.order_by:
            sql += ' ORDER BY ' + ', '.join(self._order_item(c, scope, node, desc, columns)
                                            for node, desc in self.order_by)
        if self.top is not None:
            ts, tt = self.top.emit(c, scope)
            sql += ' LIMIT %s' % ts
        return sql, columns

    def _order_item(self, c, scope, node, desc, columns):
        suffix = ' DESC' if desc else ''
        if isinstance(node, Lit) and isinstance(node.value, int):
            if not 1 <= node.value <= len(columns):
                raise SqlError(108, 'The ORDER BY position number %d is out of range of the number of items in '
                               'the select list.' % node.value, 15, aborts_batch=True)
            collate = ' COLLATE TSQL' if T.is_string(columns[node.value - 1][1]) else ''
            return '"c%d"%s%s' % (node.value - 1, collate, suffix)
        if isinstance(node, Col) and len(node.parts) == 1:
            for i, (name, typ) in enumerate(columns):
                if name and name.lower() == node.parts[0].lower():
                    return '"c%d"%s%s' % (i, ' COLLATE TSQL' if T.is_string(typ) else '', suffix)
        if self.unions:
            raise SqlError(104, 'ORDER BY items must appear in the select list if the statement contains a UNION, '
                           'INTERSECT or EXCEPT operator.', 16, aborts_batch=True)
        sql, typ = node.emit(c, scope)
        return sql + (' COLLATE TSQL' if T.is_string(typ) else '') + suffix
