"""The fuzz harness itself: its clean-up must not depend on how fast the emulator notices a closed session."""
import threading

import pyodbc
import pytest

from tests.fuzz import harness

PASSWORD = 'Harness-Passw0rd!'


def open_session_as(fuzzer, name):
    fuzzer.execute("CREATE LOGIN [%s] WITH PASSWORD = N'%s', CHECK_POLICY = OFF" % (name, PASSWORD))
    return fuzzer.instance.connect(user=name, password=PASSWORD)


def test_drop_login_waits_for_its_last_session_to_close(fuzzer):
    """Regression (issue 14, 1b): DROP LOGIN right after a module ran as that login met 15434."""
    session = open_session_as(fuzzer, 'harness_closing')
    closer = threading.Timer(0.5, session.close)
    closer.start()
    try:
        fuzzer.drop('login', 'harness_closing')
    finally:
        closer.join()
    assert fuzzer.snapshot().get('login', 'harness_closing') is None


def test_drop_login_still_reports_a_session_that_stays_open(fuzzer, monkeypatch):
    monkeypatch.setattr(harness, 'LOGOUT_GUARD_SECONDS', 0.3)
    session = open_session_as(fuzzer, 'harness_open')
    try:
        with pytest.raises(pyodbc.Error, match='15434'):
            fuzzer.drop('login', 'harness_open')
    finally:
        session.close()
    monkeypatch.undo()   # the guard back to its default
    fuzzer.drop('login', 'harness_open')   # the close reaches the server when it does: waited for again


def test_a_failed_clean_up_fails_every_later_example_with_its_reason(fuzzer, monkeypatch):
    monkeypatch.setattr(harness, 'LOGOUT_GUARD_SECONDS', 0)
    session = None
    with pytest.raises(pyodbc.Error, match='15434'):
        with fuzzer.example():
            session = open_session_as(fuzzer, 'harness_left')
    with pytest.raises(AssertionError, match='an earlier example could not clean up: .*15434'):
        with fuzzer.example():
            pass
    session.close()
    fuzzer.cleanup_failure = None
    monkeypatch.undo()   # the guard back to its default
    fuzzer.drop('login', 'harness_left')   # the close reaches the server when it does: waited for again
