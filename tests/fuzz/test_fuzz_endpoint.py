"""endpoint, endpoint_permission, endpoint_info with generated names, owners, listener addresses and logins."""
import ipaddress

from hypothesis import assume, given, strategies as st

from tests.emulator.fixtures import free_port
from tests.fuzz.harness import assert_refused, fuzz_settings
from tests.fuzz.oracle import ansible_masked, bracket, literal, name_key, sysname_problem, utf16_length
from tests.fuzz.strategies import names, passwords

PASSWORD = 'Fuzz-Str0ng-Passw0rd!'
ENDPOINT = 'fuzz_endpoint'


def create_login(fuzzer, name, password=PASSWORD):
    fuzzer.execute('CREATE LOGIN %s WITH PASSWORD = %s, CHECK_POLICY = OFF' % (bracket(name), literal(password)))


def create_endpoint(fuzzer, name=ENDPOINT):
    fuzzer.execute('CREATE ENDPOINT %s STATE = STOPPED AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING '
                   '(ROLE = ALL, AUTHENTICATION = WINDOWS NEGOTIATE, ENCRYPTION = REQUIRED ALGORITHM AES)'
                   % (bracket(name), free_port()))


def ip_problem(value):
    """Why listener_ip is refused, or None. Accepted as the module documents it: ALL, an address with
    surrounding spaces or in SQL's ('...') form; empty means not given (ALL). Blank is refused: a typo must
    not widen the listener to every address (test_a_blank_listener_ip_is_not_widened_to_all)."""
    if value == '':
        return None
    text = value.strip()
    if text.upper() == 'ALL':
        return None
    if text.startswith('(') and text.endswith(')'):
        text = text[1:-1].strip().strip("'\"")
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        return 'is not an IPv4 or IPv6 address'


addresses = st.one_of(names, st.sampled_from(['ALL', 'all', '127.0.0.1', '0.0.0.0', '::1', '::', '10.0.0.5',
                                              '127.0.0.1; DROP LOGIN sa', '1.2.3.4)', '::ffff:1.2.3.4']))


@fuzz_settings(25)
@given(name=names, listener_ip=addresses, owner=st.one_of(st.none(), names))
def test_generated_endpoint_names_addresses_and_owners(fuzzer, name, listener_ip, owner):
    assume(owner is None or fuzzer.baseline.get('login', owner) is None)
    problems = [p for p in (sysname_problem(name), ip_problem(listener_ip)) if p]
    owner_problem = owner is not None and (sysname_problem(owner) or '\\' in owner)
    with fuzzer.example():
        if owner is not None:
            if owner_problem:
                problems.append(sysname_problem(owner) or 'does not exist')
            else:
                create_login(fuzzer, owner)
        args = dict(name=name, port=free_port(), listener_ip=listener_ip, endpoint_state='stopped')
        if owner is not None:
            args['owner'] = owner
        case = fuzzer.run('endpoint', **args)
        if problems:
            assert_refused(case, problems)
            return
        assert not case.failed, case
        assert [k for k, dummy in case.added] == ['endpoint'] and not (case.removed or case.changed), case
        assert case.added[0][1] == name_key(name) and case.after.get('endpoint', name)[0] == name, case
        row = case.after.get('endpoint', name)
        assert row[8] == (owner if owner is not None else 'sa'), ('owner', row)
        assert len(case.requests.statements) == 1, case
        assert case.requests.statements[0].startswith('CREATE ENDPOINT %s ' % bracket(name)), case
        again = fuzzer.run('endpoint', **args)
        assert not again.failed and not again.result['changed'] and again.requests.statements == [], again


