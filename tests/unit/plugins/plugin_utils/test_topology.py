"""The trust matrix on hand-built endpoint_info results: healthy topologies, then one fault at a time,
each of which must break exactly the pairs it affects, with the documented reason."""
import copy

import pytest

from ansible_collections.mssql.hadr.plugins.plugin_utils.topology import (
    TopologyInputError, parse_utc, trust_matrix, windows_identity)
from tests.support.topology_inputs import (
    NOW, by_name, cert_named, certificate_topology, info, thumbprint, windows_topology)


def broken_reasons(result):
    """{(source, target): sorted reasons} of the broken pairs."""
    return dict(((p['source'], p['target']), sorted(set(x['reason'] for x in p['problems'])))
                for p in result['broken'])


# ---------------------------------------------------------------------------------------------
# healthy topologies

@pytest.mark.parametrize('size', [2, 3, 7])
def test_healthy_certificate_topology_every_pair_ok(size):
    names = ['sql%d' % i for i in range(1, size + 1)]
    result = trust_matrix(certificate_topology(names), now=NOW)
    assert result['ok'] is True
    assert result['broken'] == []
    assert len(result['pairs']) == size * (size - 1)
    assert all(p['authentication'] == 'certificate' and p['encryption'] == 'aes' for p in result['pairs'])
    assert result['names'] == names
    for i, row in enumerate(result['matrix']):
        assert row[i] is None
        assert [v for j, v in enumerate(row) if j != i] == ['ok'] * (size - 1)
    assert result['summary'] == '%d replicas: %d of %d ordered pairs can authenticate' % (
        size, size * (size - 1), size * (size - 1))


def test_replica_summary_has_url_and_certificate_days():
    result = trust_matrix(certificate_topology(), now=NOW)
    first = result['replicas'][0]
    assert first['url'] == 'TCP://sql1.example.com:5022'
    assert first['port'] == 5022
    assert first['certificate']['name'] == 'sql1_cert'
    # 2026-11-26T12:00Z -> 2027-11-26T00:00Z is 364.5 days: whole days, rounded down
    assert first['certificate']['days_to_expiry'] == 364
    assert first['certificate']['expiring'] is False
    assert [r['port'] for r in result['replicas']] == [5022, 5023, 5024]


def test_windows_same_domain_account_needs_no_grant():
    accounts = {'sql1': 'CONTOSO\\sqlsvc', 'sql2': 'contoso\\SQLSVC', 'sql3': 'CONTOSO\\sqlsvc'}
    records = windows_topology(accounts)
    assert all(r['info']['connect_grantees'] == [] for r in records)
    result = trust_matrix(records, now=NOW)
    assert result['ok'], result['broken']
    assert {p['authentication'] for p in result['pairs']} == {'windows'}


def test_windows_different_accounts_with_grants_ok_and_missing_grant_named():
    accounts = {'sql1': 'CONTOSO\\svc1', 'sql2': 'CONTOSO\\svc2', 'sql3': 'CONTOSO\\svc3'}
    records = windows_topology(accounts)
    assert trust_matrix(records, now=NOW)['ok']
    by_name(records, 'sql2')['info']['connect_grantees'].remove('CONTOSO\\svc3')
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql3', 'sql2'): ['connect_missing']}
    problem = result['broken'][0]['problems'][0]
    assert 'CONTOSO\\svc3' in problem['message'] and 'sql2' in problem['message']
    assert 'windows_topology' in problem['fix']


def test_windows_virtual_account_is_seen_as_computer_account():
    records = windows_topology({'sql1': 'CONTOSO\\svc1', 'sql2': 'NT Service\\MSSQLSERVER'})
    sql1, sql2 = by_name(records, 'sql1'), by_name(records, 'sql2')
    sql2['computer_account'] = 'CONTOSO\\SQL2$'
    sql1['info']['connect_grantees'] = ['CONTOSO\\SQL2$']
    sql2['info']['connect_grantees'] = ['CONTOSO\\svc1']
    result = trust_matrix(records, now=NOW)
    assert result['ok'], result['broken']
    assert result['replicas'][1]['network_account'] == 'CONTOSO\\SQL2$'
    del sql2['computer_account']
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql2', 'sql1'): ['windows_account_unusable']}
    assert 'hadr_computer_account' in result['broken'][0]['problems'][0]['message']


@pytest.mark.parametrize('account', ['LocalSystem', 'NT AUTHORITY\\SYSTEM', 'NT AUTHORITY\\LOCAL SERVICE',
                                     '.\\sqlsvc', 'sqlsvc'])
