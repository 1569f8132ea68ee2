"""Each role's meta/argument_specs.yml matches its defaults/main.yml (the prometheus.prometheus check),
every option is documented and typed, every default is in the spec unless it is a template (an explicit,
exact list), the topology roles' defaults read the shared hadr_* inventory variables, and the SQL
connection is set once per role."""
import os
import re

import pytest
import yaml

from tests.support import REPO_ROOT

ROLES_DIR = os.path.join(REPO_ROOT, 'roles')
ROLES = sorted(name for name in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, name)))
TOPOLOGY_ROLES = ('certificate_topology', 'windows_topology')
SECRET = re.compile(r'password|pkcs12$')
CONNECTION = ('login_host', 'login_port', 'login_user', 'login_password', 'odbc_driver', 'encrypt',
              'trust_server_certificate', 'ca_file')

# Defaults that are Jinja templates stay out of meta/argument_specs.yml (each option's description says
# its default in words instead). ansible-core passes a role's argument spec to the validation task it
# prepends to the role as that task's arguments, and task arguments are templated: a "{{ ... }}" default
# there would be evaluated on every host at every run (the MSSQL_* environment lookups, hostvars), as code
# rather than documentation, and could fail the validation on its own. It would also be a string where the
# option's type is int, bool or list. The list is explicit and must be exactly the templated defaults
# (test_templated_defaults_are_exactly_the_listed_ones), so it cannot hide a literal default.
_TOPOLOGY_TEMPLATED = (
    'sql_delegate_to', 'login_host', 'login_port', 'login_user', 'login_password', 'odbc_driver', 'encrypt',
    'trust_server_certificate', 'ca_file', 'endpoint_name', 'endpoint_port', 'endpoint_fqdn',
    'encryption_algorithm', 'reconfigure_in_use', 'warn_days', 'partners', 'exclusive', 'firewall',
    'firewall_rule_name', 'firewall_address')
TEMPLATED_DEFAULTS = {
    'certificate_topology': {'certificate_topology_' + name for name in _TOPOLOGY_TEMPLATED + (
        'master_key_password', 'certificate_name', 'certificate_subject', 'certificate_valid_days', 'pkcs12',
        'pkcs12_password')},
    'windows_topology': {'windows_topology_' + name for name in _TOPOLOGY_TEMPLATED + (
        'service_account', 'computer_account', 'windows_protocol')},
    'endpoint_firewall': {'endpoint_firewall_rule_name', 'endpoint_firewall_description'},
}


def load(role, *path):
    with open(os.path.join(ROLES_DIR, role, *path)) as handle:
        return yaml.safe_load(handle)


def options_of(role):
    return load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']


def is_template(value):
    return isinstance(value, str) and ('{{' in value or '{%' in value)


def same(left, right):
    """Equal and of the same type (True is not 1, '5022' is not 5022)."""
    return type(left) is type(right) and left == right


def test_every_role_is_checked():
    assert set(TOPOLOGY_ROLES) | {'endpoint_firewall'} <= set(ROLES)
    assert set(TEMPLATED_DEFAULTS) == set(ROLES), 'a role without an entry in TEMPLATED_DEFAULTS (an empty set is fine)'


@pytest.mark.parametrize('role', ROLES)
def test_argument_specs_match_defaults(role):
    defaults = load(role, 'defaults', 'main.yml') or {}
    options = options_of(role)
    assert set(defaults) <= set(options), sorted(set(defaults) - set(options))
    # an option without a role default must be required: the spec cannot give it a value
    assert sorted(n for n in options if n not in defaults) == sorted(n for n, s in options.items() if s.get('required'))
    for name, spec in options.items():
        assert name.startswith(role + '_'), name
        assert spec.get('description') and spec.get('type'), name
        assert bool(spec.get('no_log')) == bool(SECRET.search(name)), name


@pytest.mark.parametrize('role', ROLES)
def test_templated_defaults_are_exactly_the_listed_ones(role):
    defaults = load(role, 'defaults', 'main.yml') or {}
    assert {name for name, value in defaults.items() if is_template(value)} == TEMPLATED_DEFAULTS[role]


@pytest.mark.parametrize('role', ROLES)
def test_argument_spec_defaults_are_the_role_defaults(role):
    """Every literal default of defaults/main.yml is the spec's default, same value and type; a templated one
    is not in the spec (see TEMPLATED_DEFAULTS); the spec has no default the role does not have (ansible-core
    takes a role variable's value from defaults/main.yml, never from the spec)."""
    defaults = load(role, 'defaults', 'main.yml') or {}
    for name, spec in options_of(role).items():
        if name in TEMPLATED_DEFAULTS[role]:
            assert 'default' not in spec, (name, 'templated default: keep it out of the spec')
        elif name in defaults:
            assert 'default' in spec, (name, 'defaults/main.yml has %r, the spec no default' % (defaults[name],))
            assert same(spec['default'], defaults[name]), (name, spec['default'], defaults[name])
        else:
            assert 'default' not in spec, (name, 'the spec has a default that defaults/main.yml does not')


