"""The EXAMPLES of login, user, master_key, certificate and partner_trust run, as written, through ansible-playbook.

Only what ties an example to a real site is changed: the login_* connection options are dropped (module_defaults
points every module at the emulator), the PKCS#12 path is a file this test writes, and the variables the examples
use are host variables. The objects the examples assume (a partner's login, user, certificate, an endpoint, the
Windows accounts) are created first with plain statements.
"""
import importlib

import pytest
import yaml

from tests.support.secrets_play import execute, play
from tests.support.certificates import der, pem, pfx, rsa_key, self_signed

pytestmark = pytest.mark.slow

MODULES = ['master_key', 'certificate', 'login', 'user', 'partner_trust']
PFX_PATH = '/etc/pki/sql1-endpoint.pfx'
CONNECTION_OPTIONS = ('login_host', 'login_port', 'login_user', 'login_password')


def example_tasks(module, pfx_path):
    docs = importlib.import_module('ansible_collections.mssql.hadr.plugins.modules.%s' % module)
    tasks = yaml.safe_load(docs.EXAMPLES.replace(PFX_PATH, pfx_path))
    for task in tasks:
        args = task['mssql.hadr.%s' % module] if 'mssql.hadr.%s' % module in task else None
        if args:
            for option in CONNECTION_OPTIONS:
                args.pop(option, None)
        task['name'] = '%s: %s' % (module, task['name'])
    return tasks


def test_examples_run(emulator_factory, tmp_path):
    accounts = ['CONTOSO\\sqlsvc-b', 'CONTOSO\\sqlsvc-sql2', 'CONTOSO\\sqlsvc-sql3']
    emulator = emulator_factory(windows_accounts=accounts)
    partner_b, sql2 = self_signed(common_name='partner b'), self_signed(common_name='sql2')
    key = rsa_key(2048, slot=60)
    pki = self_signed(key, common_name='sql1 pki')
    pfx_file = tmp_path / 'sql1-endpoint.pfx'
    pfx_file.write_bytes(pfx(pki, key, 'Pfx-Examp1e-Pass'))
    execute(emulator,
            'CREATE ENDPOINT [Hadr_endpoint] STATE = STOPPED AS TCP (LISTENER_PORT = 5989) '
            'FOR DATABASE_MIRRORING (ROLE = ALL)',
            'CREATE USER [sql2_user] WITHOUT LOGIN',
            'CREATE CERTIFICATE [partner_b_cert] FROM BINARY = 0x%s' % der(partner_b).hex(),
            "CREATE LOGIN [partner_b_login] WITH PASSWORD = N'Partner-B-Passw0rd'",
            "CREATE LOGIN [old_partner] WITH PASSWORD = N'Old-Partner-Passw0rd'")
    tasks = [task for module in MODULES for task in example_tasks(module, str(pfx_file))]
    secrets = {'sa_password': emulator.sa_password, 'partner_b_login_password': 'Partner-B-L0gin-Passw0rd',
               'monitor_password': 'Monit0r-Passw0rd!', 'master_key_password': 'Master-K3y-Passw0rd!',
               'pfx_password': 'Pfx-Examp1e-Pass'}
    run = play(emulator, tasks, secrets=dict(secrets, partner_certificate_pem=pem(sql2)),
               public_blobs=[der(sql2), der(pki), der(partner_b)])
    assert run.rc == 0, str(run)
    names = [task['name'] for task in tasks]
    assert [r['task'] for r in run.results] == names
    assert all(not r.get('failed') for r in run.results)
    assert all(r['changed'] for r in run.results if r['task'].startswith(('certificate:', 'login: A SQL', 'user:')))
