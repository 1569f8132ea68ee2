"""The TDS layer with a real client stack (pyodbc -> unixODBC -> FreeTDS -> TCP) and the stand-in engine.

The stand-in (wire_fake_engine.py) lets these tests reach every token and type the wire can send;
tests against the real engine are in test_wire_engine.py and test_clients.py.
"""
import datetime
import decimal
import json
import re
import time
import uuid

import pyodbc
import pytest

from tests.emulator.tests.wire_fake_engine import running_fake

PASSWORD = 'Fake-Passw0rd'
_apps = iter(range(1, 10 ** 6))


@pytest.fixture
def fake(tmp_path):
    yield from running_fake(tmp_path, PASSWORD)


def conn_str(engine, password=PASSWORD, extra=''):
    # a distinct APP per connection string: pyodbc probes the types once per string and process
    return ('DRIVER={FreeTDS};SERVER=127.0.0.1;PORT=%d;UID=sa;PWD=%s;TDS_Version=7.4;APP=wiretest%d%s'
            % (engine.port, password, next(_apps), extra))


def connect(engine, autocommit=True, **kwargs):
    return pyodbc.connect(conn_str(engine, **kwargs), autocommit=autocommit, timeout=5)


def log_of(engine):
    return [json.loads(line) for line in engine.log_path.read_text().splitlines()]


def error_number(exc):
    match = re.search(r'\((\d+)\) \(SQL\w+\)$', exc.args[1])
    return int(match.group(1)) if match else None


def test_every_column_type_decodes_including_nulls(fake):
    with connect(fake) as conn:
        rows = conn.cursor().execute('SELECT ALLTYPES').fetchall()
    first, second = rows
    assert list(first) == ['sysname é€', 'x' * 10000, 'abc', 'S', 'ab ', -5, 2 ** 40, 300, 255, True, 1.5,
                           datetime.datetime(2024, 2, 29, 13, 14, 15, 123000),
                           datetime.datetime(2024, 2, 29, 13, 14, 15, 123456), b'\x01\x05\x00', b'\x07' * 9000,
                           '12345678-1234-5678-1234-567812345678', decimal.Decimal('12345.67')]
    assert list(second) == [None] * len(first)


def test_large_result_is_split_into_packets(fake):
    with connect(fake) as conn:
        rows = conn.cursor().execute('SELECT ROWS 20000').fetchall()
    assert len(rows) == 20000 and tuple(rows[-1]) == (19999, 'row 19999')


def test_large_batch_arrives_whole(fake):
    padding = "'" + 'p' * 60000 + "'"
    with connect(fake) as conn:
        assert conn.cursor().execute('SELECT ' + padding).fetchone()[0] == 'p' * 60000


def test_parameters_travel_as_sp_prepexec_with_declared_types(fake):
    with connect(fake) as conn:
        row = conn.cursor().execute('SELECT ?, ?, ?', ('TSQL Default TCP', 5022, None)).fetchone()
    assert tuple(row) == ('TSQL Default TCP', 5022, None)
    assert fake.calls == [('SELECT @P1, @P2, @P3', [('@P1', 'TSQL Default TCP', 'nvarchar(32)'),
                                                    ('@P2', 5022, 'int'), ('@P3', None, 'varchar(1)')])]
    rpc = [e for e in log_of(fake) if e['kind'] == 'rpc']
    assert rpc[0]['proc'] == 'sp_prepexec' and rpc[0]['sql'] == 'SELECT @P1, @P2, @P3'


def test_reexecuting_a_cursor_unprepares_and_keeps_replies_in_step(fake):
    with connect(fake) as conn:
        cursor = conn.cursor()
        for value in range(5):
            assert cursor.execute('SELECT ?', (value,)).fetchone()[0] == value
        cursor.close()
        assert conn.cursor().execute('SELECT 7').fetchone()[0] == 7
    procs = [e['proc'] for e in log_of(fake) if e['kind'] == 'rpc']
    assert procs == ['sp_prepexec'] + ['sp_unprepare', 'sp_prepexec'] * 4 + ['sp_unprepare']


def test_error_in_the_middle_of_a_batch_surfaces_on_nextset(fake):
    with connect(fake) as conn:
        cursor = conn.cursor().execute('SELECT 1; RAISE 15025; SELECT 2')
        assert cursor.fetchall()[0][0] == 1
        with pytest.raises(pyodbc.ProgrammingError) as caught:
            cursor.nextset()
        assert error_number(caught.value) == 15025
        assert 'Fake error 15025.' in caught.value.args[1]
        assert conn.cursor().execute('SELECT 3').fetchone()[0] == 3   # the connection stays usable
    assert [e['error'] for e in log_of(fake) if e['kind'] == 'batch'][-2:] == [15025, None]


def test_batch_level_error_reaches_the_client(fake):
    with connect(fake) as conn:
        with pytest.raises(pyodbc.ProgrammingError) as caught:
            conn.cursor().execute('ABORT 102')
    assert error_number(caught.value) == 102


def test_info_messages_do_not_raise(fake):
    with connect(fake) as conn:
        cursor = conn.cursor().execute('INFO 15477; SELECT 4')
        # pyodbc keeps the messages of the current result only
        assert [m for m in cursor.messages if '(15477)' in m[0]] == [
            ('[01000] (15477)', '[FreeTDS][SQL Server]Fake information.')]
        assert cursor.nextset() and cursor.fetchone()[0] == 4


