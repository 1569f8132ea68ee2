"""A stand-in engine for the wire tests: implements the INTERNALS.md API with canned statements.

It exists so that the TDS layer can be tested on its own (every column type, INFO tokens, errors in the
middle of a batch, transactions, faults) independently of the real engine's SQL. It is never used by
`python -m tests.emulator` or by the fixtures, which always run the real engine.
"""
import datetime
import decimal
import re
import threading
import uuid
from dataclasses import dataclass

# The result types are the seam's own (INTERNALS.md): only the statements behind them are canned here.
from tests.emulator.engine import Column, SqlError, StatementResult


@dataclass
class Session:
    spid: int
    login_name: str
    database: str = 'master'
    in_transaction: bool = False
    transaction_descriptor: bytes = b'\0' * 8


ALL_TYPES = [
    (Column('nv', 'nvarchar(128)'), 'sysname é€'), (Column('nvmax', 'nvarchar(max)'), 'x' * 10000),
    (Column('vc', 'varchar(10)'), 'abc'), (Column('ch', 'char(1)'), 'S'), (Column('nch', 'nchar(3)'), 'ab'),
    (Column('i', 'int'), -5), (Column('bi', 'bigint'), 2 ** 40), (Column('si', 'smallint'), 300),
    (Column('ti', 'tinyint'), 255), (Column('b', 'bit'), True), (Column('f', 'float'), 1.5),
    (Column('dt', 'datetime'), datetime.datetime(2024, 2, 29, 13, 14, 15, 123000)),
    (Column('dt2', 'datetime2'), datetime.datetime(2024, 2, 29, 13, 14, 15, 123456)),
    (Column('vb', 'varbinary(85)'), b'\x01\x05\x00'), (Column('vbmax', 'varbinary(max)'), b'\x07' * 9000),
    (Column('g', 'uniqueidentifier'), '12345678-1234-5678-1234-567812345678'),
    (Column('dec', 'decimal(18,2)'), decimal.Decimal('12345.67')),
]


class FakeEngine:
    """Statements it knows (one per ';'): SELECT ALLTYPES | SELECT ROWS n | SELECT @x/'lit'/n [, ...] |
    SELECT @@TRANCOUNT | SELECT DB_NAME() | SELECT VARIANT | RAISE n | INFO n | BEGIN TRAN | COMMIT |
    ROLLBACK | USE db | EXEC NOTHING | ABORT n (raises from run_batch: a batch-level error)."""

    def __init__(self, sa_password='Fake-Passw0rd'):
        self.sa_password = sa_password
        self.faults = []          # [regex, action, times]
        self.logged_out = []
        self.calls = []
        self._spids = iter(range(51, 10 ** 6))
        self._lock = threading.Lock()
        self._xact = iter(range(1, 10 ** 6))

    def login(self, user, password, database, app):
        if user != 'sa' or password != self.sa_password:
            raise SqlError(18456, "Login failed for user '%s'." % user, severity=14)
        if database and database.lower() == 'nosuchdb':
            raise SqlError(4060, 'Cannot open database "%s" requested by the login. The login failed.' % database,
                           severity=11)
        return Session(next(self._spids), user, database or 'master')

    def logout(self, session):
        self.logged_out.append(session.spid)

    def take_fault(self, sql):
        with self._lock:
            for fault in self.faults:
                if fault[2] > 0 and re.search(fault[0], sql or ''):
                    fault[2] -= 1
                    return fault[1]
        return None

    def begin_transaction(self, session):
        session.in_transaction = True
        session.transaction_descriptor = next(self._xact).to_bytes(8, 'little')

    def commit_transaction(self, session):
        if not session.in_transaction:
            raise SqlError(3902, 'The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.')
        session.in_transaction = False

    def rollback_transaction(self, session):
        if not session.in_transaction:
            raise SqlError(3903, 'The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.')
        session.in_transaction = False

    def run_batch(self, session, sql):
        return self._run(session, sql, {})

    def run_rpc(self, session, sql, params):
        self.calls.append((sql, [(p.name, p.value, p.sqltype) for p in params]))
        return self._run(session, sql, {p.name.lower(): p.value for p in params})

    def _run(self, session, sql, params):
        results = []
        for text in [s.strip() for s in sql.split(';') if s.strip()]:
            upper = text.upper()
            if upper.startswith('ABORT '):
                raise SqlError(int(text.split()[1]), 'Batch aborted by the fake engine.')
            result = self._statement(session, text, upper, params)
            results.append(result)
            if result.error is not None and result.error.severity >= 16 and 'ABORTING' in upper:
                break
        return results

    def _statement(self, session, text, upper, params):
        if upper == 'SELECT ALLTYPES':
            columns = [column for column, value in ALL_TYPES]
            values = tuple(value for column, value in ALL_TYPES)
            return StatementResult(columns, [values, (None,) * len(columns)], 2)
        if upper.startswith('SELECT ROWS '):
            count = int(upper.split()[2])
            return StatementResult([Column('i', 'int', False), Column('s', 'nvarchar(100)')],
                                   [(i, 'row %d' % i) for i in range(count)], count)
        if upper == 'SELECT VARIANT':
            values = ('16.0.1000.6', 1, b'\x01\x02', 2 ** 40)
            return StatementResult([Column('v%d' % i, 'sql_variant') for i in range(len(values))], [values], 1)
        if upper == 'SELECT @@TRANCOUNT':
            return StatementResult([Column('', 'int')], [(1 if session.in_transaction else 0,)], 1)
        if upper == 'SELECT DB_NAME()':
            return StatementResult([Column('', 'nvarchar(128)')], [(session.database,)], 1)
        if upper.startswith('SELECT '):
            values, columns = [], []
            for item in text[7:].split(','):
                item = item.strip()
                value = params.get(item.lower()) if item.startswith('@') else \
                    item.strip("N'").replace("''", "'") if "'" in item else int(item)
                values.append(value)
                columns.append(Column('', _type_of(value)))
            return StatementResult(columns, [tuple(values)], 1)
        if upper.startswith('RAISE '):
            number = int(upper.split()[1])
            severity = int(upper.split()[2]) if len(upper.split()) > 2 else 16
            return StatementResult(error=SqlError(number, 'Fake error %d.' % number, severity))
        if upper.startswith('INFO '):
            return StatementResult(infos=[(int(upper.split()[1]), 'Fake information.')])
        if upper in ('BEGIN TRAN', 'BEGIN TRANSACTION'):
            self.begin_transaction(session)
            return StatementResult()
        if upper in ('COMMIT', 'COMMIT TRAN'):
            self.commit_transaction(session)
            return StatementResult()
        if upper in ('ROLLBACK', 'ROLLBACK TRAN'):
            self.rollback_transaction(session)
            return StatementResult()
        if upper.startswith('USE '):
            session.database = text[4:].strip().strip('[]')
            return StatementResult(infos=[(5701, "Changed database context to '%s'." % session.database)])
        if upper.startswith('SET '):
            return StatementResult()
        if upper.startswith('UPDATE '):
            return StatementResult(rowcount=3)
        return StatementResult(error=SqlError(102, "Incorrect syntax near '%s'." % text.split()[0]))

    def close(self):
        pass


