"""The Engine: sessions, batches, transactions, the catalog connection, faults."""
import contextlib
import os
import re
import threading
from dataclasses import dataclass, field

from . import catalog
from .errors import SqlError, err
from .lexer import tokenize
from .tokens import Stream
from . import functions
from .passwords import check_password, hash_password
from .sqlfunctions import EDITION, PRODUCT_VERSION, SessionFunctions


@dataclass
class Column:
    name: str
    sqltype: str
    nullable: bool = True


@dataclass
class StatementResult:
    columns: list = None
    rows: list = field(default_factory=list)
    rowcount: int = None
    infos: list = field(default_factory=list)
    error: SqlError = None


@dataclass
class Param:
    name: str
    value: object
    sqltype: str = 'nvarchar(4000)'


class Session:
    """One client connection. The wire reads spid, database, login_name, in_transaction,
    transaction_descriptor."""

    def __init__(self, spid, login_name, principal_id, database, app):
        self.spid = spid
        self.login_name = login_name
        self.principal_id = principal_id
        self.database = database
        self.app = app
        self.trancount = 0
        self.transaction_descriptor = bytes(8)
        self.txn_db = None      # own SQLite connection while a user transaction has written
        self.options = {}
        self.last_rowcount = 0
        self.last_error = 0

    @property
    def in_transaction(self):
        return self.trancount > 0


class ExecContext:
    def __init__(self, engine, session, params):
        self.engine = engine
        self.session = session
        self.params = params
        self.database = session.database