def test_an_error_of_severity_10_or_less_travels_as_info(fake):
    with connect(fake) as conn:
        cursor = conn.cursor().execute('RAISE 50000 10; SELECT 6')
        assert [m for m in cursor.messages if '(50000)' in m[0]] == [
            ('[01000] (50000)', '[FreeTDS][SQL Server]Fake error 50000.')]
        assert cursor.nextset() and cursor.fetchone()[0] == 6
    assert [e['error'] for e in log_of(fake) if e['kind'] == 'batch'][-1] is None


def test_rowcount_travels_in_done(fake):
    with connect(fake) as conn:
        assert conn.cursor().execute('UPDATE x').rowcount == 3


def test_attention_is_answered_after_a_partial_fetch(fake):
    with connect(fake) as conn:
        cursor = conn.cursor()
        assert cursor.execute('SELECT ROWS 100').fetchone()[0] == 0
        cursor.close()   # unread rows -> ATTENTION; without DONE_ATTN the next call would hang
        assert conn.cursor().execute('SELECT 5').fetchone()[0] == 5
    kinds = [e['kind'] for e in log_of(fake)]
    assert 'attention' in kinds[kinds.index('batch'):]


def test_type_probe_gets_real_rows(fake):
    with connect(fake) as conn:
        varchar = conn.cursor().getTypeInfo(pyodbc.SQL_VARCHAR).fetchall()
        datetimes = conn.cursor().getTypeInfo(pyodbc.SQL_TYPE_TIMESTAMP).fetchall()
    assert [(r.type_name, r.column_size) for r in varchar] == [('varchar', 8000)]
    assert [r.type_name for r in datetimes] == ['datetime', 'smalldatetime', 'datetime2']
    probes = [e['sql'] for e in log_of(fake) if e['kind'] == 'batch']
    assert probes[:4] == ['sp_datatype_info_100 12,3', 'sp_datatype_info_100 -9,3', 'sp_datatype_info_100 -3,3',
                          'sp_datatype_info_100 93,3']


def test_long_string_parameter_is_not_truncated_thanks_to_the_type_probe(fake):
    with connect(fake) as conn:
        assert conn.cursor().execute('SELECT ?', ('y' * 3000,)).fetchone()[0] == 'y' * 3000


def test_transactions_use_transaction_manager_requests(fake):
    with connect(fake, autocommit=False) as conn:
        cursor = conn.cursor()
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 1
        conn.commit()
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 1
        conn.rollback()
        conn.autocommit = True
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 0
    tm = [e['sql'] for e in log_of(fake) if e['kind'] == 'tm']
    assert tm == ['TM_BEGIN_XACT', 'TM_COMMIT_XACT', 'TM_ROLLBACK_XACT', 'TM_ROLLBACK_XACT']


def test_begin_and_commit_in_a_batch(fake):
    with connect(fake) as conn:
        cursor = conn.cursor()
        cursor.execute('BEGIN TRAN')
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 1
        cursor.execute('COMMIT')
        assert cursor.execute('SELECT @@TRANCOUNT').fetchone()[0] == 0


def test_use_changes_the_database_the_driver_reports(fake):
    with connect(fake) as conn:
        conn.cursor().execute('USE tempdb')
        assert conn.getinfo(pyodbc.SQL_DATABASE_NAME) == 'tempdb'


def test_wrong_password_is_login_failure_18456(fake):
    with pytest.raises(pyodbc.Error) as caught:
        connect(fake, password='Wrong-Passw0rd')
    assert error_number(caught.value) == 18456
    assert "Login failed for user 'sa'." in caught.value.args[1]
    assert [(e['kind'], e['error']) for e in log_of(fake)] == [('prelogin', None), ('login', 18456)]


def test_unknown_database_reports_4060_then_18456(fake):
    with pytest.raises(pyodbc.Error) as caught:
        connect(fake, extra=';DATABASE=nosuchdb')
    assert error_number(caught.value) == 18456   # pyodbc shows the last of the two messages
    assert [e['error'] for e in log_of(fake) if e['kind'] == 'login'] == [4060]


@pytest.mark.parametrize('version', ['7.2', '7.3', '7.4'])
def test_tds_versions_7_2_to_7_4(fake, version):
    conn = pyodbc.connect(conn_str(fake).replace('TDS_Version=7.4', 'TDS_Version=' + version), autocommit=True,
                          timeout=5)
    assert conn.cursor().execute('SELECT ?', ('v',)).fetchone()[0] == 'v'
    conn.close()


def test_small_packet_size_still_works(fake):
    with connect(fake, extra=';PacketSize=512') as conn:
        assert len(conn.cursor().execute('SELECT ROWS 500').fetchall()) == 500


def test_logout_reaches_the_engine(fake):
    conn = connect(fake)
    conn.close()
    deadline = time.monotonic() + 5
    while not fake.logged_out and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(fake.logged_out) == 1


def test_sql_variant_columns_are_sent_as_sql_variant(fake):
    # pyodbc + FreeTDS cannot read sql_variant (tds.md): module code must CAST(SERVERPROPERTY(...)).
    # The emulator sends real SSVARIANT so that such code fails here as it would against SQL Server;
    # the values themselves are checked with pytds in test_clients.py.
    with connect(fake) as conn:
        with pytest.raises(pyodbc.Error) as caught:
            conn.cursor().execute('SELECT VARIANT').fetchall()
    assert 'HY091' in str(caught.value) or 'ODBC SQL type -150' in str(caught.value)


def test_uniqueidentifier_parameter_round_trip(fake):
    value = uuid.UUID('0e984725-c51c-4bf4-9960-e1c80e27aba0')
    with connect(fake) as conn:
        assert conn.cursor().execute('SELECT ?', (value,)).fetchone()[0].upper() == str(value).upper()
