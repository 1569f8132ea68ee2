"""certificate_topology.yml on emulated replicas: converge, a second run that changes nothing and runs no
DDL, trust verified by the matrix and read back by plain SQL, and cost that does not grow with the
number of replicas."""
import json
import os
import re
import subprocess
import sys

import pytest

from tests.support.topology import (
    changed_tasks, run_playbook, start_replicas, verify)
from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow

DDL = re.compile(r'^\s*(CREATE|ALTER|DROP|GRANT|REVOKE|DENY|BACKUP|OPEN)\b', re.IGNORECASE)
READ_TRUST = os.path.join(REPO_ROOT, 'extensions', 'molecule', 'shared', 'read_trust.py')


def ddl_since(replica, mark):
    return [e['sql'] for e in replica.instance.log_entries(since=mark) if e.get('sql') and DDL.match(e['sql'])]


def read_trust(replicas, tmp_path, mode='certificate', *network):
    """The independent plain-SQL read-back (extensions/molecule/shared/read_trust.py)."""
    state = tmp_path / 'state.json'
    state.write_text(json.dumps(dict((r.name, {'sql_port': r.instance.port}) for r in replicas)))
    return subprocess.run([sys.executable, READ_TRUST, str(state), mode] + list(network), capture_output=True,
                          text=True, check=False, cwd=REPO_ROOT)


def test_three_replicas_converge_then_nothing_changes(emulator_factory, tmp_path):
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2', 'sql3'])
    first = run_playbook('certificate_topology.yml', replicas)
    assert first.rc == 0, str(first)
    changed_hosts = set(host for host, _task in changed_tasks(first))
    assert changed_hosts == {'sql1', 'sql2', 'sql3'}

    marks = [r.instance.mark_log() for r in replicas]
    second = run_playbook('certificate_topology.yml', replicas)
    assert second.rc == 0, str(second)
    assert changed_tasks(second) == []
    for replica, mark in zip(replicas, marks):
        assert ddl_since(replica, mark) == [], replica.name

    run, matrix = verify(replicas, report_path=str(tmp_path / 'report.md'))
    assert run.rc == 0, str(run)
    assert matrix['ok'] and len(matrix['pairs']) == 6
    assert [r['port'] for r in matrix['replicas']] == [r.endpoint_port for r in replicas]
    report = (tmp_path / 'report.md').read_text()
    assert '```mermaid' in report and 'all 6 ordered pairs can authenticate' in report

    trust = read_trust(replicas, tmp_path)
    assert trust.returncode == 0, trust.stdout + trust.stderr
    assert sorted(line for line in trust.stdout.splitlines() if line.endswith(': trusted')) == sorted(
        '%s -> %s: trusted' % (a, b) for a in ('sql1', 'sql2', 'sql3') for b in ('sql1', 'sql2', 'sql3') if a != b)

    # every endpoint listens on its own port (instances sharing a computer)
    for replica in replicas:
        rows = replica.query('SELECT t.port FROM sys.tcp_endpoints t JOIN sys.database_mirroring_endpoints e '
                             'ON e.endpoint_id = t.endpoint_id')
        assert [row[0] for row in rows] == [replica.endpoint_port]


def test_check_mode_on_fresh_replicas_changes_nothing(emulator_factory):
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2'])
    marks = [r.instance.mark_log() for r in replicas]
    run = run_playbook('certificate_topology.yml', replicas, check=True)
    assert run.rc == 0, str(run)
    assert changed_tasks(run)  # it predicts the change
    for replica, mark in zip(replicas, marks):
        assert ddl_since(replica, mark) == [], replica.name
        assert replica.query('SELECT name FROM sys.database_mirroring_endpoints') == []


def test_missing_master_key_password_fails_before_any_change(emulator_factory):
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2'])
    for replica in replicas:
        del replica.hostvars['hadr_master_key_password']
    marks = [r.instance.mark_log() for r in replicas]
    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc != 0
    failed = [r for r in run.records if r.get('failed')]
    assert {r['host'] for r in failed} == {'sql1', 'sql2'}
    assert all('set hadr_master_key_password' in r['msg'] for r in failed)
    for replica, mark in zip(replicas, marks):
        assert replica.instance.log_entries(since=mark) == []  # not even a connection


def test_a_partner_that_failed_stops_the_trust_of_the_others_then_a_fixed_run_converges(emulator_factory):
    """sql2 cannot log in: sql1 and sql3 build their own endpoint but trust nobody, and say why."""
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2', 'sql3'])
    replicas[1].hostvars['hadr_sql_password'] = 'not-the-password'
    run = run_playbook('certificate_topology.yml', replicas, extra_vars={'hadr_exclusive': True})
    assert run.rc != 0
    failed = dict((r['host'], r) for r in run.records if r.get('failed'))
    assert set(failed) == {'sql1', 'sql2', 'sql3'}, failed
    assert '18456' in failed['sql2']['msg']
    for name in ('sql1', 'sql3'):
        assert failed[name]['task'].endswith('Check that every partner published its public certificate')
        assert 'cannot trust sql2' in failed[name]['msg'] and 'failed earlier in this play' in failed[name]['msg']
    for replica in (replicas[0], replicas[2]):
        assert replica.query('SELECT name FROM sys.database_mirroring_endpoints') != []
        assert replica.query("SELECT name FROM sys.server_principals WHERE name LIKE 'sql%_login'") == []
    replicas[1].hostvars['hadr_sql_password'] = replicas[1].instance.sa_password
    fixed = run_playbook('certificate_topology.yml', replicas, extra_vars={'hadr_exclusive': True})
    assert fixed.rc == 0, str(fixed)
    run, matrix = verify(replicas)
    assert run.rc == 0 and matrix['ok'], str(run)


def test_tasks_and_connections_per_replica_do_not_grow_with_the_number_of_replicas(emulator_factory):
    measured = {}
    for size in (2, 4):
        replicas = start_replicas(emulator_factory, ['n%d_%d' % (size, i) for i in range(size)])
        marks = [r.instance.mark_log() for r in replicas]
        run = run_playbook('certificate_topology.yml', replicas)
        assert run.rc == 0, str(run)
        # a run_once task is recorded for one host and applies to all of them
        tasks = set(len([x for x in run.records if x.get('host') == r.name or x.get('run_once')]) for r in replicas)
        conns = set(r.connections_since(mark) for r, mark in zip(replicas, marks))
        measured[size] = (tasks, conns)
    assert measured[2] == measured[4], measured
    tasks, conns = measured[2]
    assert len(tasks) == 1 and len(conns) == 1, measured
    # endpoint_info, master_key, certificate, endpoint, partner_trust: one connection each
    assert conns == {5}, measured


def test_firewall_without_an_address_fails_before_any_change(emulator_factory):
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2'])
    for replica in replicas:
        replica.hostvars['hadr_firewall'] = True  # the inventory names are no IP addresses
    marks = [r.instance.mark_log() for r in replicas]
    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc != 0
    failed = [r for r in run.records if r.get('failed')]
    assert {r['host'] for r in failed} == {'sql1', 'sql2'}
    assert all('set hadr_firewall_address' in r['msg'] for r in failed), failed
    for replica, mark in zip(replicas, marks):
        assert replica.instance.log_entries(since=mark) == []
