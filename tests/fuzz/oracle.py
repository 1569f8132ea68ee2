"""What the fuzz tests compare against, written without the collection's code.

- ``Catalog``: a snapshot of every object an SQL module could touch (logins with their password hash,
  users, certificates, the master key, endpoints, permissions), keyed by kind and name as SQL Server
  compares names (trailing spaces ignored, case-insensitive), read with a direct pyodbc connection.
- ``requests``: what the module sent, from the emulator's request log, split into reads and the rest.
- ``bracket`` / ``literal``: the quoting SQL Server expects, re-implemented here on purpose, so a bug in
  the collection's quoting cannot agree with itself.
"""
import itertools
import re

from tests.emulator.fixtures import connections, round_trips

READ = re.compile(r'^\s*SELECT\b', re.IGNORECASE)
USE = re.compile(r'^\s*USE\s+\[', re.IGNORECASE)
# Statements that change no catalog state and that a module may send without listing them in `queries`:
# master_key's verify_password opens and closes the key to test the password.
SESSION = re.compile(r'^\s*(OPEN|CLOSE) MASTER KEY\b', re.IGNORECASE)
# The module masks a secret as N'********' / 0x********, the emulator's log as '********'.
MASKED = re.compile(r"N?'\*{8}'|0x\*{8}")


def bracket(name):
    return '[' + name.replace(']', ']]') + ']'


def literal(text):
    return "N'" + text.replace("'", "''") + "'"


def name_key(name):
    """SQL_Latin1_General_CP1_CI_AS as the emulator models it: case-insensitive, trailing spaces ignored."""
    return name.rstrip(' ').casefold()


def utf16_length(text):
    return len(text.encode('utf-16-le')) // 2


def sysname_problem(name):
    """Why ``name`` cannot be a SQL Server object name (a reason word the module's message must contain), or None."""
    if name == '':
        return 'empty'
    if '\x00' in name:
        return 'NUL'
    if utf16_length(name) > 128:
        return 'long'
    if name != name.rstrip(' '):
        return 'space'
    return None


def normalise(sql):
    return MASKED.sub('<secret>', sql or '')


def module_masks(sql):
    """The emulator's log masks a literal as '********' where the module writes N'********'."""
    sql = re.sub(r"BINARY = '\*{8}'", 'BINARY = 0x********', sql or '')
    return re.sub(r"(?<![N*])'\*{8}'", "N'********'", sql)


def ansible_masked(text, secrets):
    """Every way Ansible's no_log masking (remove_values: each no_log value replaced, in set order) can show ``text``."""
    forms = set()
    values = [s for s in secrets if s]
    for order in itertools.permutations(values):
        if text in values:
            forms.add('VALUE_SPECIFIED_IN_NO_LOG_PARAMETER')
            continue
        masked = text
        for secret in order:
            masked = masked.replace(secret, '********')
        forms.add(masked)
    return forms or {text}


SNAPSHOT_SQL = ' '.join([
    "SELECT name, type, sid, is_disabled, default_database_name, modify_date FROM sys.server_principals;",
    "SELECT name, password_hash, is_policy_checked, is_expiration_checked FROM sys.sql_logins;",
    "SELECT name, type, sid, authentication_type, modify_date FROM sys.database_principals;",
    "SELECT c.name, c.thumbprint, c.subject, c.pvt_key_encryption_type, c.expiry_date, p.name AS owner"
    " FROM sys.certificates AS c LEFT JOIN sys.database_principals AS p ON p.principal_id = c.principal_id;",
    "SELECT name, key_guid, modify_date FROM sys.symmetric_keys;",
    "SELECT e.name, e.state_desc, e.role, e.connection_auth, e.certificate_id, e.encryption_algorithm, t.port,"
    " t.ip_address, o.name AS owner FROM sys.database_mirroring_endpoints AS e"
    " JOIN sys.tcp_endpoints AS t ON t.endpoint_id = e.endpoint_id"
    " LEFT JOIN sys.server_principals AS o ON o.principal_id = e.principal_id;",
    "SELECT sp.class, sp.major_id, sp.permission_name, sp.state, g.name AS grantee FROM sys.server_permissions AS sp"
    " JOIN sys.server_principals AS g ON g.principal_id = sp.grantee_principal_id;",
    "SELECT name, is_master_key_encrypted_by_server FROM sys.databases;",
])
KINDS = ('login', 'sql_login', 'user', 'certificate', 'master_key', 'endpoint', 'permission', 'database')


