"""Helpers for the principals and certificates integration tests (this file holds no tests).

``play`` runs tasks through real ansible-playbook at -vvv with every mssql.hadr module pointed at an
emulated instance, then checks that none of the secrets the test declared appear in the output in any
of the forms a leak could take (plain, with ' doubled, UTF-16LE hex, base64, hex of the PVK). It also
appends the output to a suite-wide transcript that tests/integration/test_secrets.py searches again.
"""
import base64
import os
import re
import sys
import tempfile

from ansible_collections.mssql.hadr.plugins.module_utils import _x509
# ddl_in, execute and per_connection are re-exported for the other principal test modules.
from tests.support.emulated_sql import ddl_in, execute, per_connection, query  # noqa: F401  # pylint: disable=unused-import
from tests.support.playbook import run_tasks

TRANSCRIPT = os.path.join(tempfile.gettempdir(), 'mssql-hadr-principals-vvv-%d.log' % os.getpid())   # this pytest run's
HEX_RUN = re.compile(r'(?i)\b(?:0x)?([0-9a-f]{96,})\b')   # certificate-login SIDs: 32 bytes; keys: hundreds


def secret_forms(secret):
    """Every spelling of a secret (text or bytes) that must never appear in output."""
    if isinstance(secret, (bytes, bytearray)):
        raw = bytes(secret)
        return {raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode()}
    utf16 = secret.encode('utf-16-le')
    utf8 = secret.encode('utf-8')
    return {secret, secret.replace("'", "''"), utf16.hex(), utf16.hex().upper(), utf8.hex(), utf8.hex().upper(),
            base64.b64encode(utf8).decode(), base64.b64encode(utf16).decode()}


def leaks(text, secrets):
    """(secret, form) pairs found in text."""
    found = []
    for secret in secrets:
        for form in secret_forms(secret):
            if len(form) >= 6 and form in text:
                found.append((secret if isinstance(secret, str) else '<%d bytes>' % len(secret), form[:40]))
    return found


def _is_certificate(hex_text):
    try:
        _x509.load_certificate(bytes.fromhex(hex_text[:len(hex_text) // 2 * 2]))
        return True
    except (ValueError, _x509.CertificateError):
        return False


def long_hex_runs(text, allowed=()):
    """Hex runs of 96+ digits other than public certificates (given, or any DER X.509): key bytes would be one."""
    allowed_hex = [a.hex().lower() for a in allowed]
    return [run for run in HEX_RUN.findall(text)
            if not any(run.lower() in a for a in allowed_hex) and not _is_certificate(run)]


def inventory_with(variables):
    """localhost (as run_tasks uses it) with host variables: secrets live here, as vault variables would."""
    host = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    host.update(variables)
    return {'all': {'hosts': {'localhost': host}}}


def play(emulator, tasks, secrets=None, public_blobs=(), extra_secrets=(), **options):
    """Run tasks at -vvv against ``emulator``; assert that no secret leaked into the output.

    ``secrets`` is a dict of host variables (tasks refer to them as "{{ name }}", never as literals, so
    ansible's own error excerpts of the playbook source cannot show them); ``extra_secrets`` are more
    values (text or bytes, like key material) to search for.
    """
    secrets = dict(secrets or {})
    connection = dict(emulator.module_params(), login_password='{{ mssql_sa_password }}')
    block = {'name': 'principal tasks', 'module_defaults': {'group/mssql.hadr.all': connection}, 'block': tasks}
    options.setdefault('verbosity', 3)
    variables = dict(secrets, mssql_sa_password=emulator.sa_password)
    run = run_tasks([block], inventory=inventory_with(variables), **options)
    output = run.stdout + '\n' + run.stderr
    with open(TRANSCRIPT, 'a') as handle:
        handle.write(output)
    leaked = leaks(output, list(secrets.values()) + list(extra_secrets) + [emulator.sa_password])
    assert not leaked, 'secrets leaked into ansible-playbook output: %s' % leaked
    stray = long_hex_runs(output, public_blobs)
    assert not stray, 'long hex runs (key material?) in ansible-playbook output: %s' % [s[:40] for s in stray]
    return run


def sql_login_can_connect(emulator, name, password):
    try:
        emulator.connect(user=name, password=password).close()
        return True
    except Exception:   # pyodbc.Error: login failed  # pylint: disable=broad-except
        return False


def login_row(emulator, name):
    rows = query(emulator, 'SELECT p.name, p.type, p.sid, p.is_disabled, p.default_database_name, '
                           'l.is_policy_checked, l.is_expiration_checked FROM sys.server_principals AS p '
                           'LEFT JOIN sys.sql_logins AS l ON l.principal_id = p.principal_id WHERE p.name = ?', name)
    return rows[0] if rows else None


def user_row(emulator, name, database='master'):
    conn = emulator.connect(database=database)
    try:
        cursor = conn.cursor()
        cursor.execute('SELECT dp.name, dp.type, sp.name AS login_name FROM sys.database_principals AS dp '
                       'LEFT JOIN sys.server_principals AS sp ON sp.sid = dp.sid WHERE dp.name = ?', name)
        row = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], row)) if row else None
    finally:
        conn.close()
