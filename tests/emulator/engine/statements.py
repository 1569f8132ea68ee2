"""Batch parsing and the session statements (SELECT, USE, SET, transactions); DDL lives in its own modules."""
import sqlite3

from .core import Column, StatementResult
from .errors import SqlError, err, not_implemented, no_permission
from . import exprparse
from . import select as S
from . import types as T

# Valid T-SQL statements the emulator does not implement (first keyword).
UNIMPLEMENTED_STARTS = frozenset('''
INSERT UPDATE DELETE MERGE EXEC EXECUTE DECLARE PRINT IF WHILE RAISERROR THROW TRUNCATE DBCC KILL RECONFIGURE
RESTORE WAITFOR GOTO RETURN BREAK CONTINUE CHECKPOINT SHUTDOWN REVERT SAVE SETUSER READTEXT WRITETEXT UPDATETEXT
DEALLOCATE FETCH BULK ENABLE DISABLE MOVE GET SEND RECEIVE END
'''.split())


class Stmt:
    name = 'SELECT'
    ddl = False           # changes the catalog
    endpoint_ddl = False  # refused inside a user transaction (574)

    def run(self, xc):
        raise NotImplementedError


def require_sysadmin(xc, error=None):
    if not xc.engine.is_sysadmin(xc.session.principal_id):
        raise error or no_permission()


def parse_batch(st):
    statements = []
    while True:
        while st.accept_op(';'):
            pass
        if st.tok.kind == 'eof':
            return statements
        statements.append(parse_statement(st))
        if not (st.at_op(';') or st.tok.kind == 'eof' or _statement_start(st)):
            raise st.error()


def _statement_start(st):
    tok = st.tok
    return tok.kind == 'id' and tok.value.upper() in STARTS


def parse_statement(st):
    from . import endpoints, logins, users, grants, certificates
    tok = st.tok
    word = tok.value.upper() if tok.kind == 'id' else None
    if word == 'SELECT':
        return SelectStmt(exprparse.parse_select_statement(st))
    if word == 'WITH' and st.peek().kind in ('id', 'qid'):
        raise not_implemented('common table expressions (WITH)')
    if word == 'USE':
        st.next()
        return UseStmt(st.name())
    if word == 'SET':
        return parse_set(st)
    if word in ('BEGIN', 'COMMIT', 'ROLLBACK'):
        return parse_transaction(st)
    if word in ('CREATE', 'ALTER', 'DROP'):
        second = st.peek()
        what = second.value.upper() if second.kind == 'id' else None
        if what == 'ENDPOINT':
            return endpoints.parse(st)
        if what in ('LOGIN', 'USER') or (word == 'ALTER' and what in ('AUTHORIZATION', 'SERVER')):
            if word == 'ALTER' and what == 'AUTHORIZATION':
                return grants.parse_alter_authorization(st)
            if what == 'SERVER':
                return users.parse_server_role(st)
            return logins.parse(st)
        if what in ('CERTIFICATE', 'MASTER'):
            return certificates.parse(st)
        if second.kind == 'id':
            if what in ('TABLE', 'VIEW', 'PROCEDURE', 'PROC', 'FUNCTION', 'TRIGGER', 'INDEX', 'DATABASE', 'SCHEMA',
                        'ROLE', 'ASYMMETRIC', 'SYMMETRIC', 'CREDENTIAL', 'AVAILABILITY', 'EVENT', 'TYPE',
                        'SYNONYM', 'SEQUENCE', 'STATISTICS', 'QUEUE', 'SERVICE', 'CONTRACT', 'MESSAGE', 'ROUTE',
                        'APPLICATION', 'ASSEMBLY', 'DEFAULT', 'RULE', 'PARTITION', 'FULLTEXT', 'XML', 'SECURITY',
                        'BROKER', 'REMOTE', 'RESOURCE', 'WORKLOAD', 'EXTERNAL', 'COLUMN', 'CRYPTOGRAPHIC',
                        'DATABASE', 'SPATIAL', 'AGGREGATE', 'SEARCH', 'SERVER', 'OR'):
                raise not_implemented('%s %s' % (word, what))
        st.next()
        raise st.error()
    if word in ('GRANT', 'REVOKE', 'DENY'):
        return grants.parse_permission(st)
    if word == 'BACKUP':
        if st.peek().kind == 'id' and st.peek().value.upper() == 'CERTIFICATE':
            return certificates.parse(st)
        raise not_implemented('BACKUP %s' % st.peek().text)
    if word in ('OPEN', 'CLOSE'):
        if st.peek().kind == 'id' and st.peek().value.upper() == 'MASTER':
            return certificates.parse(st)
        raise not_implemented('%s %s' % (word, st.peek().text))
    if word in UNIMPLEMENTED_STARTS:
        raise not_implemented('%s statement' % word)
    if tok.kind == 'op' and tok.value == '(':
        raise not_implemented('parenthesised query expressions')
    raise st.error()


