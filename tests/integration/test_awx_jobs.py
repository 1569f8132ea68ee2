"""The AWX job-template recipe (docs/awx.md), run as AWX runs it but without AWX: the playbook from
playbooks/, the survey's answers as extra vars (docs/awx/surveys/), the SQL login from the MSSQL_*
environment the credential type injects (docs/awx/), and an inventory that holds only where each replica
is. Emulated instances: the certificate topology (three) and the Windows topology (two), each followed by
verify and by a second run that changes nothing."""
import json
import os

import pytest

from tests.emulator.fixtures import connections, free_port
from tests.integration.test_examples import run_playbook
from tests.support import REPO_ROOT
from tests.support.awx_credential import inject, load_type

pytestmark = pytest.mark.slow
SA_PASSWORD = 'Awx-Job-Sa-Passw0rd!'
MASTER_KEY_PASSWORD = 'Awx-Job-Master-Key-Pw!1'


def survey_extra_vars(playbook, **answers):
    """Extra vars AWX sends for a survey answered with ``answers`` and every other question left at its default."""
    with open(os.path.join(REPO_ROOT, 'docs', 'awx', 'surveys', playbook + '.json')) as handle:
        spec = json.load(handle)['spec']
    extra = {}
    for item in spec:
        if item['variable'] in answers:
            extra[item['variable']] = answers.pop(item['variable'])
        elif 'default' in item:
            extra[item['variable']] = item['default']
        else:
            assert not item['required'], 'the test must answer the required question %s' % item['variable']
    assert not answers, 'not survey questions: %s' % sorted(answers)
    return extra


def changed_tasks(run):
    return sorted(set((r['host'], r['task']) for r in run.records if r.get('changed')))


def test_certificate_topology_then_verify_as_awx_jobs(emulator_factory, tmp_path):
    instances = dict((name, emulator_factory(server_name=name.upper(), sa_password=SA_PASSWORD, platform='linux'))
                     for name in ('sql1', 'sql2', 'sql3'))
    inventory = {'all': {'children': {'replicas': {'hosts': dict(
        (name, {'ansible_connection': 'local', 'ansible_python_interpreter': os.sys.executable,
                'hadr_sql_host': instance.host, 'hadr_sql_port': instance.port,
                'hadr_endpoint_port': free_port(), 'hadr_endpoint_fqdn': '127.0.0.1'})
        for name, instance in instances.items())}}}}
    inputs, injectors = load_type()
    env = inject(inputs, injectors, {'username': 'sa', 'password': SA_PASSWORD, 'odbc_driver': 'FreeTDS',
                                     'encrypt': 'false'}, private_dir=str(tmp_path))
    # the firewall answer is 'false' only because this machine's firewall is not the replicas' one
    build = survey_extra_vars('certificate_topology', hadr_master_key_password=MASTER_KEY_PASSWORD,
                              hadr_firewall='false')
    playbook = os.path.join(REPO_ROOT, 'playbooks', 'certificate_topology.yml')
    first = run_playbook(playbook, inventory, build, env=env)
    assert first.rc == 0, str(first)
    assert changed_tasks(first), 'the first run must build something'

    verify = run_playbook(os.path.join(REPO_ROOT, 'playbooks', 'verify_topology.yml'), inventory,
                          survey_extra_vars('verify_topology'), env=env)
    assert verify.rc == 0, str(verify)
    assert '3 replicas: 6 of 6 ordered pairs can authenticate' in verify.stdout, str(verify)

    second = run_playbook(playbook, inventory, build, env=env)
    assert second.rc == 0, str(second)
    assert changed_tasks(second) == [], str(second)
    for run in (first, verify, second):
        text = run.stdout + run.stderr
        assert SA_PASSWORD not in text and MASTER_KEY_PASSWORD not in text


def test_windows_topology_then_verify_as_awx_jobs(emulator_factory, tmp_path):
    accounts = ['CONTOSO\\svc_sql1', 'CONTOSO\\svc_sql2']
    instances = dict((name, emulator_factory(server_name=name.upper(), sa_password=SA_PASSWORD,
                                             service_account='CONTOSO\\svc_%s' % name, windows_accounts=accounts))
                     for name in ('sql1', 'sql2'))
    inventory = {'all': {'children': {'replicas': {'hosts': dict(
        (name, {'ansible_connection': 'local', 'ansible_python_interpreter': os.sys.executable,
                'hadr_sql_host': instance.host, 'hadr_sql_port': instance.port,
                'hadr_endpoint_port': free_port(), 'hadr_endpoint_fqdn': '127.0.0.1'})
        for name, instance in instances.items())}}}}
    inputs, injectors = load_type()
    env = inject(inputs, injectors, {'username': 'sa', 'password': SA_PASSWORD, 'odbc_driver': 'FreeTDS',
                                     'encrypt': 'false'}, private_dir=str(tmp_path))
    # survey answers arrive as strings ('false', 'negotiate'), as AWX sends them
    build = survey_extra_vars('windows_topology', hadr_firewall='false')
    assert build['hadr_exclusive'] == 'false' and build['hadr_windows_protocol'] == 'negotiate'
    playbook = os.path.join(REPO_ROOT, 'playbooks', 'windows_topology.yml')
    first = run_playbook(playbook, inventory, build, env=env)
    assert first.rc == 0, str(first)
    assert changed_tasks(first)

    verify = run_playbook(os.path.join(REPO_ROOT, 'playbooks', 'verify_topology.yml'), inventory,
                          survey_extra_vars('verify_topology'), env=env)
    assert verify.rc == 0, str(verify)
    assert '2 replicas: 2 of 2 ordered pairs can authenticate' in verify.stdout, str(verify)

    second = run_playbook(playbook, inventory, build, env=env)
    assert second.rc == 0 and changed_tasks(second) == [], str(second)
    assert SA_PASSWORD not in first.stdout + first.stderr + second.stdout + verify.stdout


def test_the_credential_port_reaches_every_replica_without_hadr_sql_port(emulator_factory, tmp_path):
    instance = emulator_factory(server_name='SQL1', sa_password=SA_PASSWORD, platform='linux')
    inventory = {'all': {'children': {'replicas': {'hosts': {'sql1': {
        'ansible_connection': 'local', 'ansible_python_interpreter': os.sys.executable,
        'hadr_sql_host': instance.host, 'hadr_endpoint_port': free_port(), 'hadr_endpoint_fqdn': '127.0.0.1'}}}}}}
    inputs, injectors = load_type()
    env = inject(inputs, injectors, {'username': 'sa', 'password': SA_PASSWORD, 'odbc_driver': 'FreeTDS',
                                     'encrypt': 'false', 'port': str(instance.port)}, private_dir=str(tmp_path))
    build = survey_extra_vars('certificate_topology', hadr_master_key_password=MASTER_KEY_PASSWORD,
                              hadr_firewall='false')
    mark = instance.mark_log()
    run = run_playbook(os.path.join(REPO_ROOT, 'playbooks', 'certificate_topology.yml'), inventory, build, env=env)
    assert run.rc == 0, str(run)
    conn = instance.connect()
    try:
        endpoints = [tuple(row) for row in conn.cursor().execute('SELECT name FROM sys.database_mirroring_endpoints')]
    finally:
        conn.close()
    assert endpoints == [('Hadr_endpoint',)]
    assert connections(instance.log_entries(since=mark))   # the role reached the instance on the credential's port
