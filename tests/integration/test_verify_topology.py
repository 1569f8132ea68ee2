"""verify_topology.yml on a certificate topology broken on purpose, one fault at a time: it names exactly
the affected pairs and the reason, and fails the play; certificate_topology.yml repairs each fault."""
import pytest

from tests.support.topology import broken_pairs, run_playbook, start_replicas, verify

pytestmark = pytest.mark.slow


def partner_login(replica, partner):
    """The login on ``replica`` that owns its copy of ``partner``'s endpoint certificate (plain SQL)."""
    endpoint_cert = partner.query(
        'SELECT c.thumbprint FROM master.sys.certificates c JOIN sys.database_mirroring_endpoints e '
        'ON e.certificate_id = c.certificate_id')
    assert len(endpoint_cert) == 1
    rows = [row for row in replica.query(
        'SELECT c.name, c.thumbprint, l.name FROM master.sys.certificates c '
        'JOIN master.sys.database_principals u ON u.principal_id = c.principal_id '
        'JOIN sys.server_principals l ON l.sid = u.sid') if bytes(row[1]) == bytes(endpoint_cert[0][0])]
    assert len(rows) == 1, rows
    return rows[0][0], rows[0][2]


@pytest.fixture
def topology(emulator_factory):
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2', 'sql3'])
    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc == 0, str(run)
    run, matrix = verify(replicas)
    assert run.rc == 0 and matrix['ok'], str(run)
    return replicas


def assert_verify_names(replicas, expected, tmp_path):
    report = tmp_path / 'report.md'
    run, matrix = verify(replicas, report_path=str(report))
    assert run.rc != 0, str(run)
    assert broken_pairs(matrix) == expected
    failure = [r for r in run.records if r['task'] == 'Fail when a pair of replicas cannot authenticate']
    assert len(failure) == 1 and failure[0]['failed']
    for source, target in expected:
        assert '%s -> %s' % (source, target) in failure[0]['msg']
        assert 'BROKEN %s -> %s' % (source, target) in run.stdout  # the printed matrix
    assert 'linkStyle' in report.read_text()  # broken links drawn in red


def repair_and_verify(replicas):
    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc == 0, str(run)
    run, matrix = verify(replicas)
    assert run.rc == 0 and matrix['ok'], str(run)


def test_one_missing_connect_grant(topology, tmp_path):
    sql1, sql2, sql3 = topology
    _cert, login = partner_login(sql2, sql3)
    sql2.execute('REVOKE CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [%s]' % login)
    assert_verify_names(topology, {('sql3', 'sql2'): ['connect_missing']}, tmp_path)
    repair_and_verify(topology)


def test_one_missing_partner_certificate(topology, tmp_path):
    sql1, sql2, sql3 = topology
    cert, _login = partner_login(sql3, sql1)
    sql3.execute('DROP CERTIFICATE [%s]' % cert)
    assert_verify_names(topology, {('sql1', 'sql3'): ['certificate_missing']}, tmp_path)
    repair_and_verify(topology)


def test_one_replica_with_encryption_disabled(topology, tmp_path):
    sql2 = topology[1]
    sql2.execute('ALTER ENDPOINT [Hadr_endpoint] FOR DATABASE_MIRRORING (ENCRYPTION = DISABLED)')
    assert_verify_names(topology, {
        ('sql1', 'sql2'): ['encryption_mismatch'], ('sql2', 'sql1'): ['encryption_mismatch'],
        ('sql2', 'sql3'): ['encryption_mismatch'], ('sql3', 'sql2'): ['encryption_mismatch']}, tmp_path)
    repair_and_verify(topology)


def test_stopped_endpoint(topology):
    sql3 = topology[2]
    sql3.execute('ALTER ENDPOINT [Hadr_endpoint] STATE = STOPPED')
    run, matrix = verify(topology)
    assert run.rc != 0
    reasons = broken_pairs(matrix)
    assert set(reasons) == {('sql1', 'sql3'), ('sql2', 'sql3'), ('sql3', 'sql1'), ('sql3', 'sql2')}
    assert reasons[('sql1', 'sql3')] == ['target_endpoint_not_started']
    repair_and_verify(topology)


def test_endpoint_address_that_does_not_answer(topology):
    """sql3's endpoint URL names a host that does not resolve (.invalid is reserved, RFC 2606): both
    partners' port checks fail. (127.0.0.2 would answer: the endpoint listens on ALL addresses.)"""
    sql3 = topology[2]
    sql3.hostvars['hadr_endpoint_fqdn'] = 'sql3.invalid'
    run, matrix = verify(topology)
    assert run.rc != 0
    assert broken_pairs(matrix) == {('sql1', 'sql3'): ['unreachable'], ('sql2', 'sql3'): ['unreachable']}
    problem = matrix['broken'][0]['problems'][0]
    assert 'sql3.invalid:%d' % sql3.endpoint_port in problem['message']
