"""CREATE / ALTER / DROP ENDPOINT ... FOR DATABASE_MIRRORING (tsql.md section 1)."""
import ipaddress

from . import catalog
from .core import StatementResult
from .errors import SqlError, err, cannot, not_implemented
from .statements import Stmt, require_sysadmin
from .tokens import check_sysname

STATES = {'STARTED': 0, 'STOPPED': 1, 'DISABLED': 2}
ROLES = {'PARTNER': 1, 'WITNESS': 2, 'ALL': 3}
WINDOWS_METHODS = {'NTLM': 1, 'KERBEROS': 2, 'NEGOTIATE': 3}
# (enabled state, algorithm) -> sys.database_mirroring_endpoints.encryption_algorithm (tsql.md 2.3; for
# SQL Server 2016+ a plain REQUIRED / SUPPORTED means AES [U, derived from the AES default]).
ENCRYPTION_VALUES = {('REQUIRED', 'RC4'): 1, ('REQUIRED', 'AES'): 2, ('SUPPORTED', 'RC4'): 3,
                     ('SUPPORTED', 'AES'): 4, ('REQUIRED', 'RC4 AES'): 5, ('REQUIRED', 'AES RC4'): 6,
                     ('SUPPORTED', 'RC4 AES'): 7, ('SUPPORTED', 'AES RC4'): 8}
DEFAULT_ENCRYPTION = 2          # REQUIRED ALGORITHM AES
DEFAULT_AUTH = 3                # WINDOWS NEGOTIATE


def connection_auth(first, windows_method, certificate_first):
    """Map the AUTHENTICATION clause to sys.database_mirroring_endpoints.connection_auth (tsql.md 2.3)."""
    if first == 'WINDOWS' and not certificate_first:
        return windows_method
    if first == 'CERTIFICATE' and windows_method is None:
        return 4
    if first == 'WINDOWS':
        return 4 + windows_method          # 5 NTLM,CERT  6 KERBEROS,CERT  7 NEGOTIATE,CERT
    return 7 + windows_method              # 8 CERT,NTLM  9 CERT,KERBEROS 10 CERT,NEGOTIATE


def uses_windows(auth):
    return auth is not None and auth != 4


class EndpointSpec:
    """The options written in one CREATE/ALTER ENDPOINT (None: not given)."""

    def __init__(self):
        self.state = None
        self.port = None
        self.ip = None           # 'ALL' or an address
        self.tcp_given = False
        self.auth = None         # connection_auth value
        self.certificate = None  # certificate name
        self.encryption = None   # encryption_algorithm value
        self.role = None
        self.for_given = False
        self.option_count = 0


def parse(st):
    verb = st.next().value.upper()
    st.expect('ENDPOINT')
    name = check_sysname(st.name())
    if verb == 'DROP':
        return DropEndpoint(name)
    spec = EndpointSpec()
    if st.at('AUTHORIZATION'):
        if verb == 'ALTER':
            # [U] the ALTER page lists AUTHORIZATION in its syntax block but says it is not available.
            raise st.error()
        st.next()
        spec_owner = st.name()
    else:
        spec_owner = None
    if st.accept('STATE'):
        st.expect_op('=')
        spec.state = STATES[st.expect(*STATES)]
        spec.option_count += 1
    if st.accept('AS'):
        transport = st.expect('TCP', 'HTTP')
        if transport == 'HTTP':
            raise not_implemented('HTTP endpoints (removed from SQL Server)')
        _parse_tcp(st, spec)
        spec.tcp_given = True
    elif verb == 'CREATE':
        raise st.error()
    if st.accept('FOR'):
        payload = st.tok
        if payload.kind != 'id':
            raise st.error()
        kind = payload.value.upper()
        if kind != 'DATABASE_MIRRORING':
            if kind in ('TSQL', 'SERVICE_BROKER', 'SOAP'):
                if verb == 'ALTER':
                    st.next()
                    _skip_parenthesised(st)
                    return AlterWrongPayload(name)
                raise not_implemented('%s endpoints' % kind)
            raise st.error()
        st.next()
        _parse_mirroring(st, spec)
        spec.for_given = True
    elif verb == 'CREATE':
        raise st.error()
    if verb == 'CREATE':
        if getattr(spec, 'role_missing', False):
            # [U] ROLE is required by the documented grammar ("Specifying ROLE is required").
            raise SqlError(102, "Incorrect syntax near ')'.", 15, aborts_batch=True)
        if spec.port is None:
            raise st.error()   # LISTENER_PORT has no default (tsql.md 1.2)
        return CreateEndpoint(name, spec_owner, spec)
    return AlterEndpoint(name, spec)


