"""GRANT / REVOKE / DENY on endpoints and the server, and ALTER AUTHORIZATION (tsql.md 1.7, 3.5)."""
from . import catalog
from .core import StatementResult
from .errors import SqlError, err, cannot, not_implemented, no_permission
from .statements import Stmt

ENDPOINT_PERMISSIONS = {'ALTER': 'AL', 'CONNECT': 'CO', 'CONTROL': 'CL', 'TAKE OWNERSHIP': 'TO',
                        'VIEW DEFINITION': 'VW'}
SERVER_PERMISSIONS = {'CONNECT SQL': 'COSQ', 'VIEW SERVER STATE': 'VWSS', 'ALTER ANY ENDPOINT': 'ALHE',
                      'CREATE ENDPOINT': 'CRHE', 'ALTER ANY LOGIN': 'ALLG', 'VIEW ANY DEFINITION': 'VWAD',
                      'CONTROL SERVER': 'CL', 'VIEW ANY DATABASE': 'VWDB', 'ALTER ANY AVAILABILITY GROUP': 'ALAG',
                      'CREATE AVAILABILITY GROUP': 'CRAC'}
_PERMISSION_WORDS = {'ALTER', 'CONNECT', 'CONTROL', 'TAKE', 'OWNERSHIP', 'VIEW', 'DEFINITION', 'SQL', 'SERVER',
                     'STATE', 'ANY', 'ENDPOINT', 'LOGIN', 'CREATE', 'DATABASE', 'AVAILABILITY', 'GROUP',
                     'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE', 'REFERENCES', 'IMPERSONATE', 'SHUTDOWN',
                     'ALL'}


def _parse_permission_name(st):
    words = [st.next()]
    if words[0].kind != 'id':
        raise st.error(words[0])
    while st.tok.kind == 'id' and st.tok.value.upper() in _PERMISSION_WORDS and not st.at('ON', 'TO', 'FROM'):
        words.append(st.next())
    return ' '.join(w.value.upper() for w in words), words[0]


def parse_permission(st):
    verb = st.next().value.upper()
    grant_option_for = False
    if verb == 'REVOKE' and st.at_seq('GRANT', 'OPTION', 'FOR'):
        st.next()
        st.next()
        st.next()
        grant_option_for = True
    permissions = []
    while True:
        permissions.append(_parse_permission_name(st))
        if not st.accept_op(','):
            break
    securable = None
    if st.accept('ON'):
        cls_tok = st.tok
        cls = st.name().upper() if cls_tok.kind == 'id' else None
        if st.at_op(':'):
            raise st.error()
        if cls is None or not st.at_op('::'):
            raise not_implemented('GRANT on objects without a securable class')
        st.expect_op('::')
        target = st.name()
        if cls != 'ENDPOINT':
            raise not_implemented('%s on %s::' % (verb, cls))
        securable = target
    if verb == 'REVOKE':
        st.expect('FROM', 'TO')
    else:
        st.expect('TO')
    grantees = []
    while True:
        grantees.append('public' if st.accept('PUBLIC') else st.name())
        if not st.accept_op(','):
            break
    with_grant = cascade = False
    if verb == 'GRANT' and st.accept('WITH'):
        st.expect('GRANT')
        st.expect('OPTION')
        with_grant = True
    if verb in ('REVOKE', 'DENY') and st.accept('CASCADE'):
        cascade = True
    as_login = None
    if st.accept('AS'):
        as_login = st.name()
    return PermissionStmt(verb, permissions, securable, grantees, with_grant, cascade, grant_option_for, as_login)


