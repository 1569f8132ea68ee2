"""The emulator's TDS server: one thread per client connection, SQL handed to the engine.

The wire side knows nothing about SQL semantics: it decodes requests, asks the engine
(tests/emulator/INTERNALS.md), turns the engine's results into tokens, carries out injected faults
and writes the request log. shared/reference/tds.md explains every client behaviour relied on here.
"""
import itertools
import json
import os
import re
import select
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback

from tests.emulator import tds

_TYPEINFO_BATCH = re.compile(
    r'^\s*(?:exec(?:ute)?\s+)?(?:\[?sys\]?\.)?\[?(sp_datatype_info(?:_90|_100)?)\]?\s+(-?\d+)\s*(?:,\s*\d+\s*)?;?\s*$',
    re.I)
_TM_NAMES = {tds.TM_BEGIN_XACT: 'TM_BEGIN_XACT', tds.TM_COMMIT_XACT: 'TM_COMMIT_XACT',
             tds.TM_ROLLBACK_XACT: 'TM_ROLLBACK_XACT'}


# ---------------------------------------------------------------- request log
MASK = "'********'"
_SECRET_PATTERNS = [
    # PASSWORD = 'x' / N'x' / 0x.. (covers OLD_PASSWORD, ENCRYPTION/DECRYPTION BY PASSWORD); an
    # unterminated literal is masked to the end of the text.
    re.compile(r"(PASSWORD\s*=\s*)(?:N?'(?:[^']|'')*(?:'|$)|0x[0-9a-f]*)", re.I),
    # the private key bytes of CREATE/ALTER CERTIFICATE ... PRIVATE KEY (BINARY = 0x...)
    re.compile(r"(\bPRIVATE\s+KEY\s*\(\s*BINARY\s*=\s*)0x[0-9a-f]*", re.I),
    # the clear-text argument of PWDCOMPARE('clear', hash) / PWDENCRYPT('clear')
    re.compile(r"(\bPWD(?:COMPARE|ENCRYPT)\s*\(\s*)N?'(?:[^']|'')*(?:'|$)", re.I),
    # CREATE/ALTER CREDENTIAL ... SECRET = '...'
    re.compile(r"(\bSECRET\s*=\s*)N?'(?:[^']|'')*(?:'|$)", re.I),
]
_CERTPRIVATEKEY = re.compile(r'\bCERTPRIVATEKEY\s*\(', re.I)
_LITERAL = re.compile(r"N?'(?:[^']|'')*(?:'|$)", re.I)


def _mask_certprivatekey(sql):
    """CERTPRIVATEKEY(id, 'encryption password' [, 'decryption password']): mask the literals after id."""
    out, pos = [], 0
    for match in _CERTPRIVATEKEY.finditer(sql):
        if match.start() < pos:
            continue
        index, depth, after_id = match.end(), 1, False
        out.append(sql[pos:index])
        while index < len(sql) and depth:
            literal = _LITERAL.match(sql, index)
            if literal:
                out.append(MASK if after_id else literal.group(0))
                index = literal.end()
                continue
            char = sql[index]
            depth += {'(': 1, ')': -1}.get(char, 0)
            after_id = after_id or (char == ',' and depth == 1)
            out.append(char)
            index += 1
        pos = index
    return ''.join(out) + sql[pos:]


def mask_secrets(sql):
    """Replace password literals and private key bytes in SQL text by '********'."""
    if not sql:
        return sql
    for pattern in _SECRET_PATTERNS:
        sql = pattern.sub(lambda m: m.group(1) + MASK, sql)
    return _mask_certprivatekey(sql)


class RequestLog:
    """One JSON object per client request: ts conn kind sql proc error (README.md)."""

    def __init__(self, path):
        # O_APPEND + one write per line: lines stay whole even when the process is killed
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if path else None
        self._lock = threading.Lock()

    def write(self, conn, kind, sql=None, proc=None, error=None):
        if self._fd is None:
            return
        line = json.dumps({'ts': round(time.time(), 6), 'conn': conn, 'kind': kind, 'sql': mask_secrets(sql),
                           'proc': proc, 'error': error}) + '\n'
        with self._lock:
            os.write(self._fd, line.encode('utf-8'))

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# ---------------------------------------------------------------- SQLGetTypeInfo (sp_datatype_info_100)
class _Col:
    def __init__(self, name, sqltype, nullable=True):
        self.name, self.sqltype, self.nullable = name, sqltype, nullable