def _skip_parenthesised(st):
    st.expect_op('(')
    depth = 1
    while depth:
        tok = st.next()
        if tok.kind == 'eof':
            raise st.error()
        if tok.kind == 'op' and tok.value in '()':
            depth += 1 if tok.value == '(' else -1


def _parse_tcp(st, spec):
    st.expect_op('(')
    seen = set()
    first = True
    while not st.at_op(')'):
        if not first:
            st.accept_op(',')
        first = False
        option = st.expect('LISTENER_PORT', 'LISTENER_IP')
        if option in seen:
            raise st.error(st.tokens[st.i - 1])
        seen.add(option)
        st.expect_op('=')
        if option == 'LISTENER_PORT':
            port = st.integer()
            if not 1 <= port <= 65535:
                # [U] the docs say 1024-32767; we only refuse what cannot be a TCP port, with 7810.
                raise err(7810, port, 'LISTENER_PORT')
            spec.port = port
        else:
            spec.ip = _parse_ip(st)
        spec.option_count += 1
    if not seen:
        raise st.error()
    st.expect_op(')')


def _parse_ip(st):
    if st.accept('ALL'):
        return 'ALL'
    st.expect_op('(')
    if st.tok.kind in ('str', 'nstr'):
        text = st.string()
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            # [U] quoted form is documented for IPv6 only
            raise SqlError(7887, "The IPv6 address specified is not supported. Only addresses that are in their "
                           "numerical, canonical form are supported for listening.", 20)
        st.expect_op(')')
        return str(address)
    start = st.i
    text = ''
    while not st.at_op(')') and st.tok.kind != 'eof':
        text += st.next().text
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise st.error(st.tokens[start])
    st.expect_op(')')
    return str(address)


def _parse_mirroring(st, spec):
    st.expect_op('(')
    seen = set()
    first = True
    while not st.at_op(')'):
        if not first:
            st.accept_op(',')
        first = False
        option = st.expect('AUTHENTICATION', 'ENCRYPTION', 'ROLE')
        if option in seen:
            raise st.error(st.tokens[st.i - 1])
        seen.add(option)
        st.expect_op('=')
        if option == 'ROLE':
            spec.role = ROLES[st.expect(*ROLES)]
        elif option == 'ENCRYPTION':
            state = st.expect('DISABLED', 'SUPPORTED', 'REQUIRED')
            if state == 'DISABLED':
                spec.encryption = 0
            else:
                algorithm = 'AES'
                if st.accept('ALGORITHM'):
                    algorithm = st.expect('AES', 'RC4')
                    if st.at('AES', 'RC4') and st.tok.value.upper() != algorithm:
                        algorithm += ' ' + st.next().value.upper()
                spec.encryption = ENCRYPTION_VALUES[(state, algorithm)]
        else:
            first_kind = st.expect('WINDOWS', 'CERTIFICATE')
            method = None
            certificate_first = first_kind == 'CERTIFICATE'
            if first_kind == 'WINDOWS':
                method = WINDOWS_METHODS.get(st.accept(*WINDOWS_METHODS) or 'NEGOTIATE')
                if st.accept('CERTIFICATE'):
                    spec.certificate = st.name()
                    certificate_first = True
            else:
                spec.certificate = st.name()
                if st.accept('WINDOWS'):
                    method = WINDOWS_METHODS.get(st.accept(*WINDOWS_METHODS) or 'NEGOTIATE')
            if first_kind == 'WINDOWS':
                spec.auth = connection_auth('WINDOWS', method, certificate_first)
            else:
                spec.auth = connection_auth('CERTIFICATE', method, False)
        spec.option_count += 1
    if 'ROLE' not in seen:
        spec.role_missing = True
    st.expect_op(')')


