"""The EXAMPLES of endpoint, endpoint_permission and endpoint_info run, as written, against an emulated instance.

Only what cannot work here is rewritten: login_host (module_defaults point the modules at the emulator) and
the endpoint ports (real listeners: fixed ports could collide with other tests), mapped to free ports.
"""
import pytest
import yaml

from ansible_collections.mssql.hadr.plugins.modules import endpoint, endpoint_info, endpoint_permission
from tests.emulator.fixtures import free_port
from tests.support.emulated_sql import PASSWORD, connect_grantees, execute, mirroring_endpoint, play

pytestmark = pytest.mark.slow


def examples(module, ports):
    tasks = yaml.safe_load(module.EXAMPLES)
    for task in tasks:
        for key, args in task.items():
            if key.startswith('mssql.hadr.'):
                assert args.pop('login_host') == 'sql1.example.com'
                if key == 'mssql.hadr.endpoint' and args.get('state') != 'absent':
                    args['port'] = ports[args.get('port', 5022)]
    return tasks


def test_examples_run(emulator_factory):
    instance = emulator_factory(windows_accounts=['EXAMPLE\\sqlsvc2', 'EXAMPLE\\sqlsvc3'])
    execute(instance,
            "CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'%s'" % PASSWORD,
            "CREATE CERTIFICATE [sql1_cert] WITH SUBJECT = N'sql1 endpoint'",
            'CREATE LOGIN [EXAMPLE\\sqlsvc2] FROM WINDOWS',
            'CREATE LOGIN [EXAMPLE\\sqlsvc3] FROM WINDOWS',
            "CREATE LOGIN [sql2_login] WITH PASSWORD = N'%s'" % PASSWORD,
            "CREATE LOGIN [sql3_login] WITH PASSWORD = N'%s'" % PASSWORD)
    ports = {5022: free_port(), 5023: free_port()}
    endpoint_tasks = examples(endpoint, ports)
    drop = endpoint_tasks.pop()
    tasks = endpoint_tasks + examples(endpoint_permission, ports) + examples(endpoint_info, ports) + [drop]
    run = play(instance, tasks, vars={'sa_password': instance.sa_password})
    assert run.rc == 0, run
    names = [task['name'] for task in tasks]
    results = {name: run.result(name) for name in names}
    assert [results[name]['changed'] for name in names] == [True] * 5 + [False, False, True], results
    assert results[names[1]]['endpoint']['authentication'] == 'certificate'
    assert results[names[2]]['endpoint']['port'] == ports[5023]
    assert results[names[3]]['grantees_after'] == ['EXAMPLE\\sqlsvc2', 'EXAMPLE\\sqlsvc3']
    assert results[names[4]]['grantees_after'] == ['sql2_login', 'sql3_login']
    assert results[names[5]]['certificates'][0]['name'] == 'sql1_cert'
    assert results[names[6]]['msg'] == []      # the debug task read the registered result: nothing expires soon
    assert mirroring_endpoint(instance) is None and connect_grantees(instance) == []
