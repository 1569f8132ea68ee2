# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection layer shared by every SQL module: options, driver choice, connecting, errors.

One module run opens one connection (autocommit on: endpoint DDL cannot run inside a transaction)
and talks to SQL Server through pyodbc and an ODBC driver: Microsoft's "ODBC Driver 18/17 for SQL
Server" or FreeTDS. The two drivers spell encryption options differently; ``connection_settings``
maps our options to each one's keywords and is pure, so it is unit-tested without a server.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import tempfile
import time
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import PASSWORD_MAX_LENGTH, sysname_length

try:
    import pyodbc
except ImportError:
    pyodbc = None
    PYODBC_IMPORT_ERROR = traceback.format_exc()
else:
    PYODBC_IMPORT_ERROR = None

MICROSOFT = 'microsoft'
FREETDS = 'freetds'
PREFERRED_DRIVERS = ('ODBC Driver 18 for SQL Server', 'ODBC Driver 17 for SQL Server', 'FreeTDS')
INSTALL_DRIVER_HINT = ("Install Microsoft's ODBC driver (package msodbcsql18 from Microsoft's repository) or "
                       "FreeTDS's (Debian/Ubuntu: apt-get install tdsodbc unixodbc; RHEL: dnf install freetds "
                       "unixODBC) on the host that runs the module, or set odbc_driver to a driver library path.")

# Errors worth retrying: the statement was chosen as a deadlock victim or hit a lock timeout,
# and running it again is the documented remedy.
TRANSIENT_ERRORS = (1205, 1222)
RETRY_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 0.5

_NUMBER_AT_END = re.compile(r'\((\d+)\) \(SQL\w+\)\s*$')
_DRIVER_PREFIX = re.compile(r'^(\[[^\]]*\]\s*)+')


def mssql_argument_spec():
    """Connection options of every SQL module (documented in the mssql.hadr.connection fragment)."""
    return dict(
        login_host=dict(type='str', default='localhost', fallback=(env_fallback, ['MSSQL_HOST'])),
        login_port=dict(type='int', default=1433, fallback=(env_fallback, ['MSSQL_PORT'])),
        login_user=dict(type='str', fallback=(env_fallback, ['MSSQL_USER'])),
        login_password=dict(type='str', no_log=True, fallback=(env_fallback, ['MSSQL_PASSWORD'])),
        login_database=dict(type='str', default='master', fallback=(env_fallback, ['MSSQL_DATABASE'])),
        login_authentication=dict(type='str', default='sql', choices=['sql', 'windows'],
                                  fallback=(env_fallback, ['MSSQL_AUTHENTICATION'])),
        odbc_driver=dict(type='str', fallback=(env_fallback, ['MSSQL_ODBC_DRIVER'])),
        encrypt=dict(type='bool', default=True, fallback=(env_fallback, ['MSSQL_ENCRYPT'])),
        trust_server_certificate=dict(type='bool', default=False,
                                      fallback=(env_fallback, ['MSSQL_TRUST_SERVER_CERTIFICATE'])),
        ca_file=dict(type='path', fallback=(env_fallback, ['MSSQL_CA_FILE'])),
        connect_timeout=dict(type='int', default=30, fallback=(env_fallback, ['MSSQL_CONNECT_TIMEOUT'])),
    )


class MssqlError(Exception):
    """An error from SQL Server or the driver, with SQL Server's error number when there is one."""

    def __init__(self, message, number=None, sqlstate=None, statement=None):
        super(MssqlError, self).__init__(message)
        self.message = message
        self.number = number
        self.sqlstate = sqlstate
        self.statement = statement

    def __str__(self):
        if self.number is None:
            return self.message
        return '%s (SQL Server error %d)' % (self.message, self.number)


def parse_driver_error(exc):
    """(sqlstate, number, message) from a pyodbc exception.

    pyodbc exposes no error number: both drivers put it in the text, as in
    ``[42000] [FreeTDS][SQL Server]The server principal 'x' already exists. (15025) (SQLExecDirectW)``.
    Several messages may be joined with '; '; the first one carrying a number wins.
    """
    args = getattr(exc, 'args', ())
    sqlstate = args[0] if len(args) > 1 else None
    text = str(args[1] if len(args) > 1 else (args[0] if args else exc))
    number = None
    message = None
    for part in re.split(r';\s*(?=\[[0-9A-Z]{5}\])', text):
        found = _NUMBER_AT_END.search(part)
        clean = _DRIVER_PREFIX.sub('', _NUMBER_AT_END.sub('', part)).strip()
        if found and number is None and found.group(1) != '0':
            number, message = int(found.group(1)), clean
        elif message is None and clean:
            message = clean
    return sqlstate, number, message or text


def driver_kind(driver):
    """'microsoft' or 'freetds' for a driver name or library path."""
    name = os.path.basename(driver).lower() if ('/' in driver or '\\' in driver) else driver.lower()
    if 'freetds' in name or 'tdsodbc' in name:
        return FREETDS
    if 'msodbcsql' in name or 'sql server' in name:
        return MICROSOFT
    return None


