"""Logins and users: SQL Server's rules, planning, statements and masking, without a server."""
import string

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as C
from ansible_collections.mssql.hadr.plugins.module_utils import _principals as P
from ansible_collections.mssql.hadr.plugins.module_utils._change import ChangeRecorder, ModuleFailure
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import TsqlValueError
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import MssqlError


def login_params(**over):
    params = dict(name='partner_b', type=None, password=None, update_password='on_create', check_policy=None,
                  check_expiration=None, sid=None, default_database='master', enabled=True, certificate=None)
    params.update(over)
    return params


def existing(**over):
    login = dict(name='partner_b', type='sql', sid='0x' + '11' * 16, default_database='master', enabled=True,
                 check_policy=True, check_expiration=False, certificate=None)
    login.update(over)
    return login


class Conn:
    def __init__(self, fail=None):
        self.executed = []
        self.fail = fail

    def execute(self, sql):
        if self.fail and self.fail[0] in sql:
            raise MssqlError('boom', self.fail[1], '42000', sql)
        self.executed.append(sql)


# ---------------------------------------------------------------- SQL Server's rules, before any statement


def test_type_defaults_follow_the_backslash():
    assert P.desired_login(login_params(name='DOM\\svc'))['type'] == 'windows'
    spec = P.desired_login(login_params(password='x'))
    assert spec['type'] == 'sql' and spec['check_policy'] is True and spec['check_expiration'] is False


@pytest.mark.parametrize('params, message, number', [
    (dict(check_policy=False, check_expiration=True), 'check_expiration: true needs check_policy', 15122),
    (dict(type='certificate', certificate='c', check_policy=True), 'sql logins only', 15171),
    (dict(type='certificate', certificate='c', check_expiration=False), 'sql logins only', 15171),
    (dict(name='DOM\\svc', password='x'), 'password applies to type: sql logins only', None),
    (dict(name='DOM\\svc', sid='0x' + '00' * 16), 'sid applies', None),
    (dict(name='a\\b', type='sql'), 'cannot contain a backslash', None),
    (dict(name='user@corp.example', type='windows'), 'DOMAIN\\\\name', 15407),
    (dict(name='svc', type='windows'), 'DOMAIN\\\\name', 15407),
    (dict(type='certificate'), 'needs certificate', None),
    (dict(password='p' * 129), 'at most 128', None),
    (dict(password='p' * 200), '200 characters long', None),
    (dict(password=''), 'must not be empty', None),
    (dict(sid='0x1234'), 'must be 16 bytes', 15419),
    (dict(sid='0xZZ'), 'not hexadecimal', None),
    (dict(certificate='c'), 'type: certificate logins only', None),
])
def test_bad_login_options_fail_with_the_reason(params, message, number):
    with pytest.raises(ModuleFailure, match=message) as info:
        P.desired_login(login_params(**params))
    assert info.value.details.get('error_number') == number


@pytest.mark.parametrize('name', ['x' * 129, '', 'trailing '])
def test_bad_names_fail_before_anything(name):
    with pytest.raises(TsqlValueError):
        P.desired_login(login_params(name=name))


def test_sid_is_normalised():
    assert P.desired_login(login_params(sid='ab' * 16))['sid'] == '0x' + 'AB' * 16


# ---------------------------------------------------------------- statements


def test_create_sql_quotes_every_name_and_the_password():
    spec = P.desired_login(login_params(name="we]ird'; --ünï", password="p'a]ss; --密", sid='0x' + '0A' * 16,
                                        default_database='d]b'))
    sql = P.create_login_sql(spec)
    assert sql == ("CREATE LOGIN [we]]ird'; --ünï] WITH PASSWORD = N'p''a]ss; --密', SID = 0x" + '0A' * 16 +
                   ", DEFAULT_DATABASE = [d]]b], CHECK_POLICY = ON, CHECK_EXPIRATION = OFF")


def test_create_windows_and_certificate_logins():
    assert P.create_login_sql(P.desired_login(login_params(name='DOM\\svc-b'))) == \
        'CREATE LOGIN [DOM\\svc-b] FROM WINDOWS WITH DEFAULT_DATABASE = [master]'
    assert P.create_login_sql(P.desired_login(login_params(type='certificate', certificate='b_cert'))) == \
        'CREATE LOGIN [partner_b] FROM CERTIFICATE [b_cert]'


