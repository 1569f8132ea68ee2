"""CREATE / ALTER / DROP LOGIN and the password and Windows-account rules (tsql.md 3.1-3.3)."""
import hashlib
import os
import struct

from . import catalog
from .core import StatementResult
from .passwords import hash_password, valid_password_hash
from .errors import SqlError, err, cannot, not_implemented, no_permission
from .statements import Stmt
from .tokens import check_sysname

LANGUAGES = ('us_english', 'english', 'british')


def _can_manage_logins(xc):
    engine = xc.engine
    pid = xc.session.principal_id
    return engine.is_sysadmin(pid) or engine.one(
        'SELECT 1 FROM server_role_members WHERE role_principal_id = 4 AND member_principal_id = ?', (pid,)) \
        is not None or engine.one("SELECT 1 FROM server_permissions WHERE class = 100 AND type IN ('ALLG', 'CL') "
                                  "AND state IN ('G', 'W') AND grantee_principal_id = ?", (pid,)) is not None


def check_password_policy(password, login_name):
    """Windows-style policy under CHECK_POLICY = ON [U: minimum length 8 as SQL Server on Linux enforces;
    complexity = three of four character classes and not containing the login name]."""
    if len(password) < 8:
        raise err(15116)
    if len(password) > 128:
        raise err(15117)
    classes = sum([any(c.isupper() for c in password), any(c.islower() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)])
    # Windows checks the account name only when it is longer than two characters.
    if classes < 3 or (login_name and len(login_name) > 2 and login_name.lower() in password.lower()):
        raise err(15118)


def windows_sid(name):
    """A stable Windows SID for an account name (the emulated domain's accounts)."""
    upper = name.upper()
    fixed = {'NT AUTHORITY\\SYSTEM': (5, [18]), 'NT AUTHORITY\\LOCAL SERVICE': (5, [19]),
             'NT AUTHORITY\\NETWORK SERVICE': (5, [20]), 'BUILTIN\\ADMINISTRATORS': (5, [32, 544])}
    if upper in fixed:
        authority, subs = fixed[upper]
    elif upper.startswith('NT SERVICE\\'):
        digest = hashlib.sha1(upper.split('\\', 1)[1].encode('utf-16-le')).digest()
        authority, subs = 5, [80] + list(struct.unpack('<5I', digest))
    else:
        domain, _unused, account = upper.partition('\\')
        d = hashlib.sha1(domain.encode()).digest()
        rid = 1000 + int.from_bytes(hashlib.sha1(upper.encode()).digest()[:3], 'little')
        authority, subs = 5, [21] + list(struct.unpack('<3I', d[:12])) + [rid]
    return bytes([1, len(subs)]) + authority.to_bytes(6, 'big') + b''.join(struct.pack('<I', s) for s in subs)


def resolve_windows_account(xc, name):
    """The instance can resolve --windows-account entries, its service account and built-in accounts."""
    if '\\' not in name or name.startswith('\\') or name.endswith('\\'):
        raise err(15407, name)
    if xc.engine.platform == 'linux':
        # [U] SQL Server on Linux without Active Directory integration cannot resolve Windows accounts.
        raise err(15401, name)
    known = list(xc.engine.windows_accounts) + [xc.engine.service_account or '']
    known += ['NT AUTHORITY\\SYSTEM', 'NT AUTHORITY\\NETWORK SERVICE', 'NT AUTHORITY\\LOCAL SERVICE',
              'BUILTIN\\Administrators', 'NT SERVICE\\SQLWriter', 'NT SERVICE\\Winmgmt']
    instance = xc.engine.instance_name
    known += ['NT SERVICE\\MSSQL$%s' % instance, 'NT SERVICE\\SQLAgent$%s' % instance] if instance else \
        ['NT SERVICE\\MSSQLSERVER', 'NT SERVICE\\SQLSERVERAGENT']
    for account in known:
        if account and account.lower() == name.lower():
            return account, ('G' if account.upper().startswith('BUILTIN\\') else 'U')
    raise err(15401, name)


def _new_principal_id(db):
    top = db.execute('SELECT max(principal_id) FROM server_principals').fetchone()[0] or 0
    return max(top + 1, catalog.FIRST_USER_PRINCIPAL_ID)


def parse(st):
    verb = st.next().value.upper()
    what = st.expect('LOGIN', 'USER')
    if what == 'USER':
        from .users import parse_user
        return parse_user(st, verb)
    name = check_sysname(st.name())
    if verb == 'CREATE':
        return _parse_create_login(st, name)
    if verb == 'DROP':
        return DropLogin(name)
    return _parse_alter_login(st, name)