# WITH (a CTE) may start a batch but not follow a statement without ';' - there it is a syntax error.
STARTS = frozenset(['SELECT', 'USE', 'SET', 'BEGIN', 'COMMIT', 'ROLLBACK', 'CREATE', 'ALTER', 'DROP',
                    'GRANT', 'REVOKE', 'DENY', 'BACKUP', 'OPEN', 'CLOSE']) | UNIMPLEMENTED_STARTS


class SelectStmt(Stmt):
    def __init__(self, sel):
        self.sel = sel

    def run(self, xc):
        c = S.Ctx(xc)
        sql, columns = self.sel.emit(c, None)
        try:
            cursor = xc.engine.db.execute(sql, c.binds)
            raw = cursor.fetchall()
        except sqlite3.Error as exc:
            if xc.engine.pending_error is not None:
                raise xc.engine.pending_error
            message = str(exc)
            if 'misuse of aggregate' in message or 'GROUP BY' in message:
                raise SqlError(147, 'An aggregate may not appear in the WHERE clause unless it is in a subquery '
                               'contained in a HAVING clause or a select list, and the column being aggregated is '
                               'an outer reference.', 15, aborts_batch=True)
            raise not_implemented('query shape (SQLite said: %s)' % message)
        rows = [tuple(T.to_python(v, typ) for v, (_unused, typ) in zip(row, columns)) for row in raw]
        nocount = xc.session.options.get('NOCOUNT')
        return StatementResult(columns=[Column(n, t) for n, t in columns], rows=rows,
                               rowcount=None if nocount else len(rows))


class UseStmt(Stmt):
    name = 'USE'

    def __init__(self, database):
        self.database = database

    def run(self, xc):
        row = xc.engine.one('SELECT name FROM databases WHERE name = ?', (self.database,))
        if row is None:
            raise err(911, self.database)
        xc.session.database = row[0]
        return StatementResult(infos=[(5701, "Changed database context to '%s'." % row[0])])


ON_OFF_OPTIONS = frozenset('''
ANSI_NULLS ANSI_PADDING ANSI_WARNINGS ANSI_NULL_DFLT_ON ANSI_NULL_DFLT_OFF ARITHABORT ARITHIGNORE
CONCAT_NULL_YIELDS_NULL CURSOR_CLOSE_ON_COMMIT NOCOUNT NUMERIC_ROUNDABORT QUOTED_IDENTIFIER XACT_ABORT
IMPLICIT_TRANSACTIONS FMTONLY NOEXEC PARSEONLY ANSI_DEFAULTS FORCEPLAN SHOWPLAN_ALL SHOWPLAN_TEXT SHOWPLAN_XML
REMOTE_PROC_TRANSACTIONS NO_BROWSETABLE
'''.split())
# Options whose ON changes what statements do in ways the emulator does not model.
UNMODELLED_WHEN_ON = frozenset(['IMPLICIT_TRANSACTIONS', 'FMTONLY', 'NOEXEC', 'PARSEONLY', 'FORCEPLAN',
                                'SHOWPLAN_ALL', 'SHOWPLAN_TEXT', 'SHOWPLAN_XML', 'REMOTE_PROC_TRANSACTIONS'])


class SetStmt(Stmt):
    name = 'SET'

    def __init__(self, settings):
        self.settings = settings

    def run(self, xc):
        for key, value in self.settings:
            xc.session.options[key] = value
        return StatementResult()


