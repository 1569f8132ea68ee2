"""login: a generated name and password either create exactly that login or are refused before any statement."""
from hypothesis import assume, example, given

from tests.emulator.tests.client_matrix import msodbc_library
from tests.fuzz.harness import assert_refused, fuzz_settings
from tests.fuzz.oracle import bracket, literal, name_key, sysname_problem, utf16_length
from tests.fuzz.strategies import names, passwords

STRONG = 'Fuzz-Str0ng-Passw0rd!'


def password_problems(password):
    """Every reason to refuse ``password`` (the module may name any one of them)."""
    # The doc says at most 128 characters, and TDS's LOGIN7 carries at most 128 UTF-16 code units: a
    # character outside the BMP counts twice (a longer password could be stored but never used to log in).
    return [problem for problem, bad in (('empty', password == ''), ('NUL', '\x00' in password),
                                         ('long', len(password.encode('utf-16-le')) // 2 > 128)) if bad]


def password_matches(fuzzer, name, password):
    cursor = fuzzer.admin.cursor()
    cursor.execute('SELECT CAST(PWDCOMPARE(?, password_hash) AS int) FROM sys.sql_logins WHERE name = ?', password, name)
    row = cursor.fetchone()
    cursor.close()
    return bool(row and row[0] == 1)


def check_login(fuzzer, name, password):
    assume(fuzzer.baseline.get('login', name) is None)          # sa, public, sysadmin...: not a creation
    problems = [p for p in (sysname_problem(name), 'backslash' if '\\' in name else None) if p]
    problems += password_problems(password)
    with fuzzer.example():
        login_case(fuzzer, name, password, problems)


def login_case(fuzzer, name, password, problems):
    case = fuzzer.run('login', name=name, type='sql', password=password, check_policy=False)
    if problems:
        assert_refused(case, problems, secrets=[password])
        return
    assert not case.failed, case
    key = name_key(name)
    assert case.added == [('login', key), ('permission', (100, 0, 'CONNECT SQL', key)), ('sql_login', key)], case
    assert not (case.removed or case.changed), case
    assert case.after.get('login', name)[0] == name, 'stored under another name: %r' % (case.after.get('login', name),)
    assert len(case.requests.statements) == 1, case
    assert case.requests.statements[0].startswith('CREATE LOGIN %s WITH PASSWORD = ' % bracket(name)), case
    assert password_matches(fuzzer, name, password), 'the stored password is not the one given'
    assert not any(literal(password) in q for q in case.result['queries']), 'password in queries'
    again = fuzzer.run('login', name=name, type='sql', password=password, check_policy=False)
    assert not again.failed and not again.result['changed'] and again.requests.statements == [], again


@fuzz_settings(35)
@given(name=names)
def test_generated_login_names(fuzzer, name):
    check_login(fuzzer, name, STRONG)


@fuzz_settings(30)
@given(password=passwords)
def test_generated_login_passwords(fuzzer, password):
    check_login(fuzzer, 'fuzz_password_login', password)


@fuzz_settings(8)
@given(name=names, password=passwords)
def test_generated_login_names_and_passwords(fuzzer, name, password):
    check_login(fuzzer, name, password)


@fuzz_settings(15)
@given(password=passwords)
# Found so far (kept whatever the generator does): 65 emoji, 130 UTF-16 code units (dcb7d2c); from the CI
# run of issue 14, the shrunk input of @reproduce_failure('6.170.17', b'AEEAAUEChRLyhaOaAUEAQSUA') and a
# password of 64 characters outside the BMP (128 code units, the LOGIN7 limit exactly).
@example(password='\U0001F600' * 65)
@example(password='\x12\U000858da\ufeff')
@example(password='\U0001F600' * 64)
@example(password='\U000858da' * 63 + 'ab')
@example(password='pass};word')
def test_a_login_created_with_a_generated_password_can_log_in(fuzzer, password):
    """Whatever password the login module accepts must work for logging in (through the collection's own
    connection layer, with FreeTDS and with Microsoft's ODBC Driver 18); a password no client can send
    should be refused when the login is created. Found 65 emoji (130 UTF-16 code units) accepted but
    unusable; fixed in dcb7d2c. FreeTDS cannot carry '};' in a connection string (the module says so when
    it is the login password); Microsoft's driver can, so such a password is still a valid one to set."""
    with fuzzer.example():
        case = fuzzer.run('login', name='fuzz_logs_in', type='sql', password=password, check_policy=False)
        if case.failed:
            assert case.requests.statements == [] and not case.added, case
            return
        fuzzer.execute('ALTER SERVER ROLE [sysadmin] ADD MEMBER [fuzz_logs_in]')
        drivers = [msodbc_library()] + (['FreeTDS'] if '};' not in password else [])
        for driver in drivers:
            probe = fuzzer.run('endpoint_info', login_user='fuzz_logs_in', login_password=password, odbc_driver=driver)
            assert not probe.failed, ('the login module accepted a password (%d characters, %d UTF-16 code units) '
                                      'that cannot log in with %s' % (len(password), utf16_length(password), driver),
                                      probe.result['msg'])
