"""kill -9 at random moments while several connections run DDL; after a restart every acknowledged
statement is there and nothing is half-applied (issue 4, "Durability")."""
import random
import threading
import time

import pyodbc
import pytest

from tests.emulator.fixtures import free_port
from tests.emulator.tests.client_matrix import odbc_error_number

WORKERS = 4
ROUNDS = 3
PASSWORD = 'Dur-Passw0rd!x'
# the life of one principal, one statement (= one acknowledgement) per step
STEPS = [
    ('login', True, "CREATE LOGIN [{n}] WITH PASSWORD = '%s', CHECK_POLICY = OFF" % PASSWORD),
    ('user', True, 'CREATE USER [{n}] FOR LOGIN [{n}]'),
    ('grant', True, 'GRANT CONNECT ON ENDPOINT::[Mirroring] TO [{n}]'),
    ('grant', False, 'REVOKE CONNECT ON ENDPOINT::[Mirroring] FROM [{n}]'),
    ('user', False, 'DROP USER [{n}]'),
    ('login', False, 'DROP LOGIN [{n}]'),
]


def state_after(steps_done, keep):
    """(login, user, grant) after the first steps_done steps; principals with `keep` stop after the grant."""
    state = {'login': False, 'user': False, 'grant': False}
    for what, value, _sql in STEPS[:steps_done]:
        state[what] = value
    return state['login'], state['user'], state['grant']


class Worker(threading.Thread):
    """Runs the steps for principal after principal on its own connection until the server dies."""

    def __init__(self, emulator, prefix):
        super().__init__(daemon=True)
        self.emulator, self.prefix = emulator, prefix
        self.progress = {}          # name -> (acknowledged steps, a step was in flight, keep)
        self.unexpected = []

    def run(self):
        try:
            conn = self.emulator.connect()
        except pyodbc.Error:
            return
        number = 0
        while True:
            name, keep = '%s_%d' % (self.prefix, number), number % 3 == 0
            steps = STEPS[:3] if keep else STEPS
            for index, step in enumerate(steps):
                sql = step[2]
                self.progress[name] = (index, True, keep)
                try:
                    conn.cursor().execute(sql.format(n=name))
                except pyodbc.Error as exc:
                    if odbc_error_number(exc) not in (None, 0, 20017, 20004, 20006):
                        self.unexpected.append((sql.format(n=name), exc))
                    return
                self.progress[name] = (index + 1, False, keep)
            number += 1


def actual_state(cursor, name):
    login = cursor.execute('SELECT COUNT(*) FROM sys.sql_logins WHERE name = ?', (name,)).fetchone()[0]
    user = cursor.execute('SELECT COUNT(*) FROM sys.database_principals WHERE name = ?', (name,)).fetchone()[0]
    grant = cursor.execute(
        "SELECT COUNT(*) FROM sys.server_permissions p JOIN sys.server_principals s "
        "ON s.principal_id = p.grantee_principal_id WHERE p.class = 105 AND p.type = 'CO' AND p.state = 'G' "
        "AND s.name = ?", (name,)).fetchone()[0]
    return bool(login), bool(user), bool(grant)


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
        "SELECT COUNT(*) FROM sys.database_principals d WHERE d.name LIKE 'dur[_]%' AND d.sid NOT IN "
        '(SELECT sid FROM sys.server_principals)').fetchone()[0]
    assert orphans == 0   # users are dropped before their logins in STEPS


@pytest.mark.slow
def test_kill_9_during_concurrent_ddl_loses_nothing_acknowledged(emulator):
    seed = random.randrange(10 ** 6)
    chance = random.Random(seed)
    with emulator.connect() as conn:
        conn.cursor().execute('CREATE ENDPOINT [Mirroring] STATE = STARTED AS TCP (LISTENER_PORT = %d) '
                              'FOR DATABASE_MIRRORING (ROLE = ALL)' % free_port())
    expected = {}
    for round_number in range(ROUNDS):
        workers = [Worker(emulator, 'dur_r%d_w%d' % (round_number, w)) for w in range(WORKERS)]
        for worker in workers:
            worker.start()
        time.sleep(chance.uniform(0.3, 1.5))
        emulator.kill()
        for worker in workers:
            worker.join(30)
            assert not worker.is_alive(), 'a client hung after kill -9'
            assert worker.unexpected == [], 'seed %d: %r' % (seed, worker.unexpected)
            for name, progress in worker.progress.items():
                expected[name] = progress
        emulator.start()
        with emulator.connect() as conn:
            cursor = conn.cursor()
            check_nothing_half_applied(cursor)
            for name, (done, in_flight, keep) in expected.items():
                allowed = {state_after(done, keep)} | ({state_after(done + 1, keep)} if in_flight else set())
                assert actual_state(cursor, name) in allowed, (
                    'seed %d: %s after %d acknowledged steps (in flight: %s)' % (seed, name, done, in_flight))
            for name, (done, in_flight, keep) in expected.items():
                expected[name] = (steps_done_after_restart(cursor, name, done, in_flight, keep), False, keep)
    total = sum(progress[0] for progress in expected.values())
    print('durability: seed %d, %d principals, %d acknowledged statements over %d kills'
          % (seed, len(expected), total, ROUNDS))
    assert total > WORKERS, 'the workers did too little before the kills'


def steps_done_after_restart(cursor, name, done, in_flight, keep):
    """How many steps the restarted instance shows as done (the in-flight one may or may not be)."""
    if in_flight and actual_state(cursor, name) == state_after(done + 1, keep):
        return done + 1
    return done


def test_state_after_model():
    assert state_after(0, False) == (False, False, False)
    assert state_after(3, True) == (True, True, True)
    assert state_after(5, False) == (True, False, False)
