"""The fixtures and the command line of the emulator, with the real engine in a real process."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pyodbc
import pytest

from tests.emulator.fixtures import DEFAULT_SA_PASSWORD, REPO_ROOT, EmulatorError, connections, round_trips
from tests.emulator.tests.client_matrix import msodbc_library

CONTRACT_OPTIONS = ['--port', '--data', '--host', '--server-name', '--platform', '--sa-password',
                    '--service-account', '--windows-account', '--log', '--tls-cert', '--tls-key']


def scalar(conn, sql, *params):
    return conn.cursor().execute(sql, params).fetchone()[0]


def test_emulator_fixture_serves_sql(emulator):
    assert emulator.running
    with emulator.connect() as conn:
        assert scalar(conn, 'SELECT @@SERVERNAME') == emulator.server_name
        assert scalar(conn, 'SELECT SUSER_SNAME()') == 'sa'
    assert emulator.sa_password == DEFAULT_SA_PASSWORD == 'Emul@tor-Passw0rd'
    assert os.path.isdir(emulator.data_dir) and os.path.exists(emulator.log_path)


def test_module_params_point_at_the_instance(emulator):
    assert emulator.module_params() == {
        'login_host': '127.0.0.1', 'login_port': emulator.port, 'login_user': 'sa',
        'login_password': DEFAULT_SA_PASSWORD, 'odbc_driver': 'FreeTDS', 'encrypt': False}


def test_connection_strings(emulator):
    assert emulator.connection_string() == (
        'DRIVER={FreeTDS};SERVER=127.0.0.1;PORT=%d;TDS_Version=7.4;UID=sa;PWD=Emul@tor-Passw0rd;' % emulator.port)
    assert emulator.connection_string('ODBC Driver 18 for SQL Server', user='bob', password='a;b}c',
                                      database='master') == (
        'DRIVER={ODBC Driver 18 for SQL Server};SERVER=127.0.0.1,%d;Encrypt=no;UID=bob;PWD={a;b}}c};'
        'DATABASE=master;' % emulator.port)


def test_connect_with_odbc_syntax_in_the_password(emulator_factory):
    instance = emulator_factory(sa_password="Sa;Pa}ss{w0rd='x [1]'")
    with instance.connect() as conn:
        assert scalar(conn, 'SELECT SUSER_SNAME()') == 'sa'
    with instance.connect(driver=msodbc_library()) as conn:
        assert scalar(conn, 'SELECT SUSER_SNAME()') == 'sa'


def test_log_marks_round_trips_and_connections(emulator):
    with emulator.connect() as conn:
        conn.cursor().execute('SELECT 1').fetchall()
    mark = emulator.mark_log()
    with emulator.connect() as conn:
        cursor = conn.cursor()
        cursor.execute('SELECT name FROM sys.server_principals WHERE name = ?', ('sa',)).fetchall()
        cursor.execute('SELECT name FROM sys.server_principals WHERE name = ?', ('x',)).fetchall()
    new = emulator.log_entries(since=mark)
    assert [e['sql'] for e in round_trips(new)] == ['SELECT name FROM sys.server_principals WHERE name = @P1'] * 2
    assert len(connections(new)) == 1 and connections(emulator.log_entries())[0] not in connections(new)


def test_factory_passes_every_option(emulator_factory):
    instance = emulator_factory(server_name='NODE1', platform='linux', sa_password='Other-Passw0rd!',
                                service_account='mssql', windows_accounts=['CORP\\sqlsvc'])
    with instance.connect() as conn:
        assert scalar(conn, 'SELECT @@SERVERNAME') == 'NODE1'
        assert scalar(conn, 'SELECT host_platform FROM sys.dm_os_host_info') == 'Linux'
        assert scalar(conn, 'SELECT service_account FROM sys.dm_server_services') == 'mssql'
    with pytest.raises(pyodbc.Error):
        instance.connect(password=DEFAULT_SA_PASSWORD)


def test_state_survives_clean_restart_and_kill(emulator):
    with emulator.connect() as conn:
        conn.cursor().execute("CREATE LOGIN fixture_probe WITH PASSWORD = 'Probe-Passw0rd1', CHECK_POLICY = OFF")
    port = emulator.port
    emulator.restart()
    assert emulator.port == port
    with emulator.connect() as conn:
        assert scalar(conn, "SELECT COUNT(*) FROM sys.sql_logins WHERE name = 'fixture_probe'") == 1
        conn.cursor().execute('DROP LOGIN fixture_probe')
    emulator.kill()
    assert not emulator.running
    emulator.start()
    with emulator.connect() as conn:
        assert scalar(conn, "SELECT COUNT(*) FROM sys.sql_logins WHERE name = 'fixture_probe'") == 0
    with pytest.raises(pyodbc.Error):
        emulator.connect(user='fixture_probe', password='Probe-Passw0rd1')


def test_sigterm_stops_cleanly_with_exit_0(emulator):
    assert emulator.stop() == 0
    with pytest.raises(OSError):
        socket.create_connection((emulator.host, emulator.port), timeout=1).close()


def test_eight_instances_side_by_side(emulator_factory):
    instances = [emulator_factory(server_name='SIDE%d' % n) for n in range(8)]
    assert len({i.port for i in instances}) == 8
    for instance in instances:
        with instance.connect() as conn:
            assert scalar(conn, 'SELECT @@SERVERNAME') == instance.server_name


def test_start_on_a_taken_port_fails_with_a_clear_message(emulator, emulator_factory, tmp_path):
    with pytest.raises(EmulatorError) as caught:
        emulator_factory(port=emulator.port)
    assert 'cannot listen on 127.0.0.1:%d' % emulator.port in str(caught.value)


def run_cli(*args):
    return subprocess.run([sys.executable, '-m', 'tests.emulator'] + list(args), cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=30, env=dict(os.environ, PYTHONPATH=REPO_ROOT), check=False)


def test_cli_options_are_exactly_the_contract():
    result = run_cli('--help')
    assert result.returncode == 0
    options = sorted({word.rstrip(',') for word in result.stdout.split() if word.startswith('--')} - {'--help'})
    assert options == sorted(CONTRACT_OPTIONS)


def test_cli_refuses_a_certificate_without_key(tmp_path):
    result = run_cli('--port', '1', '--data', str(tmp_path), '--tls-cert', 'x.pem')
    assert result.returncode == 2 and '--tls-cert and --tls-key go together' in result.stderr


def test_cli_prints_listening_line_and_stops_on_sigterm(tmp_path):
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, '-m', 'tests.emulator', '--port', str(port), '--data',
                                str(tmp_path)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    try:
        assert process.stdout.readline() == 'listening on 127.0.0.1:%d\n' % port
        socket.create_connection(('127.0.0.1', port), timeout=2).close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        assert process.stdout.read() == ''
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_lets_the_request_in_progress_finish(emulator):
    idle = emulator.connect()   # an idle connection must not hold the stop up
    emulator.ctl('fault', '--match', '^CREATE LOGIN stop_probe', '--action', 'delay:1000')
    outcome = {}

    def create():
        try:
            with emulator.connect() as conn:
                conn.cursor().execute("CREATE LOGIN stop_probe WITH PASSWORD = 'Stop-Passw0rd1'")
                outcome['ok'] = True
        except pyodbc.Error as exc:
            outcome['error'] = exc

    worker = threading.Thread(target=create)
    worker.start()
    time.sleep(0.4)
    assert emulator.stop() == 0
    worker.join(10)
    assert outcome   # the client got an answer or an error, it did not hang
    idle.close()
    emulator.start()
    with emulator.connect() as conn:
        assert scalar(conn, "SELECT COUNT(*) FROM sys.sql_logins WHERE name = 'stop_probe'") == 1


def test_cli_refuses_an_unusable_certificate_or_log(tmp_path):
    (tmp_path / 'bad.pem').write_text('not a certificate')
    result = run_cli('--port', '1', '--data', str(tmp_path), '--tls-cert', str(tmp_path / 'bad.pem'),
                     '--tls-key', str(tmp_path / 'bad.pem'))
    assert result.returncode == 2 and 'emulator: cannot use --tls-cert/--tls-key' in result.stderr
    result = run_cli('--port', '1', '--data', str(tmp_path), '--log', str(tmp_path / 'missing' / 'log.jsonl'))
    assert result.returncode == 2 and 'emulator: cannot open --log' in result.stderr