@pytest.mark.parametrize('role', TOPOLOGY_ROLES)
def test_defaults_read_the_shared_inventory_variables(role):
    defaults = load(role, 'defaults', 'main.yml')
    for name, value in defaults.items():
        if name.endswith('_partners'):
            assert 'hadr_partners' in value
            continue
        assert isinstance(value, str) and re.search(r'\{\{ hadr_[a-z0-9_]+ \|', value), (name, value)


def test_the_firewall_building_block_reads_no_inventory_variable():
    """endpoint_firewall gets its values from its caller: no hadr_* of its own, so the topology roles' inputs
    (and their preflight checks) are the only source."""
    for value in (load('endpoint_firewall', 'defaults', 'main.yml') or {}).values():
        assert 'hadr_' not in str(value)


def tasks_of(role, tasks, into):
    """Every task of a task list, blocks and static imports of the role's own files followed."""
    for task in tasks or []:
        if 'block' in task:
            tasks_of(role, task['block'], into)
        elif 'ansible.builtin.import_tasks' in task:
            tasks_of(role, load(role, 'tasks', task['ansible.builtin.import_tasks']), into)
        else:
            into.append(task)
    return into


def sql_modules():
    with open(os.path.join(REPO_ROOT, 'meta', 'runtime.yml')) as handle:
        return {'mssql.hadr.' + name for name in yaml.safe_load(handle)['action_groups']['all']}


@pytest.mark.parametrize('role', TOPOLOGY_ROLES)
def test_thin_main_and_galaxy_info(role):
    main = load(role, 'tasks', 'main.yml')
    # static imports only: a dynamic include would cost a task per host at run time (make bench)
    flat = [task for entry in main for task in entry.get('block', [entry])]
    assert all(set(task) <= {'name', 'ansible.builtin.import_tasks', 'ansible.builtin.import_role', 'vars', 'when'}
               for task in flat), main
    assert all('ansible.builtin.import_tasks' in task or 'ansible.builtin.import_role' in task for task in flat)
    info = load(role, 'meta', 'main.yml')['galaxy_info']
    assert info['role_name'] == role and info['namespace'] == 'mssql'


@pytest.mark.parametrize('role', TOPOLOGY_ROLES)
def test_the_connection_is_set_once(role):
    """One module_defaults block in main.yml gives every SQL module of the role the eight connection options
    from the role's variables; no task repeats them. It is keyed by module, not by group/mssql.hadr.all: a
    group entry on the block would replace the play's group/mssql.hadr.all entry whole, so options the role
    does not set (login_authentication, login_database, connect_timeout) would no longer reach its modules."""
    main = load(role, 'tasks', 'main.yml')
    blocks = [entry for entry in main if 'module_defaults' in entry]
    assert len(blocks) == 1 and 'block' in blocks[0], main
    defaults = blocks[0]['module_defaults']
    assert not [key for key in defaults if key.startswith('group/')], defaults
    connection = {option: '{{ %s_%s }}' % (role, option) for option in CONNECTION}
    assert all(value == connection for value in defaults.values()), defaults

    inside = tasks_of(role, blocks[0]['block'], [])
    used = {key for task in inside for key in task if key.startswith('mssql.hadr.')}
    assert used and used <= sql_modules(), used
    assert set(defaults) == used, 'module_defaults must name exactly the SQL modules the role uses'
    everywhere = tasks_of(role, main, [])
    assert used == {key for task in everywhere for key in task if key in sql_modules()}, 'SQL task outside the block'
    for task in inside:
        for key in used & set(task):
            assert not set(CONNECTION) & set(task[key] or {}), (task['name'], 'repeats a connection option')


@pytest.mark.parametrize('role', TOPOLOGY_ROLES)
def test_the_firewall_comes_from_the_shared_role(role):
    main = load(role, 'tasks', 'main.yml')
    firewall = [entry for entry in main if 'ansible.builtin.import_role' in entry]
    assert len(firewall) == 1, main
    task = firewall[0]
    assert task['ansible.builtin.import_role']['name'] == 'mssql.hadr.endpoint_firewall'
    assert task['when'] == '%s_firewall | bool' % role
    required = {name for name, spec in options_of('endpoint_firewall').items() if spec.get('required')}
    assert required <= set(task['vars']) <= set(options_of('endpoint_firewall')), task['vars']
    assert not os.path.exists(os.path.join(ROLES_DIR, role, 'tasks', 'firewall.yml'))
    # the firewall module is not in the SQL action group: no connection options may reach it
    assert 'mssql.hadr.firewall' not in sql_modules()
    rules = [t for t in load('endpoint_firewall', 'tasks', 'main.yml') if 'mssql.hadr.firewall' in t]
    assert len(rules) == 1 and not set(CONNECTION) & set(rules[0]['mssql.hadr.firewall'])
