"""Run the collection's playbooks (playbooks/*.yml) on several emulated replicas.

    replicas = start_replicas(emulator_factory, ['sql1', 'sql2', 'sql3'])
    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc == 0, run

Each replica is an inventory host with a local connection; its hadr_* variables point the SQL modules at
its own emulator and give it its own endpoint port (instances sharing a computer need different ports).
The firewall is off: these tests never touch the host's firewall.
"""
import os
import subprocess
import tempfile

import yaml

from tests.emulator.fixtures import connections, free_port
from tests.support import REPO_ROOT
from tests.support.playbook import PlaybookRun, _environment, _read_records, ansible_playbook_path

MASTER_KEY_PASSWORD = 'Topology-Master-Key-Passw0rd!'
PLAYBOOKS = os.path.join(REPO_ROOT, 'playbooks')


class Replica:
    """One emulated SQL Server instance and its inventory host."""

    def __init__(self, name, instance, endpoint_port, hostvars):
        self.name = name
        self.instance = instance
        self.endpoint_port = endpoint_port
        self.hostvars = hostvars

    def query(self, sql):
        conn = self.instance.connect()
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
        finally:
            conn.close()

    def execute(self, sql):
        """Plain SQL from the test itself, e.g. to break the topology on purpose."""
        conn = self.instance.connect()
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    def connections_since(self, mark):
        return len(connections(self.instance.log_entries(since=mark)))


def start_replicas(emulator_factory, names, **per_name_options):
    """Start one emulator per name; ``per_name_options[name]`` are extra emulator options (service_account ...)."""
    replicas = []
    for name in names:
        options = dict(per_name_options.get(name, {}))
        hostvars_extra = options.pop('hostvars', {})
        instance = emulator_factory(server_name=name.upper(), **options)
        port = free_port()
        hostvars = {
            'ansible_connection': 'local',
            'ansible_python_interpreter': _python(),
            'hadr_sql_host': instance.host,
            'hadr_sql_port': instance.port,
            'hadr_sql_user': 'sa',
            'hadr_sql_password': instance.sa_password,
            'hadr_sql_odbc_driver': 'FreeTDS',
            'hadr_sql_encrypt': False,
            'hadr_endpoint_fqdn': instance.host,
            'hadr_endpoint_port': port,
            'hadr_master_key_password': MASTER_KEY_PASSWORD,
            'hadr_firewall': False,
        }
        hostvars.update(hostvars_extra)
        replicas.append(Replica(name, instance, port, hostvars))
    return replicas


def _python():
    import sys
    return sys.executable


def inventory(replicas):
    return {'all': {'hosts': dict((r.name, r.hostvars) for r in replicas)}}


def run_playbook(playbook, replicas, extra_vars=None, tags=None, check=False, verbosity=0, timeout=600, env=None):
    """Run playbooks/<playbook> with real ansible-playbook; returns a PlaybookRun (records of every host).

    ``env``: extra environment for ansible-playbook.
    """
    with tempfile.TemporaryDirectory(prefix='mssql-hadr-topology-') as workdir:
        os.makedirs(os.path.join(workdir, 'tmp'))
        with open(os.path.join(workdir, 'ansible.cfg'), 'w') as handle:
            handle.write('[defaults]\n')
        inventory_path = os.path.join(workdir, 'inventory.yml')
        with open(inventory_path, 'w') as handle:
            yaml.safe_dump(inventory(replicas), handle, sort_keys=False)
        command = [ansible_playbook_path(), '-i', inventory_path, os.path.join(PLAYBOOKS, playbook)]
        if extra_vars:
            vars_path = os.path.join(workdir, 'extra_vars.yml')
            with open(vars_path, 'w') as handle:
                yaml.safe_dump(extra_vars, handle)
            command += ['-e', '@' + vars_path]
        if tags:
            command += ['--tags', ','.join(tags)]
        if check:
            command.append('--check')
        if verbosity:
            command.append('-' + 'v' * verbosity)
        results_file = os.path.join(workdir, 'results.jsonl')
        proc = subprocess.run(command, cwd=workdir, env=_environment(workdir, results_file, env),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              check=False)
        return PlaybookRun(proc.returncode, _read_records(results_file), proc.stdout, proc.stderr, command)


def changed_tasks(run):
    """(host, task) of every result that reported a change."""
    return [(r['host'], r['task']) for r in run.records if r.get('changed')]


def trust_matrix_of(run):
    """The trust matrix computed by verify_topology.yml (from its set_fact result)."""
    found = [r for r in run.records if r['task'] == 'Compute the trust matrix']
    assert len(found) == 1, run
    return found[0]['ansible_facts']['verify_topology_matrix']


def broken_pairs(matrix):
    """{(source, target): sorted reason codes} of the broken pairs."""
    return dict(((p['source'], p['target']), sorted(set(x['reason'] for x in p['problems'])))
                for p in matrix['broken'])


def verify(replicas, report_path=None):
    """Run verify_topology.yml; returns (run, matrix)."""
    extra = {'hadr_report_path': report_path or os.path.join(tempfile.gettempdir(), 'unused-report.md'),
             'hadr_verify_timeout': 2}
    run = run_playbook('verify_topology.yml', replicas, extra_vars=extra)
    return run, trust_matrix_of(run)
