"""mssql.hadr.user (and the in-use guard of login and user) through real ansible-playbook."""
import pytest

from tests.support.secrets_play import ddl_in, execute, login_row, per_connection, play, user_row

pytestmark = pytest.mark.slow

PW = "Us3r-Login'Pass]word"
PW_SQL = PW.replace("'", "''")


def test_user_for_login_check_mode_idempotence_and_drop(emulator):
    execute(emulator, "CREATE LOGIN [b_login] WITH PASSWORD = N'%s'" % PW_SQL)
    args = {'name': 'b_user', 'login': 'b_login'}
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'predict', 'mssql.hadr.user': args, 'check_mode': True},
        {'name': 'create', 'mssql.hadr.user': args},
        {'name': 'again', 'mssql.hadr.user': args},
        {'name': 'drop', 'mssql.hadr.user': {'name': 'b_user', 'state': 'absent'}},
        {'name': 'drop again', 'mssql.hadr.user': {'name': 'b_user', 'state': 'absent'}},
    ], diff=True)
    assert run.rc == 0, str(run)
    create_sql = 'CREATE USER [b_user] FOR LOGIN [b_login]'
    assert run.result('predict')['queries'] == [create_sql] and run.result('create')['queries'] == [create_sql]
    assert run.result('create')['user'] == {'name': 'b_user', 'database': 'master', 'login': 'b_login',
                                            'certificate': None, 'without_login': False}
    assert run.result('create')['diff'] == {'before': {'name': 'b_user', 'state': 'absent'},
                                            'after': dict(run.result('create')['user'], state='present')}
    again = run.result('again')
    assert not again['changed'] and again['user'] == run.result('create')['user']
    assert run.result('drop')['queries'] == ['DROP USER [b_user]'] and not run.result('drop again')['changed']
    trips = per_connection(emulator, mark)
    assert len(trips) == 5 and all(len(t) == 1 and ddl_in(t) == [] for t in (trips[0], trips[2], trips[4]))
    assert user_row(emulator, 'b_user') is None


def test_without_login_in_another_database_and_default_login(emulator):
    execute(emulator, "CREATE LOGIN [same_name] WITH PASSWORD = N'%s'" % PW_SQL)
    run = play(emulator, [
        {'name': 'lonely', 'mssql.hadr.user': {'name': "lonely'user", 'database': 'msdb', 'without_login': True}},
        {'name': 'lonely again',
         'mssql.hadr.user': {'name': "lonely'user", 'database': 'msdb', 'without_login': True}},
        {'name': 'default login', 'mssql.hadr.user': {'name': 'same_name'}},
    ])
    assert run.rc == 0, str(run)
    assert run.result('lonely')['queries'] == ["CREATE USER [lonely'user] WITHOUT LOGIN"]
    assert not run.result('lonely again')['changed']
    assert run.result('default login')['queries'] == ['CREATE USER [same_name] FOR LOGIN [same_name]']
    assert user_row(emulator, "lonely'user", database='msdb')['login_name'] is None
    assert user_row(emulator, "lonely'user") is None       # not in master
    assert user_row(emulator, 'same_name')['login_name'] == 'same_name'


def test_bad_input_fails_clearly_and_changes_nothing(emulator):
    execute(emulator, "CREATE LOGIN [l1] WITH PASSWORD = N'%s'" % PW_SQL,
            "CREATE LOGIN [l2] WITH PASSWORD = N'%s'" % PW_SQL,
            'CREATE USER [u1] FOR LOGIN [l1]')
    cases = [
        ('mapped elsewhere', {'name': 'u1', 'login': 'l2'}, "mapped to login 'l1', not login 'l2'"),
        ('login has a user', {'name': 'u2', 'login': 'l1'}, "already has user 'u1'"),
        ('missing login', {'name': 'u3', 'login': 'ghost'}, 'create the login first'),
        ('two mappings', {'name': 'u4', 'login': 'l2', 'without_login': True}, 'mutually exclusive'),
        ('129 characters', {'name': 'u' * 129, 'login': 'l2'}, 'at most 128'),
    ]
    mark = emulator.mark_log()
    run = play(emulator, [{'name': name, 'mssql.hadr.user': args, 'ignore_errors': True}
                          for name, args, dummy in cases])
    for name, dummy, text in cases:
        result = run.result(name)
        assert result['failed'] and text in result['msg'], (name, result['msg'])
        assert not result.get('executed'), name
    assert all(ddl_in(trips) == [] for trips in per_connection(emulator, mark))
    assert user_row(emulator, 'u1')['login_name'] == 'l1'
    assert all(user_row(emulator, name) is None for name in ('u2', 'u3', 'u4'))


def test_in_use_guard_for_a_partner_login_and_user(emulator):
    execute(emulator, "CREATE LOGIN [partner] WITH PASSWORD = N'%s'" % PW_SQL, 'CREATE USER [partner_user] FOR LOGIN '
            '[partner]', 'CREATE ENDPOINT [Hadr_endpoint] STATE = STOPPED AS TCP (LISTENER_PORT = 5998) '
            'FOR DATABASE_MIRRORING (ROLE = ALL)', 'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [partner]')
    emulator.ctl('mark-in-use', '--availability-group', 'AG1')
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'user refused', 'mssql.hadr.user': {'name': 'partner_user', 'state': 'absent'},
         'ignore_errors': True},
        {'name': 'login refused', 'mssql.hadr.login': {'name': 'partner', 'state': 'absent'}, 'ignore_errors': True},
    ])
    for name, what in (('user refused', "drop user 'partner_user'"), ('login refused', "drop login 'partner'")):
        result = run.result(name)
        assert result['failed'] and result['msg'].startswith('Refusing to %s' % what), result['msg']
        assert "availability group 'AG1'" in result['msg'] and 'reconfigure_in_use: true' in result['msg']
        assert result['in_use_sessions'] and result['queries'] == []
    assert all(ddl_in(trips) == [] for trips in per_connection(emulator, mark))
    run = play(emulator, [
        {'name': 'user', 'mssql.hadr.user': {'name': 'partner_user', 'state': 'absent', 'reconfigure_in_use': True}},
        {'name': 'login', 'mssql.hadr.login': {'name': 'partner', 'state': 'absent', 'reconfigure_in_use': True}},
    ])
    assert run.rc == 0, str(run)
    assert run.result('user')['queries'] == ['DROP USER [partner_user]']
    assert run.result('login')['queries'] == ['DROP LOGIN [partner]']
    assert login_row(emulator, 'partner') is None