def test_windows_unusable_accounts_break_outbound_pairs_only(account):
    records = windows_topology({'sql1': 'CONTOSO\\svc1', 'sql2': account})
    by_name(records, 'sql1')['info']['connect_grantees'] = []
    by_name(records, 'sql2')['info']['connect_grantees'] = ['CONTOSO\\svc1']
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql2', 'sql1'): ['windows_account_unusable']}
    assert 'certificate_topology' in result['broken'][0]['problems'][0]['fix']


# ---------------------------------------------------------------------------------------------
# one fault at a time in a healthy three-replica certificate topology

def test_missing_connect_grant_breaks_exactly_that_pair():
    records = certificate_topology()
    sql2 = by_name(records, 'sql2')
    sql2['info']['connect_grantees'].remove('sql3_login')
    cert_named(sql2, 'sql3_cert')['login_has_connect'] = False
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql3', 'sql2'): ['connect_missing']}
    assert result['matrix'][2][1] == 'broken' and result['matrix'][1][2] == 'ok'
    problem = result['broken'][0]['problems'][0]
    assert 'sql3_login' in problem['message'] and 'endpoint_permission' in problem['fix']


def test_login_has_connect_alone_is_enough():
    """endpoint_info's login_has_connect counts even when the grantee list does not name the login
    (e.g. CONNECT through the endpoint owner)."""
    records = certificate_topology()
    by_name(records, 'sql2')['info']['connect_grantees'] = []
    assert trust_matrix(records, now=NOW)['ok']


def test_missing_partner_certificate_breaks_exactly_that_pair():
    records = certificate_topology()
    sql1 = by_name(records, 'sql1')
    sql1['info']['certificates'].remove(cert_named(sql1, 'sql2_cert'))
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql2', 'sql1'): ['certificate_missing']}
    assert thumbprint('sql2') in result['broken'][0]['problems'][0]['message']


def test_partner_certificate_with_other_thumbprint_is_missing():
    records = certificate_topology()
    cert_named(by_name(records, 'sql1'), 'sql2_cert')['thumbprint'] = thumbprint('somebody else')
    assert broken_reasons(trust_matrix(records, now=NOW)) == {('sql2', 'sql1'): ['certificate_missing']}


def test_thumbprints_compare_case_insensitively():
    records = certificate_topology()
    copy_ = cert_named(by_name(records, 'sql1'), 'sql2_cert')
    copy_['thumbprint'] = copy_['thumbprint'].upper()
    assert trust_matrix(records, now=NOW)['ok']


def test_disabled_encryption_breaks_every_pair_with_that_replica():
    records = certificate_topology()
    by_name(records, 'sql3')['info']['endpoint']['encryption'] = 'disabled'
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {
        ('sql1', 'sql3'): ['encryption_mismatch'], ('sql3', 'sql1'): ['encryption_mismatch'],
        ('sql2', 'sql3'): ['encryption_mismatch'], ('sql3', 'sql2'): ['encryption_mismatch']}
    for pair in result['broken']:
        assert 'disabled on sql3' in pair['problems'][0]['message']
        assert 'sql3' in pair['problems'][0]['fix']


@pytest.mark.parametrize('enc_a,enc_b,expected', [
    ('disabled', 'disabled', 'none'), ('disabled', 'supported', 'none'), ('supported', 'disabled', 'none'),
    ('supported', 'required', 'aes'), ('required', 'supported', 'aes'), ('required', 'required', 'aes'),
])
def test_encryption_combinations_that_connect(enc_a, enc_b, expected):
    records = certificate_topology(('a', 'b'))
    records[0]['info']['endpoint']['encryption'] = enc_a
    records[1]['info']['endpoint']['encryption'] = enc_b
    result = trust_matrix(records, now=NOW)
    assert result['ok']
    assert {p['encryption'] for p in result['pairs']} == {expected}
    if expected == 'none':
        assert all(any('not encrypted' in w for w in p['warnings']) for p in result['pairs'])


@pytest.mark.parametrize('alg_a,alg_b,a_to_b,b_to_a', [
    ('aes', 'rc4', None, None), ('aes_rc4', 'rc4', 'rc4', 'rc4'),
    ('aes_rc4', 'rc4_aes', 'rc4', 'aes'),  # the accepting side's order wins
    ('rc4', 'rc4', 'rc4', 'rc4'),
])
def test_algorithms(alg_a, alg_b, a_to_b, b_to_a):
    records = certificate_topology(('a', 'b'))
    records[0]['info']['endpoint']['encryption_algorithm'] = alg_a
    records[1]['info']['endpoint']['encryption_algorithm'] = alg_b
    result = trust_matrix(records, now=NOW)
    pairs = dict(((p['source'], p['target']), p) for p in result['pairs'])
    assert pairs[('a', 'b')]['encryption'] == a_to_b
    assert pairs[('b', 'a')]['encryption'] == b_to_a
    if a_to_b is None:
        assert broken_reasons(result) == {('a', 'b'): ['algorithm_mismatch'], ('b', 'a'): ['algorithm_mismatch']}
    if 'rc4' in (a_to_b, b_to_a):
        assert any('RC4' in w for p in result['pairs'] for w in p['warnings'])


