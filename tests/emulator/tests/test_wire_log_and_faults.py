"""Request log format and secret masking; fault actions carried out by the wire (stand-in engine)."""
import json
import os
import subprocess
import sys
import time

import pyodbc
import pytest

from tests.emulator.fixtures import REPO_ROOT, connections, round_trips
from tests.emulator.server import mask_secrets
from tests.emulator.tests.test_wire_protocol import connect, error_number, log_of
from tests.emulator.tests.wire_fake_engine import running_fake

KEYS = {'ts', 'conn', 'kind', 'sql', 'proc', 'error'}


@pytest.fixture
def fake(tmp_path):
    yield from running_fake(tmp_path)


@pytest.mark.parametrize('sql, expected', [
    ("CREATE LOGIN [a] WITH PASSWORD = N'S3cret''x!', CHECK_POLICY = OFF",
     "CREATE LOGIN [a] WITH PASSWORD = '********', CHECK_POLICY = OFF"),
    ("ALTER LOGIN a WITH PASSWORD='new' OLD_PASSWORD = 'old'",
     "ALTER LOGIN a WITH PASSWORD='********' OLD_PASSWORD = '********'"),
    ("CREATE LOGIN b WITH PASSWORD = 0x0200AB HASHED", "CREATE LOGIN b WITH PASSWORD = '********' HASHED"),
    ("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Mk-Passw0rd'",
     "CREATE MASTER KEY ENCRYPTION BY PASSWORD = '********'"),
    ("OPEN MASTER KEY DECRYPTION BY PASSWORD = 'pw'", "OPEN MASTER KEY DECRYPTION BY PASSWORD = '********'"),
    ("CREATE CERTIFICATE c FROM BINARY = 0x3082 WITH PRIVATE KEY (BINARY = 0x1EF1B5B0, DECRYPTION BY PASSWORD = "
     "'k')", "CREATE CERTIFICATE c FROM BINARY = 0x3082 WITH PRIVATE KEY (BINARY = '********', DECRYPTION BY "
     "PASSWORD = '********')"),
    ("SELECT PWDCOMPARE(N'guess', password_hash) FROM sys.sql_logins",
     "SELECT PWDCOMPARE('********', password_hash) FROM sys.sql_logins"),
    ("CREATE LOGIN c WITH PASSWORD = 'unterminated", "CREATE LOGIN c WITH PASSWORD = '********'"),
    ("SELECT name FROM sys.sql_logins WHERE name = 'password'", None),
    ("SELECT PWDENCRYPT('clear')", "SELECT PWDENCRYPT('********')"),
    ("CREATE CREDENTIAL c WITH IDENTITY = 'u', SECRET = 'S3cret'",
     "CREATE CREDENTIAL c WITH IDENTITY = 'u', SECRET = '********'"),
    ("SELECT CERTPRIVATEKEY(CERT_ID('c'), 'enc-pw', N'dec-pw')",
     "SELECT CERTPRIVATEKEY(CERT_ID('c'), '********', '********')"),
    ("SELECT CERTPRIVATEKEY(256, 'enc-pw')", "SELECT CERTPRIVATEKEY(256, '********')"),
])
def test_mask_secrets(sql, expected):
    assert mask_secrets(sql) == (sql if expected is None else expected)


def test_log_lines_have_exactly_the_contract_keys(fake):
    with connect(fake) as conn:
        conn.cursor().execute('SELECT 1').fetchall()
        conn.cursor().execute('SELECT ?', ('value',)).fetchall()
    entries = log_of(fake)
    assert all(set(e) == KEYS for e in entries)
    assert all(isinstance(e['ts'], float) and isinstance(e['conn'], int) for e in entries)
    assert {e['kind'] for e in entries} >= {'prelogin', 'login', 'batch', 'rpc', 'attention'}
    assert [e['ts'] for e in entries] == sorted(e['ts'] for e in entries)


def test_log_masks_passwords_and_never_holds_parameter_values(fake):
    with connect(fake) as conn:
        cursor = conn.cursor()
        with pytest.raises(pyodbc.Error):
            cursor.execute("CREATE LOGIN x WITH PASSWORD = N'Batch-Secret1'")
        cursor.execute('SELECT ?', ('Param-Secret2',)).fetchall()
    text = fake.log_path.read_text()
    assert 'Batch-Secret1' not in text and 'Param-Secret2' not in text and PASSWORD_NOT_LOGGED not in text
    assert "CREATE LOGIN x WITH PASSWORD = '********'" in text


