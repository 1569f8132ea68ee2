"""The five client stacks the emulator is tested with, behind one small interface.

Each Client connects to (host, port) as sa with a TLS mode:
  None          - no TLS requested (what each client does by default without encryption)
  'login-only'  - TLS for LOGIN7 only (TDS 7.x, server answers ENCRYPT_OFF)
  'full'        - TLS for the whole session inside PRELOGIN (TDS 7.x, server answers ENCRYPT_ON)
  'strict'      - TDS 8.0: TLS first, on the raw socket
and `cafile` (the server certificate, PEM) for the modes that validate it.
"""
import glob
import os
import re

import pyodbc

MODES = (None, 'login-only', 'full', 'strict')


class Unsupported(Exception):
    """The client stack cannot do this at all (reason in the message)."""


def msodbc_library():
    """Microsoft ODBC Driver 18 as shipped inside the mssql-python-odbc wheel (tds.md (a))."""
    import mssql_python_odbc   # pylint: disable=import-outside-toplevel
    base = os.path.dirname(mssql_python_odbc.__file__)
    found = sorted(glob.glob(os.path.join(base, 'libs', 'linux', 'debian_ubuntu', 'x86_64', 'lib',
                                          'libmsodbcsql-18*.so*')))
    if not found:
        raise RuntimeError('libmsodbcsql-18 not found under %s; reinstall mssql-python-odbc' % base)
    return found[-1]


def odbc_error_number(exc):
    match = re.search(r'\((\d+)\) \(SQL\w+\)$', exc.args[1]) if len(exc.args) > 1 else None
    return int(match.group(1)) if match else None


def write_freetds_conf(directory, host, port, encryption, cafile=None, tds_version='7.4'):
    """A freetds.conf with one server section `emu`: FreeTDS reads `ca file` only from there (gotcha 3)."""
    path = os.path.join(str(directory), 'freetds.conf')
    lines = ['[emu]', '\thost = %s' % host, '\tport = %d' % port, '\ttds version = %s' % tds_version,
             '\tencryption = %s' % encryption]
    if cafile:
        lines += ['\tca file = %s' % cafile, '\tcheck certificate hostname = no']
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(lines) + '\n')
    return path


class Client:
    name = ''
    param = '?'
    exposes_error_number = True

    def connect(self, host, port, password, mode=None, cafile=None, workdir=None, monkeypatch=None):
        raise NotImplementedError

    def error_number(self, exc):
        raise NotImplementedError

    def error_types(self):
        raise NotImplementedError

    def tls_error_types(self):
        """What a failed certificate validation raises."""
        return self.error_types()


class PyodbcFreeTDS(Client):
    name = 'pyodbc+FreeTDS'

    def connect(self, host, port, password, mode=None, cafile=None, workdir=None, monkeypatch=None):
        if mode == 'strict':
            raise Unsupported('FreeTDS 1.3.17 (Debian 12 tdsodbc) has no TDS 8.0: TDS_Version=8.0 logs in as 7.4 '
                              'with the first byte 0x12 (PRELOGIN), never a TLS ClientHello')
        # FreeTDS ignores Encrypt=/TrustServerCertificate= (gotcha 3): its keyword is Encryption=
        encryption = {None: 'off', 'login-only': 'request', 'full': 'require'}[mode]
        if cafile:
            monkeypatch.setenv('FREETDSCONF', write_freetds_conf(workdir, host, port, encryption, cafile))
            target = 'SERVERNAME=emu'
        else:
            target = 'SERVER=%s;PORT=%d;TDS_Version=7.4;Encryption=%s' % (host, port, encryption)
        return pyodbc.connect('DRIVER={FreeTDS};%s;UID=sa;PWD=%s' % (target, password), autocommit=True, timeout=10)

    def error_number(self, exc):
        return odbc_error_number(exc)

    def error_types(self):
        return (pyodbc.Error,)


