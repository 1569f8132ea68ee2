"""Wire + real engine in a real process: fault actions set with ctl, query timeouts (ATTENTION), log."""
import time

import pyodbc
import pytest

from tests.emulator.tests.client_matrix import odbc_error_number

LOGIN = "CREATE LOGIN fault_probe WITH PASSWORD = 'Fault-Passw0rd1', CHECK_POLICY = OFF"
COUNT = "SELECT COUNT(*) FROM sys.server_principals WHERE name = 'fault_probe'"


def count(emulator):
    with emulator.connect() as conn:
        return conn.cursor().execute(COUNT).fetchone()[0]


def test_ctl_fault_error_replies_with_the_number_and_does_not_execute(emulator):
    emulator.ctl('fault', '--match', '^CREATE LOGIN fault_probe', '--action', 'error:15247', '--times', '2')
    with emulator.connect() as conn:
        for _attempt in range(2):
            with pytest.raises(pyodbc.Error) as caught:
                conn.cursor().execute(LOGIN)
            assert odbc_error_number(caught.value) == 15247
        assert conn.cursor().execute(COUNT).fetchone()[0] == 0
        conn.cursor().execute(LOGIN)   # both --times consumed: runs normally
    assert count(emulator) == 1
    logged = [e for e in emulator.log_entries() if (e['sql'] or '').startswith('CREATE LOGIN fault_probe')]
    assert [e['error'] for e in logged] == [15247, 15247, None]
    assert {e['sql'] for e in logged} == {LOGIN.replace("'Fault-Passw0rd1'", "'********'")}


def test_ctl_fault_on_a_parameterised_statement(emulator):
    emulator.ctl('fault', '--match', r'server_principals WHERE name = @P1', '--action', 'error:1205')
    with emulator.connect() as conn:
        with pytest.raises(pyodbc.Error) as caught:
            conn.cursor().execute('SELECT name FROM sys.server_principals WHERE name = ?', ('sa',)).fetchall()
        assert odbc_error_number(caught.value) == 1205


def test_ctl_fault_drop(emulator):
    emulator.ctl('fault', '--match', '^CREATE LOGIN', '--action', 'drop')
    conn = emulator.connect()
    with pytest.raises(pyodbc.Error) as caught:
        conn.cursor().execute(LOGIN)
    assert '20017' in str(caught.value) or '08S01' in str(caught.value)
    assert count(emulator) == 0


def test_ctl_fault_delay_and_a_query_timeout_answered_through_attention(emulator):
    emulator.ctl('fault', '--match', '^SELECT 42$', '--action', 'delay:1500', '--times', '2')
    with emulator.connect() as conn:
        started = time.monotonic()
        assert conn.cursor().execute('SELECT 42').fetchone()[0] == 42
        assert time.monotonic() - started >= 1.5
        conn.timeout = 1   # FreeTDS sends ATTENTION after 1 s and waits for DONE(ATTN)
        with pytest.raises(pyodbc.OperationalError) as caught:
            conn.cursor().execute('SELECT 42')
        assert 'HYT00' in str(caught.value)
        conn.timeout = 0
        assert conn.cursor().execute('SELECT 43').fetchone()[0] == 43   # still in step after the cancel
    assert 'attention' in [e['kind'] for e in emulator.log_entries()]


def test_a_query_timeout_during_a_delay_cancels_the_statement(emulator):
    emulator.ctl('fault', '--match', '^CREATE LOGIN fault_probe', '--action', 'delay:3000')
    with emulator.connect() as conn:
        conn.timeout = 1
        with pytest.raises(pyodbc.OperationalError) as caught:
            conn.cursor().execute(LOGIN)
        assert 'HYT00' in str(caught.value)
        conn.timeout = 0
        # cancelled before it ran: requests on a connection run in order, so an uncancelled CREATE LOGIN
        # would have run (after its 3 s delay) before this count (no wall-clock bound: the load varies)
        assert conn.cursor().execute(COUNT).fetchone()[0] == 0
    entries = emulator.log_entries()
    index = [n for n, e in enumerate(entries) if (e['sql'] or '').startswith('CREATE LOGIN fault_probe')]
    assert len(index) == 1 and entries[index[0] + 1]['kind'] == 'attention'


@pytest.mark.parametrize('action, applied', [('crash-before', 0), ('crash-after', 1)])
def test_ctl_fault_crash(emulator, action, applied):
    emulator.ctl('fault', '--match', '^CREATE LOGIN fault_probe', '--action', action)
    conn = emulator.connect()
    with pytest.raises(pyodbc.Error):
        conn.cursor().execute(LOGIN)
    assert emulator.process.wait(10) == 137
    emulator.start()
    assert count(emulator) == applied


def test_login_failure_is_logged_and_names_the_user(emulator):
    with pytest.raises(pyodbc.Error) as caught:
        emulator.connect(user='sa', password='Wrong-Passw0rd1')
    assert odbc_error_number(caught.value) == 18456 and "Login failed for user 'sa'." in str(caught.value)
    assert [e['error'] for e in emulator.log_entries() if e['kind'] == 'login'] == [18456]
    assert 'Wrong-Passw0rd1' not in open(emulator.log_path, encoding='utf-8').read()


def test_transactions_roll_back_on_the_real_engine(emulator):
    with emulator.connect(autocommit=False) as conn:
        cursor = conn.cursor()
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 1
        conn.rollback()
        conn.commit()
    kinds = [(e['kind'], e['sql'], e['error']) for e in emulator.log_entries() if e['kind'] == 'tm']
    assert kinds[:3] == [('tm', 'TM_BEGIN_XACT', None), ('tm', 'TM_ROLLBACK_XACT', None),
                         ('tm', 'TM_COMMIT_XACT', None)]


def test_multi_statement_batch_with_an_error_in_the_middle(emulator):
    with emulator.connect() as conn:
        cursor = conn.cursor().execute(
            "SELECT name FROM sys.server_principals WHERE name = 'sa'; DROP LOGIN no_such_login; SELECT 2")
        assert cursor.fetchall()[0][0] == 'sa'
        with pytest.raises(pyodbc.Error) as caught:
            cursor.nextset()
        assert odbc_error_number(caught.value) == 15151


def test_loginack_version_is_the_product_version(emulator):
    with emulator.connect() as conn:
        product = conn.cursor().execute("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))").fetchone()[0]
        major, minor, build = product.split('.')[:3]
        assert conn.getinfo(pyodbc.SQL_DBMS_VER) == '%02d.%02d.%04d' % (int(major), int(minor), int(build))


def test_begin_and_commit_as_t_sql_keep_the_driver_in_step(emulator):
    with emulator.connect() as conn:
        cursor = conn.cursor()
        cursor.execute('BEGIN TRANSACTION')
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 1
        cursor.execute('COMMIT TRANSACTION')
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 0
        cursor.execute('BEGIN TRAN; SELECT 1; ROLLBACK')
        assert cursor.fetchone()[0] == 1
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 0