def _parse_password_value(st):
    """'pw' | 0xhash HASHED -> (password or None, hash or None)"""
    if st.tok.kind == 'bin':
        value = st.binary()
        st.expect('HASHED')
        return None, value
    return st.string(), None


def _parse_create_login(st, name):
    opts = {}
    if st.accept('FROM'):
        source = st.expect('WINDOWS', 'CERTIFICATE', 'ASYMMETRIC', 'EXTERNAL')
        if source == 'WINDOWS':
            if st.accept('WITH'):
                _parse_options(st, opts, ('DEFAULT_DATABASE', 'DEFAULT_LANGUAGE'))
            return CreateLogin(name, 'U', opts)
        if source == 'CERTIFICATE':
            opts['CERTIFICATE'] = st.name()
            return CreateLogin(name, 'C', opts)
        raise not_implemented('CREATE LOGIN FROM %s' % source)
    st.expect('WITH')
    st.expect('PASSWORD')
    st.expect_op('=')
    opts['PASSWORD'], opts['HASH'] = _parse_password_value(st)
    if st.accept('MUST_CHANGE'):
        opts['MUST_CHANGE'] = True
    if st.accept_op(','):
        _parse_options(st, opts, ('SID', 'DEFAULT_DATABASE', 'DEFAULT_LANGUAGE', 'CHECK_EXPIRATION',
                                  'CHECK_POLICY', 'CREDENTIAL'))
    return CreateLogin(name, 'S', opts)


def _parse_options(st, opts, allowed):
    while True:
        tok = st.tok
        option = st.expect(*allowed)
        if option in opts:
            raise st.error(tok)
        if option == 'NO':
            st.expect('CREDENTIAL')
            opts['NO CREDENTIAL'] = True
        else:
            st.expect_op('=')
            if option == 'SID':
                opts[option] = st.binary()
            elif option in ('CHECK_EXPIRATION', 'CHECK_POLICY'):
                opts[option] = st.on_off()
            elif option == 'PASSWORD':
                opts['PASSWORD'], opts['HASH'] = _parse_password_value(st)
                while st.at('OLD_PASSWORD', 'MUST_CHANGE', 'UNLOCK'):
                    extra = st.next().value.upper()
                    if extra in opts:
                        raise st.error(st.tokens[st.i - 1])
                    if extra == 'OLD_PASSWORD':
                        st.expect_op('=')
                        opts[extra] = st.string()
                    else:
                        opts[extra] = True
            else:
                opts[option] = st.name()
        if not st.accept_op(','):
            return


class CreateLogin(Stmt):
    name = 'CREATE LOGIN'
    ddl = True

    def __init__(self, login, kind, opts):
        self.login, self.kind, self.opts = login, kind, opts

    def run(self, xc):
        engine, opts = xc.engine, self.opts
        if not _can_manage_logins(xc):
            raise no_permission()
        if 'CREDENTIAL' in opts:
            raise not_implemented('CREATE LOGIN ... CREDENTIAL')
        name = self.login
        sid = None
        cert_id = None
        if self.kind == 'U':
            name, self.kind = resolve_windows_account(xc, self.login)
            sid = windows_sid(name)
        elif self.kind == 'C':
            row = engine.one("SELECT certificate_id, sid FROM certificates WHERE db = 'master' AND name = ?",
                             (opts['CERTIFICATE'],))
            if row is None:
                raise cannot('find', 'certificate', opts['CERTIFICATE'])
            cert_id, sid = row
        elif '\\' in name:
            raise SqlError(15006, "'%s' is not a valid name because it contains invalid characters." % name)
        if engine.one('SELECT 1 FROM server_principals WHERE name = ?', (name,)):
            raise err(15025, name)
        policy = opts.get('CHECK_POLICY', True)
        expiration = opts.get('CHECK_EXPIRATION', False)
        must_change = opts.get('MUST_CHANGE', False)
        if self.kind == 'S':
            if expiration and not policy:
                raise err(15122)
            if must_change and not (policy and expiration):
                raise err(15099)
            if opts.get('HASH') is not None:
                password_hash = opts['HASH']
                if not valid_password_hash(password_hash):
                    raise err(15021, 'PASSWORD')
            else:
                if policy:
                    check_password_policy(opts['PASSWORD'], name)
                password_hash = hash_password(opts['PASSWORD'])
            if 'SID' in opts:
                if len(opts['SID']) != 16:
                    raise err(15419)
                sid = opts['SID']
            else:
                sid = os.urandom(16)
        else:
            password_hash = None
        if engine.one('SELECT 1 FROM server_principals WHERE sid = ?', (sid,)):
            raise err(15433) if self.kind != 'U' else err(15025, name)
        database = opts.get('DEFAULT_DATABASE', 'master')
        db_row = engine.one('SELECT name FROM databases WHERE name = ?', (database,))
        if db_row is None:
            raise SqlError(15010, "The database '%s' does not exist. Supply a valid database name. To see "
                           "available databases, use sys.databases." % database)
        language = opts.get('DEFAULT_LANGUAGE', 'us_english')
        if language.lower() not in LANGUAGES:
            raise not_implemented('DEFAULT_LANGUAGE %s' % language)
        ts = catalog.now_text()
        with engine.write() as db:
            pid = _new_principal_id(db)
            db.execute('INSERT INTO server_principals (principal_id, name, sid, type, is_disabled, create_date, '
                       'modify_date, default_database_name, default_language_name, password_hash, '
                       'is_policy_checked, is_expiration_checked, must_change, certificate_id) '
                       'VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                       (pid, name, sid, self.kind, ts, ts, db_row[0] if self.kind != 'C' else None,
                        'us_english' if self.kind != 'C' else None, password_hash,
                        int(policy) if self.kind == 'S' else None, int(expiration) if self.kind == 'S' else None,
                        int(must_change), cert_id))
            # a new login is granted CONNECT SQL (tsql.md 3.1)
            db.execute("INSERT INTO server_permissions VALUES (100, 0, 0, ?, 1, 'COSQ', 'CONNECT SQL', 'G')",
                       (pid,))
        return StatementResult()


