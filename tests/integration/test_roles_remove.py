"""remove_topology.yml: refused without confirmation and while an endpoint is in use; then removes the
partner trust, the endpoint and the own certificates, keeps the master key, and a second run changes
nothing."""
import pytest

from tests.support.topology import changed_tasks, run_playbook, start_replicas

pytestmark = pytest.mark.slow


def catalog(replica):
    return {
        'endpoints': replica.query('SELECT name FROM sys.database_mirroring_endpoints'),
        'certificates': sorted(r[0] for r in replica.query('SELECT name FROM master.sys.certificates')),
        'partner_logins': sorted(r[0] for r in replica.query(
            "SELECT name FROM sys.server_principals WHERE name LIKE '%[_]login'")),
        'master_key': len(replica.query(
            "SELECT name FROM master.sys.symmetric_keys WHERE name = '##MS_DatabaseMasterKey##'")),
    }


def test_remove_topology(emulator_factory):
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2'])
    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc == 0, str(run)
    built = [catalog(r) for r in replicas]
    assert built[0]['partner_logins'] == ['sql2_login'] and built[0]['endpoints'], built

    unconfirmed = run_playbook('remove_topology.yml', replicas)
    assert unconfirmed.rc != 0
    assert all('hadr_confirm_removal=true' in r['msg'] for r in unconfirmed.records if r.get('failed'))
    assert [catalog(r) for r in replicas] == built

    replicas[0].instance.ctl('mark-in-use', '--availability-group', 'ag1')
    refused = run_playbook('remove_topology.yml', replicas, extra_vars={'hadr_confirm_removal': True})
    assert refused.rc != 0
    failed = [r for r in refused.records if r.get('failed')]
    assert [r['host'] for r in failed] == ['sql1'] and 'in use' in failed[0]['msg'], failed
    assert catalog(replicas[0]) == built[0]

    replicas[0].instance.ctl('clear')
    removed = run_playbook('remove_topology.yml', replicas, extra_vars={'hadr_confirm_removal': True})
    assert removed.rc == 0, str(removed)
    for replica in replicas:
        state = catalog(replica)
        assert state == {'endpoints': [], 'certificates': [], 'partner_logins': [], 'master_key': 1}, state

    again = run_playbook('remove_topology.yml', replicas, extra_vars={'hadr_confirm_removal': True})
    assert again.rc == 0, str(again)
    assert changed_tasks(again) == []