# --- checks shared by CREATE and ALTER -----------------------------------------------------------------
def _check_not_in_transaction(xc, statement):
    if xc.session.in_transaction:
        raise err(574, statement)


def _check_platform(xc, auth, statement):
    if xc.engine.platform == 'linux' and uses_windows(auth):
        # [U] SQL Server on Linux supports only CERTIFICATE on the mirroring endpoint (tsql.md 6.8); the
        # error number for refusing WINDOWS is not documented: 7878 is the catalogued "not supported" one.
        raise SqlError(7878, 'This "%s ENDPOINT" statement is not supported on this edition of SQL Server.'
                       % statement, 16)


def _certificate_id(xc, name):
    from .certificates import endpoint_certificate_id
    return endpoint_certificate_id(xc, name)


def _check_binding(xc, port, ip, exclude_id=None):
    for eid, other_ip in xc.engine.query('SELECT endpoint_id, ip_address FROM endpoints WHERE port = ? AND '
                                         'endpoint_id >= ?', (port, catalog.USER_ENDPOINT_ID_START)):
        if eid == exclude_id:
            continue
        if ip is None or other_ip is None or ip == other_ip:
            raise err(7874)


class CreateEndpoint(Stmt):
    name = 'CREATE ENDPOINT'
    ddl = endpoint_ddl = True

    def __init__(self, endpoint, owner, spec):
        self.endpoint, self.owner, self.spec = endpoint, owner, spec

    def run(self, xc):
        engine, spec = xc.engine, self.spec
        _check_not_in_transaction(xc, 'CREATE ENDPOINT')
        require_sysadmin(xc)
        if engine.one('SELECT 1 FROM endpoints WHERE type = 4'):
            raise err(7862)
        if engine.one('SELECT 1 FROM endpoints WHERE name = ?', (self.endpoint,)):
            # [U] no documented number for a duplicate endpoint name (of another type): 2714 is the generic one
            raise SqlError(2714, "There is already an object named '%s' in the database." % self.endpoint)
        owner_id = xc.session.principal_id
        if self.owner is not None:
            row = engine.one("SELECT principal_id, type FROM server_principals WHERE name = ?", (self.owner,))
            if row is None or row[1] not in ('S', 'U', 'C', 'K'):
                raise cannot('find', 'login', self.owner)
            owner_id = row[0]
        auth = spec.auth if spec.auth is not None else DEFAULT_AUTH
        _check_platform(xc, auth, 'CREATE')
        cert_id = _certificate_id(xc, spec.certificate) if spec.certificate else 0
        ip = None if spec.ip in (None, 'ALL') else spec.ip
        state = spec.state if spec.state is not None else STATES['STOPPED']
        _check_binding(xc, spec.port, ip)
        encryption = spec.encryption if spec.encryption is not None else DEFAULT_ENCRYPTION
        with engine.write() as db:
            eid = max(catalog.USER_ENDPOINT_ID_START - 1,
                      db.execute('SELECT max(endpoint_id) FROM endpoints').fetchone()[0]) + 1
            db.execute('INSERT INTO endpoints (endpoint_id, name, principal_id, protocol, type, state, '
                       'is_admin_endpoint, port, is_dynamic_port, ip_address, role, connection_auth, certificate_id, '
                       'encryption_algorithm) VALUES (?, ?, ?, 2, 4, ?, 0, ?, 0, ?, ?, ?, ?, ?)',
                       (eid, self.endpoint, owner_id, state, spec.port, ip, spec.role, auth, cert_id, encryption))
            # bind inside the transaction: a port taken by another process (7890) leaves no row behind
            engine.listeners.apply(eid, self.endpoint, state, spec.port, ip)
        return StatementResult()


