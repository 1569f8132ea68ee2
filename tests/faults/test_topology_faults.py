"""Kill the instance (crash-before / crash-after) or drop the connection at a statement of the
certificate_topology run, restart, run again: the topology converges to the state of an uninterrupted
run, with no manual repair.

make test runs a sample of steps; make fuzz (MSSQL_HADR_FAULTS=all) runs every distinct statement the
collection sends to each replica, with each of the three faults (MSSQL_HADR_FAULTS_START=N resumes at case N).
"""
import os
import re

import pytest

from tests.emulator.fixtures import EmulatorError
from tests.faults.topology_state import fault_regex, fingerprint, steps
from tests.support.topology import run_playbook, start_replicas

pytestmark = pytest.mark.slow

NAMES = ['sql1', 'sql2']
ACTIONS = ('crash-before', 'crash-after', 'drop')
ALL_STEPS = os.environ.get('MSSQL_HADR_FAULTS') == 'all'
START = int(os.environ.get('MSSQL_HADR_FAULTS_START', '0'))     # resume a long run at case N (0-based)
ONLY = os.environ.get('MSSQL_HADR_FAULTS_ONLY', '')              # only statements matching this regex
# The sample: (replica, statement prefix, fault) - the own certificate, the endpoint, and a partner grant.
SAMPLE = [('sql1', 'CREATE CERTIFICATE [sql1_hadr]', 'crash-after'),
          ('sql2', 'GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [sql1_login]', 'drop')]


@pytest.fixture(scope='module')
def reference(module_emulators):
    """One uninterrupted run: its final state and the statements each replica received."""
    replicas = start_replicas(module_emulators, NAMES)
    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc == 0, str(run)
    sent = dict((r.name, steps(r)) for r in replicas)      # before fingerprint(), whose reads are logged too
    return {'state': fingerprint(replicas), 'steps': sent}


def interrupted_run(emulator_factory, replica_name, regex, action):
    """Fresh replicas; the fault on one replica; run, restart if it died, run again. Returns the replicas."""
    replicas = start_replicas(emulator_factory, NAMES)
    target = next(r for r in replicas if r.name == replica_name)
    target.instance.ctl('fault', '--match', regex, '--action', action)
    first = run_playbook('certificate_topology.yml', replicas)
    assert first.rc != 0, 'the fault %s at %r did not interrupt the run:\n%s' % (action, regex, first)
    if action.startswith('crash'):
        assert not target.instance.running, 'crash fault fired but the instance still runs'
        target.instance.start()
    second = run_playbook('certificate_topology.yml', replicas)
    assert second.rc == 0, 'the run after %s at %r did not converge:\n%s' % (action, regex, second)
    return replicas


def cases(reference):
    if not ALL_STEPS:
        found = []
        for replica, prefix, action in SAMPLE:
            sql = next((s for s in reference['steps'][replica] if s.startswith(prefix)), None)
            assert sql is not None, 'no statement %r in the reference run of %s' % (prefix, replica)
            found.append((replica, sql, action))
        return found
    found = []
    for replica in NAMES:
        seen = set()
        for sql in reference['steps'][replica]:
            regex = fault_regex(sql)
            if regex not in seen:          # a fault fires at the first statement it matches
                seen.add(regex)
                found += [(replica, sql, action) for action in ACTIONS]
    return found


def test_every_fault_converges_to_the_uninterrupted_state(reference, emulator_factory):
    failures = []
    tried = [c for c in cases(reference)[START:] if re.search(ONLY, c[1])]
    for replica, sql, action in tried:
        try:
            replicas = interrupted_run(emulator_factory, replica, fault_regex(sql), action)
            state = fingerprint(replicas)
            assert state == reference['state'], 'final state differs:\n%r\nreference:\n%r' % (state, reference['state'])
            print('fault case ok: %s at %s on %s' % (action, sql[:80], replica), flush=True)
        except (AssertionError, EmulatorError) as exc:
            failures.append('%s at %s on %s: %s' % (action, sql[:120], replica, str(exc)[:3000]))
            print('fault case FAILED: %s' % failures[-1][:300], flush=True)
    assert tried and not failures, '%d of %d fault cases failed:\n\n%s' % (len(failures), len(tried), '\n\n'.join(failures))
