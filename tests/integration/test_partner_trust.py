"""mssql.hadr.partner_trust, Windows topology (certificate topology: test_partner_trust_certificates.py)."""
import pytest

from tests.support.emulated_sql import connect_grantees
from tests.support.secrets_play import ddl_in, execute, login_row, per_connection, play

pytestmark = pytest.mark.slow

ENDPOINT = ('CREATE ENDPOINT [Hadr_endpoint] STATE = STOPPED AS TCP (LISTENER_PORT = %d) '
            'FOR DATABASE_MIRRORING (ROLE = ALL)')


def accounts(count):
    return ['CONTOSO\\sqlsvc-%d' % number for number in range(1, count + 1)]


def windows_partners(names):
    return [{'name': name.split('\\')[1], 'windows_account': name} for name in names]


@pytest.mark.parametrize('count', [2, 7])
def test_all_partners_in_one_connection_and_idempotent(emulator_factory, count):
    emulator = emulator_factory(windows_accounts=accounts(7))
    execute(emulator, ENDPOINT % 5997)
    partners = windows_partners(accounts(count))
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'predict', 'mssql.hadr.partner_trust': {'partners': partners}, 'check_mode': True},
        {'name': 'trust', 'mssql.hadr.partner_trust': {'partners': partners}},
        {'name': 'again', 'mssql.hadr.partner_trust': {'partners': partners}},
    ], diff=True)
    assert run.rc == 0, str(run)
    trust = run.result('trust')
    expected = []
    for account in accounts(count):
        expected += ['CREATE LOGIN [%s] FROM WINDOWS WITH DEFAULT_DATABASE = [master]' % account,
                     'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [%s]' % account]
    assert run.result('predict')['queries'] == expected == trust['queries']
    assert [p['actions'] for p in trust['partners']] == [['created login', 'granted CONNECT']] * count
    assert trust['diff']['before'][partners[0]['name']] == {'login': False, 'connect': False}
    assert trust['diff']['after'][partners[0]['name']] == {'login': True, 'connect': True}
    again = run.result('again')
    assert not again['changed'] and again['queries'] == [] and not any(p['changed'] for p in again['partners'])

    predict_trips, trust_trips, again_trips = per_connection(emulator, mark)   # one connection per run
    assert len(predict_trips) == 1 and len(again_trips) == 1                  # one read, whatever the count
    assert ddl_in(predict_trips) == [] and ddl_in(again_trips) == []
    assert ddl_in(trust_trips) == expected and len(trust_trips) == 1 + len(expected)
    assert connect_grantees(emulator) == sorted(accounts(count), key=str.casefold)


def test_exclusive_revokes_unlisted_partners_and_honours_the_in_use_guard(emulator_factory):
    emulator = emulator_factory(windows_accounts=accounts(3))
    execute(emulator, ENDPOINT % 5996)
    run = play(emulator, [{'name': 'three', 'mssql.hadr.partner_trust': {
        'partners': windows_partners(accounts(3))}}])
    assert run.rc == 0, str(run)
    emulator.ctl('mark-in-use', '--mirroring', 'mirrored_db')
    keep = windows_partners(accounts(1))
    mark = emulator.mark_log()
    run = play(emulator, [
        {'name': 'refused', 'mssql.hadr.partner_trust': {'partners': keep, 'exclusive': True}, 'ignore_errors': True},
        {'name': 'allowed',
         'mssql.hadr.partner_trust': {'partners': keep, 'exclusive': True, 'reconfigure_in_use': True}},
        {'name': 'again', 'mssql.hadr.partner_trust': {'partners': keep, 'exclusive': True}},
    ], diff=True)
    refused = run.result('refused')
    assert refused['failed'] and "Refusing to remove the trust of 'CONTOSO\\sqlsvc-2'" in refused['msg']
    assert "database mirroring of 'mirrored_db'" in refused['msg'] and refused['queries'] == []
    assert ddl_in(per_connection(emulator, mark)[0]) == []
    allowed = run.result('allowed')
    assert allowed['queries'] == ['REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [CONTOSO\\sqlsvc-2]',
                                  'REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [CONTOSO\\sqlsvc-3]']
    assert [r['login'] for r in allowed['removed']] == ['CONTOSO\\sqlsvc-2', 'CONTOSO\\sqlsvc-3']
    assert not run.result('again')['changed']            # nothing left to remove: the guard does not fire
    assert connect_grantees(emulator) == ['CONTOSO\\sqlsvc-1']
    assert login_row(emulator, 'CONTOSO\\sqlsvc-3') is not None   # Windows logins are kept, only untrusted


def test_bad_input_fails_clearly_and_changes_nothing(emulator_factory):
    emulator = emulator_factory(windows_accounts=accounts(1))
    cases = [
        ('no endpoint', {'partners': windows_partners(accounts(1))}, 'has no database mirroring endpoint'),
        ('both sources', {'partners': [{'name': 'x', 'windows_account': 'CONTOSO\\sqlsvc-1',
                                        'public_certificate': 'abc'}]}, 'exactly one of'),
        ('duplicate', {'partners': windows_partners(accounts(1)) * 2}, 'listed twice'),
        ('bad pattern', {'partners': windows_partners(accounts(1)), 'login_pattern': 'static'},
         'login_pattern must use exactly the fields {partner}'),
        ('no thumbprint', {'partners': windows_partners(accounts(1)), 'certificate_pattern': '{partner}'},
         'certificate_pattern must use exactly the fields {partner}, {thumbprint}'),
        ('bad certificate', {'partners': [{'name': 'x', 'public_certificate': 'not a certificate'}]},
         'neither a PEM certificate nor base64'),
        ('bad windows name', {'partners': [{'name': 'x', 'windows_account': 'nodomain'}]}, 'DOMAIN\\name'),
    ]
    mark = emulator.mark_log()
    run = play(emulator, [{'name': name, 'mssql.hadr.partner_trust': args, 'ignore_errors': True}
                          for name, args, dummy in cases])
    for name, dummy, text in cases:
        result = run.result(name)
        assert result['failed'] and text in result['msg'], (name, result['msg'])
    assert all(ddl_in(trips) == [] for trips in per_connection(emulator, mark))
    execute(emulator, ENDPOINT % 5995)
    run = play(emulator, [{'name': 'unknown account', 'ignore_errors': True, 'mssql.hadr.partner_trust': {
        'partners': [{'name': 'ghost', 'windows_account': 'CONTOSO\\ghost'}]}}])
    result = run.result('unknown account')
    assert result['failed'] and result['error_number'] == 15401 and result['executed'] == []
    assert connect_grantees(emulator) == []
