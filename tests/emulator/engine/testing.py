"""Helpers for the engine's own tests: an Engine in a temporary directory and short assertions."""
import socket

from .core import Engine, Param

SA_PASSWORD = 'Emul@tor-Passw0rd'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Harness:
    """An engine plus a sa session; .run / .ok / .fails / .rows keep tests short."""

    def __init__(self, data_dir, **options):
        self.data_dir = data_dir
        self.options = dict(server_name='SQLEMU1', sa_password=SA_PASSWORD, service_account='CORP\\sqlsvc',
                            windows_accounts=['CORP\\alice', 'CORP\\sqlsvc2', 'CORP\\DBAs'])
        self.options.update(options)
        self.engine = Engine(data_dir, **self.options)
        self.session = self.engine.login('sa', SA_PASSWORD, None, 'pytest')

    def restart(self):
        self.engine.close()
        self.engine = Engine(self.data_dir, **self.options)
        self.session = self.engine.login('sa', SA_PASSWORD, None, 'pytest')

    def login(self, user, password, database=None):
        return self.engine.login(user, password, database, 'pytest')

    def run(self, sql, params=None, session=None):
        session = session or self.session
        if params is not None:
            bound = [Param('@P%d' % (i + 1), v, t) for i, (v, t) in enumerate(params)]
            return self.engine.run_rpc(session, sql, bound)
        return self.engine.run_batch(session, sql)

    def ok(self, sql, session=None):
        results = self.run(sql, session=session)
        errors = [r.error for r in results if r.error is not None]
        assert not errors, '%s -> %s' % (sql, ['%d: %s' % (e.number, e.message) for e in errors])
        return results

    def fails(self, sql, number, session=None, params=None):
        results = self.run(sql, params=params, session=session)
        errors = [r.error for r in results if r.error is not None]
        assert errors, 'expected error %d from %s' % (number, sql)
        assert errors[0].number == number, '%s -> %d: %s' % (sql, errors[0].number, errors[0].message)
        return errors[0]

    def rows(self, sql, params=None, session=None):
        results = self.run(sql, params=params, session=session)
        for result in results:
            assert result.error is None, '%s -> %d: %s' % (sql, result.error.number, result.error.message)
        selects = [r for r in results if r.columns is not None]
        assert len(selects) == 1, 'expected one result set from %s' % sql
        return selects[0].rows

    def value(self, sql, params=None, session=None):
        rows = self.rows(sql, params=params, session=session)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]

    def close(self):
        self.engine.close()


def harness_fixture():
    """Build the `h` pytest fixture (imported by the test modules)."""
    import pytest

    @pytest.fixture
    def h(tmp_path):
        harness = Harness(str(tmp_path / 'data'))
        yield harness
        harness.close()
    return h