class Catalog:
    """{(kind, key): row tuple} of the instance's master database and server objects."""

    def __init__(self, rows):
        self.rows = rows

    @classmethod
    def read(cls, conn):
        cursor = conn.cursor()
        cursor.execute(SNAPSHOT_SQL)
        rows = {}
        for kind in KINDS:
            for row in cursor.fetchall():
                values = tuple(bytes(v) if isinstance(v, (bytes, bytearray)) else v for v in row)
                if kind == 'permission':
                    key = (values[0], values[1], values[2], name_key(values[4]))
                else:
                    key = name_key(values[0])
                rows[(kind, key)] = values
            cursor.nextset()
        cursor.close()
        return cls(rows)

    def diff(self, other):
        """(added, removed, changed): keys that differ from this snapshot to ``other``."""
        added = sorted(set(other.rows) - set(self.rows), key=repr)
        removed = sorted(set(self.rows) - set(other.rows), key=repr)
        changed = sorted((k for k in set(self.rows) & set(other.rows) if self.rows[k] != other.rows[k]), key=repr)
        return added, removed, changed

    def get(self, kind, name):
        return self.rows.get((kind, name_key(name)))

    def names(self, kind):
        return [row[0] for (k, dummy), row in self.rows.items() if k == kind]


class Requests:
    """The module's own requests between two log marks (driver traffic excluded)."""

    def __init__(self, entries):
        self.entries = entries
        trips = round_trips(entries)
        self.connections = connections(entries)
        self.all = [e['sql'] or '' for e in trips]
        self.reads = [sql for sql in self.all if READ.match(sql)]
        self.switches = [sql for sql in self.all if USE.match(sql)]
        self.statements = [sql for sql in self.all if not READ.match(sql) and not USE.match(sql)]
        self.errors = [(e['sql'], e['error']) for e in trips if e['error'] is not None]
        self.errors_text = ' '.join('error %d' % number for dummy, number in self.errors)


def requests(instance, mark):
    return Requests(instance.log_entries(since=mark))


def _same(sent, reported, secrets):
    return reported in ansible_masked(module_masks(sent), secrets)


def _without_unreported_session(sent, result, secrets):
    reported = list(result.get('executed' if result.get('failed') else 'queries', []))
    if result.get('failed_statement'):
        reported.append(result['failed_statement'])
    kept, i = [], 0
    for sql in sent:
        if i < len(reported) and _same(sql, reported[i], secrets):
            kept.append(sql)
            i += 1
        elif not SESSION.match(sql):
            kept.append(sql)
    return kept


def assert_ran_what_it_reported(reqs, result, secrets=()):
    """The statements in the log are exactly the module's reported ``queries``.

    Secrets are masked on both sides (the emulator's log and the module each mask the literal), and
    Ansible masks every occurrence of a no_log value in the result, so a short password can mangle a
    reported statement: the comparison applies the same masking to what was sent.
    """
    sent = _without_unreported_session(reqs.statements, result, secrets)
    if result.get('failed'):
        # a failure reports what had executed; what it sent is that plus at most the failing statement
        executed = result.get('executed', [])
        assert len(sent) <= len(executed) + 1, ('more statements sent than executed + the failing one', sent, result)
        assert all(_same(s, e, secrets) for s, e in zip(sent, executed)) and len(sent) >= len(executed), (
            'the statements sent differ from those reported as executed', sent, result)
        if len(sent) > len(executed):
            failed = result.get('failed_statement')
            assert failed is not None and _same(sent[-1], failed, secrets), ('the failing statement is not reported',
                                                                             sent, result)
    else:
        reported = result.get('queries', [])
        assert len(sent) == len(reported) and all(_same(s, r, secrets) for s, r in zip(sent, reported)), (
            'the statements sent differ from the reported queries', sent, reported)


def assert_reads_carry_no_input(reqs, *values):
    """User input reaches the reads only as parameters: the SELECT text never contains it."""
    for value in values:
        if value and len(value) >= 3 and not value.isspace():
            for sql in reqs.reads:
                assert value not in sql, ('input %r inlined into a read' % value, sql)
