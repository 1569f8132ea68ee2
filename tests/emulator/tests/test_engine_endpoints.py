"""Endpoint listeners are real sockets; the catalog is durable across restarts."""
import socket
import time

import pytest

from tests.emulator.engine.testing import Harness, free_port

EP = ("CREATE ENDPOINT Hadr_endpoint STATE = {state} AS TCP (LISTENER_PORT = {port}{ip}) "
      "FOR DATABASE_MIRRORING (ROLE = ALL)")


@pytest.fixture
def h(tmp_path):
    harness = Harness(str(tmp_path / 'data'))
    yield harness
    harness.close()


def refused(port, host='127.0.0.1'):
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def closed_at_once(port):
    with socket.create_connection(('127.0.0.1', port), timeout=2) as conn:
        conn.settimeout(2)
        return conn.recv(1) == b''


def stays_open(port):
    with socket.create_connection(('127.0.0.1', port), timeout=2) as conn:
        conn.settimeout(0.3)
        try:
            return conn.recv(1) != b''
        except socket.timeout:
            return True


def test_states_started_stopped_disabled(h):
    port = free_port()
    h.ok(EP.format(state='STOPPED', port=port, ip=''))
    assert refused(port)
    h.ok('ALTER ENDPOINT Hadr_endpoint STATE = STARTED')
    assert stays_open(port)
    h.ok('ALTER ENDPOINT Hadr_endpoint STATE = DISABLED')
    assert closed_at_once(port)
    h.ok('ALTER ENDPOINT Hadr_endpoint STATE = STOPPED')
    assert refused(port)
    h.ok('ALTER ENDPOINT Hadr_endpoint STATE = STARTED')
    h.ok('DROP ENDPOINT Hadr_endpoint')
    assert refused(port)


def test_listener_ip_and_port_change(h):
    port, new_port = free_port(), free_port()
    h.ok(EP.format(state='STARTED', port=port, ip=', LISTENER_IP = (127.0.0.1)'))
    assert stays_open(port)
    h.ok('ALTER ENDPOINT Hadr_endpoint AS TCP (LISTENER_PORT = %d)' % new_port)
    assert refused(port) and stays_open(new_port)
    assert h.rows("SELECT port, ip_address FROM sys.tcp_endpoints WHERE name = 'Hadr_endpoint'") == [
        (new_port, '127.0.0.1')]
    h.ok('ALTER ENDPOINT Hadr_endpoint AS TCP (LISTENER_IP = ALL)')
    assert h.rows("SELECT ip_address FROM sys.tcp_endpoints WHERE name = 'Hadr_endpoint'") == [(None,)]


def test_partial_alter_keeps_other_options(h):
    h.ok("CREATE ENDPOINT ep AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING (AUTHENTICATION = WINDOWS NTLM, "
         "ENCRYPTION = SUPPORTED ALGORITHM RC4 AES, ROLE = PARTNER)" % free_port())
    h.ok('ALTER ENDPOINT ep FOR DATABASE_MIRRORING (ROLE = ALL)')
    assert h.rows('SELECT connection_auth_desc, encryption_algorithm, encryption_algorithm_desc, role_desc '
                  'FROM sys.database_mirroring_endpoints') == [('NTLM', 7, 'NONE, RC4, AES', 'ALL')]
    h.ok('ALTER ENDPOINT ep FOR DATABASE_MIRRORING (ENCRYPTION = DISABLED)')
    assert h.rows('SELECT is_encryption_enabled, encryption_algorithm_desc, role_desc '
                  'FROM sys.database_mirroring_endpoints') == [(False, 'NONE', 'ALL')]


def test_alter_authorization_drops_the_endpoint_grants(h):
    h.ok(EP.format(state='STOPPED', port=free_port(), ip=''))
    h.ok("CREATE LOGIN a WITH PASSWORD = 'Str0ng!Passw0rd'; CREATE LOGIN b WITH PASSWORD = 'Str0ng!Passw0rd'")
    h.ok('GRANT CONNECT ON ENDPOINT::Hadr_endpoint TO a; GRANT CONNECT ON ENDPOINT::Hadr_endpoint TO b')
    assert h.value('SELECT COUNT(*) FROM sys.server_permissions WHERE class = 105 AND major_id >= 65536') == 2
    h.ok('ALTER AUTHORIZATION ON ENDPOINT::Hadr_endpoint TO a')
    assert h.value('SELECT COUNT(*) FROM sys.server_permissions WHERE class = 105 AND major_id >= 65536') == 0
    assert h.value("SELECT p.name FROM sys.endpoints e JOIN sys.server_principals p ON p.principal_id = "
                   "e.principal_id WHERE e.name = 'Hadr_endpoint'") == 'a'


def test_restart_keeps_everything_and_listens_again(h):
    port = free_port()
    h.ok(EP.format(state='STARTED', port=port, ip=''))
    h.ok("CREATE LOGIN [CORP\\alice] FROM WINDOWS; CREATE LOGIN peer WITH PASSWORD = 'Str0ng!Passw0rd'")
    h.ok('CREATE USER peer_user FOR LOGIN peer; GRANT CONNECT ON ENDPOINT::Hadr_endpoint TO [CORP\\alice]')
    before = [h.rows('SELECT * FROM sys.%s' % view) for view in (
        'endpoints', 'tcp_endpoints', 'database_mirroring_endpoints', 'server_principals', 'sql_logins',
        'server_permissions', 'database_principals')]
    h.restart()
    after = [h.rows('SELECT * FROM sys.%s' % view) for view in (
        'endpoints', 'tcp_endpoints', 'database_mirroring_endpoints', 'server_principals', 'sql_logins',
        'server_permissions', 'database_principals')]
    assert after == before
    assert stays_open(port)
    assert h.login('peer', 'Str0ng!Passw0rd').login_name == 'peer'


def test_each_statement_is_committed_before_the_batch_returns(h, tmp_path):
    import sqlite3
    h.ok("CREATE LOGIN durable1 WITH PASSWORD = 'Str0ng!Passw0rd'")
    # another connection (as after kill -9) sees the committed row at once
    other = sqlite3.connect(str(tmp_path / 'data' / 'catalog.sqlite3'))
    other.create_collation('TSQL', lambda a, b: (a.lower() > b.lower()) - (a.lower() < b.lower()))
    assert other.execute("SELECT COUNT(*) FROM server_principals WHERE name = 'durable1'").fetchone() == (1,)
    assert other.execute('PRAGMA journal_mode').fetchone() == ('wal',)
    other.close()


def test_a_port_taken_at_startup_leaves_the_endpoint_started_but_not_listening(tmp_path):
    h = Harness(str(tmp_path / 'data'))
    port = free_port()
    h.ok(EP.format(state='STARTED', port=port, ip=''))
    h.engine.close()
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(('0.0.0.0', port))
        other.listen(1)
        h.restart()
        assert h.value("SELECT state_desc FROM sys.endpoints WHERE name = 'Hadr_endpoint'") == 'STARTED'
    time.sleep(0.1)
    assert refused(port)
    h.ok('ALTER ENDPOINT Hadr_endpoint STATE = STOPPED; ALTER ENDPOINT Hadr_endpoint STATE = STARTED')
    assert stays_open(port)
    h.close()


def test_the_tds_port_conflicts_like_any_other_process(h):
    with socket.socket() as tds:
        tds.bind(('127.0.0.1', 0))
        tds.listen(1)
        h.fails(EP.format(state='STARTED', port=tds.getsockname()[1], ip=''), 7890)
