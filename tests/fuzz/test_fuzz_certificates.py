"""master_key and certificate: generated passwords, names and subjects, read back through the catalog."""
import base64

from hypothesis import assume, given, strategies as st

from tests.fuzz.harness import assert_policy_refusal, assert_refused, fuzz_settings, policy_error
from tests.fuzz.oracle import bracket, literal, name_key, sysname_problem
from tests.fuzz.strategies import names, passwords
from tests.support.certificates import pem, pfx, rsa_key, self_signed

KEY_PASSWORD = 'Fuzz-Master-K3y!'


def opens_master_key(fuzzer, password):
    cursor = fuzzer.admin.cursor()
    try:
        cursor.execute('OPEN MASTER KEY DECRYPTION BY PASSWORD = %s' % literal(password))
        cursor.execute('CLOSE MASTER KEY')
        return True
    except Exception:   # pyodbc.Error: 15313 wrong password  # pylint: disable=broad-except
        return False
    finally:
        cursor.close()


@fuzz_settings(25)
@given(password=passwords)
def test_generated_master_key_passwords(fuzzer, password):
    problems = [p for p, bad in (('empty', password == ''), ('NUL', '\x00' in password)) if bad]
    if password == '':
        problems = ['password is required']
    with fuzzer.example():
        case = fuzzer.run('master_key', password=password)
        if problems:
            assert_refused(case, problems, secrets=[password])
            return
        if case.failed and policy_error(case, [password]):
            assert_policy_refusal(case, [password])
            return
        assert not case.failed, case
        assert case.added == [('master_key', name_key('##MS_DatabaseMasterKey##'))], case
        assert case.changed == [('database', 'master')] and not case.removed, case
        assert case.requests.statements[0] == "CREATE MASTER KEY ENCRYPTION BY PASSWORD = '********'", case
        assert opens_master_key(fuzzer, password), 'the master key does not open with the password given'
        again = fuzzer.run('master_key', password=password, verify_password=True)
        assert not again.failed and not again.result['changed'], again
        assert [s for s in again.requests.statements if not s.startswith(('OPEN', 'CLOSE'))] == [], again
        if password != KEY_PASSWORD:
            wrong = fuzzer.run('master_key', password=KEY_PASSWORD, verify_password=True)
            assert wrong.failed and not (wrong.added or wrong.changed) and 'does not open' in wrong.result['msg'], wrong


def with_master_key(fuzzer):
    fuzzer.execute('CREATE MASTER KEY ENCRYPTION BY PASSWORD = %s' % literal(KEY_PASSWORD))
    fuzzer.baseline = fuzzer.snapshot()


def check_created_certificate(fuzzer, case, name):
    assert not case.failed, case
    assert case.added == [('certificate', name_key(name))] and not (case.removed or case.changed), case
    assert case.after.get('certificate', name)[0] == name, case
    assert len(case.requests.statements) == 1, case
    assert case.requests.statements[0].startswith('CREATE CERTIFICATE %s ' % bracket(name)), case


@fuzz_settings(25)
@given(name=names, subject=st.one_of(names, st.just('mssql.hadr fuzz')))
def test_generated_certificate_names_and_subjects(fuzzer, name, subject):
    if not fuzzer.baseline.names('master_key'):
        with_master_key(fuzzer)
    problems = [p for p in (sysname_problem(name),) if p]
    if subject == '':         # empty: not given, so no certificate source at all
        problems.append('exactly one certificate source')
    elif len(subject) > 128:
        problems.append('subject must have 1 to 128 characters')
    if '\x00' in subject:
        problems.append('NUL')
    with fuzzer.example():
        case = fuzzer.run('certificate', name=name, subject=subject)
        if problems:
            assert_refused(case, problems)
            return
        check_created_certificate(fuzzer, case, name)
        assert case.after.get('certificate', name)[2] == subject, ('subject stored differently', case)
        assert case.requests.statements[0].startswith('CREATE CERTIFICATE %s WITH SUBJECT = %s'
                                                      % (bracket(name), literal(subject))), case
        again = fuzzer.run('certificate', name=name, subject=subject)
        assert not again.failed and not again.result['changed'] and again.requests.statements == [], again


PUBLIC = pem(self_signed(rsa_key(2048, slot=60), common_name='fuzz-public'))


@fuzz_settings(10)
@given(name=names)
def test_generated_names_of_a_public_certificate(fuzzer, name):
    problem = sysname_problem(name)
    with fuzzer.example():
        case = fuzzer.run('certificate', name=name, public_certificate=PUBLIC)
        if problem:
            assert_refused(case, [problem])
            return
        check_created_certificate(fuzzer, case, name)
        assert case.after.get('certificate', name)[3] == 'NA', 'a public certificate got a private key'


@fuzz_settings(8)
@given(password=passwords)
def test_generated_pkcs12_passwords(fuzzer, password):
    """The PKCS#12 password opens the file on the controller; SQL Server only ever sees a one-time PVK password."""
    assume(password and '\x00' not in password)
    if not fuzzer.baseline.names('master_key'):
        with_master_key(fuzzer)
    key = rsa_key(2048, slot=61)
    data = base64.b64encode(pfx(self_signed(key, common_name='fuzz-pfx'), key, password)).decode()
    with fuzzer.example():
        case = fuzzer.run('certificate', name='fuzz_pfx', pkcs12=data, pkcs12_password=password)
        check_created_certificate(fuzzer, case, 'fuzz_pfx')
        assert case.after.get('certificate', 'fuzz_pfx')[3] == 'MK', 'the private key is not protected by the master key'
        assert literal(password) not in case.requests.statements[0], 'the PKCS#12 password reached SQL Server'
        wrong = fuzzer.run('certificate', name='fuzz_pfx2', pkcs12=data, pkcs12_password=password + 'x')
        assert wrong.failed and wrong.requests.statements == [] and not wrong.added, wrong
