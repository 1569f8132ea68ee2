"""mssql.hadr.master_key through real ansible-playbook (needs the emulator's certificate support, part 2)."""
import pytest

from tests.support.secrets_play import ddl_in, execute, per_connection, play, query

pytestmark = pytest.mark.slow

KEY_PW = "Mast3r-Key'Pässwörd]-密码"
OTHER_PW = 'An0ther-Str0ng-Passw0rd!'


def key_state(emulator):
    keys = query(emulator, "SELECT name FROM sys.symmetric_keys WHERE name = '##MS_DatabaseMasterKey##'")
    smk = query(emulator, "SELECT is_master_key_encrypted_by_server AS smk FROM sys.databases WHERE name = 'master'")
    return bool(keys), bool(smk[0]['smk'])


def test_create_check_mode_idempotence_and_verify(emulator):
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'predict', 'mssql.hadr.master_key': {'password': '{{ key_pw }}'}, 'check_mode': True},
        {'name': 'create', 'mssql.hadr.master_key': {'password': '{{ key_pw }}'}},
        {'name': 'again', 'mssql.hadr.master_key': {'password': '{{ key_pw }}'}},
        {'name': 'another password changes nothing', 'mssql.hadr.master_key': {'password': '{{ other_pw }}'}},
        {'name': 'verify', 'mssql.hadr.master_key': {'password': '{{ key_pw }}', 'verify_password': True}},
        {'name': 'verify wrong', 'mssql.hadr.master_key': {'password': '{{ other_pw }}', 'verify_password': True},
         'ignore_errors': True},
    ], secrets={'key_pw': KEY_PW, 'other_pw': OTHER_PW}, diff=True)
    create_sql = "CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'********'"
    assert run.result('predict')['queries'] == [create_sql] and run.result('create')['queries'] == [create_sql]
    created = run.result('create')
    assert created['master_key'] == {'database': 'master', 'exists': True, 'encrypted_by_service_master_key': True}
    assert created['diff']['before']['exists'] is False and created['diff']['after'] == created['master_key']
    for name in ('again', 'another password changes nothing', 'verify'):
        assert not run.result(name)['changed'] and run.result(name)['queries'] == [], name
    wrong = run.result('verify wrong')
    assert wrong['failed'] and 'password does not open the master key' in wrong['msg'] and wrong['queries'] == []
    trips = per_connection(emulator, mark)
    assert ddl_in(trips[0]) == [] and len(ddl_in(trips[1])) == 1
    assert ddl_in(trips[1])[0].startswith('CREATE MASTER KEY ENCRYPTION BY PASSWORD = ')   # the emulator masks it
    assert all(ddl_in(t) == [] for t in trips[2:])
    assert key_state(emulator) == (True, True)


def test_service_master_key_protection_both_ways(emulator):
    run = play(emulator, [
        {'name': 'create', 'mssql.hadr.master_key': {'password': '{{ key_pw }}'}},
        {'name': 'drop smk', 'mssql.hadr.master_key': {'service_master_key_encryption': False}},
        {'name': 'add without password', 'mssql.hadr.master_key': {}, 'ignore_errors': True},
        {'name': 'add smk', 'mssql.hadr.master_key': {'password': '{{ key_pw }}'}},
        {'name': 'again', 'mssql.hadr.master_key': {'password': '{{ key_pw }}'}},
    ], secrets={'key_pw': KEY_PW})
    assert run.result('drop smk')['queries'] == ['ALTER MASTER KEY DROP ENCRYPTION BY SERVICE MASTER KEY']
    assert any('not protected by the service master key' in w for w in run.result('drop smk')['warnings'])
    assert 'give its password' in run.result('add without password')['msg']
    assert run.result('add smk')['queries'] == [
        "OPEN MASTER KEY DECRYPTION BY PASSWORD = N'********'", 'ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY']
    assert not run.result('again')['changed']
    assert key_state(emulator) == (True, True)


def test_drop_refused_while_it_protects_a_certificate(emulator):
    execute(emulator, "CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'%s'" % OTHER_PW,
            "CREATE CERTIFICATE [own_cert] WITH SUBJECT = N'own'")
    run = play(emulator, [
        {'name': 'refused', 'mssql.hadr.master_key': {'state': 'absent'}, 'ignore_errors': True},
    ])
    result = run.result('refused')
    assert result['failed'] and "certificate(s) 'own_cert'" in result['msg'] and result['queries'] == []
    execute(emulator, 'DROP CERTIFICATE [own_cert]')
    run = play(emulator, [
        {'name': 'drop', 'mssql.hadr.master_key': {'state': 'absent'}},
        {'name': 'again', 'mssql.hadr.master_key': {'state': 'absent'}},
    ])
    assert run.result('drop')['queries'] == ['DROP MASTER KEY'] and not run.result('again')['changed']
    assert key_state(emulator)[0] is False


def test_bad_input_fails_clearly_and_changes_nothing(emulator):
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'no password', 'mssql.hadr.master_key': {}, 'ignore_errors': True},
        {'name': 'weak password', 'mssql.hadr.master_key': {'password': '{{ weak }}'}, 'ignore_errors': True},
        {'name': 'database name', 'mssql.hadr.master_key': {'password': '{{ key_pw }}', 'database': 'n' * 129},
         'ignore_errors': True},
    ], secrets={'key_pw': KEY_PW, 'weak': 'weakweakweak'})
    assert 'password is required to create the master key' in run.result('no password')['msg']
    weak = run.result('weak password')
    assert weak['failed'] and 'password policy' in weak['msg'] and weak['error_number'] in (15116, 15117, 15118)
    assert 'at most 128' in run.result('database name')['msg']
    sent = [sql for trips in per_connection(emulator, mark) for sql in ddl_in(trips)]
    assert len(sent) == 1 and sent[0].startswith('CREATE MASTER KEY')       # the one SQL Server refused
    assert key_state(emulator)[0] is False
