"""Every error case of issue 3, with SQL Server's number, severity and message."""
import socket

import pytest

from tests.emulator.engine import SqlError
from tests.emulator.engine.testing import Harness, free_port, SA_PASSWORD

EP = "CREATE ENDPOINT {name} STATE = {state} AS TCP (LISTENER_PORT = {port}) FOR DATABASE_MIRRORING (ROLE = ALL)"


@pytest.fixture
def h(tmp_path):
    harness = Harness(str(tmp_path / 'data'))
    yield harness
    harness.close()


def endpoint(h, name='ep', state='STOPPED', port=None):
    port = port or free_port()
    h.ok(EP.format(name=name, state=state, port=port))
    return port


def check(error, number, severity, message):
    assert (error.number, error.severity, error.message) == (number, severity, message)


def test_7862_second_mirroring_endpoint_even_with_another_name_and_port(h):
    endpoint(h, 'ep1')
    check(h.fails(EP.format(name='ep2', state='STOPPED', port=free_port()), 7862), 7862, 16,
          'An endpoint of the requested type already exists. Only one endpoint of this type is supported. Use '
          'ALTER ENDPOINT or DROP the existing endpoint and execute the CREATE ENDPOINT statement.')


def test_7874_port_bound_by_another_endpoint(tmp_path):
    # the only other user endpoint possible is the same type... so the binding check shows on ALTER of a
    # port onto a system endpoint binding? No: it shows after DROP/CREATE races; reproduce through the catalog:
    h = Harness(str(tmp_path / 'a'))
    try:
        port = endpoint(h, 'ep1')
        h.engine.db.execute("UPDATE endpoints SET type = 3 WHERE name = 'ep1'")   # a Service Broker endpoint
        error = h.fails(EP.format(name='ep2', state='STOPPED', port=port), 7874)
        check(error, 7874, 16, 'An endpoint already exists with the bindings specified. Only one endpoint '
              'supported for a specific binding. Use ALTER ENDPOINT or DROP the existing endpoint and execute the '
              'CREATE ENDPOINT statement.')
    finally:
        h.close()


def test_7890_port_bound_by_another_process(h):
    with socket.socket() as other:
        other.bind(('0.0.0.0', 0))
        other.listen(1)
        port = other.getsockname()[1]
        error = h.fails(EP.format(name='ep', state='STARTED', port=port), 7890)
        assert error.severity == 16
        assert error.message.startswith("An error occurred while attempting to register the endpoint 'ep'. One "
                                        "or more of the ports specified in the CREATE ENDPOINT statement may be "
                                        "bound to another process.")
    assert h.value('SELECT COUNT(*) FROM sys.endpoints WHERE name = \'ep\'') == 0, 'nothing half-applied'
    # a STOPPED endpoint does not bind, so the same port is accepted
    h.ok(EP.format(name='ep', state='STOPPED', port=port))


def test_7890_on_alter_keeps_the_old_listener(h):
    port = endpoint(h, 'ep', 'STARTED')
    with socket.socket() as other:
        other.bind(('0.0.0.0', 0))
        other.listen(1)
        taken = other.getsockname()[1]
        h.fails('ALTER ENDPOINT ep AS TCP (LISTENER_PORT = %d)' % taken, 7890)
    assert h.value('SELECT port FROM sys.tcp_endpoints WHERE name = \'ep\'') == port
    socket.create_connection(('127.0.0.1', port), timeout=2).close()


def test_15025_duplicate_login_case_insensitive(h):
    h.ok("CREATE LOGIN Peer WITH PASSWORD = 'Str0ng!Passw0rd'")
    check(h.fails("CREATE LOGIN [PEER] WITH PASSWORD = 'Str0ng!Passw0rd'", 15025), 15025, 16,
          "The server principal 'PEER' already exists.")


def test_15023_duplicate_user(h):
    h.ok("CREATE LOGIN Peer WITH PASSWORD = 'Str0ng!Passw0rd'; CREATE USER peer_user FOR LOGIN Peer")
    h.ok("CREATE LOGIN Peer2 WITH PASSWORD = 'Str0ng!Passw0rd'")
    check(h.fails('CREATE USER peer_user FOR LOGIN Peer2', 15023), 15023, 16,
          "User, group, or role 'peer_user' already exists in the current database.")


def test_15063_login_already_has_a_user(h):
    h.ok("CREATE LOGIN Peer WITH PASSWORD = 'Str0ng!Passw0rd'; CREATE USER u1 FOR LOGIN Peer")
    check(h.fails('CREATE USER u2 FOR LOGIN Peer', 15063), 15063, 16,
          'The login already has an account under a different user name.')