def test_expired_certificate_breaks_the_pairs_it_authenticates():
    records = certificate_topology()
    for record in records:  # the owner's certificate and its copies: same thumbprint, same dates
        for cert in record['info']['certificates']:
            if cert['thumbprint'] == thumbprint('sql2'):
                cert['expiry_date'] = '2026-11-01T00:00:00Z'
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql2', 'sql1'): ['source_certificate_expired'],
                                      ('sql2', 'sql3'): ['source_certificate_expired']}
    assert 'rotate_certificates' in result['broken'][0]['problems'][0]['fix']
    assert result['replicas'][1]['certificate']['days_to_expiry'] == -26


def test_certificate_not_yet_valid():
    records = certificate_topology()
    by_name(records, 'sql1')['info']['certificates'][0]['start_date'] = '2026-12-01T00:00:00+00:00'
    assert broken_reasons(trust_matrix(records, now=NOW)) == {('sql1', 'sql2'): ['source_certificate_not_yet_valid'],
                                                              ('sql1', 'sql3'): ['source_certificate_not_yet_valid']}


def test_expiring_certificate_warns_without_breaking():
    records = certificate_topology()
    by_name(records, 'sql1')['info']['certificates'][0]['expiry_date'] = '2026-12-06T12:00:00Z'
    result = trust_matrix(records, now=NOW, warn_days=30)
    assert result['ok']
    cert = result['replicas'][0]['certificate']
    assert (cert['days_to_expiry'], cert['expiring']) == (10, True)
    warnings = [w for p in result['pairs'] for w in p['warnings']]
    assert warnings.count('certificate sql1_cert of sql1 expires in 10 days: rotate it (rotate_certificates.yml)') \
        == 2
    assert trust_matrix(records, now=NOW, warn_days=5)['replicas'][0]['certificate']['expiring'] is False


def test_own_certificate_key_not_protected_by_master_key():
    records = certificate_topology()
    by_name(records, 'sql1')['info']['certificates'][0]['private_key_encryption'] = 'password'
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql1', 'sql2'): ['source_certificate_key'],
                                      ('sql1', 'sql3'): ['source_certificate_key']}


def test_own_endpoint_certificate_missing():
    records = certificate_topology()
    by_name(records, 'sql1')['info']['endpoint']['certificate'] = 'gone_cert'
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql1', 'sql2'): ['source_certificate_missing'],
                                      ('sql1', 'sql3'): ['source_certificate_missing']}
    assert 'gone_cert' in result['broken'][0]['problems'][0]['message']


def test_partner_certificate_without_owner_user_or_login():
    records = certificate_topology()
    cert_named(by_name(records, 'sql1'), 'sql2_cert')['owner_user'] = None
    cert_named(by_name(records, 'sql1'), 'sql3_cert')['owner_login'] = None
    assert broken_reasons(trust_matrix(records, now=NOW)) == {
        ('sql2', 'sql1'): ['certificate_not_owned'], ('sql3', 'sql1'): ['certificate_user_without_login']}


def test_login_from_certificate_with_connect_is_enough():
    """CREATE LOGIN ... FROM CERTIFICATE + GRANT CONNECT, with no user owning the certificate."""
    records = certificate_topology()
    copy_ = cert_named(by_name(records, 'sql1'), 'sql2_cert')
    copy_.update(owner_user='dbo', owner_login='dba_login', login_has_connect=False,
                 certificate_login='sql2_cert_login', certificate_login_has_connect=True)
    assert trust_matrix(records, now=NOW)['ok']
    copy_['certificate_login_has_connect'] = False
    assert broken_reasons(trust_matrix(records, now=NOW)) == {('sql2', 'sql1'): ['connect_missing']}


