"""Test control for an emulated instance, from another process (works whether the instance runs or not).

    python -m tests.emulator.ctl --data DIR mark-in-use --availability-group NAME
    python -m tests.emulator.ctl --data DIR mark-in-use --mirroring DB
    python -m tests.emulator.ctl --data DIR fault --match REGEX --action ACTION [--times N]
    python -m tests.emulator.ctl --data DIR clear

State is written into the instance's own SQLite catalog, so it shows in the catalog views exactly as
SQL Server shows an endpoint in use; nothing here goes through T-SQL that SQL Server lacks.
"""
import argparse
import os
import re
import socket
import sys
import uuid

from tests.emulator.engine import catalog

ACTION = re.compile(r'^(drop|crash-before|crash-after|error:\d+|delay:\d+)$')


def _open(data_dir):
    path = os.path.join(data_dir, catalog.DB_FILE)
    if not os.path.exists(path):
        raise SystemExit('ctl: no emulator catalog in %s; start the emulator once with --data %s'
                         % (data_dir, data_dir))
    return catalog.open_db(data_dir, busy_timeout_ms=30000)


def _meta(db, key, default=None):
    row = db.execute('SELECT value FROM meta WHERE key = ?', (key,)).fetchone()
    return row[0] if row and row[0] is not None else default


def _endpoint(db):
    return db.execute('SELECT endpoint_id, port, encryption_algorithm, connection_auth FROM endpoints '
                      'WHERE type = 4').fetchone()


def _add_connections(db, now):
    """Rows of sys.dm_db_mirroring_connections for the mirroring endpoint: one inbound, one outbound."""
    endpoint = _endpoint(db)
    if endpoint is None:
        return
    encryption, auth = endpoint[2], endpoint[3]
    method = 'CERTIFICATE' if auth in (4, 8, 9, 10) else 'NEGOTIATE'
    for is_accept in (1, 0):
        db.execute('INSERT INTO mirroring_connections VALUES (?, ?, 4, ?, ?, ?, ?, ?, ?, ?, 12, ?, ?)',
                   (str(uuid.uuid4()).upper(), str(uuid.uuid4()).upper(), now, now, method,
                    'partner_login', 'partner_login', now, is_accept, None, encryption))


def mark_availability_group(db, name):
    now = catalog.now_text()
    server = _meta(db, 'server_name', socket.gethostname())
    endpoint = _endpoint(db)
    url = 'TCP://%s:%d' % (server.split('\\')[0].lower(), endpoint[1]) if endpoint else None
    db.execute('BEGIN IMMEDIATE')
    try:
        row = db.execute('SELECT group_id FROM availability_groups WHERE name = ?', (name,)).fetchone()
        if row is None:
            group_id = str(uuid.uuid4()).upper()
            db.execute('INSERT INTO availability_groups VALUES (?, ?)', (group_id, name))
        else:
            group_id = row[0]
        if db.execute('SELECT 1 FROM replica_states WHERE group_id = ? AND is_local = 1', (group_id,)).fetchone():
            db.execute('COMMIT')
            return
        replica_id = str(uuid.uuid4()).upper()
        db.execute('INSERT INTO availability_replicas VALUES (?, ?, 65536, ?, X\'01\', ?, 1, 0, 10, 3, 0, ?, ?, 50, '
                   'NULL, 1)', (replica_id, group_id, server, url, now, now))
        db.execute('INSERT INTO replica_states VALUES (?, ?, 1, 1, 2, 1, 1, 2, NULL, NULL, NULL)',
                   (replica_id, group_id))
        _add_connections(db, now)
        db.execute('COMMIT')
    except BaseException:
        db.execute('ROLLBACK')
        raise


def mark_mirroring(db, database):
    now = catalog.now_text()
    db.execute('BEGIN IMMEDIATE')
    try:
        row = db.execute('SELECT database_id FROM databases WHERE name = ?', (database,)).fetchone()
        if row is None:
            database_id = max(5, db.execute('SELECT max(database_id) FROM databases').fetchone()[0] + 1)
            db.execute("INSERT INTO databases (database_id, name, create_date, owner_sid) VALUES (?, ?, ?, X'01')",
                       (database_id, database, now))
            catalog.seed_database(db, database, now)
        else:
            database_id = row[0]
        if database_id <= 4:
            raise SystemExit('ctl: system database %s cannot be mirrored' % database)
        db.execute('INSERT OR REPLACE INTO database_mirroring_state VALUES (?, ?, 4, 1, 1, 2, 1, ?, NULL, NULL, '
                   '0, 10, NULL)', (database_id, str(uuid.uuid4()).upper(), 'TCP://partner.emulated:5022'))
        _add_connections(db, now)
        db.execute('COMMIT')
    except BaseException:
        db.execute('ROLLBACK')
        raise


def add_fault(control, match, action, times):
    try:
        re.compile(match)
    except re.error as exc:
        raise SystemExit('ctl: --match is not a valid regular expression: %s' % exc)
    if not ACTION.match(action):
        raise SystemExit('ctl: --action must be drop, error:NUMBER, delay:MS, crash-before or crash-after')
    if times is not None and times < 1:
        raise SystemExit('ctl: --times must be at least 1')
    control.execute('INSERT INTO faults (match, action, remaining) VALUES (?, ?, ?)', (match, action, times))


def clear(db, control):
    """Remove every fault and every in-use mark (AG replicas, mirroring sessions, mirroring connections)."""
    control.execute('DELETE FROM faults')
    db.execute('BEGIN IMMEDIATE')
    for table in ('mirroring_connections', 'replica_states', 'availability_replicas', 'availability_groups',
                  'database_mirroring_state'):
        db.execute('DELETE FROM %s' % table)
    db.execute('COMMIT')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.emulator.ctl', description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--data', required=True, help='the emulated instance data directory')
    sub = parser.add_subparsers(dest='command', required=True)
    mark = sub.add_parser('mark-in-use', help='make the mirroring endpoint show as in use')
    group = mark.add_mutually_exclusive_group(required=True)
    group.add_argument('--availability-group', metavar='NAME')
    group.add_argument('--mirroring', metavar='DB')
    fault = sub.add_parser('fault', help='make the server misbehave on matching requests')
    fault.add_argument('--match', required=True, metavar='REGEX')
    fault.add_argument('--action', required=True)
    fault.add_argument('--times', type=int, default=1)
    sub.add_parser('clear', help='remove all faults and in-use marks')
    args = parser.parse_args(argv)
    db = _open(args.data)
    control = catalog.open_control(args.data, busy_timeout_ms=30000)
    try:
        if args.command == 'mark-in-use':
            if args.availability_group:
                mark_availability_group(db, args.availability_group)
            else:
                mark_mirroring(db, args.mirroring)
        elif args.command == 'fault':
            add_fault(control, args.match, args.action, args.times)
        else:
            clear(db, control)
    finally:
        db.close()
        control.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
