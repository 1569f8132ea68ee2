"""Each role's meta/argument_specs.yml matches its defaults/main.yml (the prometheus.prometheus check),
every option is documented and typed, and every default reads the shared hadr_* inventory variable."""
import os
import re

import pytest
import yaml

from tests.support import REPO_ROOT

ROLES = ('certificate_topology', 'windows_topology')
SECRET = re.compile(r'password|pkcs12$')


def load(role, *path):
    with open(os.path.join(REPO_ROOT, 'roles', role, *path)) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize('role', ROLES)
def test_argument_specs_match_defaults(role):
    defaults = load(role, 'defaults', 'main.yml')
    options = load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    assert sorted(defaults) == sorted(options)
    for name, spec in options.items():
        assert name.startswith(role + '_'), name
        assert spec.get('description') and spec.get('type'), name
        assert bool(spec.get('no_log')) == bool(SECRET.search(name)), name


@pytest.mark.parametrize('role', ROLES)
def test_defaults_read_the_shared_inventory_variables(role):
    defaults = load(role, 'defaults', 'main.yml')
    for name, value in defaults.items():
        if name.endswith('_partners'):
            assert 'hadr_partners' in value
            continue
        assert isinstance(value, str) and re.search(r'\{\{ hadr_[a-z0-9_]+ \|', value), (name, value)


@pytest.mark.parametrize('role', ROLES)
def test_thin_main_and_galaxy_info(role):
    main = load(role, 'tasks', 'main.yml')
    # static imports: a dynamic include would cost a task per host at run time (make bench)
    assert all(set(task) <= {'name', 'ansible.builtin.import_tasks', 'when'} for task in main), main
    assert all('ansible.builtin.import_tasks' in task for task in main)
    info = load(role, 'meta', 'main.yml')['galaxy_info']
    assert info['role_name'] == role and info['namespace'] == 'mssql'