def _type_of(value):
    if isinstance(value, bool):
        return 'bit'
    if isinstance(value, int):
        return 'bigint' if abs(value) >= 2 ** 31 else 'int'
    if isinstance(value, float):
        return 'float'
    if isinstance(value, bytes):
        return 'varbinary(max)'
    if isinstance(value, datetime.datetime):
        return 'datetime2'
    if isinstance(value, decimal.Decimal):
        return 'decimal(18,4)'
    if isinstance(value, uuid.UUID):
        return 'uniqueidentifier'
    return 'nvarchar(max)' if value is None or len(value) > 4000 else 'nvarchar(4000)'


def serve(engine, log_path=None, tls_files=None):
    """Start a TdsServer for `engine` in a background thread -> (server, port); server.shutdown() stops it."""
    import threading as _threading
    from tests.emulator.server import RequestLog, TdsServer
    from tests.emulator.tlsutil import server_contexts
    contexts = server_contexts(*tls_files) if tls_files else (None, None)
    server = TdsServer(engine, '127.0.0.1', 0, server_name='FAKE', request_log=RequestLog(log_path),
                       tls_context=contexts[0], strict_tls_context=contexts[1])
    _threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    return server, server.server_address[1]


def running_fake(directory, password='Fake-Passw0rd'):
    """Generator for a pytest fixture: a FakeEngine served in this process, with .port and .log_path."""
    engine = FakeEngine(password)
    engine.log_path = directory / 'requests.jsonl'
    server, engine.port = serve(engine, str(engine.log_path))
    yield engine
    server.shutdown()
    server.server_close()


if __name__ == '__main__':
    # python -m tests.emulator.tests.wire_fake_engine LOG REGEX ACTION: a fake-engine server with one fault,
    # for fault actions that end the process (crash-before / crash-after); every executed batch is
    # appended to LOG + '.executed' before the engine returns
    import os as _os
    import sys as _sys

    class _RecordingEngine(FakeEngine):
        def run_batch(self, session, sql):
            results = super().run_batch(session, sql)
            with open(_sys.argv[1] + '.executed', 'a', encoding='utf-8') as handle:
                handle.write(sql + '\n')
                handle.flush()
                _os.fsync(handle.fileno())
            return results

    _engine = _RecordingEngine()
    _engine.faults.append([_sys.argv[2], _sys.argv[3], 1])
    _server, _port = serve(_engine, _sys.argv[1])
    print('listening on 127.0.0.1:%d' % _port, flush=True)
    _sys.stdin.read()