TYPEINFO_COLUMNS = [
    _Col('TYPE_NAME', 'nvarchar(128)', False), _Col('DATA_TYPE', 'smallint', False), _Col('PRECISION', 'int'),
    _Col('LITERAL_PREFIX', 'varchar(32)'), _Col('LITERAL_SUFFIX', 'varchar(32)'), _Col('CREATE_PARAMS', 'varchar(32)'),
    _Col('NULLABLE', 'smallint', False), _Col('CASE_SENSITIVE', 'smallint', False),
    _Col('SEARCHABLE', 'smallint', False), _Col('UNSIGNED_ATTRIBUTE', 'smallint'), _Col('MONEY', 'smallint', False),
    _Col('AUTO_INCREMENT', 'smallint'), _Col('LOCAL_TYPE_NAME', 'nvarchar(128)'), _Col('MINIMUM_SCALE', 'smallint'),
    _Col('MAXIMUM_SCALE', 'smallint'), _Col('SQL_DATA_TYPE', 'smallint', False), _Col('SQL_DATETIME_SUB', 'smallint'),
    _Col('NUM_PREC_RADIX', 'int'), _Col('INTERVAL_PRECISION', 'smallint'), _Col('USERTYPE', 'smallint')]
# Our reading of SQL Server 2022's sp_datatype_info_100 (@ODBCVer = 3), ordered by DATA_TYPE as it
# orders them; not checked against a real server. pyodbc reads only COLUMN_SIZE (PRECISION) of the
# first row for varchar (12), nvarchar (-9), varbinary (-3) and datetime (93) - tds.md.
_N, _Q, _NQ = None, "'", "N'"
TYPEINFO_ROWS = [
    ('sql_variant', -150, 8000, _N, _N, _N, 1, 0, 2, _N, 0, _N, 'sql_variant', 0, 0, -150, _N, 10, _N, 0),
    ('datetimeoffset', -155, 34, _Q, _Q, 'scale', 1, 0, 3, _N, 0, _N, 'datetimeoffset', 0, 7, -155, 0, _N, _N, 0),
    ('time', -154, 16, _Q, _Q, 'scale', 1, 0, 3, _N, 0, _N, 'time', 0, 7, -154, 0, _N, _N, 0),
    ('xml', -152, 0, _NQ, _Q, _N, 1, 1, 0, _N, 0, _N, 'xml', _N, _N, -152, _N, _N, _N, 0),
    ('uniqueidentifier', -11, 36, _Q, _Q, _N, 1, 0, 2, _N, 0, _N, 'uniqueidentifier', _N, _N, -11, _N, _N, _N, 0),
    ('ntext', -10, 1073741823, _NQ, _Q, _N, 1, 0, 1, _N, 0, _N, 'ntext', _N, _N, -10, _N, _N, _N, 0),
    ('nvarchar', -9, 4000, _NQ, _Q, 'max length', 1, 0, 3, _N, 0, _N, 'nvarchar', _N, _N, -9, _N, _N, _N, 0),
    ('sysname', -9, 128, _NQ, _Q, _N, 0, 0, 3, _N, 0, _N, 'sysname', _N, _N, -9, _N, _N, _N, 18),
    ('nchar', -8, 4000, _NQ, _Q, 'length', 1, 0, 3, _N, 0, _N, 'nchar', _N, _N, -8, _N, _N, _N, 0),
    ('bit', -7, 1, _N, _N, _N, 1, 0, 2, _N, 0, _N, 'bit', 0, 0, -7, _N, _N, _N, 16),
    ('tinyint', -6, 3, _N, _N, _N, 1, 0, 2, 1, 0, 0, 'tinyint', 0, 0, -6, _N, 10, _N, 5),
    ('bigint', -5, 19, _N, _N, _N, 1, 0, 2, 0, 0, 0, 'bigint', 0, 0, -5, _N, 10, _N, 0),
    ('image', -4, 2147483647, '0x', _N, _N, 1, 0, 0, _N, 0, _N, 'image', _N, _N, -4, _N, _N, _N, 20),
    ('varbinary', -3, 8000, '0x', _N, 'max length', 1, 0, 2, _N, 0, _N, 'varbinary', _N, _N, -3, _N, _N, _N, 4),
    ('binary', -2, 8000, '0x', _N, 'length', 1, 0, 2, _N, 0, _N, 'binary', _N, _N, -2, _N, _N, _N, 3),
    ('timestamp', -2, 8, '0x', _N, _N, 0, 0, 2, _N, 0, _N, 'timestamp', _N, _N, -2, _N, _N, _N, 80),
    ('text', -1, 2147483647, _Q, _Q, _N, 1, 0, 1, _N, 0, _N, 'text', _N, _N, -1, _N, _N, _N, 19),
    ('char', 1, 8000, _Q, _Q, 'length', 1, 0, 3, _N, 0, _N, 'char', _N, _N, 1, _N, _N, _N, 1),
    ('numeric', 2, 38, _N, _N, 'precision,scale', 1, 0, 2, 0, 0, 0, 'numeric', 0, 38, 2, _N, 10, _N, 10),
    ('decimal', 3, 38, _N, _N, 'precision,scale', 1, 0, 2, 0, 0, 0, 'decimal', 0, 38, 3, _N, 10, _N, 24),
    ('money', 3, 19, '$', _N, _N, 1, 0, 2, 0, 1, 0, 'money', 4, 4, 3, _N, 10, _N, 11),
    ('smallmoney', 3, 10, '$', _N, _N, 1, 0, 2, 0, 1, 0, 'smallmoney', 4, 4, 3, _N, 10, _N, 21),
    ('int', 4, 10, _N, _N, _N, 1, 0, 2, 0, 0, 0, 'int', 0, 0, 4, _N, 10, _N, 7),
    ('smallint', 5, 5, _N, _N, _N, 1, 0, 2, 0, 0, 0, 'smallint', 0, 0, 5, _N, 10, _N, 6),
    ('float', 6, 53, _N, _N, _N, 1, 0, 2, 0, 0, 0, 'float', _N, _N, 6, _N, 2, _N, 8),
    ('real', 7, 24, _N, _N, _N, 1, 0, 2, 0, 0, 0, 'real', _N, _N, 7, _N, 2, _N, 23),
    ('varchar', 12, 8000, _Q, _Q, 'max length', 1, 0, 3, _N, 0, _N, 'varchar', _N, _N, 12, _N, _N, _N, 2),
    ('date', 91, 10, _Q, _Q, _N, 1, 0, 3, _N, 0, _N, 'date', _N, 0, 9, 1, _N, _N, 0),
    ('datetime', 93, 23, _Q, _Q, _N, 1, 0, 3, _N, 0, _N, 'datetime', 3, 3, 9, 3, _N, _N, 12),
    ('smalldatetime', 93, 16, _Q, _Q, _N, 1, 0, 3, _N, 0, _N, 'smalldatetime', 0, 0, 9, 3, _N, _N, 22),
    ('datetime2', 93, 27, _Q, _Q, 'scale', 1, 0, 3, _N, 0, _N, 'datetime2', 0, 7, 9, 3, _N, _N, 0),
]