def test_rotation_old_and_new_certificate_side_by_side():
    """During rotation a replica holds two copies of a partner's certificates; the one the partner's
    endpoint uses decides."""
    records = certificate_topology()
    sql2 = by_name(records, 'sql2')
    new = dict(sql2['info']['certificates'][0], name='sql2_cert_2027', thumbprint=thumbprint('sql2-new'))
    sql2['info']['certificates'].append(new)
    sql2['info']['endpoint']['certificate'] = 'sql2_cert_2027'
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql2', 'sql1'): ['certificate_missing'],
                                      ('sql2', 'sql3'): ['certificate_missing']}
    for partner in ('sql1', 'sql3'):
        old = cert_named(by_name(records, partner), 'sql2_cert')
        by_name(records, partner)['info']['certificates'].append(
            dict(old, name='sql2_cert_2', thumbprint=thumbprint('sql2-new')))
    assert trust_matrix(records, now=NOW)['ok']


def test_stopped_and_missing_endpoints():
    records = certificate_topology()
    by_name(records, 'sql2')['info']['endpoint']['state'] = 'stopped'
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {
        ('sql1', 'sql2'): ['target_endpoint_not_started'], ('sql3', 'sql2'): ['target_endpoint_not_started'],
        ('sql2', 'sql1'): ['source_endpoint_not_started'], ('sql2', 'sql3'): ['source_endpoint_not_started']}
    by_name(records, 'sql2')['info']['endpoint'] = None
    result = trust_matrix(records, now=NOW)
    assert set(r for reasons in broken_reasons(result).values() for r in reasons) == {
        'target_endpoint_missing', 'source_endpoint_missing'}
    assert result['replicas'][1]['url'] is None


def test_failed_endpoint_info_breaks_every_pair_with_the_message():
    records = certificate_topology()
    by_name(records, 'sql3')['info'] = {'failed': True, 'msg': 'Login failed for user sa'}
    result = trust_matrix(records, now=NOW)
    assert sorted(broken_reasons(result)) == [('sql1', 'sql3'), ('sql2', 'sql3'), ('sql3', 'sql1'), ('sql3', 'sql2')]
    assert 'Login failed for user sa' in result['broken'][0]['problems'][0]['message']


def test_unreachable_port_names_the_direction_checked():
    records = certificate_topology()
    by_name(records, 'sql1')['reachable']['sql3'] = False
    by_name(records, 'sql2')['reachable'].pop('sql3')  # not checked: not a problem
    result = trust_matrix(records, now=NOW)
    assert broken_reasons(result) == {('sql1', 'sql3'): ['unreachable']}
    problem = result['broken'][0]['problems'][0]
    assert 'sql3.example.com:5024' in problem['message'] and '5024' in problem['fix']


def test_authentication_mismatch_and_windows_certificate_fallback():
    records = certificate_topology(('a', 'b'))
    records[0]['info']['endpoint']['authentication'] = 'windows'
    assert broken_reasons(trust_matrix(records, now=NOW)) == {
        ('a', 'b'): ['authentication_mismatch'], ('b', 'a'): ['authentication_mismatch']}
    # WINDOWS CERTIFICATE on both: Windows fails (LocalSystem-free but no grants), certificate works
    records = certificate_topology(('a', 'b'))
    for record in records:
        record['info']['endpoint']['authentication'] = 'windows_certificate'
        record['info']['server']['service_account'] = 'CONTOSO\\svc_%s' % record['name']
    result = trust_matrix(records, now=NOW)
    assert result['ok'], result['broken']
    assert {p['authentication'] for p in result['pairs']} == {'certificate'}
    # both methods broken: both reasons reported
    cert_named(records[1], 'a_cert')['login_has_connect'] = False
    records[1]['info']['connect_grantees'] = []
    result = trust_matrix(records, now=NOW)
    assert result['broken'][0]['source'] == 'a'
    assert [p['reason'] for p in result['broken'][0]['problems']] == ['connect_missing', 'connect_missing']


def test_ntlm_and_kerberos_never_meet():
    records = windows_topology({'a': 'CONTOSO\\svc', 'b': 'CONTOSO\\svc'})
    records[0]['info']['endpoint']['windows_protocol'] = 'ntlm'
    records[1]['info']['endpoint']['windows_protocol'] = 'kerberos'
    assert broken_reasons(trust_matrix(records, now=NOW)) == {
        ('a', 'b'): ['windows_protocol_mismatch'], ('b', 'a'): ['windows_protocol_mismatch']}
    records[1]['info']['endpoint']['windows_protocol'] = 'negotiate'
    assert trust_matrix(records, now=NOW)['ok']


def test_several_faults_are_all_reported_on_one_pair():
    records = certificate_topology(('a', 'b'))
    records[1]['info']['endpoint']['encryption'] = 'disabled'
    records[0]['reachable']['b'] = False
    records[1]['info']['certificates'] = [records[1]['info']['certificates'][0]]
    reasons = broken_reasons(trust_matrix(records, now=NOW))
    assert reasons[('a', 'b')] == ['certificate_missing', 'encryption_mismatch', 'unreachable']
    assert reasons[('b', 'a')] == ['encryption_mismatch']


