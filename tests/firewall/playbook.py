"""Run real ansible-playbook inside a Sandbox and get every task's result back.

tests/support/playbook.py runs playbooks on the host; these must run inside the sandbox's
namespaces, so this wrapper adds the `nsenter` prefix. Results come from the same record_results
callback (tests/support/callback); each task gets `ignore_errors` so one failure does not hide the
results of the tasks after it.
"""
import json
import os
import sys
import tempfile

import yaml

from tests.firewall.sandbox import run
from tests.support import collection_path
from tests.support.playbook import CALLBACK_DIR

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


def task(title, check=False, **params):
    """One mssql.hadr.firewall task (always with --diff so the diff can be asserted)."""
    return {'name': title, 'mssql.hadr.firewall': params, 'check_mode': check, 'diff': True}


class Results(list):
    """Per-task results in task order, plus the playbook's output in `.stdout`."""
    stdout = ''


def run_tasks(sandbox, tasks, verbosity=0):
    """Run the tasks in one play on the sandbox's server side (on the host itself when sandbox is
    None); return their results."""
    with tempfile.TemporaryDirectory(prefix='mssql-hadr-fwpb-') as tmp:
        out = os.path.join(tmp, 'results.jsonl')
        play = [{'hosts': 'localhost', 'gather_facts': False,
                 'tasks': [dict(item, ignore_errors=True) for item in tasks]}]
        path = os.path.join(tmp, 'play.yml')
        with open(path, 'w') as handle:
            yaml.safe_dump(play, handle)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_path(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_CONFIG=os.path.join(tmp, 'none.cfg'), ANSIBLE_LOCALHOST_WARNING='0',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_CALLBACK_PLUGINS=CALLBACK_DIR, ANSIBLE_CALLBACKS_ENABLED='record_results',
                   MSSQL_HADR_RESULTS_FILE=out)
        prefix = sandbox.enter() if sandbox else []
        proc = run(prefix + [ANSIBLE_PLAYBOOK, '-i', 'localhost,', '-c', 'local', path] + ['-v'] * verbosity,
                   check=False, env=env)
        records = []
        if os.path.exists(out):
            with open(out) as handle:
                records = [r for r in map(json.loads, handle) if 'play_hosts' not in r]
        if proc.returncode != 0 or len(records) != len(tasks):
            raise AssertionError('ansible-playbook failed (rc=%d, %d results for %d tasks)\n%s\n%s'
                                 % (proc.returncode, len(records), len(tasks), proc.stdout, proc.stderr))
        found = Results(records)
        found.stdout = proc.stdout
        return found