def typeinfo_tokens(data_type):
    selected = [row for row in TYPEINFO_ROWS if data_type == 0 or row[1] == data_type]
    types = [tds.SqlType.parse(col.sqltype) for col in TYPEINFO_COLUMNS]
    return tds.colmetadata(TYPEINFO_COLUMNS) + tds.rows(types, selected), len(selected)


# ---------------------------------------------------------------- socket channel (plain or TLS)
class Channel:
    """Byte stream to one client: plain TCP, TLS inside PRELOGIN (memory BIOs) or TDS 8.0 TLS socket."""

    def __init__(self, sock):
        self.sock = sock
        self.tls = None
        self._tls_in = self._tls_out = None
        self._plain = bytearray()

    def recv_exact(self, count):
        while len(self._plain) < count:
            chunk = self._read_more()
            if not chunk:
                raise EOFError('client closed the connection')
            self._plain += chunk
        data = bytes(self._plain[:count])
        del self._plain[:count]
        return data

    def _read_more(self):
        if self.tls is None:
            return self.sock.recv(65536)
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                data = self.sock.recv(65536)
                if not data:
                    return b''
                self._tls_in.write(data)

    def send(self, data):
        if self.tls is None:
            self.sock.sendall(data)
        else:
            self.tls.write(data)
            self.sock.sendall(self._tls_out.read())

    def read_message(self):
        """-> (packet type, status of the first packet, payload) of one whole message."""
        payload, first_status = bytearray(), None
        while True:
            ptype, status, length = tds.HEADER.unpack(self.recv_exact(tds.HEADER.size))[:3]
            if length < tds.HEADER.size:
                raise tds.ProtocolError('packet length %d is shorter than its header' % length)
            first_status = status if first_status is None else first_status
            payload += self.recv_exact(length - tds.HEADER.size)
            if status & tds.STATUS_EOM:
                return ptype, first_status, bytes(payload)

    def handshake_in_prelogin(self, context, packet_size):
        """TDS 7.x: TLS handshake records travel inside PRELOGIN (0x12) packets."""
        self._tls_in, self._tls_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(self._tls_in, self._tls_out, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = self._tls_out.read()
                if pending:
                    self.sock.sendall(tds.packets(pending, packet_size, tds.PT_PRELOGIN))
                payload = self.read_message()[2]
                self._tls_in.write(payload)
        pending = self._tls_out.read()
        if pending:
            self.sock.sendall(tds.packets(pending, packet_size, tds.PT_PRELOGIN))
        self.tls = tls

    def drop_tls(self):
        """Login-only encryption: back to plain TCP once LOGIN7 has been read."""
        self.tls = None


# ---------------------------------------------------------------- server
class TdsServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, engine, host, port, *, server_name, request_log=None, tls_context=None,
                 strict_tls_context=None, product_version='16.0.1000.6'):
        self.engine = engine
        self.server_name = server_name
        # PRELOGIN VERSION and LOGINACK carry major.minor.build (pyodbc's SQL_DBMS_VER shows it)
        self.version = tuple(int(part) for part in product_version.split('.')[:3])
        self.request_log = request_log or RequestLog(None)
        self.tls_context = tls_context
        self.strict_tls_context = strict_tls_context
        self.connection_ids = itertools.count(1)
        # connection id -> (mode, TLS version): mode 'none' | 'login-only' | 'full' | 'strict', version
        # e.g. 'TLSv1.2' or None; what was negotiated, read by the TLS tests
        self.connection_security = {}
        self.active = {}   # connection id -> (socket, handler thread)
        self.active_lock = threading.Lock()
        super().__init__((host, port), ConnectionHandler)

    def close_connections(self, timeout=5.0):
        """Clean stop: close every client connection and let its current request finish."""
        with self.active_lock:
            active = list(self.active.values())
        for sock, _thread in active:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for _sock, thread in active:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Dropped(Exception):
    """A 'drop' fault closed the connection."""


