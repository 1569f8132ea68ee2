"""windows_topology.yml on emulated Windows replicas: different domain accounts, a virtual account seen as
its computer account, a second run that changes nothing, and the preflight refusals."""
import pytest

from tests.integration.test_roles_certificate import read_trust
from tests.support.topology import changed_tasks, run_playbook, start_replicas, verify

pytestmark = pytest.mark.slow

ACCOUNTS = ['CONTOSO\\svc_sql1', 'CONTOSO\\svc_sql2', 'CONTOSO\\SQL3$']


def windows_replicas(emulator_factory, third_account='NT Service\\MSSQLSERVER', third_platform='windows'):
    options = {
        'sql1': {'service_account': 'CONTOSO\\svc_sql1', 'windows_accounts': ACCOUNTS},
        'sql2': {'service_account': 'CONTOSO\\svc_sql2', 'windows_accounts': ACCOUNTS},
        'sql3': {'service_account': third_account, 'windows_accounts': ACCOUNTS, 'platform': third_platform,
                 'hostvars': {'hadr_computer_account': 'CONTOSO\\SQL3$'}},
    }
    return start_replicas(emulator_factory, ['sql1', 'sql2', 'sql3'], **options)


def test_three_replicas_converge_then_nothing_changes(emulator_factory, tmp_path):
    replicas = windows_replicas(emulator_factory)
    first = run_playbook('windows_topology.yml', replicas)
    assert first.rc == 0, str(first)
    second = run_playbook('windows_topology.yml', replicas)
    assert second.rc == 0, str(second)
    assert changed_tasks(second) == []

    run, matrix = verify(replicas)
    assert run.rc == 0, str(run)
    assert matrix['ok'] and {p['authentication'] for p in matrix['pairs']} == {'windows'}

    # sql3 runs as a virtual account: its partners granted its computer account
    for replica in replicas[:2]:
        grantees = [row[0] for row in replica.query(
            "SELECT g.name FROM sys.server_permissions p JOIN sys.server_principals g "
            "ON g.principal_id = p.grantee_principal_id WHERE p.class = 105 AND p.permission_name = 'CONNECT'")]
        assert 'CONTOSO\\SQL3$' in grantees, grantees
    trust = read_trust(replicas, tmp_path, 'windows', 'sql3=CONTOSO\\SQL3$')
    assert trust.returncode == 0, trust.stdout + trust.stderr


def test_same_service_account_everywhere_needs_no_login(emulator_factory):
    options = dict((n, {'service_account': 'CONTOSO\\svc_all', 'windows_accounts': ['CONTOSO\\svc_all']})
                   for n in ('sql1', 'sql2'))
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2'], **options)
    run = run_playbook('windows_topology.yml', replicas)
    assert run.rc == 0, str(run)
    for replica in replicas:
        assert replica.query("SELECT name FROM sys.server_principals WHERE name = 'CONTOSO\\svc_all'") == []
    run, matrix = verify(replicas)
    assert run.rc == 0 and matrix['ok'], str(run)


@pytest.mark.parametrize('account', ['LocalSystem', 'NT AUTHORITY\\LOCAL SERVICE', '.\\localsvc'])
def test_unusable_service_account_is_refused_pointing_to_certificate_topology(emulator_factory, account):
    replicas = windows_replicas(emulator_factory, third_account=account)
    marks = [r.instance.mark_log() for r in replicas]
    run = run_playbook('windows_topology.yml', replicas)
    assert run.rc != 0
    refusal = [r for r in run.results_for('sql3') if r.get('failed')]
    assert len(refusal) == 1 and 'certificate_topology' in refusal[0]['msg'], refusal
    assert 'service accounts that cannot use Windows authentication' in refusal[0]['task']
    sql3_ddl = [e for e in replicas[2].instance.log_entries(since=marks[2])
                if e.get('sql') and e['sql'].lstrip().upper().startswith(('CREATE', 'ALTER', 'GRANT'))]
    assert sql3_ddl == []


def test_linux_replica_is_refused(emulator_factory):
    replicas = windows_replicas(emulator_factory, third_account='mssql', third_platform='linux')
    run = run_playbook('windows_topology.yml', replicas)
    assert run.rc != 0
    refusal = [r for r in run.results_for('sql3') if r.get('failed')]
    assert len(refusal) == 1 and 'on Linux' in refusal[0]['msg'] and 'certificate_topology' in refusal[0]['msg']


def test_tasks_and_connections_per_replica_do_not_grow_with_the_number_of_replicas(emulator_factory):
    measured = {}
    for size in (2, 4):
        names = ['w%d_%d' % (size, i) for i in range(size)]
        accounts = ['CONTOSO\\svc_%s' % name for name in names]
        options = dict((name, {'service_account': account, 'windows_accounts': accounts})
                       for name, account in zip(names, accounts))
        replicas = start_replicas(emulator_factory, names, **options)
        marks = [r.instance.mark_log() for r in replicas]
        run = run_playbook('windows_topology.yml', replicas)
        assert run.rc == 0, str(run)
        measured[size] = (set(len(run.results_for(r.name)) for r in replicas),
                          set(r.connections_since(mark) for r, mark in zip(replicas, marks)))
    assert measured[2] == measured[4], measured
    # endpoint_info, endpoint, partner_trust: one connection each
    assert measured[2][1] == {3}, measured
