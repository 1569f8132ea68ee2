"""Run real ansible-playbook inside a Sandbox and collect every task's registered result.

tests/support/playbook.py runs playbooks on the host; these must run inside the sandbox's
namespaces, so this wrapper adds the `nsenter` prefix and collects results through `register`
(each task gets `ignore_errors` so one failure does not hide the results of the others).
"""
import json
import os
import sys
import tempfile

import yaml

from tests.firewall.sandbox import run
from tests.support import collection_path

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


def task(title, check=False, **params):
    """One mssql.hadr.firewall task (always with --diff so the diff can be asserted)."""
    return {'name': title, 'mssql.hadr.firewall': params, 'check_mode': check, 'diff': True}


class Results(list):
    """Per-task results, plus the playbook's output in `.stdout`."""
    stdout = ''


def run_tasks(sandbox, tasks, verbosity=0):
    """Run the tasks in one play on the sandbox's server side (on the host itself when sandbox is
    None); return the list of result dicts."""
    with tempfile.TemporaryDirectory(prefix='mssql-hadr-fwpb-') as tmp:
        out = os.path.join(tmp, 'results.json')
        play_tasks = []
        for index, item in enumerate(tasks):
            play_tasks.append(dict(item, register='r%d' % index, ignore_errors=True))
        names = ', '.join("'r%d': r%d" % (i, i) for i in range(len(tasks)))
        play_tasks.append({'name': 'collect results', 'check_mode': False, 'ansible.builtin.copy': {
            'content': '{{ {%s} | to_json }}' % names, 'dest': out, 'mode': '0600'}})
        play = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': play_tasks}]
        path = os.path.join(tmp, 'play.yml')
        with open(path, 'w') as handle:
            yaml.safe_dump(play, handle)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_path(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable)
        prefix = sandbox.enter() if sandbox else []
        proc = run(prefix + [ANSIBLE_PLAYBOOK, '-i', 'localhost,', '-c', 'local', path] + ['-v'] * verbosity,
                   check=False, env=env)
        if proc.returncode != 0 or not os.path.exists(out):
            raise AssertionError('ansible-playbook failed (rc=%d)\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr))
        with open(out) as handle:
            results = json.load(handle)
        found = Results(dict(results['r%d' % i], task=t['name']) for i, t in enumerate(tasks))
        found.stdout = proc.stdout
        return found