def test_15007_user_for_missing_login(h):
    check(h.fails('CREATE USER u FOR LOGIN nobody', 15007), 15007, 16,
          "'nobody' is not a valid login or you do not have permission.")


@pytest.mark.parametrize('sql, message', [
    ('DROP ENDPOINT nope', "Cannot drop the endpoint 'nope', because it does not exist or you do not have permission."),
    ('ALTER ENDPOINT nope STATE = STARTED',
     "Cannot alter the endpoint 'nope', because it does not exist or you do not have permission."),
    ('DROP LOGIN nope', "Cannot drop the login 'nope', because it does not exist or you do not have permission."),
    ('ALTER LOGIN nope ENABLE', "Cannot alter the login 'nope', because it does not exist or you do not have "
                                "permission."),
    ('DROP USER nope', "Cannot drop the user 'nope', because it does not exist or you do not have permission."),
    ('GRANT CONNECT ON ENDPOINT::nope TO sa',
     "Cannot find the endpoint 'nope', because it does not exist or you do not have permission."),
    ('ALTER AUTHORIZATION ON ENDPOINT::nope TO sa',
     "Cannot find the endpoint 'nope', because it does not exist or you do not have permission."),
])
def test_15151_missing_objects(h, sql, message):
    check(h.fails(sql, 15151), 15151, 16, message)


def test_15151_grant_to_missing_login(h):
    endpoint(h)
    check(h.fails('GRANT CONNECT ON ENDPOINT::ep TO nobody', 15151), 15151, 16,
          "Cannot find the login 'nobody', because it does not exist or you do not have permission.")


@pytest.mark.parametrize('statement, sql', [
    ('CREATE ENDPOINT', EP.format(name='ep2', state='STOPPED', port=5999)),
    ('ALTER ENDPOINT', 'ALTER ENDPOINT ep STATE = STARTED'),
    ('DROP ENDPOINT', 'DROP ENDPOINT ep'),
])
def test_574_endpoint_ddl_inside_a_transaction(h, statement, sql):
    endpoint(h)
    results = h.run('BEGIN TRANSACTION; %s; SELECT @@TRANCOUNT' % sql)
    check(results[1].error, 574, 16, '%s statement not allowed within multi-statement transaction.' % statement)
    assert results[2].rows == [(1,)], 'statement-level error: the batch goes on and the transaction stays open'
    h.ok('ROLLBACK')
    assert h.value("SELECT state_desc FROM sys.endpoints WHERE name = 'ep'") == 'STOPPED'


def test_103_identifier_too_long(h):
    name = 'L' * 129
    error = h.fails("CREATE LOGIN [%s] WITH PASSWORD = 'Str0ng!Passw0rd'" % name, 103)
    check(error, 103, 15, "The identifier that starts with '%s' is too long. Maximum length is 128." % name[:128])
    h.ok("CREATE LOGIN [%s] WITH PASSWORD = 'Str0ng!Passw0rd'" % name[:128])


@pytest.mark.parametrize('password, number, reason', [
    ('Sh0rt!', 15116, 'too short'),
    ('A1!' + 'x' * 126, 15117, 'too long'),
    ('alllowercase', 15118, 'not complex enough'),
    ('Peer_login1!', 15118, 'not complex enough'),   # contains the login name
])
def test_15116_to_15118_password_policy(h, password, number, reason):
    error = h.fails("CREATE LOGIN peer_login WITH PASSWORD = '%s'" % password, number)
    check(error, number, 16, 'Password validation failed. The password does not meet Windows policy '
                             'requirements because it is %s.' % reason)
    h.ok("CREATE LOGIN peer_login WITH PASSWORD = '%s', CHECK_POLICY = OFF" % password)


def test_15122_expiration_without_policy(h):
    check(h.fails("CREATE LOGIN p WITH PASSWORD = 'x', CHECK_POLICY = OFF, CHECK_EXPIRATION = ON", 15122), 15122,
          16, 'The CHECK_EXPIRATION option cannot be used when CHECK_POLICY is OFF.')


def test_15099_must_change_without_expiration(h):
    check(h.fails("CREATE LOGIN p WITH PASSWORD = 'Str0ng!Passw0rd' MUST_CHANGE", 15099), 15099, 16,
          'The MUST_CHANGE option cannot be used when CHECK_EXPIRATION is OFF.')


def test_15128_policy_off_while_must_change(h):
    h.ok("CREATE LOGIN p WITH PASSWORD = 'Str0ng!Passw0rd' MUST_CHANGE, CHECK_EXPIRATION = ON")
    check(h.fails('ALTER LOGIN p WITH CHECK_POLICY = OFF', 15128), 15128, 16,
          'The CHECK_POLICY and CHECK_EXPIRATION options cannot be turned OFF when MUST_CHANGE is ON.')


