"""mssql.hadr.login through real ansible-playbook against an emulated instance."""
import pytest

from tests.support.secrets_play import (
    ddl_in, execute, login_row, per_connection, play, sql_login_can_connect)

pytestmark = pytest.mark.slow

PW1 = "Fir5t-Pass'word]Ω"
PW2 = 'Sec0nd-Pässwörd-密码-42'
SID = '0x' + '5A1D2E3F4B5C6D7E8F90A1B2C3D4E5F6'
PW1_SQL = PW1.replace("'", "''")     # as a literal in set-up statements


def test_create_check_mode_idempotence_diff_and_password_compare(emulator):
    args = {'name': 'partner_b', 'password': '{{ pw1 }}', 'sid': SID}
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'predict', 'mssql.hadr.login': args, 'check_mode': True},
        {'name': 'create', 'mssql.hadr.login': args},
        {'name': 'again', 'mssql.hadr.login': args},
        {'name': 'same password always', 'mssql.hadr.login': dict(args, update_password='always')},
        {'name': 'new password on_create', 'mssql.hadr.login': dict(args, password='{{ pw2 }}')},
        {'name': 'new password always', 'mssql.hadr.login': dict(args, password='{{ pw2 }}', update_password='always')},
        {'name': 'new password again', 'mssql.hadr.login': dict(args, password='{{ pw2 }}', update_password='always')},
    ], secrets={'pw1': PW1, 'pw2': PW2}, diff=True)
    assert run.rc == 0, str(run)
    create_sql = ("CREATE LOGIN [partner_b] WITH PASSWORD = N'********', SID = %s, DEFAULT_DATABASE = [master], "
                  "CHECK_POLICY = ON, CHECK_EXPIRATION = OFF" % SID)
    predicted, created = run.result('predict'), run.result('create')
    assert predicted['changed'] and predicted['queries'] == [create_sql] and predicted['password_changed']
    assert created['queries'] == [create_sql]
    assert created['login'] == {'name': 'partner_b', 'type': 'sql', 'sid': SID, 'default_database': 'master',
                                'enabled': True, 'check_policy': True, 'check_expiration': False, 'certificate': None}
    assert created['diff']['before'] == {'name': 'partner_b', 'state': 'absent'}
    assert created['diff']['after']['password'] == '********' and created['diff']['after']['state'] == 'present'
    for name in ('again', 'same password always', 'new password on_create', 'new password again'):
        result = run.result(name)
        assert not result['changed'] and result['queries'] == [] and not result['password_changed'], name
        assert result['diff']['before'] == result['diff']['after'], name
    changed = run.result('new password always')
    assert changed['changed'] and changed['queries'] == ["ALTER LOGIN [partner_b] WITH PASSWORD = N'********'"]

    trips = per_connection(emulator, mark)
    assert len(trips) == 7                                     # one connection per module run
    assert ddl_in(trips[0]) == [] and len(trips[0]) == 1       # check mode: one read, no DDL
    for index in (2, 3, 4, 6):
        assert ddl_in(trips[index]) == [] and len(trips[index]) == 1, trips[index]
    assert all('PWDCOMPARE' in trips[i][0] and PW2 not in trips[i][0] for i in (3, 5, 6))
    row = login_row(emulator, 'partner_b')
    assert '0x' + bytes(row['sid']).hex().upper() == SID
    assert sql_login_can_connect(emulator, 'partner_b', PW2) and not sql_login_can_connect(emulator, 'partner_b', PW1)


def test_every_option_changes_and_is_idempotent(emulator):
    base = {'name': 'opts', 'password': '{{ pw1 }}'}
    run = play(emulator, [
        {'name': 'create disabled',
         'mssql.hadr.login': dict(base, enabled=False, check_policy=False, default_database='tempdb')},
        {'name': 'enable with policy and expiration', 'mssql.hadr.login': dict(base, check_expiration=True)},
        {'name': 'again', 'mssql.hadr.login': dict(base, check_expiration=True)},
        {'name': 'drop', 'mssql.hadr.login': {'name': 'opts', 'state': 'absent'}},
        {'name': 'drop again', 'mssql.hadr.login': {'name': 'opts', 'state': 'absent'}},
    ], secrets={'pw1': PW1})
    assert run.rc == 0, str(run)
    created = run.result('create disabled')['login']    # read back: the SID the server chose, for other replicas
    assert created['enabled'] is False and created['sid'].startswith('0x') and len(created['sid']) == 2 + 32
    assert run.result('create disabled')['queries'] == [
        "CREATE LOGIN [opts] WITH PASSWORD = N'********', DEFAULT_DATABASE = [tempdb], CHECK_POLICY = OFF, "
        "CHECK_EXPIRATION = OFF", 'ALTER LOGIN [opts] DISABLE']
    assert run.result('enable with policy and expiration')['queries'] == [
        'ALTER LOGIN [opts] WITH DEFAULT_DATABASE = [master], CHECK_POLICY = ON, CHECK_EXPIRATION = ON',
        'ALTER LOGIN [opts] ENABLE']
    assert not run.result('again')['changed']
    assert run.result('drop')['queries'] == ['DROP LOGIN [opts]'] and run.result('drop')['login'] is None
    assert not run.result('drop again')['changed']
    assert login_row(emulator, 'opts') is None


