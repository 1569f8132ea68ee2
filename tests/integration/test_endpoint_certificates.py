"""mssql.hadr.endpoint with certificate authentication (needs the emulator's certificate support, part 2)."""
import datetime

import pytest

from tests.emulator.fixtures import free_port
from tests.support.emulated_sql import PASSWORD, ddl_in, execute, mirroring_endpoint, per_connection, play

pytestmark = pytest.mark.slow


def test_certificate_endpoint_create_idempotent_and_switch(emulator):
    port = free_port()
    execute(emulator,
            "CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'%s'" % PASSWORD,
            "CREATE CERTIFICATE [cert one] WITH SUBJECT = N'one'",
            "CREATE CERTIFICATE [cert]]two] WITH SUBJECT = N'two'")
    args = {'port': port, 'authentication': 'certificate', 'certificate': 'cert one'}
    run = play(emulator, [
        {'name': 'create', 'mssql.hadr.endpoint': args},
        {'name': 'again', 'mssql.hadr.endpoint': args},
        {'name': 'switch', 'mssql.hadr.endpoint': dict(args, certificate='cert]two')},
        {'name': 'fallback',
         'mssql.hadr.endpoint': dict(args, certificate='cert]two', authentication='certificate_windows')},
    ])
    assert run.rc == 0, run
    assert 'AUTHENTICATION = CERTIFICATE [cert one]' in run.result('create')['queries'][0]
    assert not run.result('again')['changed']
    assert run.result('switch')['queries'] == [
        'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE [cert]]two], ROLE = ALL)']
    assert run.result('fallback')['queries'] == [
        'ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (AUTHENTICATION = CERTIFICATE [cert]]two] '
        'WINDOWS NEGOTIATE, ROLE = ALL)']
    assert run.result('fallback')['endpoint']['certificate'] == 'cert]two'
    assert mirroring_endpoint(emulator)['connection_auth_desc'] == 'CERTIFICATE, NEGOTIATE'


def test_unusable_certificates_fail_before_any_ddl(emulator):
    past = (datetime.datetime.utcnow() - datetime.timedelta(days=400)).strftime('%Y%m%d')
    expired = (datetime.datetime.utcnow() - datetime.timedelta(days=2)).strftime('%Y%m%d')
    future = (datetime.datetime.utcnow() + datetime.timedelta(days=30)).strftime('%Y%m%d')
    execute(emulator,
            "CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'%s'" % PASSWORD,
            "CREATE CERTIFICATE [by_password] ENCRYPTION BY PASSWORD = N'%s' WITH SUBJECT = N'pw'" % PASSWORD,
            "CREATE CERTIFICATE [expired] WITH SUBJECT = N'old', START_DATE = N'%s', EXPIRY_DATE = N'%s'"
            % (past, expired),
            "CREATE CERTIFICATE [not_yet] WITH SUBJECT = N'new', START_DATE = N'%s'" % future)
    mark = emulator.mark_log()
    cases = [('missing', 'nowhere', 'it does not exist in master'),
             ('password', 'by_password', 'its private key is protected by a password'),
             ('expired', 'expired', 'it expired on'),
             ('not yet valid', 'not_yet', 'it is not valid yet')]
    run = play(emulator, [{'name': name, 'ignore_errors': True, 'mssql.hadr.endpoint': {
        'port': free_port(), 'authentication': 'certificate', 'certificate': cert}} for name, cert, dummy in cases])
    for name, cert, reason in cases:
        result = run.result(name)
        assert result['failed'] and "Certificate '%s' cannot serve the endpoint: %s" % (cert, reason) in result['msg']
        assert ('15151' if cert == 'nowhere' else '28055') in result['msg'] and result['queries'] == []
    assert all(ddl_in(trips) == [] for trips in per_connection(emulator, mark))
    assert mirroring_endpoint(emulator) is None
