"""docs/examples/module_defaults.yml, run as a user runs it (real ansible-playbook on the file itself)
against two emulated instances: once with the connection in the inventory, once with the login coming
from the MSSQL_* environment exactly as the AWX credential type in docs/awx/ injects it."""
import json
import os
import subprocess
import tempfile

import pytest
import yaml

from tests.emulator.fixtures import free_port
from tests.support import REPO_ROOT
# run_tasks only runs task lists; this test needs the playbook file itself, so it uses the helper's pieces.
from tests.support.playbook import PlaybookRun, _environment, _read_records, ansible_playbook_path
from tests.support.awx_credential import inject, load_type

pytestmark = pytest.mark.slow
EXAMPLE = os.path.join(REPO_ROOT, 'docs', 'examples', 'module_defaults.yml')
PARTNER_PASSWORD = 'Partn3r-Example-Pw!'
MASTER_KEY_PASSWORD = 'Example-Master-Key-Pw1!'
TASKS = ('Master key in master (protects the endpoint certificate\'s private key)',
         'The instance\'s own endpoint certificate',
         'Mirroring endpoint with certificate authentication and AES encryption', 'SQL login for the partner',
         'Let the partner connect to the endpoint')
EXTRA = {'partner_login_password': PARTNER_PASSWORD, 'example_master_key_password': MASTER_KEY_PASSWORD}


def run_playbook(path, inventory, extra_vars, env=None):
    with tempfile.TemporaryDirectory(prefix='mssql-hadr-example-') as workdir:
        os.makedirs(os.path.join(workdir, 'tmp'))
        with open(os.path.join(workdir, 'ansible.cfg'), 'w') as handle:
            handle.write('[defaults]\n')
        inventory_path = os.path.join(workdir, 'inventory.yml')
        with open(inventory_path, 'w') as handle:
            yaml.safe_dump(inventory, handle, sort_keys=False)
        results = os.path.join(workdir, 'results.jsonl')
        command = [ansible_playbook_path(), '-i', inventory_path, path, '-e', json.dumps(extra_vars)]
        proc = subprocess.run(command, cwd=workdir, env=_environment(workdir, results, env), capture_output=True,
                              text=True, timeout=600, stdin=subprocess.DEVNULL, check=False)
        return PlaybookRun(proc.returncode, _read_records(results), proc.stdout, proc.stderr, command)


def inventory_for(instances, with_login=True):
    hosts = {}
    for name, instance in instances.items():
        host = {'ansible_connection': 'local', 'ansible_python_interpreter': os.sys.executable,
                'hadr_sql_host': instance.host, 'hadr_sql_port': instance.port, 'hadr_sql_odbc_driver': 'FreeTDS',
                'hadr_sql_encrypt': False, 'hadr_endpoint_port': free_port(), 'hadr_endpoint_fqdn': '127.0.0.1'}
        if with_login:
            host.update(hadr_sql_user='sa', hadr_sql_password=instance.sa_password)
        hosts[name] = host
    return {'all': {'children': {'sql_servers': {'hosts': hosts}}}}


def check_outcome(run, inventory, instances, changed):
    assert run.rc == 0, str(run)
    for name, instance in instances.items():
        for task in TASKS:
            assert run.result(task, host=name)['changed'] is changed, (name, task, run)
        info = run.result('Read the endpoint back', host=name)
        port = inventory['all']['children']['sql_servers']['hosts'][name]['hadr_endpoint_port']
        assert info['endpoint']['port'] == port and info['endpoint']['url'] == 'TCP://127.0.0.1:%d' % port
        assert 'hadr_example_partner' in info['connect_grantees']
        assert info['server']['name'] == instance.server_name
        shown = run.result('Show the endpoint address and who may connect', host=name)['msg']
        assert shown == 'TCP://127.0.0.1:%d accepts %s' % (port, ', '.join(info['connect_grantees']))
        assert instance.sa_password not in run.stdout + run.stderr
    assert PARTNER_PASSWORD not in run.stdout + run.stderr
    assert MASTER_KEY_PASSWORD not in run.stdout + run.stderr
    assert '[WARNING]' not in run.stderr, run.stderr


def test_connection_from_inventory_then_nothing_changes(emulator_factory):
    instances = {'sql1': emulator_factory(server_name='SQL1'), 'sql2': emulator_factory(server_name='SQL2')}
    inventory = inventory_for(instances)
    extra = EXTRA
    check_outcome(run_playbook(EXAMPLE, inventory, extra), inventory, instances, changed=True)
    check_outcome(run_playbook(EXAMPLE, inventory, extra), inventory, instances, changed=False)


def test_login_from_the_awx_credential_environment(emulator_factory, tmp_path):
    instances = {'sql1': emulator_factory(server_name='SQL1', sa_password='Cred3ntial-Only-Pw!')}
    inventory = inventory_for(instances, with_login=False)
    inputs, injectors = load_type()
    # the credential's host and driver would send the modules elsewhere: the inventory's values must win
    credential = {'host': 'credential-host.invalid', 'port': '1', 'username': 'sa',
                  'password': instances['sql1'].sa_password, 'encrypt': 'false'}
    env = inject(inputs, injectors, credential, private_dir=str(tmp_path))
    run = run_playbook(EXAMPLE, inventory, EXTRA, env=env)
    check_outcome(run, inventory, instances, changed=True)


def test_without_any_login_the_error_names_the_fix(emulator_factory):
    instances = {'sql1': emulator_factory(server_name='SQL1')}
    inventory = inventory_for(instances, with_login=False)
    env = {'MSSQL_USER': '', 'MSSQL_PASSWORD': ''}   # an AWX credential with no login filled in
    run = run_playbook(EXAMPLE, inventory, EXTRA, env=env)
    assert run.rc != 0, str(run)
    failed = run.result(TASKS[0], host='sql1')
    assert failed['failed'] and 'login_user is required' in failed['msg'] and 'MSSQL_USER' in failed['msg']


def test_example_inventory_sets_only_variables_the_playbooks_read():
    """docs/examples/inventory.yml parses with ansible-inventory, and every hadr_* variable it sets is one the
    roles' defaults or the playbooks read (a misspelt variable would be silently ignored)."""
    import glob
    import re
    path = os.path.join(REPO_ROOT, 'docs', 'examples', 'inventory.yml')
    proc = subprocess.run([os.path.join(os.path.dirname(ansible_playbook_path()), 'ansible-inventory'), '-i', path,
                           '--list'], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and '[WARNING]' not in proc.stderr, proc.stderr
    hostvars = json.loads(proc.stdout)['_meta']['hostvars']
    assert sorted(hostvars) == ['sql1', 'sql2', 'sql3']
    read = set()
    for source in glob.glob(os.path.join(REPO_ROOT, 'roles', '*', 'defaults', 'main.yml')) + \
            glob.glob(os.path.join(REPO_ROOT, 'playbooks', '*.yml')):
        with open(source) as handle:
            read.update(re.findall(r'\bhadr_\w+', handle.read()))
    used = {name for variables in hostvars.values() for name in variables if name.startswith('hadr_')}
    assert used and used <= read, sorted(used - read)
    # the roles' preflight refuses a firewall rule for a partner named by host name: an IP address (or network)
    import ipaddress
    for name, variables in hostvars.items():
        if str(variables.get('hadr_firewall', True)).lower() == 'true':
            ipaddress.ip_network(variables['hadr_firewall_address'], strict=False)
