"""Helpers for the endpoint family's integration tests (this file holds no tests).

Every test runs the modules through the real ansible-playbook (tests/support/playbook.py) against emulated
instances, with the connection options set once through module_defaults and the collection's action
group, and reads the emulator's request log to see what each module run sent.
"""
import re

from tests.emulator.fixtures import connections, round_trips
from tests.support.playbook import run_tasks

DDL = re.compile(r'^\s*(CREATE|ALTER|DROP|GRANT|REVOKE|DENY)\b', re.IGNORECASE)
PASSWORD = 'Str0ng-Passw0rd!'


def play(emulator, tasks, **options):
    """Run ``tasks`` with every mssql.hadr module pointed at ``emulator``; returns the PlaybookRun."""
    block = {'name': 'endpoint tasks', 'module_defaults': {'group/mssql.hadr.all': emulator.module_params()},
             'block': tasks}
    return run_tasks([block], **options)


def per_connection(emulator, since):
    """[[sql of each round trip] for each connection that logged in], in connection order."""
    entries = emulator.log_entries(since=since)
    trips = round_trips(entries)
    return [[entry['sql'] for entry in trips if entry['conn'] == conn] for conn in connections(entries)]


def ddl_in(statements):
    return [sql for sql in statements if DDL.match(sql or '')]


def connect(emulator):
    """A direct pyodbc connection (not through the collection).

    Not EmulatorInstance.connect(): it brace-quotes UID/PWD, and FreeTDS 1.3.17 keeps the closing brace of
    a braced value (PWD={x} sends 'x}'), so its logins fail with 18456. Reported to the fixture's owners.
    """
    import pyodbc
    return pyodbc.connect('DRIVER={FreeTDS};SERVER=%s;PORT=%d;TDS_Version=7.4;UID=sa;PWD=%s'
                          % (emulator.host, emulator.port, emulator.sa_password), autocommit=True, timeout=10)


def query(emulator, sql, *params):
    """Rows (as dicts) read straight from the emulator, bypassing the collection."""
    conn = connect(emulator)
    try:
        cursor = conn.cursor()
        cursor.execute(sql, *params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        conn.close()


def execute(emulator, *statements):
    """Set up a scenario with plain statements (not through the modules under test)."""
    conn = connect(emulator)
    try:
        for sql in statements:
            conn.cursor().execute(sql)
    finally:
        conn.close()


def mirroring_endpoint(emulator):
    rows = query(emulator, 'SELECT e.name, e.state_desc, e.role_desc, e.connection_auth_desc, '
                           'e.encryption_algorithm_desc, t.port, t.ip_address, p.name AS owner '
                           'FROM sys.database_mirroring_endpoints AS e '
                           'JOIN sys.tcp_endpoints AS t ON t.endpoint_id = e.endpoint_id '
                           'LEFT JOIN sys.server_principals AS p ON p.principal_id = e.principal_id')
    return rows[0] if rows else None


def connect_grantees(emulator):
    rows = query(emulator, "SELECT p.name FROM sys.server_permissions AS sp "
                           "JOIN sys.server_principals AS p ON p.principal_id = sp.grantee_principal_id "
                           "JOIN sys.database_mirroring_endpoints AS e ON e.endpoint_id = sp.major_id "
                           "WHERE sp.class = 105 AND sp.permission_name = 'CONNECT' AND sp.state IN ('G', 'W')")
    return sorted(row['name'] for row in rows)


def create_logins(emulator, *names):
    execute(emulator, *["CREATE LOGIN [%s] WITH PASSWORD = N'%s'" % (name.replace(']', ']]'), PASSWORD)
                        for name in names])
