"""TLS with every client: inside PRELOGIN (login-only and full, TLS 1.2) and TDS 8.0 strict.

The server runs in this process (real engine) so each test can check what was negotiated
(server.connection_security); test_fixtures/test_clients cover the process started by the fixtures.
"""
import inspect
import os
import socket
import ssl
import threading

import pyodbc
import pytest

from tests.emulator.engine import Engine
from tests.emulator.fixtures import DEFAULT_SA_PASSWORD
from tests.emulator.server import RequestLog, TdsServer
from tests.emulator.tests.client_matrix import CLIENTS, PyodbcFreeTDS, Unsupported
from tests.emulator.tlsutil import server_contexts, write_self_signed

IDS = [c.name for c in CLIENTS]


@pytest.fixture(scope='module')
def certificates(tmp_path_factory):
    directory = tmp_path_factory.mktemp('certs')
    right = write_self_signed(str(directory / 'server.crt'), str(directory / 'server.key'))
    wrong = write_self_signed(str(directory / 'other.crt'), str(directory / 'other.key'))
    return {'cert': right[0], 'key': right[1], 'other': wrong[0]}


@pytest.fixture(scope='module')
def tls_server(tmp_path_factory, certificates):
    engine = Engine(str(tmp_path_factory.mktemp('tlsdata')), server_name='TLSEMU', sa_password=DEFAULT_SA_PASSWORD,
                    service_account='NT Service\\MSSQLSERVER', windows_accounts=[])
    in_band, strict = server_contexts(certificates['cert'], certificates['key'])
    server = TdsServer(engine, '127.0.0.1', 0, server_name='TLSEMU', request_log=RequestLog(None),
                       tls_context=in_band, strict_tls_context=strict)
    threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()
    engine.close()


def negotiated(server, before):
    return [server.connection_security[c] for c in sorted(set(server.connection_security) - before)]


def use(client, conn):
    cursor = conn.cursor()
    cursor.execute('SELECT name FROM sys.server_principals WHERE name = %s' % client.param, ('sa',))
    assert [tuple(r) for r in cursor.fetchall()] == [('sa',)]
    conn.close()


EXPECTED_VERSION = {'login-only': 'TLSv1.2', 'full': 'TLSv1.2'}


@pytest.mark.parametrize('mode', ['login-only', 'full', 'strict'])
@pytest.mark.parametrize('client', CLIENTS, ids=IDS)
def test_tls_mode(client, mode, tls_server, certificates, tmp_path, monkeypatch):
    before = set(tls_server.connection_security)
    port = tls_server.server_address[1]
    # python-tds encrypts only with a CA file; the others trust or pin the certificate as noted in client_matrix
    cafile = certificates['cert'] if client.name in ('python-tds', 'pymssql') or mode == 'strict' else None
    try:
        conn = client.connect('127.0.0.1', port, DEFAULT_SA_PASSWORD, mode, cafile, tmp_path, monkeypatch)
    except Unsupported as exc:
        assert mode == 'strict', exc
        pytest.skip('%s cannot do TDS 8.0: %s (checked by test_clients_without_tds8_really_lack_it)'
                    % (client.name, exc))
    use(client, conn)
    modes = negotiated(tls_server, before)
    assert modes and modes[0][0] == mode
    if mode in EXPECTED_VERSION:
        assert modes[0][1] == EXPECTED_VERSION[mode]   # capped at 1.2 inside PRELOGIN (tds.md gotcha 5)
    else:
        assert modes[0][1] in ('TLSv1.2', 'TLSv1.3')


@pytest.mark.parametrize('client', CLIENTS, ids=IDS)
def test_without_encryption_nothing_is_negotiated(client, tls_server, tmp_path, monkeypatch):
    before = set(tls_server.connection_security)
    conn = client.connect('127.0.0.1', tls_server.server_address[1], DEFAULT_SA_PASSWORD, None, None, tmp_path,
                          monkeypatch)
    use(client, conn)
    modes = negotiated(tls_server, before)
    # Microsoft's driver and pymssql send ENCRYPT_OFF by default, which gives login-only TLS against a
    # server with a certificate, as SQL Server does; FreeTDS Encryption=off and pytds send NOT_SUP.
    expected = 'login-only' if client.name in ('pyodbc+msodbcsql18', 'mssql-python', 'pymssql') else 'none'
    assert modes and modes[0][0] == expected


@pytest.mark.parametrize('client', CLIENTS, ids=IDS)
def test_a_certificate_from_another_ca_is_rejected(client, tls_server, certificates, tmp_path, monkeypatch):
    port = tls_server.server_address[1]
    mode = 'strict' if client.name in ('pyodbc+msodbcsql18', 'mssql-python') else 'full'
    with pytest.raises(client.tls_error_types()):
        client.connect('127.0.0.1', port, DEFAULT_SA_PASSWORD, mode, certificates['other'], tmp_path, monkeypatch)
    # and the right certificate in the very same way is accepted
    use(client, client.connect('127.0.0.1', port, DEFAULT_SA_PASSWORD, mode, certificates['cert'], tmp_path,
                               monkeypatch))