def _parse_alter_login(st, name):
    action = st.expect('ENABLE', 'DISABLE', 'WITH', 'ADD', 'DROP')
    if action in ('ADD', 'DROP'):
        raise not_implemented('ALTER LOGIN %s CREDENTIAL' % action)
    if action in ('ENABLE', 'DISABLE'):
        return AlterLogin(name, {'DISABLE': action == 'DISABLE'})
    opts = {}
    _parse_options(st, opts, ('PASSWORD', 'DEFAULT_DATABASE', 'DEFAULT_LANGUAGE', 'NAME', 'CHECK_POLICY',
                              'CHECK_EXPIRATION', 'CREDENTIAL', 'NO'))
    return AlterLogin(name, opts)


class AlterLogin(Stmt):
    name = 'ALTER LOGIN'
    ddl = True

    def __init__(self, login, opts):
        self.login, self.opts = login, opts

    def run(self, xc):
        engine, opts = xc.engine, self.opts
        row = engine.one('SELECT principal_id, name, type, password_hash, is_policy_checked, is_expiration_checked, '
                         'must_change FROM server_principals WHERE name = ?', (self.login,))
        admin = _can_manage_logins(xc)
        self_change = row is not None and row[0] == xc.session.principal_id and set(opts) <= {
            'PASSWORD', 'HASH', 'OLD_PASSWORD', 'DEFAULT_DATABASE', 'DEFAULT_LANGUAGE'}
        if row is None or row[2] == 'R' or not (admin or self_change):
            raise cannot('alter', 'login', self.login)
        pid, name, kind, password_hash, policy, expiration, must_change = row
        if 'CREDENTIAL' in opts or 'NO CREDENTIAL' in opts:
            raise not_implemented('ALTER LOGIN ... CREDENTIAL')
        if kind in ('U', 'G') and ('PASSWORD' in opts or 'HASH' in opts or 'CHECK_POLICY' in opts
                                   or 'CHECK_EXPIRATION' in opts):
            option = 'PASSWORD' if 'PASSWORD' in opts or 'HASH' in opts else \
                ('CHECK_POLICY' if 'CHECK_POLICY' in opts else 'CHECK_EXPIRATION')
            raise SqlError(15080, 'Cannot use parameter %s for a Windows login.' % option)
        if kind == 'C':
            for option in ('PASSWORD', 'CHECK_POLICY', 'CHECK_EXPIRATION', 'DEFAULT_DATABASE'):
                if option in opts or (option == 'PASSWORD' and 'HASH' in opts):
                    raise err(15171, option)
        updates = {}
        if 'DISABLE' in opts:
            updates['is_disabled'] = int(opts['DISABLE'])
        new_policy = opts.get('CHECK_POLICY', bool(policy))
        new_expiration = opts.get('CHECK_EXPIRATION', bool(expiration))
        if 'CHECK_POLICY' in opts and not opts['CHECK_POLICY'] and 'CHECK_EXPIRATION' not in opts:
            new_expiration = False       # CHECK_POLICY = OFF also turns CHECK_EXPIRATION off (tsql.md 3.2)
        new_must_change = bool(opts.get('MUST_CHANGE', must_change))
        if 'PASSWORD' in opts or 'HASH' in opts:
            if not opts.get('MUST_CHANGE'):
                new_must_change = False
        if kind == 'S':
            if new_must_change and not (new_policy and new_expiration):
                if 'CHECK_POLICY' in opts or 'CHECK_EXPIRATION' in opts:
                    raise err(15128)
                raise err(15099)
            if new_expiration and not new_policy:
                raise err(15122)
            if 'CHECK_POLICY' in opts:
                updates['is_policy_checked'] = int(new_policy)
            updates['is_expiration_checked'] = int(new_expiration)
            updates['must_change'] = int(new_must_change)
        if 'PASSWORD' in opts or 'HASH' in opts:
            if not admin:
                from .passwords import check_password
                if 'OLD_PASSWORD' not in opts or not check_password(opts['OLD_PASSWORD'], password_hash):
                    raise cannot('alter', 'login', self.login)
            if opts.get('HASH') is not None:
                # [U] tsql.md 3.2 reads "HASHED cannot be used while CHECK_POLICY is ON", yet the ALTER LOGIN
                # page's own HASHED example runs against a default (policy ON) login: we accept it.
                if not valid_password_hash(opts['HASH']):
                    raise err(15021, 'PASSWORD')
                updates['password_hash'] = opts['HASH']
            else:
                if new_policy:
                    check_password_policy(opts['PASSWORD'], opts.get('NAME', name))
                updates['password_hash'] = hash_password(opts['PASSWORD'])
        if 'DEFAULT_DATABASE' in opts:
            db_row = engine.one('SELECT name FROM databases WHERE name = ?', (opts['DEFAULT_DATABASE'],))
            if db_row is None:
                raise SqlError(15010, "The database '%s' does not exist. Supply a valid database name. To see "
                               "available databases, use sys.databases." % opts['DEFAULT_DATABASE'])
            updates['default_database_name'] = db_row[0]
        if 'DEFAULT_LANGUAGE' in opts:
            if opts['DEFAULT_LANGUAGE'].lower() not in LANGUAGES:
                raise not_implemented('DEFAULT_LANGUAGE %s' % opts['DEFAULT_LANGUAGE'])
            updates['default_language_name'] = 'us_english'
        if 'NAME' in opts:
            new_name = check_sysname(opts['NAME'])
            if kind in ('U', 'G'):
                raise not_implemented('renaming a Windows login')
            if '\\' in new_name:
                raise SqlError(15006, "'%s' is not a valid name because it contains invalid characters."
                               % new_name)
            other = engine.one('SELECT principal_id FROM server_principals WHERE name = ?', (new_name,))
            if other is not None and other[0] != pid:
                raise err(15025, new_name)
            updates['name'] = new_name
        updates['modify_date'] = catalog.now_text()
        with engine.write() as db:
            db.execute('UPDATE server_principals SET %s WHERE principal_id = ?' % ', '.join(
                '%s = ?' % k for k in updates), list(updates.values()) + [pid])
        if 'name' in updates:
            for session in engine.sessions.values():
                if session.principal_id == pid:
                    session.login_name = updates['name']
        return StatementResult()


