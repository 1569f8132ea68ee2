"""The connection layer against the emulator through real pyodbc with FreeTDS and Microsoft's driver."""
import os

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils.mssql import MssqlError, connect, mssql_argument_spec

NASTY_PASSWORD = "Sa;Pa}ss{w0rd='x [1]'"


def params(instance, **overrides):
    """The options as AnsibleModule would hand them over: defaults, then the instance's, then overrides."""
    values = {name: spec.get('default') for name, spec in mssql_argument_spec().items()}
    values.update(instance.module_params(), **overrides)
    return values


def test_connect_with_a_password_full_of_odbc_syntax(emulator_factory):
    instance = emulator_factory(sa_password=NASTY_PASSWORD)
    conn = connect(params(instance))
    try:
        rows = conn.query('SELECT SUSER_SNAME() AS who, ? AS echoed', ('x]y',))
        assert rows == [{'who': 'sa', 'echoed': 'x]y'}]
    finally:
        conn.close()


def test_wrong_password_is_a_clear_login_failure(emulator):
    with pytest.raises(MssqlError) as caught:
        connect(params(emulator, login_password='not-the-password'))
    assert caught.value.number == 18456
    assert 'check login_user/login_password' in str(caught.value)


def test_nothing_listening_names_host_port_and_timeout(emulator):
    with pytest.raises(MssqlError, match=r'Cannot connect to SQL Server at 127\.0\.0\.1:1 \(connect_timeout 3 s\)'):
        connect(params(emulator, login_port=1, connect_timeout=3))


def test_statement_errors_carry_the_number_and_batches_return_every_set(emulator):
    conn = connect(params(emulator))
    try:
        sets = conn.query_sets("SELECT name FROM sys.server_principals WHERE name = ?; SELECT @@SERVERNAME AS s",
                               ('sa',))
        assert sets[0] == [{'name': 'sa'}] and len(sets[1]) == 1
        with pytest.raises(MssqlError) as caught:
            conn.execute('DROP LOGIN [no such login]')
        assert caught.value.number == 15151
        assert caught.value.statement == 'DROP LOGIN [no such login]'
    finally:
        conn.close()


@pytest.mark.parametrize('ca', ['right', 'wrong'])
def test_ca_file_validates_the_server_certificate_with_freetds(emulator_factory, tmp_path, ca):
    from tests.emulator.tlsutil import write_self_signed
    instance = emulator_factory(tls=True)
    if ca == 'right':
        ca_file = instance.tls_cert
    else:
        ca_file = write_self_signed(str(tmp_path / 'other.crt'), str(tmp_path / 'other.key'))[0]
    options = params(instance, encrypt=True, ca_file=ca_file, login_host='localhost', connect_timeout=5)
    if ca == 'right':
        conn = connect(options)
        assert conn.query('SELECT 1 AS one') == [{'one': 1}]
        conn.close()
    else:
        with pytest.raises(MssqlError, match='does not validate against %s' % ca_file):
            connect(options)


@pytest.mark.parametrize('ca', ['right', 'wrong'])
def test_ca_file_validates_the_server_certificate_with_microsoft_driver(emulator_factory, tmp_path, ca):
    from tests.emulator.tests.client_matrix import msodbc_library
    from tests.emulator.tlsutil import write_self_signed
    instance = emulator_factory(tls=True)
    environment_before = {key: os.environ.get(key) for key in ('SSL_CERT_FILE', 'SSL_CERT_DIR')}
    if ca == 'right':
        ca_file = instance.tls_cert
    else:
        ca_file = write_self_signed(str(tmp_path / 'other.crt'), str(tmp_path / 'other.key'))[0]
    # Microsoft's driver checks the host name against the certificate (CN=localhost).
    options = params(instance, encrypt=True, ca_file=ca_file, login_host='localhost', connect_timeout=5,
                     odbc_driver=msodbc_library())
    if ca == 'right':
        conn = connect(options)
        assert conn.query('SELECT 1 AS one') == [{'one': 1}]
        conn.close()
    else:
        with pytest.raises(MssqlError, match='^TLS to localhost:%d failed: .*certificate' % instance.port):
            connect(options)
    # The trust-store variables were changed only for the connection attempt.
    assert {key: os.environ.get(key) for key in environment_before} == environment_before