def choose_driver(requested, installed):
    """The driver to use: the requested one (name or library path), else the first preferred installed."""
    if requested:
        if '/' not in requested and '\\' not in requested and requested not in installed:
            raise MssqlError("ODBC driver %r is not registered with unixODBC (registered: %s). Set odbc_driver to one "
                             "of those or to the driver library's path. %s"
                             % (requested, ', '.join(installed) or 'none', INSTALL_DRIVER_HINT))
        if driver_kind(requested) is None:
            raise MssqlError("Cannot tell which driver %r is: odbc_driver must name Microsoft's ODBC Driver 17/18 for "
                             "SQL Server or FreeTDS (or a path to libmsodbcsql*.so / libtdsodbc.so)." % requested)
        return requested
    for name in PREFERRED_DRIVERS:
        if name in installed:
            return name
    raise MssqlError('No SQL Server ODBC driver is installed (registered drivers: %s). %s'
                     % (', '.join(installed) or 'none', INSTALL_DRIVER_HINT))


def _odbc_value(value, kind):
    """Brace an ODBC connection-string value when ';', '{', '}' or spaces could end or bend it.

    Microsoft's driver follows the ODBC rule ('}' inside braces is doubled). FreeTDS 1.3 takes the
    text between '{' and the '};' that ends the value verbatim, without undoubling, and keeps the closing
    brace of a value that ends the string (both seen by recording the password a TDS server receives):
    so for FreeTDS the value is braced as is, every connection string ends with ';', and only '};'
    inside a value cannot be expressed.
    """
    value = str(value)
    if not re.search(r'[;{}=\[\]()\s,]', value) and value == value.strip():
        return value
    if kind == FREETDS:
        if '};' in value:
            raise MssqlError("FreeTDS cannot pass a value containing '};' in its connection string; change that "
                             "password or user name, or use Microsoft's ODBC driver (odbc_driver).")
        return '{' + value + '}'
    return '{' + value.replace('}', '}}') + '}'


def connection_settings(params, driver):
    """Map module options to (connection string, environment, freetds.conf text or None) for ``driver``.

    Pure: the caller applies the environment and writes the freetds.conf file. Raises MssqlError when
    the driver cannot honour the options as asked, rather than silently weakening them.
    """
    kind = driver_kind(driver)
    host, port = params['login_host'], params['login_port']
    windows = params['login_authentication'] == 'windows'
    validate = params['encrypt'] and not params['trust_server_certificate']
    pairs = [('DRIVER', '{%s}' % driver)]
    env = {}
    freetds_conf = None
    if params['ca_file'] and not validate:
        raise MssqlError('ca_file is set but certificate validation is off (encrypt: false or '
                         'trust_server_certificate: true); remove ca_file or turn validation on.')

    if kind == MICROSOFT:
        pairs += [('SERVER', '%s,%d' % (host, port)), ('DATABASE', params['login_database'])]
        pairs += [('Encrypt', 'yes' if params['encrypt'] else 'no'),
                  ('TrustServerCertificate', 'yes' if params['trust_server_certificate'] else 'no')]
        if params['ca_file'] and validate:
            # Microsoft's driver on Linux validates against OpenSSL's trust store, which SSL_CERT_FILE
            # replaces for this process (verified with the TDS probe: a wrong CA is refused). SSL_CERT_DIR
            # points nowhere so the system's hashed certificate directory cannot vouch for the server.
            env['SSL_CERT_FILE'] = params['ca_file']
            env['SSL_CERT_DIR'] = os.devnull
    else:
        if validate:
            # FreeTDS ignores CA options in the connection string: only a freetds.conf server section
            # makes it check the certificate ('system' = the operating system's CA bundle).
            section = 'mssql_hadr'
            freetds_conf = '\n'.join([
                '[%s]' % section,
                '\thost = %s' % host,
                '\tport = %d' % port,
                '\ttds version = 7.4',
                '\tencryption = require',
                '\tca file = %s' % (params['ca_file'] or 'system'),
                '\tcheck certificate hostname = yes',
                '',
            ])
            pairs += [('SERVERNAME', section)]
        else:
            pairs += [('SERVER', host), ('PORT', str(port)), ('TDS_Version', '7.4')]
        pairs += [('DATABASE', params['login_database']),
                  ('Encryption', 'require' if params['encrypt'] else 'off')]

    if windows:
        if params['login_user'] and params['login_password'] and kind == FREETDS:
            # FreeTDS logs in with NTLM when given DOMAIN\user and a password.
            pairs += [('UID', params['login_user']), ('PWD', params['login_password'])]
        else:
            pairs += [('Trusted_Connection', 'yes')]
    else:
        if not params['login_user']:
            raise MssqlError('login_user is required for SQL authentication (or set MSSQL_USER); '
                             'use login_authentication: windows for Kerberos/NTLM.')
        password = params['login_password'] or ''
        length = sysname_length(password)
        if length > PASSWORD_MAX_LENGTH:
            # Seen against the emulator: FreeTDS sends the first 128 code units (a longer wrong password
            # can log in), Microsoft's driver refuses the PWD attribute. SQL Server stores no longer one.
            raise MssqlError('login_password is %d UTF-16 code units long (a character outside the Basic '
                             'Multilingual Plane counts twice); a SQL Server login password holds at most %d, '
                             'all the TDS login packet carries. Check login_password (MSSQL_PASSWORD).'
                             % (length, PASSWORD_MAX_LENGTH))
        pairs += [('UID', params['login_user']), ('PWD', password)]
    conn_str = ''.join('%s=%s;' % (key, value if key == 'DRIVER' else _odbc_value(value, kind)) for key, value in pairs)
    return conn_str, env, freetds_conf


