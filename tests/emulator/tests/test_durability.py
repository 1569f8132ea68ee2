"""kill -9 at random moments while several connections run DDL; after a restart every acknowledged
statement is there and nothing is half-applied (issue 4, "Durability").

Each worker runs statements one per batch on its own connection and records, per fact the statement
sets (a login exists, a grant exists, the endpoint's algorithm, ...), the value acknowledged to it
and the value of the statement in flight when the server died. After the restart each fact must have
its acknowledged value or, only for the in-flight statement, the new one.
"""
import os
import random
import threading
import time

import pyodbc
import pytest

from tests.emulator.fixtures import free_port
from tests.emulator.tests.client_matrix import odbc_error_number

ROUNDS = 3
PASSWORD = 'Dur-Passw0rd!x'
# error numbers of a dead server as FreeTDS reports them (no SQL Server error number)
LINK_ERRORS = (None, 0, 20004, 20006, 20017)


def principal_statements(name, keep):
    """The life of one principal: (fact, value, sql); `keep` principals stop after the grant."""
    steps = [
        (('login', name), True, "CREATE LOGIN [%s] WITH PASSWORD = '%s', CHECK_POLICY = OFF" % (name, PASSWORD)),
        (('user', name), True, 'CREATE USER [%s] FOR LOGIN [%s]' % (name, name)),
        (('grant', name), True, 'GRANT CONNECT ON ENDPOINT::[Mirroring] TO [%s]' % name),
        (('grant', name), False, 'REVOKE CONNECT ON ENDPOINT::[Mirroring] FROM [%s]' % name),
        (('user', name), False, 'DROP USER [%s]' % name),
        (('login', name), False, 'DROP LOGIN [%s]' % name),
    ]
    return steps[:3] if keep else steps


def principals(prefix):
    number = 0
    while True:
        yield from principal_statements('%s_%d' % (prefix, number), number % 3 == 0)
        number += 1


# DDL algorithm -> sys.database_mirroring_endpoints.encryption_algorithm_desc (tsql.md 2.3, [V])
ALGORITHMS = [('AES', 'AES'), ('RC4', 'RC4'), ('AES RC4', 'AES, RC4'), ('RC4 AES', 'RC4, AES')]


def endpoint_changes():
    for number in range(10 ** 6):
        algorithm, desc = ALGORITHMS[number % len(ALGORITHMS)]
        yield (('algorithm', 'Mirroring'), desc,
               'ALTER ENDPOINT [Mirroring] FOR DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM %s)' % algorithm)


def certificates(prefix):
    for number in range(10 ** 6):
        name = '%s_%d' % (prefix, number)
        yield (('user', name), True, 'CREATE USER [%s] WITHOUT LOGIN' % name)
        yield (('certificate', name), True,
               "CREATE CERTIFICATE [%s] AUTHORIZATION [%s] WITH SUBJECT = 'durability %s'" % (name, name, name))


class Worker(threading.Thread):
    """Runs its statements on its own connection until the server dies."""

    def __init__(self, emulator, statements):
        super().__init__(daemon=True)
        self.emulator, self.statements = emulator, statements
        self.acknowledged = {}      # fact -> value
        self.in_flight = None       # (fact, value)
        self.count = 0              # statements acknowledged
        self.unexpected = []

    def run(self):
        try:
            conn = self.emulator.connect()
        except pyodbc.Error:
            return
        for fact, value, sql in self.statements:
            self.in_flight = (fact, value)
            try:
                conn.cursor().execute(sql)
            except pyodbc.Error as exc:
                if odbc_error_number(exc) not in LINK_ERRORS:
                    self.unexpected.append((sql, exc))
                return
            self.acknowledged[fact] = value
            self.count += 1
            self.in_flight = None


def actual(cursor, fact):
    kind, name = fact
    if kind == 'algorithm':
        return cursor.execute('SELECT encryption_algorithm_desc FROM sys.database_mirroring_endpoints '
                              'WHERE name = ?', (name,)).fetchone()[0]
    queries = {
        'login': 'SELECT COUNT(*) FROM sys.sql_logins WHERE name = ?',
        'user': 'SELECT COUNT(*) FROM sys.database_principals WHERE name = ?',
        'grant': "SELECT COUNT(*) FROM sys.server_permissions p JOIN sys.server_principals s "
                 "ON s.principal_id = p.grantee_principal_id WHERE p.class = 105 AND p.type = 'CO' "
                 "AND p.state = 'G' AND s.name = ?",
        'certificate': 'SELECT COUNT(*) FROM sys.certificates c JOIN sys.database_principals d '
                       'ON d.principal_id = c.principal_id WHERE c.name = ? AND d.name = c.name',
    }
    return bool(cursor.execute(queries[kind], (name,)).fetchone()[0])