PASSWORD_NOT_LOGGED = 'Fake-Passw0rd'   # the LOGIN7 password


def test_round_trips_and_connections_skip_driver_traffic(fake):
    with connect(fake, autocommit=False) as conn:   # TM begin + type probe + attentions
        cursor = conn.cursor()
        cursor.execute('SELECT ?', (1,)).fetchall()
        cursor.execute('SELECT ?', (2,)).fetchall()   # sp_unprepare + sp_prepexec
        cursor.execute('SELECT 3').fetchall()
        conn.commit()
    with pytest.raises(pyodbc.Error):
        connect(fake, password='bad')
    entries = log_of(fake)
    assert [(e['kind'], e['proc'], e['sql']) for e in round_trips(entries)] == [
        ('rpc', 'sp_prepexec', 'SELECT @P1'), ('rpc', 'sp_prepexec', 'SELECT @P1'), ('batch', None, 'SELECT 3')]
    assert connections(entries) == [1]


# ---- faults
def test_fault_error_replies_without_executing(fake):
    fake.faults.append([r'^UPDATE', 'error:1205', 1])
    with connect(fake) as conn:
        with pytest.raises(pyodbc.Error) as caught:
            conn.cursor().execute('UPDATE x')
        assert error_number(caught.value) == 1205
        assert conn.cursor().execute('UPDATE x').rowcount == 3   # --times 1: consumed
    assert [e['error'] for e in log_of(fake) if e['sql'] == 'UPDATE x'] == [1205, None]


def test_fault_error_on_a_parameterised_query(fake):
    fake.faults.append([r'SELECT @P1', 'error:2627', 1])
    with connect(fake) as conn:
        with pytest.raises(pyodbc.IntegrityError) as caught:
            conn.cursor().execute('SELECT ?', (1,)).fetchall()
        assert error_number(caught.value) == 2627
        assert conn.cursor().execute('SELECT ?', (2,)).fetchone()[0] == 2
    assert fake.calls == [('SELECT @P1', [('@P1', 2, 'int')])]


def test_fault_drop_closes_the_connection(fake):
    fake.faults.append([r'SELECT 9', 'drop', 1])
    conn = connect(fake)
    with pytest.raises(pyodbc.Error) as caught:
        conn.cursor().execute('SELECT 9').fetchall()
    assert '20017' in str(caught.value) or '08S01' in str(caught.value)
    with connect(fake) as again:
        assert again.cursor().execute('SELECT 9').fetchone()[0] == 9


def test_fault_delay_sleeps_then_executes(fake):
    fake.faults.append([r'SELECT 8', 'delay:300', 1])
    with connect(fake) as conn:
        started = time.monotonic()
        assert conn.cursor().execute('SELECT 8').fetchone()[0] == 8
        assert time.monotonic() - started >= 0.3


def test_driver_traffic_is_never_faulted(fake):
    fake.faults.append([r'.', 'error:50000', 100])
    with connect(fake) as conn:
        with pytest.raises(pyodbc.Error):
            conn.cursor().execute('SELECT 1')
    assert fake.faults[0][2] == 99


@pytest.mark.parametrize('action, executed', [('crash-before', False), ('crash-after', True)])
def test_fault_crash_ends_the_process_with_137(tmp_path, action, executed):
    log_path = tmp_path / 'requests.jsonl'
    process = subprocess.Popen([sys.executable, '-m', 'tests.emulator.tests.wire_fake_engine', str(log_path),
                                r'^USE ', action], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    try:
        port = int(process.stdout.readline().decode().rsplit(':', 1)[1])
        conn = pyodbc.connect('DRIVER={FreeTDS};SERVER=127.0.0.1;PORT=%d;UID=sa;PWD=Fake-Passw0rd;TDS_Version=7.4'
                              % port, autocommit=True, timeout=5)
        with pytest.raises(pyodbc.Error):
            conn.cursor().execute('USE tempdb')
        assert process.wait(10) == 137
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    last = [json.loads(line) for line in log_path.read_text().splitlines()][-1]
    assert (last['kind'], last['sql']) == ('batch', 'USE tempdb')
    executed_file = tmp_path / 'requests.jsonl.executed'
    ran = executed_file.read_text().splitlines() if executed_file.exists() else []
    assert ('USE tempdb' in ran) is executed
