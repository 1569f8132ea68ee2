"""mssql.hadr.endpoint_info through real ansible-playbook against emulated instances.

The certificate scenarios need the emulator's certificate support (master keys, CREATE CERTIFICATE,
CERTENCODED: emulator part 2)."""
import base64
import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.emulator.fixtures import free_port
from tests.support.emulated_sql import PASSWORD, ddl_in, execute, per_connection, play

pytestmark = pytest.mark.slow
ISO_UTC = '%Y-%m-%dT%H:%M:%SZ'


def public_certificate(common_name, days=365):
    """DER of a self-signed certificate, as a partner would hand over its public certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def test_fresh_instance(emulator_factory):
    instance = emulator_factory(service_account='NT Service\\MSSQLSERVER')
    mark = instance.mark_log()
    run = play(instance, [{'name': 'info', 'mssql.hadr.endpoint_info': {}, 'register': 'info'},
                          {'name': 'info in check mode', 'mssql.hadr.endpoint_info': {}, 'check_mode': True}])
    assert run.rc == 0, run
    info = run.result('info')
    assert not info['changed'] and info['queries'] == []
    assert info['server']['name'] == instance.server_name and info['server']['platform'] == 'Windows'
    assert info['server']['service_account'] == 'NT Service\\MSSQLSERVER'
    assert isinstance(info['server']['hadr_enabled'], bool) and info['server']['version']
    assert info['endpoint'] is None and info['connect_grantees'] == [] and info['certificates'] == []
    assert info['master_key'] == {'exists': False, 'encrypted_by_service_master_key': False}
    assert info['availability_replicas'] == [] and info['mirroring_sessions'] == []
    assert info['mirroring_connections'] == []
    assert [w['code'] for w in info['security_warnings']] == ['no_endpoint']
    checked = run.result('info in check mode')
    assert {k: v for k, v in checked.items() if k not in ('task', 'invocation')} == \
        {k: v for k, v in info.items() if k not in ('task', 'invocation')}
    trips = per_connection(instance, mark)
    assert [len(t) for t in trips] == [1, 1] and all(ddl_in(t) == [] for t in trips)


def test_windows_endpoint_with_grants_and_in_use(emulator):
    port = free_port()
    execute(emulator, "CREATE LOGIN [partner2] WITH PASSWORD = N'%s'" % PASSWORD)
    run = play(emulator, [
        {'name': 'endpoint', 'mssql.hadr.endpoint': {'port': port, 'encryption_algorithm': 'rc4_aes',
                                                     'endpoint_state': 'stopped'}},
        {'name': 'grant', 'mssql.hadr.endpoint_permission': {'logins': ['partner2']}},
    ])
    assert run.rc == 0, run
    emulator.ctl('mark-in-use', '--availability-group', 'AG1')
    run = play(emulator, [{'name': 'info', 'mssql.hadr.endpoint_info': {'fqdn': 'sql1.example.com'}}])
    assert run.rc == 0, run
    info = run.result('info')
    endpoint = info['endpoint']
    assert (endpoint['name'], endpoint['port'], endpoint['state'], endpoint['encryption_algorithm']) == (
        'Hadr_endpoint', port, 'stopped', 'rc4_aes')
    assert endpoint['in_use'] is True and endpoint['url'] == 'TCP://sql1.example.com:%d' % port
    assert info['connect_grantees'] == ['partner2']
    assert {'grantee': 'partner2', 'grantee_type': 'SQL_LOGIN', 'permission': 'CONNECT', 'state': 'GRANT'} in \
        info['endpoint_permissions']
    local = [r for r in info['availability_replicas'] if r['is_local']]
    assert len(local) == 1 and local[0]['availability_group'] == 'AG1'
    codes = [w['code'] for w in info['security_warnings']]
    assert codes == ['endpoint_not_started', 'rc4']
    assert all(w['message'] in info['warnings'] for w in info['security_warnings'])


def test_certificate_topology_as_the_topology_check_reads_it(emulator):
    """Needs emulator part 2 (certificates and master keys)."""
    port = free_port()
    peer_der = public_certificate('sql2 endpoint')
    expiry = (datetime.datetime.utcnow() + datetime.timedelta(days=10)).strftime('%Y%m%d')
    execute(emulator,
            "CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'%s'" % PASSWORD,
            "CREATE CERTIFICATE [sql1_cert] WITH SUBJECT = N'sql1 endpoint', EXPIRY_DATE = N'%s'" % expiry,
            "CREATE LOGIN [sql2_login] WITH PASSWORD = N'%s'" % PASSWORD,
            "CREATE USER [sql2_user] FOR LOGIN [sql2_login]",
            "CREATE CERTIFICATE [sql2_cert] AUTHORIZATION [sql2_user] FROM BINARY = 0x%s" % peer_der.hex())
    run = play(emulator, [
        {'name': 'endpoint', 'mssql.hadr.endpoint': {'port': port, 'authentication': 'certificate',
                                                     'certificate': 'sql1_cert'}},
        {'name': 'grant', 'mssql.hadr.endpoint_permission': {'logins': ['sql2_login']}},
        {'name': 'info', 'mssql.hadr.endpoint_info': {'warn_days': 30}},
    ])
    assert run.rc == 0, run
    info = run.result('info')
    assert info['endpoint']['authentication'] == 'certificate' and info['endpoint']['certificate'] == 'sql1_cert'
    assert info['master_key'] == {'exists': True, 'encrypted_by_service_master_key': True}
    certificates = {c['name']: c for c in info['certificates']}
    assert set(certificates) == {'sql1_cert', 'sql2_cert'}
    own, peer = certificates['sql1_cert'], certificates['sql2_cert']
    assert own['used_by_endpoint'] and own['has_private_key'] and own['private_key_encryption'] == 'master_key'
    assert own['owner_user'] == 'dbo' and own['subject'] == 'sql1 endpoint'
    assert peer['thumbprint'] == hashlib.sha1(peer_der).hexdigest()
    assert not peer['has_private_key'] and peer['private_key_encryption'] == 'none'
    assert (peer['owner_user'], peer['owner_login'], peer['login_has_connect']) == ('sql2_user', 'sql2_login', True)
    pem_body = ''.join(peer['pem'].strip().splitlines()[1:-1])
    assert base64.b64decode(pem_body) == peer_der
    for cert in (own, peer):
        for key in ('start_date', 'expiry_date'):
            datetime.datetime.strptime(cert[key], ISO_UTC)   # ISO 8601 UTC, or this raises
    assert own['days_to_expiry'] in (9, 10)
    assert [w['code'] for w in info['security_warnings']] == ['certificate_expiring']


def test_mirroring_sessions_and_connections(emulator):
    run = play(emulator, [{'name': 'endpoint', 'mssql.hadr.endpoint': {'port': free_port()}}])
    assert run.rc == 0, run
    emulator.ctl('mark-in-use', '--mirroring', 'sales')
    run = play(emulator, [{'name': 'info', 'mssql.hadr.endpoint_info': {}}])
    assert run.rc == 0, run
    info = run.result('info')
    assert info['endpoint']['in_use'] is True
    assert len(info['mirroring_sessions']) == 1
    session = info['mirroring_sessions'][0]
    assert session['database'] == 'sales' and session['partner_name'].startswith('TCP://')
    assert session['role'] in ('PRINCIPAL', 'MIRROR') and session['state']
    connections = info['mirroring_connections']
    assert sorted(c['is_inbound'] for c in connections) == [False, True]
    for connection in connections:
        assert connection['connection_id'] and connection['state']
        datetime.datetime.strptime(connection['connect_time'], ISO_UTC)
