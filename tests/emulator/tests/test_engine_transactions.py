"""User transactions: DDL other than ENDPOINT DDL is transactional; endpoint DDL is refused (574)."""
import pytest

from tests.emulator.engine.testing import Harness, SA_PASSWORD

COUNT = "SELECT COUNT(*) FROM sys.server_principals WHERE name = 'tx_login'"
CREATE = "CREATE LOGIN tx_login WITH PASSWORD = 'Str0ng!Passw0rd'"


@pytest.fixture
def h(tmp_path):
    harness = Harness(str(tmp_path / 'data'))
    yield harness
    harness.close()


def test_rollback_undoes_and_commit_keeps(h):
    h.ok('BEGIN TRANSACTION; %s; CREATE USER tx_user FOR LOGIN tx_login' % CREATE)
    assert h.value(COUNT) == 1 and h.value('SELECT @@TRANCOUNT') == 1
    h.ok('ROLLBACK TRANSACTION')
    assert h.value(COUNT) == 0
    assert h.value("SELECT COUNT(*) FROM sys.database_principals WHERE name = 'tx_user'") == 0
    h.ok('BEGIN TRAN; %s; COMMIT' % CREATE)
    h.restart()
    assert h.value(COUNT) == 1


def test_nested_begin_needs_matching_commits(h):
    h.ok('BEGIN TRAN; BEGIN TRAN; %s; COMMIT' % CREATE)
    assert h.value('SELECT @@TRANCOUNT') == 1
    other = h.login('sa', SA_PASSWORD)
    assert h.value(COUNT, session=other) == 0, 'uncommitted work is not visible to other sessions'
    h.ok('COMMIT')
    assert h.value(COUNT, session=other) == 1
    error = h.fails('COMMIT', 3902)
    assert error.message == 'The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.'
    h.fails('ROLLBACK', 3903)


def test_a_statement_error_inside_a_transaction_undoes_only_that_statement(h):
    results = h.run("BEGIN TRAN; %s; CREATE LOGIN tx_login WITH PASSWORD = 'x'; SELECT @@TRANCOUNT" % CREATE)
    assert [r.error.number if r.error else None for r in results] == [None, None, 15025, None]
    h.ok('COMMIT')
    assert h.value(COUNT) == 1


def test_xact_abort_rolls_back_the_transaction(h):
    results = h.run('SET XACT_ABORT ON; BEGIN TRAN; %s; CREATE LOGIN tx_login WITH PASSWORD = \'x\'; SELECT 1'
                    % CREATE)
    assert [r.error.number if r.error else None for r in results] == [None, None, None, 15025]
    assert h.value('SELECT @@TRANCOUNT') == 0 and h.value(COUNT) == 0


def test_closing_the_connection_rolls_back(h):
    session = h.login('sa', SA_PASSWORD)
    h.engine.begin_transaction(session)     # as a TM_BEGIN_XACT request does
    assert len(session.transaction_descriptor) == 8 and session.in_transaction
    h.ok(CREATE, session=session)
    h.engine.logout(session)
    assert h.value(COUNT) == 0


def test_another_session_cannot_write_while_a_transaction_holds_the_catalog(h):
    h.ok('BEGIN TRAN; %s' % CREATE)
    other = h.login('sa', SA_PASSWORD)
    error = h.fails("CREATE LOGIN other_login WITH PASSWORD = 'Str0ng!Passw0rd'", 1222, session=other)
    assert error.message == 'Lock request time out period exceeded.'
    assert h.value('SELECT COUNT(*) FROM sys.databases', session=other) == 4, 'reads are not blocked'
    h.ok('COMMIT')
    h.ok("CREATE LOGIN other_login WITH PASSWORD = 'Str0ng!Passw0rd'", session=other)


def test_certificates_and_master_key_in_a_transaction(h):
    h.ok("BEGIN TRAN; CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master_Key_Passw0rd!'; "
         "CREATE CERTIFICATE c WITH SUBJECT = 'c'")
    assert h.value('SELECT COUNT(*) FROM sys.certificates') == 1
    h.fails("BACKUP CERTIFICATE c TO FILE = 'c.cer'", 50000)
    h.ok('ROLLBACK')
    assert h.value('SELECT COUNT(*) FROM sys.certificates') == 0
    assert h.value('SELECT COUNT(*) FROM sys.symmetric_keys') == 0