def test_plan_create_disabled_and_mask_password():
    spec = P.desired_login(login_params(password="s'ecret", enabled=False))
    statements, after = P.plan_login(None, spec)
    conn = Conn()
    changes = ChangeRecorder(conn, check_mode=False)
    changes.apply(statements)
    assert changes.queries == ["CREATE LOGIN [partner_b] WITH PASSWORD = N'********', DEFAULT_DATABASE = [master], "
                               "CHECK_POLICY = ON, CHECK_EXPIRATION = OFF", 'ALTER LOGIN [partner_b] DISABLE']
    assert "N's''ecret'" in conn.executed[0]
    assert after['enabled'] is False and after['type'] == 'sql'


def test_create_sql_login_needs_a_password():
    with pytest.raises(ModuleFailure, match='password is required'):
        P.plan_login(None, P.desired_login(login_params()))


def test_unchanged_login_plans_nothing():
    spec = P.desired_login(login_params(password='x', sid='0x' + '11' * 16))
    assert P.plan_login(existing(), spec, password_matches=False) == ([], existing())
    spec = P.desired_login(login_params(password='x', update_password='always'))
    assert P.plan_login(existing(), spec, password_matches=True)[0] == []


def test_update_password_always_changes_only_a_different_password():
    spec = P.desired_login(login_params(password='new', update_password='always'))
    statements, dummy = P.plan_login(existing(), spec, password_matches=False)
    assert [s.sql for s in statements] == ["ALTER LOGIN [partner_b] WITH PASSWORD = N'new'"]
    assert statements[0].secrets == ('new',)


def test_option_changes_go_in_one_alter_and_enable_separately():
    spec = P.desired_login(login_params(password='new', update_password='always', check_expiration=True,
                                        default_database='tempdb'))
    statements, after = P.plan_login(existing(enabled=False, default_database='MASTER'), spec, password_matches=False)
    assert [s.sql for s in statements] == [
        "ALTER LOGIN [partner_b] WITH PASSWORD = N'new', DEFAULT_DATABASE = [tempdb], CHECK_EXPIRATION = ON",
        'ALTER LOGIN [partner_b] ENABLE']
    assert after['check_expiration'] and after['enabled'] and after['default_database'] == 'tempdb'


def test_default_database_compares_case_insensitively():
    spec = P.desired_login(login_params(default_database='Master'))
    assert P.plan_login(existing(), spec)[0] == []


def test_type_and_sid_and_certificate_cannot_change():
    with pytest.raises(ModuleFailure, match='exists as a sql login, not windows.*drop it'):
        P.plan_login(existing(name='DOM\\b'), P.desired_login(login_params(name='DOM\\b')))
    with pytest.raises(ModuleFailure, match="SID cannot change"):
        P.plan_login(existing(), P.desired_login(login_params(sid='0x' + '22' * 16)))
    with pytest.raises(ModuleFailure, match='certificate of a login cannot change'):
        P.plan_login(existing(type='certificate', certificate='old', check_policy=None, check_expiration=None),
                     P.desired_login(login_params(type='certificate', certificate='new')))


def test_drop_login_refused_when_it_owns_an_endpoint():
    with pytest.raises(ModuleFailure, match="owns endpoint 'Hadr_endpoint'") as info:
        P.plan_drop_login(existing(), ['Hadr_endpoint'])
    assert info.value.details['error_number'] == 15141
    assert [s.sql for s in P.plan_drop_login(existing(), [])] == ['DROP LOGIN [partner_b]']
    assert P.plan_drop_login(None, []) == []


@pytest.mark.parametrize('number, text', [(15118, 'check_policy: false'), (15401, 'cannot resolve the Windows'),
                                          (15434, 'while it is logged in'), (15581, 'master_key first')])
def test_sql_server_errors_become_advice(number, text):
    changes = ChangeRecorder(Conn(fail=('CREATE', number)), check_mode=False)
    with pytest.raises(ModuleFailure, match=text) as info:
        changes.apply([P.statement("CREATE LOGIN [x] WITH PASSWORD = N'pw'", ['pw'], 'login x')])
    assert info.value.details['error_number'] == number
    assert info.value.details['failed_statement'] == "CREATE LOGIN [x] WITH PASSWORD = N'********'"
    assert 'pw' not in info.value.msg.replace('password', '')


def test_unknown_sql_errors_pass_through():
    changes = ChangeRecorder(Conn(fail=('DROP', 2714)), check_mode=False)
    with pytest.raises(MssqlError):
        changes.apply([P.statement('DROP LOGIN [x]')])


def test_random_password_meets_complexity_and_is_safe_to_quote():
    seen = set()
    for dummy in range(200):
        pw = P.random_password()
        assert len(pw) == 40 and "'" not in pw and ']' not in pw
        for pool in (string.ascii_uppercase, string.ascii_lowercase, string.digits):
            assert any(c in pool for c in pw)
        seen.add(pw)
    assert len(seen) == 200


# ---------------------------------------------------------------- users


