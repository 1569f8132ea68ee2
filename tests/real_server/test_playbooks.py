"""The shipped playbooks and the module_defaults example against real SQL Server instances: build the
certificate topology, verify it, run it again without changes, rotate the certificates, verify again,
remove it. Runs in .github/workflows/integration.yml; see conftest.py for the environment it needs."""
import os

import pytest

from tests.integration.test_examples import EXAMPLE, run_playbook
from tests.support import REPO_ROOT

MASTER_KEY_PASSWORD = 'Real-Server-Master-Key-1!'
PARTNER_PASSWORD = 'Real-Server-Partner-Pw-1!'


def servers():
    found = {}
    for entry in os.environ['MSSQL_HADR_SERVERS'].split(','):
        name, address = entry.strip().split('=', 1)
        address, endpoint_port = (address.split('/', 1) + [''])[:2]
        host, port = address.rsplit(':', 1)
        found[name] = (host, int(port), int(endpoint_port or os.environ.get('MSSQL_HADR_ENDPOINT_PORT', '5022')))
    assert len(found) >= 2, 'MSSQL_HADR_SERVERS must name at least two instances'
    return found


@pytest.fixture(scope='module')
def inventory():
    env = os.environ
    hosts = {}
    for name, (host, port, endpoint_port) in servers().items():
        hosts[name] = {
            'ansible_connection': 'local', 'ansible_python_interpreter': os.sys.executable,
            'hadr_sql_host': host, 'hadr_sql_port': port, 'hadr_sql_user': 'sa',
            'hadr_sql_password': env['MSSQL_HADR_SA_PASSWORD'],
            'hadr_sql_encrypt': env.get('MSSQL_HADR_ENCRYPT', 'true') == 'true',
            'hadr_sql_trust_server_certificate': env.get('MSSQL_HADR_TRUST_SERVER_CERTIFICATE', 'true') == 'true',
            'hadr_endpoint_port': endpoint_port,
            'hadr_endpoint_fqdn': host,
        }
        if env.get('MSSQL_HADR_ODBC_DRIVER'):
            hosts[name]['hadr_sql_odbc_driver'] = env['MSSQL_HADR_ODBC_DRIVER']
    return {'all': {'children': {'replicas': {'hosts': hosts}, 'sql_servers': {'hosts': dict.fromkeys(hosts)}}}}


def playbook(name):
    return os.path.join(REPO_ROOT, 'playbooks', name + '.yml')


def changed(run):
    return sorted(set((r['host'], r['task']) for r in run.records if r.get('changed')))


def assert_no_secret(run):
    text = run.stdout + run.stderr
    for secret in (os.environ['MSSQL_HADR_SA_PASSWORD'], MASTER_KEY_PASSWORD, PARTNER_PASSWORD):
        assert secret not in text


def verified(inventory, count):
    run = run_playbook(playbook('verify_topology'), inventory, {'hadr_hosts': 'replicas'})
    assert run.rc == 0, str(run)
    pairs = count * (count - 1)
    assert '%d replicas: %d of %d ordered pairs can authenticate' % (count, pairs, pairs) in run.stdout, str(run)
    assert_no_secret(run)


def test_module_defaults_example(inventory):
    extra = {'example_hosts': 'sql_servers', 'partner_login_password': PARTNER_PASSWORD,
             'example_master_key_password': MASTER_KEY_PASSWORD}
    first = run_playbook(EXAMPLE, inventory, extra)
    assert first.rc == 0, str(first)
    again = run_playbook(EXAMPLE, inventory, extra)
    assert again.rc == 0 and changed(again) == [], str(again)
    assert_no_secret(first)


def test_certificate_topology_lifecycle(inventory):
    count = len(inventory['all']['children']['replicas']['hosts'])
    build = {'hadr_hosts': 'replicas', 'hadr_master_key_password': MASTER_KEY_PASSWORD, 'hadr_firewall': False}
    first = run_playbook(playbook('certificate_topology'), inventory, build)
    assert first.rc == 0, str(first)
    assert_no_secret(first)
    verified(inventory, count)

    second = run_playbook(playbook('certificate_topology'), inventory, build)
    assert second.rc == 0 and changed(second) == [], str(second)

    rotate = run_playbook(playbook('rotate_certificates'), inventory,
                          {'hadr_hosts': 'replicas', 'hadr_rotation_id': 'ci1'})
    assert rotate.rc == 0, str(rotate)
    verified(inventory, count)

    remove = run_playbook(playbook('remove_topology'), inventory,
                          {'hadr_hosts': 'replicas', 'hadr_confirm_removal': True, 'hadr_firewall': False})
    assert remove.rc == 0, str(remove)
    assert_no_secret(remove)
