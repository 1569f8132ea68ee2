"""The EXAMPLES of every module (what docs/generated shows users) are tasks that would pass the module's own
argument validation: each calls an mssql.hadr module by its full name with options the module documents,
values from the documented choices, and every required option (unless the example sets it through
module_defaults). Read through ansible-doc, as the generated docs are."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.support import REPO_ROOT, collection_path

MODULES = sorted({name.rsplit('.', 1)[0] for name in os.listdir(os.path.join(REPO_ROOT, 'plugins', 'modules'))
                  if name.endswith(('.py', '.ps1')) and not name.startswith('_')})
TASK_KEYWORDS = {'name', 'register', 'when', 'loop', 'vars', 'delegate_to', 'check_mode', 'diff', 'become',
                 'no_log', 'tags', 'notify', 'changed_when', 'failed_when', 'until', 'retries', 'delay',
                 'ignore_errors', 'environment', 'run_once', 'loop_control', 'module_defaults'}


@pytest.fixture(scope='module')
def docs():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_path())
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '-j', '-t', 'module']
                          + ['mssql.hadr.%s' % name for name in MODULES], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def option_names(options):
    names = {}
    for name, spec in (options or {}).items():
        for alias in [name] + list(spec.get('aliases', [])):
            names[alias] = spec
    return names


def tasks_of(examples):
    for task in yaml.safe_load(examples) or []:
        yield task
        for key in ('block', 'rescue', 'always'):
            yield from task.get(key, [])


def problems_in(module, doc, examples):
    options = option_names(doc.get('options'))
    found = []
    calls = 0
    for task in tasks_of(examples):
        keys = [key for key in task if key.startswith('mssql.hadr.') or key in MODULES]
        for key in keys:
            if key != 'mssql.hadr.' + module:
                if key in MODULES:
                    found.append('%r: call modules by their full name mssql.hadr.%s' % (task.get('name'), key))
                continue
            calls += 1
            args = task[key] or {}
            for name, value in args.items():
                if name not in options:
                    found.append('%r: %s is not an option of %s' % (task.get('name'), name, module))
                    continue
                choices = options[name].get('choices')
                if choices and isinstance(value, (str, int, bool)) and '{{' not in str(value) \
                        and value not in choices and str(value) not in [str(c) for c in choices]:
                    found.append('%r: %s=%r is not one of %s' % (task.get('name'), name, value, choices))
            if 'module_defaults' not in task:
                for name, spec in options.items():
                    if spec.get('required') and name not in args:
                        found.append('%r: required option %s missing' % (task.get('name'), name))
        unknown = [key for key in task if key not in TASK_KEYWORDS and not key.startswith(('mssql.hadr.', 'ansible.'))
                   and key not in ('block', 'rescue', 'always') and key not in MODULES]
        if unknown:
            found.append('%r: unknown task keys %s' % (task.get('name'), unknown))
    if calls == 0:
        found.append('no example calls mssql.hadr.%s' % module)
    return found


@pytest.mark.parametrize('module', MODULES)
def test_examples_use_documented_options(module, docs):
    entry = docs['mssql.hadr.' + module]
    assert problems_in(module, entry['doc'], entry['examples']) == []


def test_the_checker_finds_wrong_examples():
    doc = {'options': {'name': {'required': True}, 'state': {'choices': ['present', 'absent']}}}
    bad = ("- name: t\n  mssql.hadr.login:\n    state: gone\n    colour: red\n"
           "- name: u\n  login:\n    name: x\n")
    assert sorted(problems_in('login', doc, bad)) == sorted([
        "'t': colour is not an option of login", "'t': state='gone' is not one of ['present', 'absent']",
        "'t': required option name missing", "'u': call modules by their full name mssql.hadr.login"])