@pytest.mark.parametrize('name', ["we]ird'; --name", 'ünïcødé-логин-名前', 'x' * 128])
def test_awkward_names_and_passwords_work(emulator, name):
    run = play(emulator, [
        {'name': 'create', 'mssql.hadr.login': {'name': name, 'password': '{{ pw1 }}'}},
        {'name': 'again', 'mssql.hadr.login': {'name': name, 'password': '{{ pw1 }}', 'update_password': 'always'}},
    ], secrets={'pw1': PW1})
    assert run.rc == 0, str(run)
    assert run.result('create')['changed'] and not run.result('again')['changed']
    assert login_row(emulator, name) is not None and sql_login_can_connect(emulator, name, PW1)


def test_windows_login_and_unresolvable_account(emulator_factory):
    emulator = emulator_factory(windows_accounts=['CONTOSO\\sqlsvc-b'])
    run = play(emulator, [
        {'name': 'create', 'mssql.hadr.login': {'name': 'CONTOSO\\sqlsvc-b'}},
        {'name': 'again', 'mssql.hadr.login': {'name': 'CONTOSO\\sqlsvc-b'}},
        {'name': 'unknown', 'mssql.hadr.login': {'name': 'CONTOSO\\nobody'}, 'ignore_errors': True},
    ])
    assert run.rc == 0, str(run)
    assert run.result('create')['queries'] == ['CREATE LOGIN [CONTOSO\\sqlsvc-b] FROM WINDOWS WITH DEFAULT_DATABASE '
                                               '= [master]']
    assert run.result('create')['login']['type'] == 'windows' and not run.result('again')['changed']
    unknown = run.result('unknown')
    assert unknown['failed'] and unknown['error_number'] == 15401
    assert 'cannot resolve the Windows account login CONTOSO\\nobody' in unknown['msg']
    assert unknown['executed'] == [] and not unknown['changed']
    assert login_row(emulator, 'CONTOSO\\nobody') is None


def test_bad_input_fails_clearly_and_changes_nothing(emulator):
    execute(emulator, "CREATE LOGIN [existing] WITH PASSWORD = N'%s'" % PW1_SQL)
    cases = [
        ('expiration without policy', {'name': 'n1', 'password': '{{ pw1 }}', 'check_policy': False,
                                       'check_expiration': True}, '15122'),
        ('129 characters', {'name': 'x' * 129, 'password': '{{ pw1 }}'}, 'at most 128'),
        ('200-character password', {'name': 'n2', 'password': '{{ long_pw }}'}, 'at most 128'),
        ('too short for the policy', {'name': 'n3', 'password': '{{ short_pw }}'}, 'password policy'),
        ('not complex enough', {'name': 'n4', 'password': '{{ simple_pw }}'}, 'password policy'),
        ('no password', {'name': 'n5'}, 'password is required'),
        ('type change', {'name': 'existing', 'type': 'certificate', 'certificate': 'c'}, 'cannot change a login'),
        ('windows name', {'name': 'plain', 'type': 'windows'}, 'DOMAIN\\name'),
        ('sid length', {'name': 'n6', 'password': '{{ pw1 }}', 'sid': '0x0102'}, '16 bytes'),
        ('policy on certificate login', {'name': 'n7', 'type': 'certificate', 'certificate': 'c',
                                         'check_policy': True}, '15171'),
    ]
    mark = emulator.mark_log()
    secrets = {'pw1': PW1, 'long_pw': 'Aa1!' * 50, 'short_pw': 'Ab1!', 'simple_pw': 'alllowercaseletters'}
    run = play(emulator, [{'name': name, 'mssql.hadr.login': args, 'ignore_errors': True}
                          for name, args, dummy in cases], secrets=secrets)
    for name, dummy, text in cases:
        result = run.result(name)
        assert result['failed'] and text in result['msg'], (name, result['msg'])
        assert not result.get('executed') and not result.get('changed'), name
    # Only the password policy is left to SQL Server (the Windows policy is the host's); it refuses atomically.
    sent = [sql for trips in per_connection(emulator, mark) for sql in ddl_in(trips)]
    assert [sql.split(' WITH')[0] for sql in sent] == ['CREATE LOGIN [n3]', 'CREATE LOGIN [n4]']
    for name in ('n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'):
        assert login_row(emulator, name) is None
    assert login_row(emulator, 'existing')['type'] == 'S'


def test_drop_refused_for_endpoint_owner_and_connected_login(emulator):
    execute(emulator, "CREATE LOGIN [owner_login] WITH PASSWORD = N'%s'" % PW1_SQL,
            "CREATE LOGIN [busy] WITH PASSWORD = N'%s'" % PW1_SQL,
            'CREATE ENDPOINT [Hadr_endpoint] AUTHORIZATION [owner_login] STATE = STOPPED AS TCP (LISTENER_PORT = 5999) '
            'FOR DATABASE_MIRRORING (ROLE = ALL)')
    session = emulator.connect(user='busy', password=PW1)
    try:
        run = play(emulator, [
            {'name': 'owner', 'mssql.hadr.login': {'name': 'owner_login', 'state': 'absent'}, 'ignore_errors': True},
            {'name': 'busy', 'mssql.hadr.login': {'name': 'busy', 'state': 'absent'}, 'ignore_errors': True},
        ], secrets={'pw1': PW1})
    finally:
        session.close()
    owner = run.result('owner')
    assert owner['failed'] and "owns endpoint 'Hadr_endpoint'" in owner['msg'] and owner['queries'] == []
    busy = run.result('busy')
    assert busy['failed'] and busy['error_number'] == 15434 and 'while it is logged in' in busy['msg']
    assert login_row(emulator, 'owner_login') and login_row(emulator, 'busy')
