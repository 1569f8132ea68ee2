"""Connection layer: option mapping per driver, driver choice, error-number parsing (no server needed)."""
import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import mssql
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import (
    MssqlError, choose_driver, connection_settings, driver_kind, mssql_argument_spec, parse_driver_error)

MS18 = 'ODBC Driver 18 for SQL Server'


def params(**overrides):
    base = {name: spec.get('default') for name, spec in mssql_argument_spec().items()}
    base.update(login_host='db1.example.com', login_port=1433, login_user='sa', login_password='S3cret;pw}')
    base.update(overrides)
    return base


def as_dict(conn_str):
    """Split an ODBC connection string, honouring {braced} values.

    DRIVER={FreeTDS} selects FreeTDS's reading (the value runs to the '}' before ';' or the end,
    verbatim); otherwise the ODBC rule ('}}' is one '}').
    """
    freetds = conn_str.startswith('DRIVER={FreeTDS}')
    out, i = {}, 0
    while i < len(conn_str):
        eq = conn_str.index('=', i)
        key = conn_str[i:eq]
        i = eq + 1
        if conn_str[i] == '{' and freetds:
            end = conn_str.find('};', i)
            out[key] = conn_str[i + 1:end]
            i = end + 2
        elif conn_str[i] == '{':
            j, val = i + 1, []
            while True:
                if conn_str[j] == '}':
                    if conn_str[j + 1:j + 2] == '}':
                        val.append('}')
                        j += 2
                        continue
                    break
                val.append(conn_str[j])
                j += 1
            out[key] = ''.join(val)
            i = j + 2
        else:
            end = conn_str.find(';', i)
            end = len(conn_str) if end < 0 else end
            out[key] = conn_str[i:end]
            i = end + 1
    return out


def test_every_option_has_its_environment_fallback():
    expected = {
        'login_host': 'MSSQL_HOST', 'login_port': 'MSSQL_PORT', 'login_user': 'MSSQL_USER',
        'login_password': 'MSSQL_PASSWORD', 'login_database': 'MSSQL_DATABASE',
        'login_authentication': 'MSSQL_AUTHENTICATION', 'odbc_driver': 'MSSQL_ODBC_DRIVER',
        'encrypt': 'MSSQL_ENCRYPT', 'trust_server_certificate': 'MSSQL_TRUST_SERVER_CERTIFICATE',
        'ca_file': 'MSSQL_CA_FILE', 'connect_timeout': 'MSSQL_CONNECT_TIMEOUT',
    }
    spec = mssql_argument_spec()
    assert set(spec) == set(expected)
    for name, env in expected.items():
        assert spec[name]['fallback'][1] == [env], name
    assert spec['login_password']['no_log'] is True
    assert spec['encrypt']['default'] is True and spec['trust_server_certificate']['default'] is False


def test_microsoft_mapping_validates_by_default():
    conn_str, env, conf = connection_settings(params(), MS18)
    keys = as_dict(conn_str)
    assert keys['DRIVER'] == MS18
    assert keys['SERVER'] == 'db1.example.com,1433'
    assert keys['Encrypt'] == 'yes' and keys['TrustServerCertificate'] == 'no'
    assert keys['PWD'] == 'S3cret;pw}'  # braced, so ';' and '}' cannot end the value early
    assert env == {} and conf is None


def test_microsoft_ca_file_goes_to_ssl_cert_file():
    conn_str, env, conf = connection_settings(params(ca_file='/etc/pki/ca.pem'), MS18)
    assert env == {'SSL_CERT_FILE': '/etc/pki/ca.pem', 'SSL_CERT_DIR': '/dev/null'}
    assert conf is None


def test_microsoft_without_encryption_and_trusting():
    keys = as_dict(connection_settings(params(encrypt=False), MS18)[0])
    assert keys['Encrypt'] == 'no'
    keys = as_dict(connection_settings(params(trust_server_certificate=True), MS18)[0])
    assert keys['Encrypt'] == 'yes' and keys['TrustServerCertificate'] == 'yes'