class DropLogin(Stmt):
    name = 'DROP LOGIN'
    ddl = True

    def __init__(self, login):
        self.login = login

    def run(self, xc):
        engine = xc.engine
        row = engine.one('SELECT principal_id, name, type FROM server_principals WHERE name = ?', (self.login,))
        if row is None or row[2] == 'R' or not _can_manage_logins(xc):
            raise cannot('drop', 'login', self.login)
        pid, name, _unused = row
        if pid == 1:
            raise SqlError(15405, "Cannot use the special principal 'sa'.", 11)
        if engine.logged_in(pid):
            raise err(15434, name)
        if engine.one('SELECT 1 FROM endpoints WHERE principal_id = ?', (pid,)):
            # tsql.md 3.3: 15141 rendered with "endpoint" [V template / U mapping]
            raise err(15141, 'endpoint')
        if engine.one('SELECT 1 FROM server_permissions WHERE grantor_principal_id = ? AND '
                      'grantee_principal_id <> ?', (pid, pid)):
            raise SqlError(15173, "Login '%s' has granted one or more permission(s). Revoke the permission(s) "
                           "before dropping the login." % name)
        with engine.write() as db:
            db.execute('DELETE FROM server_permissions WHERE grantee_principal_id = ?', (pid,))
            db.execute('DELETE FROM server_role_members WHERE member_principal_id = ?', (pid,))
            db.execute('DELETE FROM server_principals WHERE principal_id = ?', (pid,))
        return StatementResult()