def test_input_is_not_modified():
    records = certificate_topology()
    snapshot = copy.deepcopy(records)
    trust_matrix(records, now=NOW)
    assert records == snapshot


# ---------------------------------------------------------------------------------------------
# input validation and helpers

@pytest.mark.parametrize('bad,message', [
    ('not a list', 'expects a list'),
    ([{'info': {}}], 'needs a "name"'),
    ([{'name': 'a', 'info': None}, {'name': 'a', 'info': None}], 'repeated: a'),
])
def test_bad_input_is_named(bad, message):
    with pytest.raises(TopologyInputError, match=message):
        trust_matrix(bad, now=NOW)


def test_bad_date_is_named():
    records = certificate_topology(('a', 'b'))
    records[0]['info']['certificates'][0]['expiry_date'] = '31/12/2027'
    with pytest.raises(TopologyInputError, match="not an ISO 8601 date-time: '31/12/2027'"):
        trust_matrix(records, now=NOW)


@pytest.mark.parametrize('text', ['2027-01-31T10:00:00Z', '2027-01-31T10:00:00+00:00', '2027-01-31T11:00:00+01:00',
                                  '2027-01-31T10:00:00', '2027-01-31T10:00:00.000Z'])
def test_parse_utc_forms(text):
    assert parse_utc(text).isoformat() == '2027-01-31T10:00:00+00:00'


@pytest.mark.parametrize('account,computer,kind,network,usable', [
    ('CONTOSO\\sqlsvc', None, 'domain', 'CONTOSO\\sqlsvc', True),
    ('NT Service\\MSSQLSERVER', 'CONTOSO\\SQL1$', 'virtual', 'CONTOSO\\SQL1$', True),
    ('NT SERVICE\\MSSQL$INST2', 'CONTOSO\\SQL1$', 'virtual', 'CONTOSO\\SQL1$', True),
    ('NT AUTHORITY\\NETWORK SERVICE', 'CONTOSO\\SQL1$', 'network_service', 'CONTOSO\\SQL1$', True),
    ('NT AUTHORITY\\NetworkService', None, 'network_service', None, False),
    ('NT Service\\MSSQLSERVER', 'SQL1$', 'virtual', None, False),
    ('LocalSystem', None, 'builtin', None, False),
    ('NT AUTHORITY\\SYSTEM', None, 'builtin', None, False),
    ('NT AUTHORITY\\LocalService', None, 'builtin', None, False),
    ('.\\sqlsvc', None, 'local', None, False),
    ('SQL1\\sqlsvc', 'CONTOSO\\SQL1$', 'local', None, False),
    ('sqlsvc', None, 'local', None, False),
    ('sqlsvc@contoso.com', None, 'domain', None, False),
    ('', None, 'missing', None, False),
    (None, None, 'missing', None, False),
])
def test_windows_identity(account, computer, kind, network, usable):
    identity = windows_identity(account, computer)
    assert (identity['kind'], identity['network_account'], identity['usable']) == (kind, network, usable)
    assert identity['message']
    if kind in ('builtin', 'local'):
        assert 'certificate_topology' in identity['message']


def test_info_shape_helper_matches_issue_5_pins():
    """The hand-built inputs follow the pinned shape: lowercase hex thumbprints, ISO 8601 UTC dates."""
    sample = info('x', 5022, certificates=[])
    assert set(sample) >= {'server', 'endpoint', 'connect_grantees', 'certificates', 'master_key', 'warnings'}
    for record in certificate_topology():
        for cert in record['info']['certificates']:
            assert cert['thumbprint'] == cert['thumbprint'].lower() and not cert['thumbprint'].startswith('0x')
            assert len(cert['thumbprint']) == 40
            assert cert['expiry_date'].endswith('Z')
            assert {'owner_user', 'owner_login', 'login_has_connect'} <= set(cert)


def test_certificate_owned_by_dbo_of_the_endpoint_owner_is_enough():
    """The Linux documentation's pattern: the certificate belongs to dbo, whose login owns the endpoint."""
    records = certificate_topology()
    copy_ = cert_named(by_name(records, 'sql1'), 'sql2_cert')
    copy_.update(owner_user='dbo', owner_login='sa', login_has_connect=False)
    by_name(records, 'sql1')['info']['connect_grantees'].remove('sql2_login')
    assert trust_matrix(records, now=NOW)['ok']
