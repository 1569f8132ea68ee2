"""user: a generated user name, login name or database either maps exactly that user or is refused cleanly."""
from hypothesis import assume, given, strategies as st

from tests.fuzz.harness import assert_refused, fuzz_settings
from tests.fuzz.oracle import bracket, literal, name_key, sysname_problem
from tests.fuzz.strategies import names

LOGIN = 'fuzz_user_login'
PASSWORD = 'Fuzz-Str0ng-Passw0rd!'


def create_login(fuzzer, name):
    fuzzer.execute('CREATE LOGIN %s WITH PASSWORD = %s, CHECK_POLICY = OFF' % (bracket(name), literal(PASSWORD)))


def check_user(fuzzer, name, login):
    problems = [p for p in (sysname_problem(name), sysname_problem(login)) if p]
    if login == '' or '\\' in login:
        # an empty login means "not given" (the login of the user's own name); a SQL login cannot hold '\\'
        # (15006), and no Windows login exists here: either way the login does not exist
        problems = [p for p in problems if p != 'empty'] + ['does not exist']
    with fuzzer.example():
        if not problems:
            create_login(fuzzer, login)
        case = fuzzer.run('user', name=name, login=login)
        if problems:
            assert_refused(case, problems)
            return
        assert not case.failed, case
        assert case.added == [('user', name_key(name))] and not (case.removed or case.changed), case
        row = case.after.get('user', name)
        assert row[0] == name and row[2] == case.after.get('login', login)[2], ('not mapped to the login', row)
        assert case.requests.statements == ['CREATE USER %s FOR LOGIN %s' % (bracket(name), bracket(login))], case
        again = fuzzer.run('user', name=name, login=login)
        assert not again.failed and not again.result['changed'] and again.requests.statements == [], again


@fuzz_settings(25)
@given(name=names)
def test_generated_user_names(fuzzer, name):
    assume(fuzzer.baseline.get('user', name) is None)          # dbo, guest, sys, public, db_*
    check_user(fuzzer, name, LOGIN)


@fuzz_settings(20)
@given(login=names)
def test_generated_login_of_a_user(fuzzer, login):
    assume(fuzzer.baseline.get('login', login) is None)
    check_user(fuzzer, 'fuzz_user', login)


@fuzz_settings(8)
@given(database=st.one_of(names, st.sampled_from(['master', 'MASTER', 'tempdb '])))
def test_generated_database_of_a_user(fuzzer, database):
    """A database that is not there: refused before any statement, or SQL Server's 911 naming the USE."""
    with fuzzer.example():
        create_login(fuzzer, LOGIN)
        case = fuzzer.run('user', name='fuzz_db_user', login=LOGIN, database=database)
        problem = sysname_problem(database)
        if problem:
            assert_refused(case, [problem])
        elif fuzzer.baseline.get('database', database) is None:
            assert case.failed and case.requests.statements == [] and not case.added, case
            assert case.result.get('error_number') == 911 and 'USE %s' % bracket(database) in case.result['msg'], case
        else:
            assert not case.failed and [k for k, dummy in case.added] == ['user'], case