def test_freetds_validation_uses_a_freetds_conf_section():
    conn_str, env, conf = connection_settings(params(ca_file='/tmp/ca.pem'), 'FreeTDS')
    keys = as_dict(conn_str)
    assert keys['SERVERNAME'] == 'mssql_hadr' and 'SERVER' not in keys
    assert keys['Encryption'] == 'require'
    assert 'Encrypt' not in keys  # FreeTDS ignores Encrypt=: never rely on it
    assert '\tca file = /tmp/ca.pem' in conf.splitlines()
    assert '\thost = db1.example.com' in conf.splitlines() and '\tport = 1433' in conf.splitlines()
    assert 'S3cret' not in conf  # the file carries no secret


def test_freetds_validation_without_ca_file_uses_system_store():
    conf = connection_settings(params(), 'FreeTDS')[2]
    assert '\tca file = system' in conf.splitlines()


def test_freetds_braces_values_without_doubling():
    # FreeTDS 1.3 keeps '}}' as two characters inside braces (unlike the ODBC rule Microsoft follows).
    conn_str = connection_settings(params(encrypt=False), 'FreeTDS')[0]
    assert conn_str.endswith(';PWD={S3cret;pw}};')  # the final ';' keeps FreeTDS from keeping the '}'
    assert as_dict(conn_str)['PWD'] == 'S3cret;pw}'
    with pytest.raises(MssqlError, match="FreeTDS cannot pass a value containing '};'"):
        connection_settings(params(login_password='a};b'), 'FreeTDS')
    assert as_dict(connection_settings(params(login_password='a};b'), MS18)[0])['PWD'] == 'a};b'


@pytest.mark.parametrize('driver', ['FreeTDS', MS18])
def test_a_login_password_longer_than_login7_carries_is_refused(driver):
    """Regression (issue 14): FreeTDS silently sends only the first 128 UTF-16 code units, so a wrong
    password of 129 could log in; Microsoft's driver refuses it with a bare "invalid value"."""
    assert as_dict(connection_settings(params(login_password='\U0001F600' * 64), driver)[0])['PWD']
    for password in ('x' * 129, '\U0001F600' * 64 + 'x'):
        with pytest.raises(MssqlError, match='login_password is 129 UTF-16 code units long.*at most 128'):
            connection_settings(params(login_password=password), driver)
    # Windows authentication sends no LOGIN7 password (NTLM/Kerberos): no such limit
    connection_settings(params(login_password='x' * 200, login_authentication='windows'), 'FreeTDS')


def test_freetds_plain_and_trusting():
    keys = as_dict(connection_settings(params(encrypt=False), 'FreeTDS')[0])
    assert keys['SERVER'] == 'db1.example.com' and keys['PORT'] == '1433' and keys['Encryption'] == 'off'
    conn_str, env, conf = connection_settings(params(trust_server_certificate=True), 'FreeTDS')
    assert as_dict(conn_str)['Encryption'] == 'require' and conf is None


@pytest.mark.parametrize('overrides', [dict(ca_file='/x.pem', encrypt=False),
                                       dict(ca_file='/x.pem', trust_server_certificate=True)])
@pytest.mark.parametrize('driver', [MS18, 'FreeTDS'])
def test_ca_file_without_validation_is_refused(overrides, driver):
    with pytest.raises(MssqlError, match='ca_file is set but certificate validation is off'):
        connection_settings(params(**overrides), driver)


def test_windows_authentication():
    keys = as_dict(connection_settings(params(login_authentication='windows', login_user=None,
                                              login_password=None), MS18)[0])
    assert keys['Trusted_Connection'] == 'yes' and 'UID' not in keys
    keys = as_dict(connection_settings(params(login_authentication='windows', login_user='CORP\\dba'),
                                       'FreeTDS')[0])
    assert keys['UID'] == 'CORP\\dba' and 'Trusted_Connection' not in keys


def test_sql_authentication_needs_a_user():
    with pytest.raises(MssqlError, match='login_user is required'):
        connection_settings(params(login_user=None), MS18)