def test_15401_unknown_windows_account_and_15407_bad_name(h):
    check(h.fails('CREATE LOGIN [CORP\\mallory] FROM WINDOWS', 15401), 15401, 11,
          "Windows NT user or group 'CORP\\mallory' not found. Check the name again.")
    check(h.fails('CREATE LOGIN [mallory] FROM WINDOWS', 15407), 15407, 11,
          "'mallory' is not a valid Windows NT name. Give the complete name: <domain\\username>.")
    h.ok('CREATE LOGIN [CORP\\sqlsvc2] FROM WINDOWS')


def test_4624_grant_to_sa_owner_or_self(h):
    endpoint(h)
    message = 'Cannot grant, deny, or revoke permissions to sa, dbo, entity owner, information_schema, sys, or ' \
              'yourself.'
    check(h.fails('GRANT CONNECT ON ENDPOINT::ep TO sa', 4624), 4624, 16, message)
    h.ok("CREATE LOGIN owner1 WITH PASSWORD = 'Str0ng!Passw0rd'; ALTER AUTHORIZATION ON ENDPOINT::ep TO owner1")
    check(h.fails('GRANT CONNECT ON ENDPOINT::ep TO owner1', 4624), 4624, 16, message)


def test_15141_drop_login_that_owns_an_endpoint(h):
    h.ok("CREATE LOGIN owner1 WITH PASSWORD = 'Str0ng!Passw0rd'")
    h.ok("CREATE ENDPOINT ep AUTHORIZATION owner1 AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING (ROLE = ALL)"
         % free_port())
    check(h.fails('DROP LOGIN owner1', 15141), 15141, 16,
          'The server principal owns one or more endpoint(s) and cannot be dropped.')


def test_15434_drop_login_that_is_connected(h):
    h.ok("CREATE LOGIN app WITH PASSWORD = 'Str0ng!Passw0rd'")
    session = h.login('app', 'Str0ng!Passw0rd')
    check(h.fails('DROP LOGIN app', 15434), 15434, 16, "Could not drop login 'app' as the user is currently "
                                                       "logged in.")
    h.engine.logout(session)
    h.ok('DROP LOGIN app')


def test_linux_refuses_windows_authentication_and_windows_logins(tmp_path):
    h = Harness(str(tmp_path / 'linux'), platform='linux')
    try:
        error = h.fails(EP.format(name='ep', state='STOPPED', port=free_port()), 7878)
        check(error, 7878, 16, 'This "CREATE ENDPOINT" statement is not supported on this edition of SQL Server.')
        h.fails("CREATE ENDPOINT ep AS TCP (LISTENER_PORT = 5022) FOR DATABASE_MIRRORING "
                "(AUTHENTICATION = CERTIFICATE c WINDOWS NTLM, ROLE = ALL)", 7878)
        check(h.fails('CREATE LOGIN [CORP\\alice] FROM WINDOWS', 15401), 15401, 11,
              "Windows NT user or group 'CORP\\alice' not found. Check the name again.")
        assert h.rows('SELECT host_platform FROM sys.dm_os_host_info') == [('Linux',)]
    finally:
        h.close()


def test_7863_only_when_the_alter_has_no_options(h):
    endpoint(h)
    check(h.fails('ALTER ENDPOINT ep', 7863), 7863, 16,
          'The endpoint was not changed. The ALTER ENDPOINT statement did not contain any values to modify or update.')
    h.ok('ALTER ENDPOINT ep STATE = STOPPED')   # equal to the current value: accepted
    h.ok('ALTER ENDPOINT ep FOR DATABASE_MIRRORING (ROLE = ALL)')


def test_7860_changing_the_payload(h):
    endpoint(h)
    h.fails('ALTER ENDPOINT ep FOR SERVICE_BROKER (AUTHENTICATION = WINDOWS)', 7860)


