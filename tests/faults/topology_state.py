"""The certificate topology's final state, independent of the run that made it, and fault targets.

``fingerprint(replicas)`` reads every replica's catalog with plain SQL and replaces what differs from run
to run (generated keys, thumbprints in names, free ports) by symbols: a partner certificate becomes
"certificate of sql2" when its thumbprint is sql2's own certificate's. Two runs converged to the same
topology have equal fingerprints.

``fault_regex(sql)`` turns a statement from the request log into a regex that finds the same statement in
another run (hex runs, port numbers and masked literals vary).
"""
import re

from tests.emulator.fixtures import round_trips

_HEX = re.compile(r'(?i)(?<![0-9a-z])(0x)?[0-9a-f]{8,}(?![0-9a-z])|(?<=_)[0-9a-f]{8,}(?![0-9a-z])')   # also name_<8 hex>


def _rows(replica, sql):
    conn = replica.instance.connect()
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        conn.close()


def own_thumbprints(replicas):
    """{thumbprint hex: replica name} of the certificate each replica's endpoint uses."""
    owners = {}
    for replica in replicas:
        for row in _rows(replica, 'SELECT c.thumbprint FROM sys.database_mirroring_endpoints AS e '
                                  'JOIN sys.certificates AS c ON c.certificate_id = e.certificate_id'):
            owners[bytes(row['thumbprint']).hex()] = replica.name
    return owners


def fingerprint(replicas):
    owners = own_thumbprints(replicas)

    def symbol(text):
        def repl(match):
            for tp, name in owners.items():
                if tp.startswith(match.group(0).lower().replace('0x', '')):
                    return '<thumbprint of %s>' % name
            return '<unknown hex>'
        return _HEX.sub(repl, text) if text else text

    state = {}
    for replica in replicas:
        ports = {replica.endpoint_port: '<own endpoint port>'}
        state[replica.name] = {
            'logins': sorted((symbol(r['name']), r['type'], r['is_disabled']) for r in _rows(
                replica, "SELECT name, type, is_disabled FROM sys.server_principals WHERE type IN ('S', 'U', 'C')")),
            'users': sorted((symbol(r['name']), r['type'], symbol(r['login'])) for r in _rows(
                replica, "SELECT dp.name, dp.type, sp.name AS login FROM sys.database_principals AS dp "
                         "LEFT JOIN sys.server_principals AS sp ON sp.sid = dp.sid WHERE dp.type IN ('S', 'U', 'C')")),
            'certificates': sorted((symbol(r['name']), symbol(r['owner']), r['pvt_key_encryption_type'],
                                    owners.get(bytes(r['thumbprint']).hex(), '<foreign>')) for r in _rows(
                replica, 'SELECT c.name, c.thumbprint, c.pvt_key_encryption_type, p.name AS owner FROM sys.certificates '
                         'AS c LEFT JOIN sys.database_principals AS p ON p.principal_id = c.principal_id')),
            'master_key': _rows(replica, "SELECT is_master_key_encrypted_by_server AS by_smk FROM sys.databases "
                                         "WHERE name = 'master'")[0]['by_smk']
            and bool(_rows(replica, 'SELECT name FROM sys.symmetric_keys')),
            'endpoints': sorted((r['name'], r['state_desc'], ports.get(r['port'], r['port']), r['connection_auth_desc'],
                                 symbol(r['certificate']), r['encryption_algorithm_desc']) for r in _rows(
                replica, 'SELECT e.name, e.state_desc, t.port, e.connection_auth_desc, c.name AS certificate, '
                         'e.encryption_algorithm_desc FROM sys.database_mirroring_endpoints AS e '
                         'JOIN sys.tcp_endpoints AS t ON t.endpoint_id = e.endpoint_id '
                         'LEFT JOIN sys.certificates AS c ON c.certificate_id = e.certificate_id')),
            'connect': sorted((symbol(r['grantee']), r['state']) for r in _rows(
                replica, "SELECT g.name AS grantee, sp.state FROM sys.server_permissions AS sp "
                         "JOIN sys.server_principals AS g ON g.principal_id = sp.grantee_principal_id "
                         "WHERE sp.class = 105 AND sp.major_id >= 65536")),
        }
    return state


def steps(replica, since=0):
    """The SQL of each round trip the collection sent to ``replica`` (its statements, in order)."""
    return [entry['sql'] for entry in round_trips(replica.instance.log_entries(since=since)) if entry['sql']]


def fault_regex(sql):
    """A regex for the same statement in another run: anchored, with the run-specific parts left open."""
    pieces = re.split(r"('\*{8}'|(?i:(?<![0-9a-z])(?:0x)?[0-9a-f]{8,}(?![0-9a-z])|(?<=_)[0-9a-f]{8,}(?![0-9a-z]))|\b\d{2}:\d{2}:\d{2}\b|\b\d{4,8}\b)", sql)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(re.escape(piece))
        elif piece.startswith("'"):
            out.append(r"(?:N?'.*?'|0x[0-9A-Fa-f]*)")      # the log masks both literal kinds the same way
        elif piece.replace(':', '').isdigit():         # ports, dates and times of day
            out.append(r'[\d:]+')
        else:
            out.append(r'(?:0x)?[0-9A-Fa-f]+')
    return '^' + ''.join(out) + '$'
