"""partner_trust: generated partner names (and login patterns) create exactly each partner's login, user,
certificate and CONNECT grant, or are refused before any statement."""
import string

from hypothesis import assume, given, strategies as st

from tests.fuzz.harness import assert_refused, fuzz_settings
from tests.fuzz.oracle import bracket, name_key, sysname_problem
from tests.fuzz.strategies import names
from tests.fuzz.test_fuzz_endpoint import create_endpoint
from tests.support.certificates import der, pem, rsa_key, self_signed
from ansible_collections.mssql.hadr.plugins.module_utils._x509 import thumbprint

CERTIFICATES = [self_signed(rsa_key(2048, slot=70 + i), common_name='fuzz-partner-%d' % i) for i in range(3)]
pattern_text = st.text(alphabet=st.characters(exclude_characters='{}', exclude_categories=('Cs',)), max_size=6)
login_patterns = st.one_of(st.just('{partner}_login'),
                           st.tuples(pattern_text, pattern_text).map(lambda t: t[0] + '{partner}' + t[1]),
                           st.sampled_from(['{partner', '{partner.__class__}', '{0}', '{partner}{partner}', 'x',
                                            '{{partner}}', '{partner!r}', '{partner:>200}']))


def pattern_login(pattern, partner):
    """(login name, None) as Python's str.format makes it (the documented meaning), or (None, 'login_pattern').

    The module also refuses a conversion or format spec on {partner} (it recognises its own logins by it)."""
    try:
        parsed = [(field, spec, conversion) for dummy, field, spec, conversion in string.Formatter().parse(pattern)
                  if field is not None]
        if {field for field, dummy, dummy2 in parsed} != {'partner'} or any(s or c for f, s, c in parsed):
            return None, 'login_pattern'
        return pattern.format(partner=partner), None
    except (ValueError, IndexError, KeyError):
        return None, 'login_pattern'


def derived_problem(name):
    return sysname_problem(name) or ('backslash' if '\\' in name else None)


@fuzz_settings(25)
@given(partners=st.lists(names, min_size=1, max_size=3), login_pattern=login_patterns)
def test_generated_partner_names(fuzzer, partners, login_pattern):
    if not fuzzer.baseline.names('endpoint'):
        create_endpoint(fuzzer)
        fuzzer.baseline = fuzzer.snapshot()
    entries = [{'name': p, 'public_certificate': pem(c)} for p, c in zip(partners, CERTIFICATES)]
    expected = []
    problems = []
    for entry, cert in zip(entries, CERTIFICATES):
        tp = thumbprint(der(cert))
        login, pattern_problem = pattern_login(login_pattern, entry['name'])
        if pattern_problem:
            problems.append(pattern_problem)
        names_of = {'login': login,
                    'user': entry['name'] + '_user', 'certificate': '%s_cert_%s' % (entry['name'], tp[:8])}
        problems += [derived_problem(n) for n in names_of.values() if n is not None and derived_problem(n)]
        if entry['name'] == '':
            problems.append('has no name')
        expected.append(names_of)
    if len(set(p.casefold() for p in partners)) != len(partners):
        problems.append('listed twice')
    elif not problems and len({name_key(e['login']) for e in expected}) != len(expected):
        problems.append('same login')
    if not problems:
        for e in expected:
            assume(all(fuzzer.baseline.get(kind, e[kind]) is None for kind in ('login', 'user', 'certificate')))
    with fuzzer.example():
        case = fuzzer.run('partner_trust', partners=entries, login_pattern=login_pattern)
        if problems:
            assert_refused(case, problems)
            return
        assert not case.failed, case
        want = []
        for e in expected:
            want += [('login', name_key(e['login'])), ('sql_login', name_key(e['login'])),
                     ('permission', (100, 0, 'CONNECT SQL', name_key(e['login']))),
                     ('user', name_key(e['user'])), ('certificate', name_key(e['certificate']))]
        added = [a for a in case.added if not (a[0] == 'permission' and a[1][0] == 105)]
        grants = [a for a in case.added if a[0] == 'permission' and a[1][0] == 105]
        assert sorted(added, key=repr) == sorted(want, key=repr), case
        assert sorted(g[1][3] for g in grants) == sorted(name_key(e['login']) for e in expected), case
        assert not (case.removed or case.changed), case
        for e in expected:
            assert case.after.get('login', e['login'])[0] == e['login'], case
            assert case.after.get('user', e['user'])[0] == e['user'], case
            cert = case.after.get('certificate', e['certificate'])
            assert cert[0] == e['certificate'] and cert[5] == e['user'], ('certificate name or owner', cert)
        statements = case.requests.statements
        assert all(s.split(' ', 2)[0] in ('CREATE', 'GRANT') for s in statements), case
        for e in expected:
            assert 'GRANT CONNECT ON ENDPOINT::%s TO %s' % (bracket('fuzz_endpoint'), bracket(e['login'])) in statements
        again = fuzzer.run('partner_trust', partners=entries, login_pattern=login_pattern)
        assert not again.failed and not again.result['changed'] and again.requests.statements == [], again


def test_a_login_pattern_with_a_bad_format_spec_is_refused_cleanly(fuzzer):
    """Found by the property above: '{partner:d}' passes check_patterns (its field is 'partner'), then
    str.format raises ValueError in partner_trust.derived(), which nothing catches: the module dies with a
    traceback instead of a failure naming login_pattern. Fixed in dcb7d2c; a regression test now."""
    create_endpoint(fuzzer)
    for pattern in ('{partner:d}', '{partner!x}'):
        with fuzzer.example():
            case = fuzzer.run('partner_trust', partners=[{'name': 'p', 'public_certificate': pem(CERTIFICATES[0])}],
                              login_pattern=pattern)
            assert_refused(case, ['login_pattern'])