def user_params(**over):
    params = dict(name='b_user', login=None, certificate=None, without_login=False)
    params.update(over)
    return params


def test_user_defaults_to_the_login_of_the_same_name_and_one_mapping_only():
    assert P.desired_user(user_params())['login'] == 'b_user'
    with pytest.raises(ModuleFailure, match='only one of'):
        P.desired_user(user_params(login='l', certificate='c'))


@pytest.mark.parametrize('params, sql', [
    (dict(login='b_login'), 'CREATE USER [b_user] FOR LOGIN [b_login]'),
    (dict(certificate="c'1"), "CREATE USER [b_user] FOR CERTIFICATE [c'1]"),
    (dict(without_login=True), 'CREATE USER [b_user] WITHOUT LOGIN'),
])
def test_create_user_statements(params, sql):
    statements, after = P.plan_user(None, P.desired_user(user_params(**params)), 'master')
    assert [s.sql for s in statements] == [sql]


def test_user_mapped_elsewhere_fails_and_same_mapping_is_unchanged():
    current = P.parse_user({'name': 'b_user', 'type': 'S', 'authentication_type': 1, 'login_name': 'other',
                            'certificate_name': None})
    with pytest.raises(ModuleFailure, match="mapped to login 'other', not login 'b_login'"):
        P.plan_user(current, P.desired_user(user_params(login='b_login')), 'master')
    assert P.plan_user(current, P.desired_user(user_params(login='OTHER')), 'master')[0] == []
    cert_user = P.parse_user({'name': 'b_user', 'type': 'C', 'authentication_type': 0, 'login_name': None,
                              'certificate_name': 'c'})
    with pytest.raises(ModuleFailure, match="certificate 'c'"):
        P.plan_user(cert_user, P.desired_user(user_params(without_login=True)), 'master')


def test_user_preconditions():
    spec = P.desired_user(user_params(login='b_login'))
    with pytest.raises(ModuleFailure, match='create the login first'):
        P.plan_user(None, spec, 'master', login_exists=False)
    with pytest.raises(ModuleFailure, match="already has user 'old_user'") as info:
        P.plan_user(None, spec, 'master', users_of_login=['old_user'])
    assert info.value.details['error_number'] == 15063
    with pytest.raises(ModuleFailure, match='import it first'):
        P.plan_user(None, P.desired_user(user_params(certificate='c')), 'master', certificate_exists=False)


def test_drop_user_names_the_certificates_it_owns():
    rows = [{'name': 'b_cert_2', 'owner': 'B_USER'}, {'name': 'b_cert_1', 'owner': 'b_user'},
            {'name': 'own', 'owner': 'dbo'}]
    current = {'name': 'b_user', 'login': 'b_login', 'certificate': None, 'without_login': False}
    with pytest.raises(ModuleFailure, match="owns certificate\\(s\\) 'b_cert_1', 'b_cert_2'"):
        P.plan_drop_user(current, [row['name'] for row in C.owned_by(rows, 'b_user')], 'master')
    assert [s.sql for s in P.plan_drop_user(current, [], 'master')] == ['DROP USER [b_user]']


def test_orphaned_and_without_login_users_are_told_apart():
    orphan = P.parse_user({'name': 'u', 'type': 'S', 'authentication_type': 1, 'login_name': None,
                           'certificate_name': None})
    lonely = P.parse_user({'name': 'u', 'type': 'S', 'authentication_type': 0, 'login_name': None,
                           'certificate_name': None})
    assert orphan.get('orphaned') and lonely['without_login']
    assert 'orphaned' in P.describe_mapping(orphan)


# ---------------------------------------------------------------- reads


def test_reads_are_parameterised_and_keep_the_password_out_of_sql_text():
    sql, params = P.password_matches_sql('b', "pa'ss")
    assert "pa'ss" not in sql and params == ["pa'ss", 'b'] and sql.count('?') == 2
    sql, params = P.logins_sql(['a', 'b'])
    assert sql.count('?') == 2 and params == ['a', 'b']
    sql, params = P.users_sql(['u'])
    assert sql.count('?') == 1


def test_logins_read_keeps_names_out_of_sql_text():
    sql, values = P.logins_sql(["x'; DROP LOGIN sa; --", 'b'])
    assert values == ["x'; DROP LOGIN sa; --", 'b'] and sql.count('?') == 2 and 'DROP' not in sql


def test_reads_for_no_names_are_valid_sql():
    for sql, params in (P.logins_sql([]), P.users_sql([]), P.users_of_logins_sql([])):
        assert 'IN ()' not in sql and '1 = 0' in sql and params == []
    sql, params = P.users_sql()
    assert '1 = 0' not in sql and '?' not in sql and params == []