class _Cancelled(Exception):
    """The client cancelled the request (ATTENTION) before it ran; already answered."""


def _sql_error_fields(exc):
    """The engine's SqlError (duck-typed: number, severity, state, message)."""
    return exc.number, getattr(exc, 'state', 1), getattr(exc, 'severity', 16), getattr(exc, 'message', str(exc))


def _is_sql_error(exc):
    return hasattr(exc, 'number') and hasattr(exc, 'severity')


class ConnectionHandler(socketserver.BaseRequestHandler):

    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.engine = self.server.engine
        self.log = self.server.request_log
        self.conn_id = next(self.server.connection_ids)
        self.channel = Channel(self.request)
        self.session = None
        self.packet_size = 4096
        self.strict = False
        self.login_only_tls = False
        self.prepared = {}
        self.handles = itertools.count(1)
        with self.server.active_lock:
            self.server.active[self.conn_id] = (self.request, threading.current_thread())

    def finish(self):
        with self.server.active_lock:
            self.server.active.pop(self.conn_id, None)

    # ---- main loop
    def handle(self):
        try:
            if self.request.recv(1, socket.MSG_PEEK) == b'\x16':
                self._start_strict_tls()
            while True:
                ptype, status, payload = self.channel.read_message()
                handler = {tds.PT_PRELOGIN: self.on_prelogin, tds.PT_LOGIN7: self.on_login7,
                           tds.PT_SQL_BATCH: self.on_batch, tds.PT_RPC: self.on_rpc,
                           tds.PT_ATTENTION: self.on_attention, tds.PT_TM: self.on_tm}.get(ptype)
                if handler is None:
                    raise tds.ProtocolError('unsupported packet type 0x%02x' % ptype)
                if self.session is None and ptype not in (tds.PT_PRELOGIN, tds.PT_LOGIN7):
                    raise tds.ProtocolError('packet type 0x%02x before a successful login' % ptype)
                if not handler(payload):
                    return
        except (EOFError, ConnectionError, _Dropped):
            pass
        except (ssl.SSLError, tds.ProtocolError) as exc:
            self._diagnose('connection %d closed: %s' % (self.conn_id, exc))
        except Exception:  # pylint: disable=broad-except  # log it: the client only sees a closed socket
            self._diagnose('connection %d failed:\n%s' % (self.conn_id, traceback.format_exc()))
        finally:
            if self.session is not None:
                try:
                    self.engine.logout(self.session)
                except Exception:  # pylint: disable=broad-except
                    self._diagnose('logout of connection %d failed:\n%s' % (self.conn_id, traceback.format_exc()))

    @staticmethod
    def _diagnose(text):
        sys.stderr.write('emulator: %s\n' % text)
        sys.stderr.flush()

    def reply(self, tokens):
        spid = self.session.spid if self.session is not None else 0
        self.channel.send(tds.packets(tokens, self.packet_size, tds.PT_REPLY, spid))

    def error_token(self, number, state, severity, text):
        return tds.message(tds.TOK_ERROR, number, state, severity, text, self.server.server_name)

    # ---- PRELOGIN and TLS
    def _start_strict_tls(self):
        """TDS 8.0: the client opens TLS straight on TCP (first byte 0x16 = TLS handshake)."""
        context = self.server.strict_tls_context
        if context is None:
            raise tds.ProtocolError('TDS 8.0 (strict TLS) requested but the emulator has no --tls-cert')
        self.channel.sock = context.wrap_socket(self.request, server_side=True)
        self.strict = True
        self.server.connection_security[self.conn_id] = ('strict', self.channel.sock.version())

    def on_prelogin(self, payload):
        options = tds.parse_prelogin(payload)
        client = options.get(tds.PL_ENCRYPTION, b'\x02')[:1] or b'\x02'
        client = client[0] & 0x0F
        # SQL Server with a certificate and ForceEncryption off: a client asking ON/REQ gets full TLS,
        # one sending OFF gets TLS for LOGIN7 only, NOT_SUP gets none. Inside TDS 8.0 TLS: no second layer.
        if self.server.tls_context is None or self.strict or client == tds.ENCRYPT_NOT_SUP:
            answer = tds.ENCRYPT_NOT_SUP
        elif client == tds.ENCRYPT_OFF:
            answer = tds.ENCRYPT_OFF
        else:
            answer = tds.ENCRYPT_ON
        self.log.write(self.conn_id, 'prelogin')
        self.channel.send(tds.packets(tds.build_prelogin(answer, options.get(tds.PL_MARS), self.server.version),
                                      self.packet_size))
        if answer != tds.ENCRYPT_NOT_SUP:
            self.channel.handshake_in_prelogin(self.server.tls_context, self.packet_size)
            self.login_only_tls = answer == tds.ENCRYPT_OFF
        if not self.strict:
            mode = {tds.ENCRYPT_NOT_SUP: 'none', tds.ENCRYPT_OFF: 'login-only'}.get(answer, 'full')
            version = self.channel.tls.version() if self.channel.tls is not None else None
            self.server.connection_security[self.conn_id] = (mode, version)
        return True

    # ---- LOGIN7
    def on_login7(self, payload):
        if self.login_only_tls:
            self.channel.drop_tls()
        login = tds.parse_login7(payload)
        if login.tds_version < 0x72000000 and login.tds_version != 0x08000000:
            self.log.write(self.conn_id, 'login', error=18456)
            self.reply(self.error_token(18456, 1, 14, "Login failed for user '%s'. The emulator speaks TDS 7.2-7.4 "
                                        'only (client sent 0x%08x).' % (login.user, login.tds_version))
                       + tds.done(status=tds.DONE_ERROR))
            return False
        try:
            session = self.engine.login(login.user, login.password, login.database or None, login.app)
        except Exception as exc:  # pylint: disable=broad-except
            if not _is_sql_error(exc):
                raise
            number, state, severity, text = _sql_error_fields(exc)
            tokens = self.error_token(number, state, severity, text)
            if number != 18456:   # e.g. 4060 cannot open database: SQL Server adds the login failure
                tokens += self.error_token(18456, 1, 14, "Login failed for user '%s'." % login.user)
            self.log.write(self.conn_id, 'login', error=number)
            self.reply(tokens + tds.done(status=tds.DONE_ERROR))
            return False   # SQL Server closes the connection after a failed login
        self.session = session
        if login.packet_size:
            self.packet_size = max(512, min(login.packet_size, 32767))
        version = tds.TDS_7_4 if login.tds_version == 0x08000000 else min(login.tds_version, tds.TDS_7_4)
        database = session.database
        tokens = (tds.env_text(tds.ENV_DATABASE, database, 'master')
                  + tds.message(tds.TOK_INFO, 5701, 2, 0, "Changed database context to '%s'." % database,
                                self.server.server_name)
                  + tds.env_bytes(tds.ENV_COLLATION, tds.COLLATION)
                  + tds.env_text(tds.ENV_LANGUAGE, 'us_english')
                  + tds.message(tds.TOK_INFO, 5703, 1, 0, 'Changed language setting to us_english.',
                                self.server.server_name)
                  + tds.loginack(version, version=self.server.version)
                  + (tds.FEATUREEXTACK_EMPTY if login.has_features and version >= tds.TDS_7_4 else b'')
                  + tds.env_text(tds.ENV_PACKETSIZE, str(self.packet_size), '4096')
                  + tds.done())
        self.log.write(self.conn_id, 'login')
        self.reply(tokens)
        return True

    # ---- SQL batch
    def on_batch(self, payload):
        offset = tds.all_headers(payload)[0]
        sql = payload[offset:].decode('utf-16-le', errors='replace')
        probe = _TYPEINFO_BATCH.match(sql)
        if probe:   # FreeTDS's SQLGetTypeInfo: answered by the wire, never faulted
            tokens, count = typeinfo_tokens(int(probe.group(2)))
            self.log.write(self.conn_id, 'batch', sql=sql)
            self.reply(tokens + tds.done(status=tds.DONE_COUNT, curcmd=tds.CURCMD_SELECT, rowcount=count))
            return True
        try:
            tokens, error = self.execute(sql, lambda: self.engine.run_batch(self.session, sql), in_proc=False)
        except _Cancelled:
            return True
        self.log.write(self.conn_id, 'batch', sql=sql, error=error)
        self.reply(self._finish(tokens))
        return True

    # ---- engine call with faults; results -> tokens
    def execute(self, sql, call, in_proc, proc=None):
        """Run one engine call under any injected fault -> (tokens, first error number)."""
        action = self.engine.take_fault(sql)
        if action is not None:
            kind, argument = action.partition(':')[::2]
            if kind == 'drop':
                self.log.write(self.conn_id, 'rpc' if in_proc else 'batch', sql=sql, proc=proc)
                self.request.close()
                raise _Dropped()
            if kind == 'error':
                number = int(argument)
                return (self.error_token(number, 1, 16, 'emulator: injected fault: error %d.' % number)
                        + self._done(in_proc, tds.DONE_ERROR)), number
            if kind == 'delay':
                self._delay(int(argument) / 1000.0, sql, in_proc, proc)
            elif kind == 'crash-before':
                self.log.write(self.conn_id, 'rpc' if in_proc else 'batch', sql=sql, proc=proc)
                os._exit(137)
        before = self._transaction_state()
        try:
            results = call()
            if action == 'crash-after':
                self.log.write(self.conn_id, 'rpc' if in_proc else 'batch', sql=sql, proc=proc)
                os._exit(137)
            tokens, error = self._result_tokens(results, in_proc)   # may reject a value that does not fit
        except Exception as exc:  # pylint: disable=broad-except
            if not _is_sql_error(exc):
                self._diagnose('engine failed on %r:\n%s' % (mask_secrets(sql), traceback.format_exc()))
                exc = _InternalError('emulator: internal error: %s: %s' % (type(exc).__name__, exc))
            number, state, severity, text = _sql_error_fields(exc)
            return self.error_token(number, state, severity, text) + self._done(in_proc, tds.DONE_ERROR), number
        return self._environment_changes(before) + tokens, error

    def _delay(self, seconds, sql, in_proc, proc):
        """Wait before executing; an ATTENTION arriving meanwhile cancels the request, as on SQL Server."""
        started = time.monotonic()
        if not select.select([self.request], [], [], seconds)[0]:
            return
        try:
            ptype = self.channel.read_message()[0]
        except (EOFError, OSError):
            # the connection is going away (client gone or a clean stop): the request still runs, as a
            # statement SQL Server has started does
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            return
        if ptype != tds.PT_ATTENTION:
            raise tds.ProtocolError('packet type 0x%02x while a request was running' % ptype)
        self.log.write(self.conn_id, 'rpc' if in_proc else 'batch', sql=sql, proc=proc)
        self.log.write(self.conn_id, 'attention')
        self.reply(tds.done(status=tds.DONE_ATTN))   # the only reply to a cancelled request
        raise _Cancelled()

    def _done(self, in_proc, status):
        status |= tds.DONE_INXACT if self.session.in_transaction else 0
        return tds.done(tds.TOK_DONEINPROC if in_proc else tds.TOK_DONE, status | tds.DONE_MORE)

    def _result_tokens(self, results, in_proc):
        out, first_error = bytearray(), None
        if not results:   # e.g. a batch of comments: SQL Server still ends with a DONE
            out += self._done(in_proc, tds.DONE_FINAL)
        for result in results:
            for number, text in result.infos or ():
                out += tds.message(tds.TOK_INFO, number, 1, 0, text, self.server.server_name)
            status, curcmd = tds.DONE_MORE, 0
            if result.columns is not None:
                out += tds.colmetadata(result.columns)
                out += tds.rows([tds.SqlType.parse(c.sqltype) for c in result.columns], result.rows or [])
                curcmd = tds.CURCMD_SELECT
            if result.error is not None:
                number, state, severity, text = _sql_error_fields(result.error)
                if severity <= 10:   # informational: SQL Server sends INFO, which clients do not raise
                    out += tds.message(tds.TOK_INFO, number, state, severity, text, self.server.server_name)
                else:
                    out += self.error_token(number, state, severity, text)
                    status |= tds.DONE_ERROR
                    first_error = number if first_error is None else first_error
            if result.rowcount is not None:
                status |= tds.DONE_COUNT
            status |= tds.DONE_INXACT if self.session.in_transaction else 0
            out += tds.done(tds.TOK_DONEINPROC if in_proc else tds.TOK_DONE, status, curcmd, result.rowcount or 0)
        return bytes(out), first_error

    def _transaction_state(self):
        return (self.session.database, self.session.in_transaction,
                bytes(self.session.transaction_descriptor or b'\0' * 8))

    def _environment_changes(self, before):
        """ENVCHANGE tokens for what a request changed: database (USE) and transaction begin/end."""
        database, in_tran, descriptor = before
        now_database, now_in_tran, now_descriptor = self._transaction_state()
        out = b''
        if now_database != database:
            out += tds.env_text(tds.ENV_DATABASE, now_database, database)
        ended = in_tran and (not now_in_tran or now_descriptor != descriptor)
        if ended:
            out += tds.env_bytes(tds.ENV_COMMIT_TRAN, b'', descriptor)
        if now_in_tran and (not in_tran or ended):
            out += tds.env_bytes(tds.ENV_BEGIN_TRAN, now_descriptor)
        return out

    @staticmethod
    def _finish(tokens):
        """Clear DONE_MORE on the last DONE/DONEPROC of a reply (gotcha 1 in tds.md)."""
        if not tokens:
            return tds.done()
        last = len(tokens) - 13
        status = struct.unpack_from('<H', tokens, last + 1)[0] & ~tds.DONE_MORE
        return tokens[:last + 1] + struct.pack('<H', status) + tokens[last + 3:]

    # ---- RPC
    def on_rpc(self, payload):
        calls = tds.parse_rpc(payload)
        out = bytearray()
        for proc, _flags, params in calls:
            try:
                tokens, sql, error = self._rpc_call(proc, params)
            except _Cancelled:
                return True
            self.log.write(self.conn_id, 'rpc', sql=sql, proc=proc, error=error)
            out += tokens
        self.reply(self._finish(bytes(out)))
        return True

    def _rpc_call(self, proc, params):
        """-> (tokens ending in DONEPROC with DONE_MORE, logged sql, first error number)."""
        name = proc.split('.')[-1].strip('[]').lower()
        if name in ('sp_datatype_info_100', 'sp_datatype_info_90', 'sp_datatype_info'):
            tokens, count = typeinfo_tokens(int(params[0].value or 0) if params else 0)
            return (tokens + tds.done(tds.TOK_DONEINPROC, tds.DONE_MORE | tds.DONE_COUNT, tds.CURCMD_SELECT, count)
                    + self._proc_end(0)), None, None
        if name == 'sp_unprepare':
            self.prepared.pop(params[0].value if params else None, None)
            return self._proc_end(0), None, None
        if name in ('sp_executesql', 'sp_prepexec', 'sp_prepare', 'sp_execute'):
            return self._rpc_statement(name, params)
        error = (2812, 62, 16, "Could not find stored procedure '%s'." % proc)
        return self.error_token(*error) + self._proc_end(0, failed=True), None, 2812

    def _rpc_statement(self, name, params):
        handle = None
        if name == 'sp_executesql':
            stmt, declared, values = _value(params, 0), _value(params, 1), params[2:]
        elif name in ('sp_prepexec', 'sp_prepare'):
            handle = next(self.handles)
            declared, stmt, values = _value(params, 1), _value(params, 2), params[3:]
            self.prepared[handle] = (stmt, declared)
        else:
            stmt, declared = self.prepared.get(_value(params, 0), (None, None))
            values = params[1:]
            if stmt is None:
                error = (8179, 1, 16, 'Could not find prepared statement with handle %s.' % _value(params, 0))
                return self.error_token(*error) + self._proc_end(0, failed=True), None, 8179
        if name == 'sp_prepare':
            return tds.returnvalue_int(0, params[0].name, handle) + self._proc_end(0), stmt, None
        bound = _bind(declared, values)
        tokens, error = self.execute(stmt or '', lambda: self.engine.run_rpc(self.session, stmt or '', bound),
                                     in_proc=True, proc=name)
        if handle is not None:
            tokens += tds.return_status(0) + tds.returnvalue_int(0, params[0].name, handle)
            return tokens + tds.done(tds.TOK_DONEPROC, tds.DONE_MORE | (tds.DONE_ERROR if error else 0)), stmt, error
        return tokens + self._proc_end(0, failed=error is not None), stmt, error

    def _proc_end(self, status, failed=False):
        return tds.return_status(status) + tds.done(tds.TOK_DONEPROC, tds.DONE_MORE | (tds.DONE_ERROR if failed else 0))

    # ---- ATTENTION
    def on_attention(self, payload):
        # Results already sent are drained by the client; it waits for a DONE with DONE_ATTN (tds.md).
        self.log.write(self.conn_id, 'attention')
        self.reply(tds.done(status=tds.DONE_ATTN))
        return True

    # ---- TRANSACTION_MANAGER
    def on_tm(self, payload):
        offset = tds.all_headers(payload)[0]
        reader = tds.Reader(payload, offset)
        request = reader.u16()
        name = _TM_NAMES.get(request, 'TM_REQUEST_%d' % request)
        tokens, error = b'', None
        try:
            if request == tds.TM_BEGIN_XACT:
                tokens = self._tm_begin()
            elif request in (tds.TM_COMMIT_XACT, tds.TM_ROLLBACK_XACT):
                reader.b_varchar()
                flags = reader.u8() if not reader.at_end() else 0
                descriptor = bytes(self.session.transaction_descriptor)
                if request == tds.TM_COMMIT_XACT:
                    self.engine.commit_transaction(self.session)
                    tokens = tds.env_bytes(tds.ENV_COMMIT_TRAN, b'', descriptor)
                else:
                    self.engine.rollback_transaction(self.session)
                    tokens = tds.env_bytes(tds.ENV_ROLLBACK_TRAN, b'', descriptor)
                if flags & 0x01:   # "begin a new transaction" after commit/rollback
                    tokens += self._tm_begin()
            else:
                raise _InternalError('emulator: not implemented: transaction manager request %s' % name)
        except Exception as exc:  # pylint: disable=broad-except
            if not _is_sql_error(exc):
                raise
            number, state, severity, text = _sql_error_fields(exc)
            tokens, error = self.error_token(number, state, severity, text), number
        self.log.write(self.conn_id, 'tm', sql=name, error=error)
        self.reply(tokens + tds.done(status=tds.DONE_ERROR if error else tds.DONE_FINAL))
        return True

    def _tm_begin(self):
        self.engine.begin_transaction(self.session)
        return tds.env_bytes(tds.ENV_BEGIN_TRAN, bytes(self.session.transaction_descriptor))


