"""One fuzz case: snapshot the catalog, run a module in-process, snapshot again, read the request log.

Example counts: ``fuzz_settings(n)`` runs n examples under the default profile ``mssql-hadr-test`` (make
test; derandomized so CI is repeatable) and ``FUZZ_FACTOR * n`` under ``mssql-hadr-fuzz`` (make fuzz:
HYPOTHESIS_PROFILE=mssql-hadr-fuzz, random, failures kept in .hypothesis/ and replayed first); the
profiles are in tests/support/hypothesis_profiles.py.
"""
import contextlib
import time

import pyodbc
from hypothesis import settings

from tests.fuzz.inprocess import run_module
from tests.fuzz.oracle import Catalog, ansible_masked, assert_ran_what_it_reported, bracket, requests
from tests.support.hypothesis_profiles import PROFILE

FUZZ_FACTOR = 5
DROP_ORDER = ('endpoint', 'certificate', 'user', 'login', 'master_key')
NO_LOG = ('login_password', 'password', 'pkcs12', 'pkcs12_password')
# A module closes its connection when it returns, but the server ends that session only when it reads the
# close: until then DROP LOGIN fails with 15434, as on SQL Server. A guard against a hang, not a timing.
LOGOUT_GUARD_SECONDS = 60


def fuzz_settings(examples):
    factor = FUZZ_FACTOR if PROFILE == 'mssql-hadr-fuzz' else 1
    return settings(settings.get_profile(PROFILE), max_examples=examples * factor)


class Case:
    """What one module run did: result, requests sent, catalog before and after."""

    def __init__(self, result, reqs, before, after):
        self.result = result
        self.requests = reqs
        self.before = before
        self.after = after
        self.added, self.removed, self.changed = before.diff(after)

    @property
    def failed(self):
        return bool(self.result.get('failed'))

    def __repr__(self):
        return ('Case(result=%r,\n  statements=%r,\n  added=%r, removed=%r, changed=%r)'
                % (self.result, self.requests.statements, self.added, self.removed, self.changed))


class Fuzzer:
    """An emulated instance, a direct admin connection to it and the catalog every example starts from."""

    def __init__(self, instance):
        self.instance = instance
        self.admin = instance.connect()
        self.baseline = Catalog.read(self.admin)
        self.cleanup_failure = None

    def params(self, **args):
        return dict(self.instance.module_params(), **args)

    def snapshot(self):
        return Catalog.read(self.admin)

    def run(self, module, check_mode=False, diff=False, **args):
        before = self.snapshot()
        mark = self.instance.mark_log()
        result = run_module(module, self.params(**args), check_mode=check_mode, diff=diff)
        reqs = requests(self.instance, mark)
        case = Case(result, reqs, before, self.snapshot())
        assert len(reqs.connections) <= 1, ('more than one connection per module run', case)
        secrets = [v for k, v in args.items() if k in NO_LOG] + [self.instance.sa_password]
        assert_ran_what_it_reported(reqs, result, secrets)
        return case

    def execute(self, *statements):
        cursor = self.admin.cursor()
        for sql in statements:
            cursor.execute(sql)
        cursor.close()

    def drop(self, kind, name):
        """Remove an object the example created (plain SQL, our own quoting)."""
        verb = {'login': 'DROP LOGIN %s', 'user': 'DROP USER %s', 'certificate': 'DROP CERTIFICATE %s',
                'endpoint': 'DROP ENDPOINT %s', 'master_key': 'DROP MASTER KEY'}[kind]
        statement = verb % bracket(name) if '%s' in verb else verb
        deadline = time.monotonic() + LOGOUT_GUARD_SECONDS
        while True:
            try:
                return self.execute(statement)
            except pyodbc.Error as error:
                # the login's last session (a module run as that login) is still being closed
                if kind != 'login' or '15434' not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @contextlib.contextmanager
    def example(self):
        """Drop whatever the example added (dependents first); when it passed, the catalog must be as before.

        After a clean-up that failed, every later example of the test fails at once with that reason: an
        object left behind (a login with its earlier password) would make them fail for the wrong reason."""
        if self.cleanup_failure:
            raise AssertionError('an earlier example could not clean up: %s' % self.cleanup_failure)
        start = self.snapshot()
        try:
            yield start
        finally:
            added, dummy, dummy2 = start.diff(self.snapshot())
            try:
                for kind in DROP_ORDER:
                    for (what, key) in added:
                        if what == kind:
                            self.drop(kind, self.snapshot().rows[(what, key)][0])
            except Exception as error:
                self.cleanup_failure = '%s: %s' % (type(error).__name__, error)
                raise
        self.assert_back_to(start)

    def assert_back_to(self, reference):
        """After an example's clean-up the catalog is the reference again (nothing else was touched)."""
        added, removed, changed = reference.diff(self.snapshot())
        assert not (added or removed or changed), ('catalog differs from before the example', added, removed, changed)

    def close(self):
        self.admin.close()


REASONS = {
    'empty': 'must not be empty',
    'NUL': 'NUL character',
    'long': 'characters long',
    'space': 'ends with a space',
    'backslash': 'backslash',
}


def masked(text, secrets):
    """``text`` as Ansible prints it when ``secrets`` are no_log values (each occurrence becomes ********)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, '********')
    return text


# SQL Server's password policy (CHECK_POLICY, and always for master keys) depends on the server: only it
# can refuse a password for complexity.
POLICY_ERRORS = (15116, 15117, 15118)


def policy_error(case, secrets=()):
    """The policy error number of a failed case, also when Ansible's no_log masking hid it (a password such
    as '15118' or ' ' masks the number or every space of the result)."""
    number = case.result.get('error_number')
    if number in POLICY_ERRORS:
        return number
    for candidate in POLICY_ERRORS:
        if 'error %d' % candidate in case.requests.errors_text or any(
                form in case.result.get('msg', '') for form in ansible_masked('error %d' % candidate, secrets)):
            return candidate
    return None


def assert_policy_refusal(case, secrets=()):
    """SQL Server refused a password for its policy: reported with the number and statement, nothing changed."""
    number = policy_error(case, secrets)
    assert case.failed and number in POLICY_ERRORS, case
    assert case.result.get('failed_statement'), case
    assert any(form in case.result['msg'] for form in ansible_masked('error %d' % number, secrets)), case
    assert not (case.added or case.removed or case.changed), case


def assert_refused(case, problems, secrets=()):
    """A validation failure: nothing sent but reads, nothing changed, the message names one of the problems."""
    assert case.failed, ('expected a validation failure for %s' % (problems,), case)
    assert case.requests.statements == [], ('a refused input still sent statements', case)
    assert not (case.added or case.removed or case.changed), ('a refused input changed the catalog', case)
    phrases = [masked(REASONS.get(p, p), secrets) for p in problems]
    assert any(p in case.result['msg'] for p in phrases), ('the message does not say what is wrong', phrases, case)
