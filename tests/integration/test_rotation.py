"""rotate_certificates.yml with every endpoint marked in use: step by step with verify_topology between
the steps, then a second rotation; and a rotation interrupted at each step, then run again."""
import pytest

from tests.support.topology import changed_tasks, run_playbook, start_replicas, verify

pytestmark = pytest.mark.slow

STEPS = ('rotate_create', 'rotate_distribute', 'rotate_switch', 'rotate_cleanup')
# The statement each step sends, to interrupt the rotation there (emulator fault on one replica).
STEP_STATEMENTS = {
    'rotate_create': r'CREATE CERTIFICATE .*WITH SUBJECT',
    'rotate_distribute': r'CREATE CERTIFICATE .*FROM BINARY',
    'rotate_switch': r'ALTER ENDPOINT',
    'rotate_cleanup': r'DROP CERTIFICATE',
}


@pytest.fixture
def topology_in_use(emulator_factory):
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2', 'sql3'])
    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc == 0, str(run)
    for replica in replicas:
        replica.instance.ctl('mark-in-use', '--availability-group', 'ag1')
    return replicas


def endpoint_certificate(replica):
    rows = replica.query('SELECT c.name FROM master.sys.certificates c JOIN sys.database_mirroring_endpoints e '
                         'ON e.certificate_id = c.certificate_id')
    return rows[0][0] if rows else None


def certificates(replica):
    return sorted(row[0] for row in replica.query('SELECT name FROM master.sys.certificates'))


def assert_verified(replicas):
    run, matrix = verify(replicas)
    assert run.rc == 0 and matrix['ok'], str(run)


def test_rotation_step_by_step_with_verify_between_then_again(topology_in_use):
    replicas = topology_in_use
    before = dict((r.name, certificates(r)) for r in replicas)
    assert all(len(c) == 3 for c in before.values()), before  # own + one copy per partner
    for step in STEPS:
        run = run_playbook('rotate_certificates.yml', replicas, extra_vars={'hadr_rotation_id': 'r1'}, tags=[step])
        assert run.rc == 0, str(run)
        assert changed_tasks(run), step
        assert_verified(replicas)
    for replica in replicas:
        assert endpoint_certificate(replica) == '%s_hadr_r1' % replica.name
        assert len(certificates(replica)) == 3, certificates(replica)  # old ones removed
        assert '%s_hadr' % replica.name not in certificates(replica)

    again = run_playbook('rotate_certificates.yml', replicas, extra_vars={'hadr_rotation_id': 'r1'})
    assert again.rc == 0, str(again)
    assert changed_tasks(again) == []  # the same rotation again: nothing left to do

    second = run_playbook('rotate_certificates.yml', replicas, extra_vars={'hadr_rotation_id': 'r2'})
    assert second.rc == 0, str(second)
    assert_verified(replicas)
    for replica in replicas:
        assert endpoint_certificate(replica) == '%s_hadr_r2' % replica.name
        assert len(certificates(replica)) == 3
    # the topology role keeps the rotated certificate
    role = run_playbook('certificate_topology.yml', replicas)
    assert role.rc == 0 and changed_tasks(role) == [], str(role)


def test_rotation_interrupted_at_each_step_then_run_again(topology_in_use):
    """Four rotations on one topology, each cut off at a different step on one replica (the connection
    dropped on that step's statement); the partners still trust each other, and a second run finishes."""
    replicas = topology_in_use
    victim = replicas[1]
    for number, step in enumerate(STEPS, 1):
        rotation = {'hadr_rotation_id': 'x%d' % number}
        victim.instance.ctl('fault', '--match', STEP_STATEMENTS[step], '--action', 'drop', '--times', '1')
        interrupted = run_playbook('rotate_certificates.yml', replicas, extra_vars=rotation)
        assert interrupted.rc != 0, step
        failed = [r for r in interrupted.records if r.get('failed')]
        assert failed and failed[0]['host'] == victim.name, (step, failed)
        assert_verified(replicas)  # an interrupted rotation never leaves a broken pair behind

        rerun = run_playbook('rotate_certificates.yml', replicas, extra_vars=rotation)
        assert rerun.rc == 0, str(rerun)
        assert_verified(replicas)
        for replica in replicas:
            assert endpoint_certificate(replica) == '%s_hadr_x%d' % (replica.name, number), step
            assert len(certificates(replica)) == 3, (step, certificates(replica))
