"""CREATE / DROP USER and ALTER SERVER ROLE (tsql.md 3.4)."""
import os

from . import catalog
from .core import StatementResult
from .errors import SqlError, err, cannot, not_implemented, no_permission
from .statements import Stmt
from .tokens import check_sysname


def parse_user(st, verb):
    if verb == 'CREATE':
        return _parse_create_user(st)
    if verb == 'DROP':
        if_exists = False
        if st.at('IF') and st.peek().kind == 'id' and st.peek().value.upper() == 'EXISTS':
            st.next()
            st.next()
            if_exists = True
        return DropUser(check_sysname(st.name()), if_exists)
    raise not_implemented('ALTER USER')


def _parse_create_user(st):
    name = check_sysname(st.name())
    opts = {}
    if st.accept('FOR', 'FROM'):
        source = st.expect('LOGIN', 'CERTIFICATE', 'ASYMMETRIC', 'EXTERNAL')
        if source in ('ASYMMETRIC', 'EXTERNAL'):
            raise not_implemented('CREATE USER FROM %s' % source)
        opts[source] = st.name()
    elif st.accept('WITHOUT'):
        st.expect('LOGIN')
        opts['WITHOUT LOGIN'] = True
    if st.accept('WITH'):
        st.expect('DEFAULT_SCHEMA')
        st.expect_op('=')
        opts['DEFAULT_SCHEMA'] = st.name()
        if st.at_op(','):
            raise not_implemented('CREATE USER options other than DEFAULT_SCHEMA')
    return CreateUser(name, opts)


def _new_db_principal_id(db, database):
    top = db.execute('SELECT max(principal_id) FROM database_principals WHERE db = ? AND principal_id < 16384',
                     (database,)).fetchone()[0] or 4
    return max(top + 1, 5)


class CreateUser(Stmt):
    name = 'CREATE USER'
    ddl = True

    def __init__(self, user, opts):
        self.user, self.opts = user, opts

    def run(self, xc):
        engine, opts, database = xc.engine, self.opts, xc.database
        if not engine.is_sysadmin(xc.session.principal_id):
            raise no_permission()
        if engine.one('SELECT 1 FROM database_principals WHERE db = ? AND name = ?', (database, self.user)):
            raise err(15023, self.user)
        cert_id = None
        schema = opts.get('DEFAULT_SCHEMA')
        if 'CERTIFICATE' in opts:
            if schema is not None:
                raise err(15259)
            row = engine.one('SELECT certificate_id, sid FROM certificates WHERE db = ? AND name = ?',
                             (database, opts['CERTIFICATE']))
            if row is None:
                raise cannot('find', 'certificate', opts['CERTIFICATE'])
            cert_id, sid = row
            kind, auth = 'C', 0
        elif 'WITHOUT LOGIN' in opts:
            # [U] WITHOUT LOGIN users get an S-1-9-3 style SID (0x0105000000000009030000 + 16 random bytes)
            sid = bytes.fromhex('010500000000000903000000') + os.urandom(16)
            kind, auth = 'S', 0
            schema = schema or 'dbo'
        else:
            login_name = opts.get('LOGIN', self.user)
            row = engine.one('SELECT principal_id, type, sid FROM server_principals WHERE name = ?', (login_name,))
            if row is None or row[1] == 'R':
                raise err(15007, login_name)
            if row[0] == 1 or engine.one('SELECT 1 FROM database_principals WHERE db = ? AND sid = ?',
                                         (database, row[2])):
                raise err(15063)
            sid = row[2]
            kind = {'S': 'S', 'U': 'U', 'G': 'G', 'C': 'C', 'K': 'K'}[row[1]]
            auth = {'S': 1, 'U': 3, 'G': 3}.get(row[1], 0)
            if kind in ('S', 'U'):
                schema = schema or 'dbo'
            elif schema is not None and kind in ('C', 'K'):
                raise err(15259)
        if cert_id is not None and engine.one('SELECT 1 FROM database_principals WHERE db = ? AND sid = ?',
                                              (database, sid)):
            raise err(15063)
        ts = catalog.now_text()
        with engine.write() as db:
            pid = _new_db_principal_id(db, database)
            db.execute('INSERT INTO database_principals (db, principal_id, name, type, sid, default_schema_name, '
                       'create_date, modify_date, authentication_type, certificate_id) '
                       'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                       (database, pid, self.user, kind, sid, schema, ts, ts, auth, cert_id))
        return StatementResult()


class DropUser(Stmt):
    name = 'DROP USER'
    ddl = True

    def __init__(self, user, if_exists):
        self.user, self.if_exists = user, if_exists

    def run(self, xc):
        engine, database = xc.engine, xc.database
        row = engine.one('SELECT principal_id, name, type FROM database_principals WHERE db = ? AND name = ?',
                         (database, self.user))
        if row is None or row[2] == 'R':
            if self.if_exists and row is None:
                return StatementResult()
            raise cannot('drop', 'user', self.user)
        if not engine.is_sysadmin(xc.session.principal_id):
            raise cannot('drop', 'user', self.user)
        if row[0] <= 4:
            raise SqlError(15150, "Cannot drop the user '%s'." % row[1])
        if engine.one('SELECT 1 FROM certificates WHERE db = ? AND principal_id = ?', (database, row[0])):
            # tsql.md 3.4: 15138 vs 15154 is [U]; 15138 names the kind of securable
            raise err(15138, 'certificate')
        with engine.write() as db:
            db.execute('DELETE FROM database_role_members WHERE db = ? AND member_principal_id = ?',
                       (database, row[0]))
            db.execute('DELETE FROM database_principals WHERE db = ? AND principal_id = ?', (database, row[0]))
        return StatementResult()


def parse_server_role(st):
    st.expect('ALTER')
    st.expect('SERVER')
    if not st.accept('ROLE'):
        raise not_implemented('ALTER SERVER %s' % st.tok.text)
    role = st.name()
    action = st.expect('ADD', 'DROP', 'WITH')
    if action == 'WITH':
        raise not_implemented('ALTER SERVER ROLE ... WITH NAME')
    st.expect('MEMBER')
    return AlterServerRole(role, action, st.name())


class AlterServerRole(Stmt):
    name = 'ALTER SERVER ROLE'
    ddl = True

    def __init__(self, role, action, member):
        self.role, self.action, self.member = role, action, member

    def run(self, xc):
        engine = xc.engine
        role = engine.one("SELECT principal_id FROM server_principals WHERE name = ? AND type = 'R'", (self.role,))
        if role is None or not engine.is_sysadmin(xc.session.principal_id):
            raise cannot('alter', 'server role', self.role)
        member = engine.one('SELECT principal_id FROM server_principals WHERE name = ?', (self.member,))
        if member is None:
            raise cannot('add' if self.action == 'ADD' else 'drop', 'principal', self.member)
        with engine.write() as db:
            if self.action == 'ADD':
                db.execute('INSERT OR IGNORE INTO server_role_members VALUES (?, ?)', (role[0], member[0]))
            else:
                db.execute('DELETE FROM server_role_members WHERE role_principal_id = ? AND member_principal_id = ?',
                           (role[0], member[0]))
        return StatementResult()