def check_nothing_half_applied(cursor):
    endpoints = cursor.execute(
        'SELECT e.endpoint_id, t.endpoint_id, m.endpoint_id FROM sys.endpoints e '
        'LEFT JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id '
        'LEFT JOIN sys.database_mirroring_endpoints m ON m.endpoint_id = e.endpoint_id '
        'WHERE e.type = 4').fetchall()
    assert len(endpoints) == 1 and all(x == endpoints[0][0] for x in endpoints[0])
    dangling_grants = cursor.execute(
        'SELECT COUNT(*) FROM sys.server_permissions p WHERE p.class = 105 AND (p.grantee_principal_id NOT IN '
        '(SELECT principal_id FROM sys.server_principals) OR p.major_id NOT IN '
        '(SELECT endpoint_id FROM sys.endpoints))').fetchone()[0]
    assert dangling_grants == 0
    logins_without_principal = cursor.execute(
        'SELECT COUNT(*) FROM sys.sql_logins l WHERE l.principal_id NOT IN '
        "(SELECT principal_id FROM sys.server_principals WHERE type = 'S')").fetchone()[0]
    assert logins_without_principal == 0
    orphans = cursor.execute(
        "SELECT COUNT(*) FROM sys.database_principals d WHERE d.name LIKE 'dur[_]r%[_]w%' AND d.type = 'S' "
        "AND d.sid NOT IN (SELECT sid FROM sys.server_principals)").fetchone()[0]
    assert orphans == 0   # users FOR LOGIN are dropped before their logins
    ownerless_certificates = cursor.execute(
        'SELECT COUNT(*) FROM sys.certificates c WHERE c.principal_id NOT IN '
        '(SELECT principal_id FROM sys.database_principals)').fetchone()[0]
    assert ownerless_certificates == 0


def resolve(cursor, expected, in_flight):
    """Check every fact, then take the in-flight values the restarted instance shows as applied."""
    for fact, value in in_flight.items():
        now = actual(cursor, fact)
        before = expected.get(fact, False)
        assert now in (before, value), '%s is %r: neither %r (acknowledged) nor %r (in flight)' % (
            fact, now, before, value)
        expected[fact] = now
    for fact, value in expected.items():
        assert actual(cursor, fact) == value, '%s: acknowledged %r, found %r after restart' % (
            fact, value, actual(cursor, fact))


# make test: one fixed seed, so the same code gets the same verdict; make fuzz sets
# MSSQL_HADR_DURABILITY_SEED=random for new kill moments on every run (the seed is printed to replay one).
SEED = os.environ.get('MSSQL_HADR_DURABILITY_SEED', '20261207')
# Guards against a hang, not a timing target: on a loaded machine the workers may be slow to get going.
WARM_UP_GUARD_SECONDS = 180


@pytest.mark.slow
def test_kill_9_during_concurrent_ddl_loses_nothing_acknowledged(emulator):
    seed = random.randrange(10 ** 6) if SEED == 'random' else int(SEED)
    chance = random.Random(seed)
    with emulator.connect() as conn:
        cursor = conn.cursor()
        cursor.execute('CREATE ENDPOINT [Mirroring] STATE = STARTED AS TCP (LISTENER_PORT = %d) '
                       'FOR DATABASE_MIRRORING (ROLE = ALL)' % free_port())
        cursor.execute("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master-Key-Passw0rd!'")
        expected, total = {('algorithm', 'Mirroring'): actual(cursor, ('algorithm', 'Mirroring'))}, 0
    for round_number in range(ROUNDS):
        prefix = 'dur_r%d' % round_number
        workers = [Worker(emulator, principals('%s_w%d' % (prefix, w))) for w in range(3)]
        workers += [Worker(emulator, endpoint_changes()), Worker(emulator, certificates(prefix + '_c'))]
        for worker in workers:
            worker.start()
        # enough acknowledged work whatever the machine's load, then a moment chosen by the seed
        deadline = time.monotonic() + WARM_UP_GUARD_SECONDS
        while sum(w.count for w in workers) < 25 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(chance.uniform(0.0, 0.5))
        emulator.kill()
        in_flight = {}
        for worker in workers:
            worker.join(30)
            assert not worker.is_alive(), 'a client hung after kill -9'
            assert worker.unexpected == [], 'seed %d: %r' % (seed, worker.unexpected)
            expected.update(worker.acknowledged)
            total += worker.count
            if worker.in_flight:
                in_flight[worker.in_flight[0]] = worker.in_flight[1]
        emulator.start()
        with emulator.connect() as conn:
            cursor = conn.cursor()
            check_nothing_half_applied(cursor)
            resolve(cursor, expected, in_flight)
    print('durability: seed %d, %d facts, %d acknowledged statements checked over %d kills'
          % (seed, len(expected), total, ROUNDS))
    assert total >= 25 * ROUNDS, 'the workers did too little before the kills (seed %d)' % seed


def test_principal_statements_model():
    assert [fact[0] for fact, _value, _sql in principal_statements('x', True)] == ['login', 'user', 'grant']
    assert [value for _fact, value, _sql in principal_statements('x', False)] == [True] * 3 + [False] * 3