class AlterWrongPayload(Stmt):
    name = 'ALTER ENDPOINT'
    ddl = endpoint_ddl = True

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def run(self, xc):
        _check_not_in_transaction(xc, 'ALTER ENDPOINT')
        if xc.engine.one('SELECT 1 FROM endpoints WHERE name = ?', (self.endpoint,)) is None:
            raise cannot('alter', 'endpoint', self.endpoint)
        raise err(7860)


class AlterEndpoint(Stmt):
    name = 'ALTER ENDPOINT'
    ddl = endpoint_ddl = True

    def __init__(self, endpoint, spec):
        self.endpoint, self.spec = endpoint, spec

    def run(self, xc):
        engine, spec = xc.engine, self.spec
        _check_not_in_transaction(xc, 'ALTER ENDPOINT')
        row = engine.one('SELECT endpoint_id, name, principal_id, type, state, port, ip_address, role, '
                         'connection_auth, certificate_id, encryption_algorithm FROM endpoints WHERE name = ?',
                         (self.endpoint,))
        if row is None or not (engine.is_sysadmin(xc.session.principal_id) or row[2] == xc.session.principal_id):
            raise cannot('alter', 'endpoint', self.endpoint)
        eid, name, _unused, etype, state, port, ip, role, auth, cert_id, encryption = row
        if eid < catalog.USER_ENDPOINT_ID_START:
            raise not_implemented('ALTER ENDPOINT on a system endpoint')
        if spec.option_count == 0:
            # 7863 only when the statement carries no option at all; setting a value equal to the current one
            # is accepted (the message speaks of a statement that "did not contain any values").
            raise err(7863)
        new = {
            'state': spec.state if spec.state is not None else state,
            'port': spec.port if spec.port is not None else port,
            'ip': ip if spec.ip is None else (None if spec.ip == 'ALL' else spec.ip),
            'role': spec.role if spec.role is not None else role,
            'auth': spec.auth if spec.auth is not None else auth,
            'encryption': spec.encryption if spec.encryption is not None else encryption,
        }
        if spec.auth is not None:
            _check_platform(xc, new['auth'], 'ALTER')
            new['cert_id'] = _certificate_id(xc, spec.certificate) if spec.certificate else 0
        else:
            new['cert_id'] = cert_id
        if (new['port'], new['ip']) != (port, ip):
            _check_binding(xc, new['port'], new['ip'], exclude_id=eid)
        # A change of binding or security restarts a listening endpoint (tsql.md 1.5 [U] model).
        restart = (new['port'], new['ip'], new['auth'], new['cert_id'], new['encryption'], new['role']) != \
            (port, ip, auth, cert_id, encryption, role)
        with engine.write() as db:
            db.execute('UPDATE endpoints SET state = ?, port = ?, ip_address = ?, role = ?, connection_auth = ?, '
                       'certificate_id = ?, encryption_algorithm = ? WHERE endpoint_id = ?',
                       (new['state'], new['port'], new['ip'], new['role'], new['auth'], new['cert_id'],
                        new['encryption'], eid))
            if restart or new['state'] != state:
                db.execute('DELETE FROM mirroring_connections')
            engine.listeners.apply(eid, name, new['state'], new['port'], new['ip'], restart=restart)
        return StatementResult()


class DropEndpoint(Stmt):
    name = 'DROP ENDPOINT'
    ddl = endpoint_ddl = True

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def run(self, xc):
        engine = xc.engine
        _check_not_in_transaction(xc, 'DROP ENDPOINT')
        row = engine.one('SELECT endpoint_id, principal_id, name FROM endpoints WHERE name = ?', (self.endpoint,))
        if row is None or not (engine.is_sysadmin(xc.session.principal_id) or row[1] == xc.session.principal_id):
            raise cannot('drop', 'endpoint', self.endpoint)
        if row[0] < catalog.USER_ENDPOINT_ID_START:
            raise err(7873, row[2])
        with engine.write() as db:
            db.execute('DELETE FROM server_permissions WHERE class = 105 AND major_id = ?', (row[0],))
            db.execute('DELETE FROM mirroring_connections')
            db.execute('DELETE FROM endpoints WHERE endpoint_id = ?', (row[0],))
            engine.listeners.apply(row[0], row[2], None, None, None)
        return StatementResult()