class Engine(SessionFunctions):
    def __init__(self, data_dir, *, server_name, platform='windows', sa_password, service_account,
                 windows_accounts=(), host='127.0.0.1'):
        if platform not in ('windows', 'linux'):
            raise ValueError('platform must be windows or linux')
        self.data_dir = data_dir
        self.server_name = server_name
        self.platform = platform
        self.host = host
        self.service_account = service_account
        self.windows_accounts = list(windows_accounts or ())
        self.instance_name = server_name.split('\\', 1)[1] if '\\' in server_name else None
        self.machine_name = server_name.split('\\', 1)[0]
        self.service_name = self.instance_name or 'MSSQLSERVER'
        self.lock = threading.RLock()
        self.sessions = {}
        self._next_spid = 51
        self.current = None
        self.pending_error = None
        self.opened_master_keys = set()
        self.txn_owner = None   # the session whose user transaction holds the catalog's write lock
        self.shared = catalog.open_db(data_dir)
        functions.register(self.shared, self)
        self.control = catalog.open_control(data_dir)
        with self.lock:
            self.shared.execute('BEGIN IMMEDIATE')
            try:
                catalog.create_schema_tx(self.shared)
                self.shared.execute('COMMIT')
            except Exception:
                self.shared.execute('ROLLBACK')
                raise
            if not self.shared.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone():
                catalog.seed(self.shared, hash_password(sa_password), platform, self.instance_name)
            self._write_meta(sa_password)
        from .listeners import Listeners
        self.listeners = Listeners(self)
        self.listeners.sync()

    # --- setup -------------------------------------------------------------------------------------
    def _write_meta(self, sa_password):
        linux = self.platform == 'linux'
        values = {
            'host_platform': 'Linux' if linux else 'Windows',
            'host_distribution': 'Ubuntu' if linux else 'Windows Server 2022 Datacenter',
            'host_release': '22.04' if linux else '10.0',
            'host_sku': None if linux else 8,
            'service_name': 'SQL Server (%s)' % self.service_name,
            'service_account': self.service_account,
            'service_file': '"/opt/mssql/bin/sqlservr"' if linux else
                            '"C:\\Program Files\\Microsoft SQL Server\\MSSQL16.%s\\MSSQL\\Binn\\sqlservr.exe" -s%s'
                            % (self.service_name, self.service_name),
            'process_id': os.getpid(),
            'server_name': self.server_name,
            'host': self.host,
            'startup_time': catalog.now_text(),
        }
        with self.write() as db:
            for key, value in values.items():
                db.execute('INSERT OR REPLACE INTO meta VALUES (?, ?)', (key, value))
            # --sa-password is the instance's sa password at every start (test control, not T-SQL)
            if sa_password is not None:
                row = db.execute('SELECT password_hash FROM server_principals WHERE principal_id = 1').fetchone()
                if not check_password(sa_password, row[0]):
                    db.execute('UPDATE server_principals SET password_hash = ? WHERE principal_id = 1',
                               (hash_password(sa_password),))

    @property
    def db(self):
        """The connection the running statement sees: its session's transaction, or the shared one."""
        current = self.current
        if current is not None and current.session.txn_db is not None:
            return current.session.txn_db
        return self.shared

    @contextlib.contextmanager
    def write(self):
        """One atomic, durable change of the catalog (BEGIN IMMEDIATE ... COMMIT with synchronous=FULL).
        Inside a user transaction the change is a savepoint of the session's own SQLite transaction,
        committed or rolled back with it."""
        with self.lock:
            session = self.current.session if self.current is not None else None
            if session is not None and session.trancount > 0:
                conn = self._transaction_connection(session)
                conn.execute('SAVEPOINT statement')
                try:
                    yield conn
                except BaseException:
                    conn.execute('ROLLBACK TO statement')
                    conn.execute('RELEASE statement')
                    raise
                conn.execute('RELEASE statement')
                return
            self._check_no_writer(session)
            self.shared.execute('BEGIN IMMEDIATE')
            try:
                yield self.shared
            except BaseException:
                self.shared.execute('ROLLBACK')
                raise
            self.shared.execute('COMMIT')

    def _check_no_writer(self, session):
        if self.txn_owner is not None and self.txn_owner is not session:
            # [U] SQL Server would block on the other transaction's locks; we answer at once.
            raise SqlError(1222, 'Lock request time out period exceeded.', 16)

    def _transaction_connection(self, session):
        if session.txn_db is None:
            self._check_no_writer(session)
            conn = catalog.open_db(self.data_dir)
            functions.register(conn, self)
            conn.execute('BEGIN IMMEDIATE')
            session.txn_db = conn
            self.txn_owner = session
        return session.txn_db

    def _end_transaction(self, session, commit):
        session.trancount = 0
        session.transaction_descriptor = bytes(8)
        conn = session.txn_db
        if conn is not None:
            session.txn_db = None
            self.txn_owner = None
            conn.execute('COMMIT' if commit else 'ROLLBACK')
            conn.close()

    def query(self, sql, args=()):
        return self.db.execute(sql, args).fetchall()

    def one(self, sql, args=()):
        return self.db.execute(sql, args).fetchone()

    def close(self):
        with self.lock:
            self.listeners.stop_all()
            for session in list(self.sessions.values()):
                if session.txn_db is not None:
                    self._end_transaction(session, commit=False)
            self.shared.close()
            self.control.close()

    # --- sessions ----------------------------------------------------------------------------------
    def login(self, user, password, database, app):
        with self.lock:
            row = self.one('SELECT principal_id, name, type, is_disabled, password_hash, default_database_name, '
                           'must_change FROM server_principals WHERE name = ?', (user,))
            if row is None or row[2] != 'S' or not check_password(password, row[4]):
                raise err(18456, user)
            pid, name, _kind, disabled, _hash, default_db, must_change = row
            if disabled or self._denied_connect_sql(pid):
                raise err(18456, user)
            if must_change:
                raise SqlError(18488, "Login failed for user '%s'. Reason: The password of the account must be "
                               "changed." % user, 14)
            if database:
                db_row = self.one('SELECT name FROM databases WHERE name = ?', (database,))
                if db_row is None:
                    raise SqlError(4060, 'Cannot open database "%s" requested by the login. The login failed.'
                                   % database, 11)
            else:
                db_row = self.one('SELECT name FROM databases WHERE name = ?', (default_db or 'master',))
                if db_row is None:
                    raise SqlError(4064, 'Cannot open user default database. Login failed.', 11)
            spid = self._next_spid
            self._next_spid += 1
            session = Session(spid, name, pid, db_row[0], app)
            self.sessions[spid] = session
            return session

    def _denied_connect_sql(self, pid):
        return self.one("SELECT 1 FROM server_permissions WHERE class = 100 AND type = 'COSQ' AND state = 'D' "
                        "AND grantee_principal_id = ?", (pid,)) is not None

    def logout(self, session):
        with self.lock:
            if session.txn_db is not None or session.trancount:
                self._end_transaction(session, commit=False)   # a closed connection rolls back
            self.sessions.pop(session.spid, None)
            self.opened_master_keys = {k for k in self.opened_master_keys if k[0] != session.spid}

    def logged_in(self, principal_id):
        return any(s.principal_id == principal_id for s in self.sessions.values())

    # --- transactions (TM requests and T-SQL) ------------------------------------------------------
    def begin_transaction(self, session):
        with self.lock:
            if session.trancount == 0:
                session.transaction_descriptor = os.urandom(8)
            session.trancount += 1

    def commit_transaction(self, session):
        with self.lock:
            if session.trancount == 0:
                raise err(3902)
            session.trancount -= 1
            if session.trancount == 0:
                self._end_transaction(session, commit=True)

    def rollback_transaction(self, session):
        with self.lock:
            if session.trancount == 0:
                raise err(3903)
            self._end_transaction(session, commit=False)

    # --- batches -----------------------------------------------------------------------------------
    def run_batch(self, session, sql, params=None):
        from .statements import parse_batch
        with self.lock:
            try:
                statements = parse_batch(Stream(tokenize(sql)))
            except SqlError as exc:
                session.last_error = exc.number
                return [StatementResult(error=exc)]
            results = []
            xc = ExecContext(self, session, {p.name.lower(): p for p in (params or [])})
            for stmt in statements:
                xc.database = session.database
                result = self._run_statement(xc, stmt)
                results.append(result)
                if result.error is not None:
                    session.last_error = result.error.number
                    if result.error.aborts_batch or session.options.get('XACT_ABORT'):
                        if session.options.get('XACT_ABORT') and session.trancount:
                            self._end_transaction(session, commit=False)
                        break
                else:
                    session.last_error = 0
            return results

    def run_rpc(self, session, sql, params):
        return self.run_batch(session, sql, params)

    def _run_statement(self, xc, stmt):
        self.current = xc
        self.pending_error = None
        try:
            result = stmt.run(xc)
        except SqlError as exc:
            result = StatementResult(error=exc)
        except Exception:   # an SqlError raised inside a SQLite function arrives wrapped
            if self.pending_error is not None:
                result = StatementResult(error=self.pending_error)
            else:
                raise
        finally:
            self.current = None
            self.pending_error = None
        if result.error is None and result.rowcount is not None:
            xc.session.last_rowcount = result.rowcount
        return result

    def take_fault(self, sql):
        """The first fault whose regex matches this request (consumes one of its --times)."""
        with self.lock:
            rows = self.control.execute('SELECT id, match, action, remaining FROM faults ORDER BY id').fetchall()
            for fid, pattern, action, remaining in rows:
                if re.search(pattern, sql or '', re.S):
                    if remaining is not None:
                        if remaining <= 1:
                            self.control.execute('DELETE FROM faults WHERE id = ?', (fid,))
                        else:
                            self.control.execute('UPDATE faults SET remaining = remaining - 1 WHERE id = ?', (fid,))
                    return action
            return None

    # --- helpers used by statements and functions --------------------------------------------------
    def database_exists(self, name):
        return self.one('SELECT 1 FROM databases WHERE name = ?', (name,)) is not None

    def is_sysadmin(self, principal_id):
        if principal_id == 1:
            return True
        return self.one('SELECT 1 FROM server_role_members WHERE role_principal_id = 3 AND member_principal_id = ?',
                        (principal_id,)) is not None

    def server_principal(self, name):
        return self.one('SELECT principal_id, name, type, sid FROM server_principals WHERE name = ?', (name,))

    def user_name(self, session, database=None):
        database = database or session.database
        if self.is_sysadmin(session.principal_id):
            return 'dbo'
        sid = self.one('SELECT sid FROM server_principals WHERE principal_id = ?', (session.principal_id,))[0]
        row = self.one('SELECT name FROM database_principals WHERE db = ? AND sid = ?', (database, sid))
        return row[0] if row else 'guest'

    def version_string(self):
        host = 'Linux (Ubuntu 22.04.4 LTS) <X64>' if self.platform == 'linux' else \
            'Windows Server 2022 Datacenter 10.0 <X64> (Build 20348: ) (Hypervisor)'
        return ('Microsoft SQL Server 2022 (RTM-CU15) (KB5041321) - %s (X64) \n\tJul 10 2024 14:09:09 \n\t'
                'Copyright (C) 2022 Microsoft Corporation\n\t%s on %s\n' % (PRODUCT_VERSION, EDITION, host))