@pytest.mark.parametrize('driver, kind', [
    (MS18, 'microsoft'), ('ODBC Driver 17 for SQL Server', 'microsoft'), ('FreeTDS', 'freetds'),
    ('/opt/microsoft/msodbcsql18/lib64/libmsodbcsql-18.6.so.2.1', 'microsoft'),
    ('/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so', 'freetds'), ('PostgreSQL Unicode', None),
])
def test_driver_kind(driver, kind):
    assert driver_kind(driver) == kind


def test_choose_driver_prefers_microsoft_18_then_17_then_freetds():
    assert choose_driver(None, ['FreeTDS', 'ODBC Driver 17 for SQL Server', MS18]) == MS18
    assert choose_driver(None, ['FreeTDS', 'ODBC Driver 17 for SQL Server']) == 'ODBC Driver 17 for SQL Server'
    assert choose_driver(None, ['PostgreSQL', 'FreeTDS']) == 'FreeTDS'
    assert choose_driver('/usr/lib/libtdsodbc.so', []) == '/usr/lib/libtdsodbc.so'


def test_choose_driver_errors_say_how_to_install():
    with pytest.raises(MssqlError, match='No SQL Server ODBC driver is installed.*tdsodbc'):
        choose_driver(None, ['PostgreSQL'])
    with pytest.raises(MssqlError, match="'ODBC Driver 18 for SQL Server' is not registered.*registered: FreeTDS"):
        choose_driver(MS18, ['FreeTDS'])
    with pytest.raises(MssqlError, match='Cannot tell which driver'):
        choose_driver('/opt/lib/libpq.so', [])


class FakeDriverError(Exception):
    pass


@pytest.mark.parametrize('args, sqlstate, number, message', [
    (('42000', "[42000] [FreeTDS][SQL Server]The server principal 'dup' already exists. (15025) (SQLExecDirectW)"),
     '42000', 15025, "The server principal 'dup' already exists."),
    (('42000', '[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]An endpoint of the requested type '
               'already exists. Only one endpoint of this type is supported. Use ALTER ENDPOINT or DROP the '
               'existing endpoint and execute the CREATE ENDPOINT statement. (7862) (SQLExecDirectW)'),
     '42000', 7862, 'An endpoint of the requested type already exists.'),
    (('28000', "[28000] [FreeTDS][SQL Server]Login failed for user 'sa'. (18456) (SQLDriverConnect)"),
     '28000', 18456, "Login failed for user 'sa'."),
    (('42S02', "[42S02] [FreeTDS][SQL Server]Invalid object name 'sys.nope'. (208) (SQLExecDirectW)"),
     '42S02', 208, "Invalid object name 'sys.nope'."),
    (('08001', '[08001] [FreeTDS][SQL Server]Unable to connect to data source (0) (SQLDriverConnect)'),
     '08001', None, 'Unable to connect to data source'),
    (('01000', "[01000] [unixODBC][Driver Manager]Can't open lib 'x' : file not found (0) (SQLDriverConnect)"),
     '01000', None, "Can't open lib 'x' : file not found"),
])
def test_parse_driver_error(args, sqlstate, number, message):
    got_state, got_number, got_message = parse_driver_error(FakeDriverError(*args))
    assert (got_state, got_number) == (sqlstate, number)
    assert got_message.startswith(message)


def test_parse_driver_error_first_numbered_message_of_several():
    text = ("[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Cannot find the login 'x', because it "
            "does not exist or you do not have permission. (15151) (SQLExecDirectW); [42000] [Microsoft][ODBC "
            "Driver 18 for SQL Server][SQL Server]Statement(s) could not be prepared. (8180)")
    state, number, message = parse_driver_error(FakeDriverError('42000', text))
    assert number == 15151 and message.startswith("Cannot find the login 'x'")


def test_mssql_error_text_carries_the_number():
    assert str(MssqlError('Boom.', 7862)) == 'Boom. (SQL Server error 7862)'
    assert str(MssqlError('Boom.')) == 'Boom.'


def test_connect_without_pyodbc_names_the_library(monkeypatch):
    monkeypatch.setattr(mssql, 'pyodbc', None)
    with pytest.raises(MssqlError, match='pyodbc'):
        mssql.connect(params())