def test_non_sysadmin_gets_permission_errors(h):
    h.ok("CREATE LOGIN app WITH PASSWORD = 'Str0ng!Passw0rd'")
    endpoint(h)
    app = h.login('app', 'Str0ng!Passw0rd')
    check(h.fails(EP.format(name='x', state='STOPPED', port=free_port()), 15247, session=app), 15247, 16,
          'User does not have permission to perform this action.')
    h.fails("CREATE LOGIN x WITH PASSWORD = 'Str0ng!Passw0rd'", 15247, session=app)
    h.fails('DROP ENDPOINT ep', 15151, session=app)
    h.fails('GRANT CONNECT ON ENDPOINT::ep TO app', 15151, session=app)
    # a login may change its own password with OLD_PASSWORD
    h.ok("ALTER LOGIN app WITH PASSWORD = 'N3w!Passw0rd' OLD_PASSWORD = 'Str0ng!Passw0rd'", session=app)
    assert h.value("SELECT HAS_PERMS_BY_NAME('ep', 'ENDPOINT', 'CONNECT')", session=app) == 0
    h.ok('GRANT CONNECT ON ENDPOINT::ep TO app')
    assert h.value("SELECT HAS_PERMS_BY_NAME('ep', 'ENDPOINT', 'CONNECT')", session=app) == 1
    assert h.value("SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE')", session=app) == 0
    assert h.value("SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE')") == 1
    assert h.value("SELECT IS_SRVROLEMEMBER('sysadmin')", session=app) == 0
    h.ok('ALTER SERVER ROLE sysadmin ADD MEMBER app')
    assert h.value("SELECT IS_SRVROLEMEMBER('sysadmin')", session=app) == 1
    h.ok("CREATE LOGIN made_by_app WITH PASSWORD = 'Str0ng!Passw0rd'", session=app)


def test_18456_login_failures(h):
    h.ok("CREATE LOGIN app WITH PASSWORD = 'Str0ng!Passw0rd'; CREATE LOGIN [CORP\\alice] FROM WINDOWS")
    for user, password in [('app', 'wrong'), ('nobody', 'x'), ('CORP\\alice', 'x')]:
        with pytest.raises(SqlError) as info:
            h.login(user, password)
        check(info.value, 18456, 14, "Login failed for user '%s'." % user)
    h.ok('ALTER LOGIN app DISABLE')
    with pytest.raises(SqlError) as info:
        h.login('app', 'Str0ng!Passw0rd')
    assert info.value.number == 18456
    h.ok('ALTER LOGIN app ENABLE')
    assert h.login('app', 'Str0ng!Passw0rd').login_name == 'app'
    assert h.login('sa', SA_PASSWORD).database == 'master'


def test_syntax_error_runs_nothing_and_statement_errors_continue(h):
    results = h.run("CREATE LOGIN a1 WITH PASSWORD = 'Str0ng!Passw0rd'; SELEC 1")
    assert len(results) == 1 and results[0].error.number == 102
    assert h.value("SELECT COUNT(*) FROM sys.server_principals WHERE name = 'a1'") == 0
    results = h.run("CREATE LOGIN a1 WITH PASSWORD = 'Str0ng!Passw0rd'; CREATE LOGIN a1 WITH PASSWORD = "
                    "'Str0ng!Passw0rd'; SELECT COUNT(*) FROM sys.server_principals WHERE name = 'a1'")
    assert [r.error.number if r.error else None for r in results] == [None, 15025, None]
    assert results[2].rows == [(1,)]
    results = h.run('SELECT 1; SELECT nope FROM sys.endpoints; SELECT 2')
    assert [r.error.number if r.error else None for r in results] == [None, 207], 'compile errors end the batch'


def test_valid_tsql_that_is_not_implemented_says_so(h):
    for sql in ('INSERT INTO t VALUES (1)', "EXEC sp_addsrvrolemember 'x', 'sysadmin'", 'CREATE TABLE t (a int)',
                'SELECT * FROM sys.objects', 'WITH x AS (SELECT 1 AS a) SELECT a FROM x',
                'SELECT OBJECT_ID(\'x\')', 'SET IMPLICIT_TRANSACTIONS ON'):
        error = h.fails(sql, 50000)
        assert error.message.startswith('emulator: not implemented: '), error.message


def test_unknown_names(h):
    check(h.fails('SELECT * FROM sys.endpointz', 208), 208, 16, "Invalid object name 'sys.endpointz'.")
    check(h.fails('SELECT * FROM endpoints', 208), 208, 16, "Invalid object name 'endpoints'.")
    check(h.fails('SELECT e.nam FROM sys.endpoints e', 207), 207, 16, "Invalid column name 'nam'.")
    check(h.fails('SELECT x.name FROM sys.endpoints e', 4104), 4104, 16,
          'The multi-part identifier "x.name" could not be bound.')
    check(h.fails('SELECT name FROM sys.endpoints a JOIN sys.server_principals b ON a.principal_id = '
                  'b.principal_id', 209), 209, 16, "Ambiguous column name 'name'.")
    check(h.fails('SELECT NOSUCHFN(1)', 195), 195, 15, "'NOSUCHFN' is not a recognized built-in function name.")
    check(h.fails('SELECT @x', 137), 137, 15, 'Must declare the scalar variable "@x".')