class Connection:
    """One open connection. Every statement error becomes an MssqlError carrying SQL Server's number."""

    def __init__(self, raw):
        self._raw = raw

    def _run(self, sql, params, collect):
        attempt = 0
        while True:
            attempt += 1
            cursor = self._raw.cursor()
            try:
                if params:
                    cursor.execute(sql, *params)
                else:
                    cursor.execute(sql)
                sets = []
                while True:
                    if cursor.description is not None:
                        names = [column[0] for column in cursor.description]
                        sets.append([dict(zip(names, row)) for row in cursor.fetchall()])
                    if not cursor.nextset():
                        break
                return sets if collect else None
            except pyodbc.Error as exc:
                sqlstate, number, message = parse_driver_error(exc)
                if number in TRANSIENT_ERRORS and attempt < RETRY_ATTEMPTS:
                    time.sleep(RETRY_DELAY_SECONDS * attempt)
                    continue
                raise MssqlError(message, number, sqlstate, sql)
            finally:
                try:
                    cursor.close()
                except pyodbc.Error:
                    pass

    def query(self, sql, params=()):
        """Rows (as dicts) of the first result set of a parameterised query (``?`` placeholders)."""
        sets = self._run(sql, params, True)
        return sets[0] if sets else []

    def query_sets(self, sql, params=()):
        """Every result set of one batch, so a module reads its whole state in one round trip."""
        return self._run(sql, params, True)

    def execute(self, sql):
        """Run one statement that returns no rows (DDL/DCL)."""
        self._run(sql, (), False)

    def close(self):
        try:
            self._raw.close()
        except pyodbc.Error:
            pass


def _connect_error(params, driver, exc):
    sqlstate, number, message = parse_driver_error(exc)
    where = '%s:%s' % (params['login_host'], params['login_port'])
    lower = message.lower()
    validating = params['encrypt'] and not params['trust_server_certificate']
    if number == 18456:
        return MssqlError("Login failed for user %r on %s: check login_user/login_password (MSSQL_USER/"
                          "MSSQL_PASSWORD), and that the login exists and is enabled." % (params['login_user'], where),
                          number, sqlstate)
    if 'certificate' in lower or 'ssl' in lower or 'tls' in lower:
        return MssqlError('TLS to %s failed: %s. Give the CA that signed the server certificate in ca_file, or set '
                          'trust_server_certificate: true for a self-signed certificate you accept.'
                          % (where, message), number, sqlstate)
    if sqlstate in ('08001', 'HYT00', '08S01') or 'unable to connect' in lower or 'timeout' in lower:
        hint = ''
        if validating and driver_kind(driver) == FREETDS:
            # FreeTDS reports a certificate that fails validation as a plain connection failure.
            hint = (' FreeTDS also reports a server certificate that does not validate against %s this way: check '
                    'ca_file, or set trust_server_certificate: true for a certificate you accept.'
                    % (params['ca_file'] or "the system's CA store"))
        return MssqlError('Cannot connect to SQL Server at %s (connect_timeout %d s): %s. Check login_host, login_port '
                          '(the instance must listen on TCP), connect_timeout and the firewall.%s'
                          % (where, params['connect_timeout'], message, hint), number, sqlstate)
    return MssqlError('Cannot connect to SQL Server at %s: %s' % (where, message), number, sqlstate)


def connect(params):
    """Open the module's single connection; raises MssqlError with a message users can act on."""
    if pyodbc is None:
        raise MssqlError(missing_required_lib('pyodbc'))
    driver = choose_driver(params['odbc_driver'], pyodbc.drivers())
    conn_str, env, freetds_conf = connection_settings(params, driver)
    conf_path = None
    saved = {}
    try:
        if freetds_conf is not None:
            handle, conf_path = tempfile.mkstemp(prefix='mssql_hadr_', suffix='.freetds.conf')
            with os.fdopen(handle, 'w') as conf:
                conf.write(freetds_conf)
            env['FREETDSCONF'] = conf_path
        for key, value in env.items():
            saved[key] = os.environ.get(key)
            os.environ[key] = value
        try:
            raw = pyodbc.connect(conn_str, autocommit=True, timeout=params['connect_timeout'])
        except pyodbc.Error as exc:
            raise _connect_error(params, driver, exc)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if conf_path:
            os.unlink(conf_path)
    return Connection(raw)