@pytest.mark.parametrize('client', [c for c in CLIENTS if c.name in ('pyodbc+msodbcsql18', 'mssql-python')],
                         ids=lambda c: c.name)
def test_microsoft_driver_refuses_an_untrusted_certificate(client, tls_server):
    # Encrypt=yes without TrustServerCertificate validates against the system store: self-signed fails
    string = client.connect_string('127.0.0.1', tls_server.server_address[1], DEFAULT_SA_PASSWORD, 'full', 'x')
    with pytest.raises(client.error_types()) as caught:
        if client.name == 'mssql-python':
            import mssql_python   # pylint: disable=import-outside-toplevel
            mssql_python.connect(string)
        else:
            from tests.emulator.tests.client_matrix import msodbc_library   # pylint: disable=import-outside-toplevel
            pyodbc.connect('DRIVER={%s};%s' % (msodbc_library(), string), timeout=10)
    assert 'certificate verify failed' in str(caught.value)


def test_clients_without_tds8_really_lack_it(tmp_path):
    """FreeTDS 1.3 with TDS_Version=8.0 starts with a plain PRELOGIN (0x12), never a TLS ClientHello (0x16);
    python-tds has no option for strict encryption. If either learns TDS 8.0, this test fails: extend
    client_matrix then."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(5)
    first_bytes = []

    def accept():   # FreeTDS retries with older protocol versions on new connections: take them all
        while True:
            try:
                sock = listener.accept()[0]
            except OSError:
                return
            first_bytes.append(sock.recv(1))
            sock.close()

    threading.Thread(target=accept, daemon=True).start()
    try:
        with pytest.raises(pyodbc.Error):
            pyodbc.connect('DRIVER={FreeTDS};SERVER=127.0.0.1;PORT=%d;UID=sa;PWD=x;TDS_Version=8.0;'
                           'Encryption=require' % listener.getsockname()[1], timeout=5)
    finally:
        listener.close()
    first = {'byte': first_bytes[0]}
    assert first['byte'] == b'\x12'
    with pytest.raises(Unsupported):
        PyodbcFreeTDS().connect('127.0.0.1', 1, 'x', 'strict')
    import pytds   # pylint: disable=import-outside-toplevel
    source = inspect.getsource(pytds)
    package = os.path.dirname(pytds.__file__)
    sources = source + ''.join(open(os.path.join(package, f), encoding='utf-8').read()
                               for f in os.listdir(package) if f.endswith('.py'))
    assert 'tds/8.0' not in sources and 'strict' not in inspect.signature(pytds.connect).parameters


def test_strict_without_certificate_is_refused(tmp_path):
    engine = Engine(str(tmp_path), server_name='NOTLS', sa_password=DEFAULT_SA_PASSWORD,
                    service_account='NT Service\\MSSQLSERVER', windows_accounts=[])
    server = TdsServer(engine, '127.0.0.1', 0, server_name='NOTLS')
    threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    try:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection(server.server_address, timeout=5) as sock:
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                context.wrap_socket(sock, server_hostname='localhost')
    finally:
        server.shutdown()
        server.server_close()
        engine.close()


def test_emulator_process_with_tls_options(emulator_factory, tmp_path, monkeypatch):
    """--tls-cert/--tls-key through the command line and the fixture (tls=True)."""
    instance = emulator_factory(tls=True)
    assert instance.tls_cert and os.path.exists(instance.tls_cert)
    freetds, microsoft = CLIENTS[0], CLIENTS[1]
    use(freetds, freetds.connect(instance.host, instance.port, instance.sa_password, 'full', instance.tls_cert,
                                 tmp_path, monkeypatch))
    use(microsoft, microsoft.connect(instance.host, instance.port, instance.sa_password, 'strict',
                                     instance.tls_cert))
    assert [e['kind'] for e in instance.log_entries()].count('login') == 2


@pytest.mark.parametrize('trusted, works', [('cert', True), ('other', False)])
def test_microsoft_driver_validates_against_ssl_cert_file(tls_server, certificates, monkeypatch, trusted, works):
    """tds.md (f): Microsoft's driver takes OpenSSL's SSL_CERT_FILE as its trust store (the collection's
    ca_file relies on it); the host name must match the certificate (localhost)."""
    from tests.emulator.tests.client_matrix import msodbc_library   # pylint: disable=import-outside-toplevel
    monkeypatch.setenv('SSL_CERT_FILE', certificates[trusted])
    string = 'DRIVER={%s};SERVER=localhost,%d;UID=sa;PWD=%s;Encrypt=yes' % (
        msodbc_library(), tls_server.server_address[1], DEFAULT_SA_PASSWORD)
    if works:
        use(CLIENTS[1], pyodbc.connect(string, autocommit=True, timeout=10))
    else:
        with pytest.raises(pyodbc.Error, match='certificate verify failed'):
            pyodbc.connect(string, autocommit=True, timeout=10)
