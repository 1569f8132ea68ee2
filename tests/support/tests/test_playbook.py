"""tests/support/playbook.py against real ansible-playbook runs of ansible.builtin modules."""
import os
import subprocess

import pytest

from tests.support import collection_path
from tests.support.playbook import PlaybookRun, _environment, ansible_playbook_path, run_tasks

SECRET = 'Sw0rdfish-not-for-logs'


def test_results_in_task_order_with_names_and_values():
    run = run_tasks([
        {'name': 'greet', 'ansible.builtin.debug': {'msg': 'hello {{ who }}'}},
        {'name': 'remember', 'ansible.builtin.set_fact': {'answer': 42}},
        {'name': 'use it', 'ansible.builtin.debug': {'msg': '{{ answer + 1 }}'}},
    ], vars={'who': 'world'})
    assert run.rc == 0, run
    assert [r['task'] for r in run.results] == ['greet', 'remember', 'use it']
    assert run.result('greet')['msg'] == 'hello world'
    assert run.result('remember')['ansible_facts'] == {'answer': 42}
    assert str(run.result('use it')['msg']) == '43'   # native int on ansible-core 2.19+
    assert all(r['host'] == 'localhost' and r['failed'] is False for r in run.results)
    assert 'TASK [greet]' in run.stdout   # stdout is the normal human-readable output


def test_failure_is_returned_not_raised_and_stops_the_play():
    run = run_tasks([
        {'name': 'boom', 'ansible.builtin.fail': {'msg': 'it broke'}},
        {'name': 'never', 'ansible.builtin.debug': {'msg': 'unreachable'}},
    ])
    assert run.rc == 2, run
    assert run.result('boom')['failed'] is True
    assert run.result('boom')['msg'] == 'it broke'
    assert [r['task'] for r in run.results] == ['boom']


def test_ignored_failure_and_skipped_task_are_recorded():
    run = run_tasks('''
- name: tolerated
  ansible.builtin.fail:
    msg: tolerated failure
  ignore_errors: true
- name: skipped
  ansible.builtin.debug:
    msg: not shown
  when: false
- name: after
  ansible.builtin.debug:
    msg: still running
''')
    assert run.rc == 0, run
    assert run.result('tolerated')['failed'] is True
    assert run.result('skipped')['skipped'] is True
    assert run.result('after')['msg'] == 'still running'


def test_check_mode_and_diff_reach_the_module(tmp_path):
    target = tmp_path / 'file.txt'
    tasks = [{'name': 'write', 'ansible.builtin.copy': {'content': 'new\n', 'dest': str(target)}}]

    run = run_tasks(tasks, check=True, diff=True)
    assert run.rc == 0, run
    assert run.result('write')['changed'] is True
    assert not target.exists()   # check mode changed nothing
    assert run.result('write')['diff'][0]['after'] == 'new\n'

    run = run_tasks(tasks)
    assert run.rc == 0, run
    assert target.read_text() == 'new\n'
    assert not run.result('write').get('diff')   # no --diff: no diff content


def test_no_log_result_is_censored_in_results_and_stdout():
    run = run_tasks([{'name': 'secret', 'ansible.builtin.debug': {'msg': SECRET}, 'no_log': True}],
                    verbosity=3)
    assert run.rc == 0, run
    assert 'censored' in run.result('secret')
    assert SECRET not in str(run.results)
    assert SECRET not in run.stdout + run.stderr


def test_verbosity_and_environment_are_passed():
    tasks = [{'name': 'env', 'ansible.builtin.debug': {'msg': "{{ lookup('ansible.builtin.env', 'MSSQL_HADR_TEST_VALUE') }}"}},
             {'name': 'module on the host', 'ansible.builtin.ping': {}}]
    quiet = run_tasks(tasks, env={'MSSQL_HADR_TEST_VALUE': 'from-env'})
    loud = run_tasks(tasks, env={'MSSQL_HADR_TEST_VALUE': 'from-env'}, verbosity=3)
    assert quiet.rc == loud.rc == 0, (quiet, loud)
    assert quiet.result('env')['msg'] == loud.result('env')['msg'] == 'from-env'
    assert loud.result('module on the host')['ping'] == 'pong'
    assert 'ESTABLISH LOCAL CONNECTION' in loud.stdout
    assert 'ESTABLISH LOCAL CONNECTION' not in quiet.stdout


def test_inventory_with_several_hosts():
    inventory = {'all': {'hosts': {
        name: {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
               'label': name.upper()}
        for name in ('beta', 'alpha', 'gamma')}}}
    run = run_tasks([{'name': 'who', 'ansible.builtin.debug': {'msg': '{{ label }}'}}],
                    hosts='all', inventory=inventory)
    assert run.rc == 0, run
    assert run.host == 'beta'   # inventory order, whichever host finished first
    assert run.result('who')['msg'] == 'BETA'
    assert run.result('who', host='alpha')['msg'] == 'ALPHA'
    assert run.result('who', host='gamma')['msg'] == 'GAMMA'
    assert [r['msg'] for r in run.results_for('beta')] == ['BETA']


def test_result_lookup_names_what_ran():
    run = run_tasks([{'name': 'twice', 'ansible.builtin.debug': {'msg': str(n)}} for n in (1, 2)])
    assert run.rc == 0, run
    with pytest.raises(LookupError, match=r"2 results for task 'twice'"):
        run.result('twice')
    with pytest.raises(LookupError, match=r"tasks that ran: \['twice', 'twice'\]"):
        run.result('missing')


def test_bad_tasks_argument_is_rejected():
    with pytest.raises(TypeError, match='list of task dicts'):
        run_tasks({'name': 'not a list'})


def test_syntax_error_gives_rc_and_no_results():
    run = run_tasks([{'name': 'bad', 'ansible.builtin.no_such_module_xyz': {}}])
    assert run.rc != 0
    assert run.results == []
    assert 'no_such_module_xyz' in run.stdout + run.stderr
    assert isinstance(run, PlaybookRun) and 'ansible-playbook exited' in str(run)
    assert repr(run) == str(run)   # so `assert run.rc == 0, run` shows the output in pytest


def test_collection_is_on_the_collections_path(tmp_path):
    env = _environment(str(tmp_path), str(tmp_path / 'r.jsonl'), None)
    assert env['ANSIBLE_COLLECTIONS_PATH'].split(os.pathsep)[0] == collection_path()
    galaxy = os.path.join(os.path.dirname(ansible_playbook_path()), 'ansible-galaxy')
    listing = subprocess.run([galaxy, 'collection', 'list', 'mssql.hadr'], env=env, capture_output=True,
                             text=True, check=False)
    assert listing.returncode == 0, listing.stderr
    assert 'mssql.hadr' in listing.stdout
