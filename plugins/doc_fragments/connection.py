# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every SQL module (plugins/module_utils/mssql.py).
    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host name or address of the SQL Server instance.
      - Falls back to the E(MSSQL_HOST) environment variable.
    type: str
    default: localhost
  login_port:
    description:
      - TCP port of the instance (its client port, not the mirroring endpoint's).
      - Falls back to E(MSSQL_PORT).
    type: int
    default: 1433
  login_user:
    description:
      - Login to connect as. Required for O(login_authentication=sql).
      - With O(login_authentication=windows) and FreeTDS, C(DOMAIN\\user) together with O(login_password) logs in with NTLM.
      - Falls back to E(MSSQL_USER).
    type: str
  login_password:
    description:
      - Password of O(login_user). Never logged.
      - Falls back to E(MSSQL_PASSWORD).
      - For SQL authentication at most 128 UTF-16 code units (a character outside the Basic Multilingual
        Plane counts twice), all the TDS login packet carries; a longer one is refused before connecting.
        With FreeTDS it must not contain C(};).
    type: str
  login_database:
    description:
      - Database the connection starts in. Server-level objects live in C(master).
      - Falls back to E(MSSQL_DATABASE).
    type: str
    default: master
  login_authentication:
    description:
      - V(sql) logs in with O(login_user) and O(login_password).
      - V(windows) uses Kerberos (a ticket from C(kinit) or a keytab) or, with FreeTDS and a password, NTLM, through the ODBC driver.
        It cannot be exercised by this collection's own tests, which have no domain.
      - Falls back to E(MSSQL_AUTHENTICATION).
    type: str
    choices: [sql, windows]
    default: sql
  odbc_driver:
    description:
      - ODBC driver name as registered with unixODBC, or a path to a driver library.
      - By default the first installed of C(ODBC Driver 18 for SQL Server), C(ODBC Driver 17 for SQL Server) and C(FreeTDS).
      - Falls back to E(MSSQL_ODBC_DRIVER).
    type: str
  encrypt:
    description:
      - Encrypt the connection with TLS.
      - Mapped to C(Encrypt=yes/no) for Microsoft's driver and C(Encryption=require/off) for FreeTDS.
      - Falls back to E(MSSQL_ENCRYPT).
    type: bool
    default: true
  trust_server_certificate:
    description:
      - Accept the server's certificate without validating it. Use only for a self-signed certificate you trust.
      - Falls back to E(MSSQL_TRUST_SERVER_CERTIFICATE).
    type: bool
    default: false
  ca_file:
    description:
      - PEM file of the CA certificates that validate the server certificate, instead of the system's trust store.
      - Microsoft's driver is given it through C(SSL_CERT_FILE) in the module's own process;
        FreeTDS through a temporary C(freetds.conf) section (FreeTDS ignores CA options in connection strings).
      - Only valid when the certificate is validated, that is O(encrypt=true) and O(trust_server_certificate=false).
      - Falls back to E(MSSQL_CA_FILE).
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection and login.
      - Falls back to E(MSSQL_CONNECT_TIMEOUT).
    type: int
    default: 30
requirements:
  - pyodbc
  - unixODBC and an ODBC driver for SQL Server (Microsoft ODBC Driver 18 or 17, or FreeTDS C(tdsodbc)) on the host that runs the module
notes:
  - Each module run opens one connection with autocommit on, because endpoint statements cannot run inside a transaction.
  - Set the connection options once for all modules of the collection with C(module_defaults) and the C(group/mssql.hadr.all) action group.
  - Statements SQL Server reports as a deadlock victim (1205) or lock timeout (1222) are retried up to three times.
'''