class PyodbcMsodbc(Client):
    name = 'pyodbc+msodbcsql18'

    def connect_string(self, host, port, password, mode, cafile):
        if mode == 'strict':
            # strict ignores TrustServerCertificate: the certificate is pinned (tds.md (e))
            security = 'Encrypt=strict;HostNameInCertificate=localhost;ServerCertificate=%s' % cafile
        elif mode == 'full':
            security = 'Encrypt=yes;TrustServerCertificate=yes' if cafile is None else 'Encrypt=yes'
        else:   # Encrypt=no sends ENCRYPT_OFF: login-only TLS when the server has a certificate
            security = 'Encrypt=no'
        return 'SERVER=%s,%d;UID=sa;PWD=%s;%s' % ('localhost' if mode else host, port, password, security)

    def connect(self, host, port, password, mode=None, cafile=None, workdir=None, monkeypatch=None):
        return pyodbc.connect('DRIVER={%s};%s' % (msodbc_library(), self.connect_string(host, port, password, mode,
                                                                                        cafile)),
                              autocommit=True, timeout=10)

    def error_number(self, exc):
        return odbc_error_number(exc)

    def error_types(self):
        return (pyodbc.Error,)


class MssqlPython(PyodbcMsodbc):
    name = 'mssql-python'
    exposes_error_number = False   # its exceptions carry only the message text (tds.md gotcha 10)

    def connect(self, host, port, password, mode=None, cafile=None, workdir=None, monkeypatch=None):
        import mssql_python   # pylint: disable=import-outside-toplevel
        conn = mssql_python.connect(self.connect_string(host, port, password, mode, cafile))
        conn.autocommit = True
        return conn

    def error_number(self, exc):
        return None

    def error_types(self):
        import mssql_python   # pylint: disable=import-outside-toplevel
        return (mssql_python.Error,)


class Pytds(Client):
    name = 'python-tds'
    param = '%s'

    def connect(self, host, port, password, mode=None, cafile=None, workdir=None, monkeypatch=None):
        import pytds   # pylint: disable=import-outside-toplevel
        if mode == 'strict':
            raise Unsupported('python-tds 1.17 has no TDS 8.0 (no strict encryption option)')
        options = {}
        if mode in ('full', 'login-only'):
            try:
                import OpenSSL  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
            except ImportError as exc:
                raise RuntimeError('python-tds does TLS with pyOpenSSL, which is missing: add pyopenssl to '
                                   '.ci/requirements-test.txt and run make venv') from exc
            if cafile is None:
                raise Unsupported('python-tds encrypts only with cafile= (it always validates the certificate)')
            options = {'cafile': cafile, 'validate_host': False, 'enc_login_only': mode == 'login-only'}
        return pytds.connect(host, user='sa', password=password, port=port, autocommit=True, login_timeout=10,
                             **options)

    def error_number(self, exc):
        return exc.number

    def error_types(self):
        import pytds   # pylint: disable=import-outside-toplevel
        return (pytds.Error,)

    def tls_error_types(self):
        import OpenSSL   # pylint: disable=import-outside-toplevel  # python-tds does TLS with pyOpenSSL
        return self.error_types() + (OpenSSL.SSL.Error,)


class Pymssql(Client):
    name = 'pymssql'
    param = '%s'

    def connect(self, host, port, password, mode=None, cafile=None, workdir=None, monkeypatch=None):
        import pymssql   # pylint: disable=import-outside-toplevel
        if mode is None and cafile is None:
            return pymssql.connect(server=host, port=str(port), user='sa', password=password, autocommit=True,
                                   login_timeout=10)
        # pymssql bundles FreeTDS 1.5 (with OpenSSL), configured through a freetds.conf section
        encryption = {None: 'off', 'login-only': 'request', 'full': 'require', 'strict': 'strict'}[mode]
        monkeypatch.setenv('FREETDSCONF', write_freetds_conf(
            workdir, host, port, encryption, cafile, tds_version='8.0' if mode == 'strict' else '7.4'))
        # pymssql passes its own port (default 1433) over the section's, so it is given here too
        return pymssql.connect(server='emu', port=str(port), user='sa', password=password, autocommit=True,
                               login_timeout=10)

    def error_number(self, exc):
        return exc.args[0]

    def error_types(self):
        import pymssql   # pylint: disable=import-outside-toplevel
        return (pymssql.Error,)


CLIENTS = [PyodbcFreeTDS(), PyodbcMsodbc(), MssqlPython(), Pytds(), Pymssql()]
