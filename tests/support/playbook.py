"""Run tasks through the real ansible-playbook and get each task's result back.

    run = run_tasks([{'name': 'create', 'mssql.hadr.login': {...}}], diff=True)
    assert run.rc == 0, run
    assert run.result('create')['changed']

The playbook and inventory are written to a temporary directory; ansible-playbook is the venv's
(`.venv/bin`, else the bin directory of the running python) with the collection on
ANSIBLE_COLLECTIONS_PATH. Results come from the record_results callback (tests/support/callback),
so stdout is the normal human-readable output at the requested verbosity.
Contract: docs/dev/contracts.md ("Playbook test helper").
"""
import json
import os
import subprocess
import sys
import tempfile

import yaml

from tests.support import REPO_ROOT, collection_path

CALLBACK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback')
DEFAULT_TIMEOUT = 600


class PlaybookRun:
    """Outcome of one ansible-playbook run."""

    def __init__(self, rc, records, stdout, stderr, command):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.command = command
        play_hosts = [h for r in records if 'play_hosts' in r for h in r['play_hosts']]
        self.records = [r for r in records if 'play_hosts' not in r]   # every host's results, as they arrived
        self.host = (play_hosts or [r['host'] for r in self.records] or [None])[0]
        self.results = self.results_for(self.host)

    def results_for(self, host):
        """Per-task results of another host of the play."""
        return [r for r in self.records if r['host'] == host]

    def result(self, name, host=None):
        """The result of the task called `name` (first host unless `host` is given)."""
        results = self.results if host is None else self.results_for(host)
        found = [r for r in results if r['task'] == name]
        if len(found) != 1:
            names = [r['task'] for r in results]
            raise LookupError('%d results for task %r (host %s); tasks that ran: %s\n%s'
                              % (len(found), name, host or self.host, names, self))
        return found[0]

    def __str__(self):
        return ('ansible-playbook exited %s\n--- command: %s\n--- stdout:\n%s\n--- stderr:\n%s'
                % (self.rc, ' '.join(self.command), self.stdout, self.stderr))

    # pytest shows an assertion message through repr(): `assert run.rc == 0, run` prints the output.
    __repr__ = __str__


def ansible_playbook_path():
    # MSSQL_HADR_ANSIBLE_PLAYBOOK: another ansible-core's ansible-playbook, to run the playbook tests on
    # the oldest ansible-core meta/runtime.yml claims; the modules still run with this Python.
    override = os.environ.get('MSSQL_HADR_ANSIBLE_PLAYBOOK')
    if override:
        return override
    for bindir in (os.path.join(REPO_ROOT, '.venv', 'bin'), os.path.dirname(sys.executable)):
        path = os.path.join(bindir, 'ansible-playbook')
        if os.path.exists(path):
            return path
    raise FileNotFoundError('ansible-playbook not found in .venv/bin or %s: run make venv'
                            % os.path.dirname(sys.executable))


def _local_inventory():
    return {'all': {'hosts': {'localhost': {
        'ansible_connection': 'local',
        'ansible_python_interpreter': sys.executable,
    }}}}


def _write_inventory(workdir, inventory):
    if inventory is None:
        inventory = _local_inventory()
    if isinstance(inventory, dict):
        path = os.path.join(workdir, 'inventory.yml')
        with open(path, 'w') as handle:
            yaml.safe_dump(inventory, handle, sort_keys=False)   # keep the host order
        return path
    if os.path.exists(inventory):
        return inventory
    path = os.path.join(workdir, 'inventory')   # inventory text (INI or YAML)
    with open(path, 'w') as handle:
        handle.write(inventory)
    return path


def _environment(workdir, results_file, env):
    collections = collection_path()
    merged = dict(os.environ)
    merged.update({
        'ANSIBLE_CONFIG': os.path.join(workdir, 'ansible.cfg'),   # no stray ansible.cfg applies
        'ANSIBLE_COLLECTIONS_PATH': os.pathsep.join(
            p for p in (collections, os.environ.get('ANSIBLE_COLLECTIONS_PATH')) if p),
        'ANSIBLE_CALLBACK_PLUGINS': CALLBACK_DIR,
        'ANSIBLE_CALLBACKS_ENABLED': 'record_results',
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_LOCAL_TEMP': os.path.join(workdir, 'tmp'),
        'ANSIBLE_REMOTE_TEMP': os.path.join(workdir, 'tmp'),
        'MSSQL_HADR_RESULTS_FILE': results_file,
    })
    merged.update(env or {})
    return merged


def _read_records(results_file):
    if not os.path.exists(results_file):
        return []
    with open(results_file) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def run_tasks(tasks, *, hosts='localhost', vars=None, check=False, diff=False, verbosity=0, env=None,
              inventory=None, timeout=DEFAULT_TIMEOUT):
    """Run `tasks` (a list of task dicts, or YAML text of one) in one play with real ansible-playbook.

    inventory: None (localhost, local connection, this python), a dict (YAML inventory),
    inventory text, or a path. env: extra environment variables for ansible-playbook.
    Returns a PlaybookRun; a non-zero rc is returned, not raised.
    """
    if isinstance(tasks, str):
        tasks = yaml.safe_load(tasks)
    if not isinstance(tasks, list):
        raise TypeError('tasks must be a list of task dicts (or YAML text of one), not %r' % type(tasks))
    play = {'name': 'run_tasks', 'hosts': hosts, 'gather_facts': False, 'tasks': tasks}
    if vars:
        play['vars'] = vars
    with tempfile.TemporaryDirectory(prefix='mssql-hadr-playbook-') as workdir:
        os.makedirs(os.path.join(workdir, 'tmp'))
        with open(os.path.join(workdir, 'ansible.cfg'), 'w') as handle:
            handle.write('[defaults]\n')
        playbook = os.path.join(workdir, 'playbook.yml')
        with open(playbook, 'w') as handle:
            yaml.safe_dump([play], handle, sort_keys=False)
        results_file = os.path.join(workdir, 'results.jsonl')
        command = [ansible_playbook_path(), '-i', _write_inventory(workdir, inventory), playbook]
        if check:
            command.append('--check')
        if diff:
            command.append('--diff')
        if verbosity:
            command.append('-' + 'v' * verbosity)
        proc = subprocess.run(command, cwd=workdir, env=_environment(workdir, results_file, env),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              check=False)
        return PlaybookRun(proc.returncode, _read_records(results_file), proc.stdout, proc.stderr, command)