@fuzz_settings(25)
@given(logins=st.lists(names, min_size=1, max_size=3), endpoint=st.one_of(st.none(), st.just(ENDPOINT), names))
def test_generated_connect_grantees(fuzzer, logins, endpoint):
    if not fuzzer.baseline.names('endpoint'):
        create_endpoint(fuzzer)
        fuzzer.baseline = fuzzer.snapshot()
    assume(all(fuzzer.baseline.get('login', login) is None for login in logins))
    assume(len({name_key(login) for login in logins}) == len(logins))
    problems = [p for p in [sysname_problem(login) for login in logins] if p]
    missing = [login for login in logins if not sysname_problem(login) and ('\\' in login)]
    if missing:
        problems.append('do not exist')
    if endpoint is not None and name_key(endpoint) != name_key(ENDPOINT):
        problems.append(sysname_problem(endpoint) or 'does not exist')
    with fuzzer.example():
        for login in logins:
            if not sysname_problem(login) and login not in missing:
                create_login(fuzzer, login)
        args = dict(logins=logins)
        if endpoint is not None:
            args['endpoint'] = endpoint
        case = fuzzer.run('endpoint_permission', **args)
        if problems:
            assert_refused(case, problems)
            return
        assert not case.failed, case
        endpoint_id = next(key[1] for (kind, key) in case.added if kind == 'permission') if case.added else None
        expected = sorted([('permission', (105, endpoint_id, 'CONNECT', name_key(login))) for login in logins], key=repr)
        assert case.added == expected and not (case.removed or case.changed), case
        wanted = ['GRANT CONNECT ON ENDPOINT::%s TO %s' % (bracket(ENDPOINT), bracket(login)) for login in logins]
        assert sorted(case.requests.statements) == sorted(wanted), case
        again = fuzzer.run('endpoint_permission', **args)
        assert not again.failed and not again.result['changed'] and again.requests.statements == [], again


@fuzz_settings(20)
@given(fqdn=st.one_of(st.none(), names), login=st.one_of(st.none(), names), password=passwords)
def test_endpoint_info_reads_only_and_logs_in_with_generated_credentials(fuzzer, fqdn, login, password):
    """A read-only module sends no statement, whatever its input; it connects with a generated login too."""
    if not fuzzer.baseline.names('endpoint'):
        create_endpoint(fuzzer)
        fuzzer.baseline = fuzzer.snapshot()
    args = {} if fqdn is None else {'fqdn': fqdn}
    # TDS LOGIN7 carries at most 128 UTF-16 code units of password: longer ones cannot log in at all
    usable = (login is not None and not sysname_problem(login) and '\\' not in login and password != ''
              and '\x00' not in password and utf16_length(password) <= 128 and fuzzer.baseline.get('login', login) is None)
    with fuzzer.example():
        if usable:
            create_login(fuzzer, login, password)
            fuzzer.execute('ALTER SERVER ROLE [sysadmin] ADD MEMBER %s' % bracket(login))
            args.update(login_user=login, login_password=password)
        case = fuzzer.run('endpoint_info', **args)
        assert case.requests.statements == [] and not (case.added or case.removed or case.changed), case
        if usable and '};' in password:
            # FreeTDS cannot carry '};' in a connection string value: refused before connecting, saying so
            assert case.failed and "'};'" in case.result['msg'] and case.requests.connections == [], case
            return
        assert not case.failed, case
        assert len(case.requests.connections) == 1 and len(case.requests.all) <= 2, case
        if fqdn:
            host = '[%s]' % fqdn if ':' in fqdn else fqdn        # an IPv6 literal is bracketed in a URL
            url = 'TCP://%s:%d' % (host, case.result['endpoint']['port'])
            shown = ansible_masked(url, [args.get('login_password'), fuzzer.instance.sa_password])
            assert case.result['endpoint']['url'] in shown, (url, case.result['endpoint'])


def test_a_blank_listener_ip_is_not_widened_to_all(fuzzer):
    """Found by the property above: listener_ip '\\r' (or ' ', '\\n') - a typo, not an address - makes
    _endpoint.normalise_ip answer ALL, so the endpoint listened on every address instead of failing. Only
    '' (not given) means the default. Fixed in dcb7d2c; a regression test now."""
    for blank in ('\r', ' ', '\n\t'):
        with fuzzer.example():
            case = fuzzer.run('endpoint', name='blank_ip', port=free_port(), listener_ip=blank,
                              endpoint_state='stopped')
            assert_refused(case, ['is not an IPv4 or IPv6 address'])