class _InternalError(Exception):
    number, severity, state = 50000, 16, 1

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _value(params, index):
    return params[index].value if len(params) > index else None


_DECLARED = re.compile(r'(@\w+)\s+((?:\w+)(?:\s*\(\s*(?:max|\d+)\s*(?:,\s*\d+\s*)?\))?)(\s+out(?:put)?)?', re.I)


_LEGACY_LOB_TYPES = {'ntext': 'nvarchar(max)', 'text': 'varchar(max)', 'image': 'varbinary(max)'}


def _bind(declared, values):
    """Name unnamed values after the @params declaration ('@P1 nvarchar(32),@P2 int') and take its types."""
    declarations = [(name, sqltype.lower()) for name, sqltype, _output in _DECLARED.findall(declared or '')]
    by_name = {name.lower(): sqltype for name, sqltype in declarations}
    bound = []
    for index, param in enumerate(values):
        name = param.name or (declarations[index][0] if index < len(declarations) else '@P%d' % (index + 1))
        sqltype = by_name.get(name.lower(), param.sqltype)
        # Microsoft's driver declares long strings as ntext (sp_prepare '@P1 ntext'); the engine gets the
        # modern equivalent (our reading: SQL Server itself would type such a column ntext)
        sqltype = _LEGACY_LOB_TYPES.get(sqltype, sqltype)
        bound.append(tds.RpcParam(name, param.value, sqltype, param.output))
    return bound