class PermissionStmt(Stmt):
    ddl = True

    def __init__(self, verb, permissions, securable, grantees, with_grant, cascade, grant_option_for, as_login):
        self.verb, self.permissions, self.securable = verb, permissions, securable
        self.grantees, self.with_grant, self.cascade = grantees, with_grant, cascade
        self.grant_option_for, self.as_login = grant_option_for, as_login
        self.name = verb

    def run(self, xc):
        engine, session = xc.engine, xc.session
        if self.as_login is not None:
            raise not_implemented('%s ... AS' % self.verb)
        table = ENDPOINT_PERMISSIONS if self.securable is not None else SERVER_PERMISSIONS
        codes = []
        for permission, tok in self.permissions:
            if permission not in table:
                if self.securable is None and permission in ENDPOINT_PERMISSIONS:
                    raise not_implemented('server-level %s' % permission)
                if self.securable is None:
                    raise not_implemented('server permission %s' % permission)
                # [U] 4606: the privilege does not apply to this securable class
                raise SqlError(4606, 'Granted or revoked privilege %s is not compatible with object.'
                               % permission)
            codes.append((table[permission], permission))
        if xc.database.lower() != 'master':
            raise SqlError(4621, 'Permissions at the server scope can only be granted when the current database '
                           'is master')
        if self.securable is not None:
            row = engine.one('SELECT endpoint_id, principal_id FROM endpoints WHERE name = ?', (self.securable,))
            if row is None or not (engine.is_sysadmin(session.principal_id) or row[1] == session.principal_id):
                raise cannot('find', 'endpoint', self.securable)
            cls, major, owner = 105, row[0], row[1]
        else:
            if not engine.is_sysadmin(session.principal_id):
                raise no_permission()
            cls, major, owner = 100, 0, None
        grantee_ids = []
        for grantee in self.grantees:
            row = engine.one('SELECT principal_id FROM server_principals WHERE name = ?', (grantee,))
            if row is None:
                raise cannot('find', 'login', grantee)
            if row[0] in (1, owner, session.principal_id):
                raise err(4624)
            grantee_ids.append(row[0])
        with engine.write() as db:
            for pid in grantee_ids:
                for code, permission in codes:
                    current = db.execute('SELECT state FROM server_permissions WHERE class = ? AND major_id = ? '
                                         'AND minor_id = 0 AND grantee_principal_id = ? AND type = ?',
                                         (cls, major, pid, code)).fetchone()
                    if self.verb in ('REVOKE', 'DENY') and current and current[0] == 'W' and not self.cascade \
                            and not self.grant_option_for:
                        raise SqlError(4611, 'To revoke or deny grantable privileges, specify the CASCADE option.')
                    if self.verb == 'REVOKE':
                        if self.grant_option_for:
                            if current and current[0] == 'W':
                                db.execute("UPDATE server_permissions SET state = 'G' WHERE class = ? AND "
                                           "major_id = ? AND grantee_principal_id = ? AND type = ?",
                                           (cls, major, pid, code))
                            continue
                        db.execute('DELETE FROM server_permissions WHERE class = ? AND major_id = ? AND '
                                   'grantee_principal_id = ? AND type = ?', (cls, major, pid, code))
                        continue
                    state = 'D' if self.verb == 'DENY' else ('W' if self.with_grant else 'G')
                    db.execute('INSERT OR REPLACE INTO server_permissions VALUES (?, ?, 0, ?, ?, ?, ?, ?)',
                               (cls, major, pid, session.principal_id, code, permission, state))
        return StatementResult()


# --- ALTER AUTHORIZATION -----------------------------------------------------------------------------
def parse_alter_authorization(st):
    st.expect('ALTER')
    st.expect('AUTHORIZATION')
    st.expect('ON')
    cls = None
    if st.tok.kind == 'id' and st.peek().kind == 'op' and st.peek().value == '::':
        cls = st.next().value.upper()
        st.next()
    target = st.name()
    if st.at_op('.'):
        raise not_implemented('ALTER AUTHORIZATION on schema-qualified objects')
    st.expect('TO')
    if st.at('SCHEMA'):
        raise not_implemented('ALTER AUTHORIZATION ... TO SCHEMA OWNER')
    owner = st.name()
    if cls == 'ENDPOINT':
        return AlterEndpointOwner(target, owner)
    if cls == 'CERTIFICATE':
        from .certificates import AlterCertificateOwner
        return AlterCertificateOwner(target, owner)
    raise not_implemented('ALTER AUTHORIZATION ON %s' % (cls + '::' if cls else 'objects'))


class AlterEndpointOwner(Stmt):
    name = 'ALTER AUTHORIZATION'
    ddl = True

    def __init__(self, endpoint, owner):
        self.endpoint, self.owner = endpoint, owner

    def run(self, xc):
        engine = xc.engine
        row = engine.one('SELECT endpoint_id, principal_id FROM endpoints WHERE name = ?', (self.endpoint,))
        if row is None or not (engine.is_sysadmin(xc.session.principal_id) or row[1] == xc.session.principal_id):
            raise cannot('find', 'endpoint', self.endpoint)
        if row[0] < catalog.USER_ENDPOINT_ID_START:
            raise not_implemented('ALTER AUTHORIZATION on a system endpoint')
        owner = engine.one('SELECT principal_id, type FROM server_principals WHERE name = ?', (self.owner,))
        if owner is None:
            raise cannot('find', 'login', self.owner)
        if owner[1] == 'R':
            raise SqlError(15345, 'An entity of type endpoint cannot be owned by a role, a group, or by principals '
                           'mapped to certificates or asymmetric keys.')
        with engine.write() as db:
            db.execute('UPDATE endpoints SET principal_id = ? WHERE endpoint_id = ?', (owner[0], row[0]))
            # a change of owner drops every permission on the securable (tsql.md 1.7)
            db.execute('DELETE FROM server_permissions WHERE class = 105 AND major_id = ?', (row[0],))
        return StatementResult()