def parse_set(st):
    st.expect('SET')
    tok = st.tok
    if tok.kind == 'var':
        raise not_implemented('SET @variable')
    if tok.kind != 'id':
        raise st.error()
    word = tok.value.upper()
    if word in ON_OFF_OPTIONS:
        names = [st.next().value.upper()]
        while st.accept_op(','):
            option = st.tok
            if option.kind != 'id' or option.value.upper() not in ON_OFF_OPTIONS:
                raise st.error()
            names.append(st.next().value.upper())
        value = st.on_off()
        for name in names:
            if value and name in UNMODELLED_WHEN_ON:
                raise not_implemented('SET %s ON' % name)
        settings = [(n, value) for n in names]
        if 'ANSI_DEFAULTS' in names:
            settings += [(n, value) for n in ('ANSI_NULLS', 'ANSI_NULL_DFLT_ON', 'ANSI_PADDING', 'ANSI_WARNINGS',
                                              'CURSOR_CLOSE_ON_COMMIT', 'QUOTED_IDENTIFIER')]
        return SetStmt(settings)
    st.next()
    if word in ('TEXTSIZE', 'LOCK_TIMEOUT', 'ROWCOUNT', 'DATEFIRST'):
        negative = bool(st.accept_op('-'))
        value = st.integer() * (-1 if negative else 1)
        if word == 'ROWCOUNT' and value != 0:
            raise not_implemented('SET ROWCOUNT %d' % value)
        if word == 'DATEFIRST' and value != 7:
            raise not_implemented('SET DATEFIRST %d' % value)
        return SetStmt([(word, value)])
    if word in ('DATEFORMAT', 'LANGUAGE', 'DEADLOCK_PRIORITY'):
        tok = st.next()
        if tok.kind not in ('id', 'qid', 'str', 'nstr', 'num'):
            raise st.error(tok)
        value = str(tok.value)
        if word == 'DATEFORMAT' and value.lower() != 'mdy':
            raise not_implemented('SET DATEFORMAT %s' % value)
        if word == 'LANGUAGE' and value.lower() not in ('us_english', 'english'):
            raise not_implemented('SET LANGUAGE %s' % value)
        return SetStmt([(word, value)])
    if word == 'TRANSACTION':
        st.expect('ISOLATION')
        st.expect('LEVEL')
        if st.accept('READ'):
            level = 'READ ' + st.expect('COMMITTED', 'UNCOMMITTED')
        elif st.accept('REPEATABLE'):
            st.expect('READ')
            level = 'REPEATABLE READ'
        else:
            level = st.expect('SERIALIZABLE', 'SNAPSHOT')
        return SetStmt([('ISOLATION', level)])
    if word in ('STATISTICS', 'CONTEXT_INFO', 'IDENTITY_INSERT', 'OFFSETS', 'QUERY_GOVERNOR_COST_LIMIT',
                'RESULT_SET_CACHING'):
        raise not_implemented('SET %s' % word)
    raise st.error(tok)


class TranStmt(Stmt):
    def __init__(self, action):
        self.action = action
        self.name = action

    def run(self, xc):
        engine = xc.engine
        {'BEGIN': engine.begin_transaction, 'COMMIT': engine.commit_transaction,
         'ROLLBACK': engine.rollback_transaction}[self.action](xc.session)
        return StatementResult()


def parse_transaction(st):
    word = st.next().value.upper()
    if word == 'BEGIN':
        if st.at('DISTRIBUTED'):
            raise not_implemented('BEGIN DISTRIBUTED TRANSACTION')
        if st.at('TRY', 'CATCH') or not st.at('TRAN', 'TRANSACTION'):
            if st.at('TRAN', 'TRANSACTION'):
                pass
            elif st.at('TRY', 'CATCH') or _statement_start(st) or st.tok.kind == 'eof' or st.at_op(';'):
                raise not_implemented('BEGIN ... END blocks')
            else:
                raise st.error()
        st.expect('TRAN', 'TRANSACTION')
        _transaction_name(st)
        if st.at('WITH'):
            raise not_implemented('BEGIN TRANSACTION WITH MARK')
        return TranStmt('BEGIN')
    if st.accept('TRAN', 'TRANSACTION'):
        _transaction_name(st)
    else:
        st.accept('WORK')
    if word == 'COMMIT' and st.at('WITH'):
        raise not_implemented('COMMIT WITH (DELAYED_DURABILITY)')
    return TranStmt(word)


def _transaction_name(st):
    tok = st.tok
    plain_name = tok.kind == 'id' and not tok.is_reserved and tok.value.upper() not in STARTS
    if tok.kind in ('var', 'qid') or plain_name:
        st.next()
