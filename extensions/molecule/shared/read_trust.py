"""Read the trust between emulated replicas back with plain SQL, independently of the collection.

    python extensions/molecule/shared/read_trust.py STATE.json certificate
    python extensions/molecule/shared/read_trust.py STATE.json windows [NAME=NETWORK_ACCOUNT ...]

For every ordered pair A -> B it decides from the catalog views alone (no code of the collection,
not the trust_matrix filter) whether B lets A in: certificate - B holds a certificate with the
thumbprint of A's endpoint certificate, owned by a user in master whose login has CONNECT on B's
endpoint; windows - A's account (its service account, or NETWORK_ACCOUNT for virtual accounts) is B's
own service account or a login with CONNECT on B's endpoint. Prints one line per pair and exits 1
when a pair is not trusted, or when an endpoint is missing, stopped or uses the other authentication.
"""
import json
import os
import sys

import pyodbc

# The emulator's documented default; the docker scenario passes its own in MSSQL_SA_PASSWORD.
SA_PASSWORD = os.environ.get('MSSQL_SA_PASSWORD', 'Emul@tor-Passw0rd')

ENDPOINT = ("SELECT e.endpoint_id, e.name, e.state_desc, e.connection_auth_desc, e.certificate_id, t.port "
            "FROM sys.database_mirroring_endpoints e JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id")
CERTIFICATES = ("SELECT c.certificate_id, c.name, c.thumbprint, u.name AS owner_user, l.name AS owner_login "
                "FROM master.sys.certificates c "
                "LEFT JOIN master.sys.database_principals u ON u.principal_id = c.principal_id "
                "LEFT JOIN sys.server_principals l ON l.sid = u.sid")
GRANTEES = ("SELECT p.major_id, g.name FROM sys.server_permissions p "
            "JOIN sys.server_principals g ON g.principal_id = p.grantee_principal_id "
            "WHERE p.class = 105 AND p.permission_name = 'CONNECT' AND p.state IN ('G', 'W')")
SERVICE = "SELECT service_account FROM sys.dm_server_services"


def read(port):
    conn = pyodbc.connect('DRIVER={FreeTDS};SERVER=127.0.0.1;PORT=%d;UID=sa;PWD=%s;DATABASE=master;'
                          'TDS_Version=7.4;Encryption=off' % (port, SA_PASSWORD), autocommit=True, timeout=10)
    try:
        cur = conn.cursor()
        endpoint = cur.execute(ENDPOINT).fetchone()
        certs = cur.execute(CERTIFICATES).fetchall()
        grants = cur.execute(GRANTEES).fetchall()
        service = cur.execute(SERVICE).fetchone()
    finally:
        conn.close()
    ep_id = endpoint.endpoint_id if endpoint else None
    return {
        'endpoint': endpoint,
        'certificates': [{'id': c.certificate_id, 'name': c.name, 'thumbprint': bytes(c.thumbprint).hex(),
                          'owner_user': c.owner_user, 'owner_login': c.owner_login} for c in certs],
        'grantees': set(g.name.lower() for g in grants if g.major_id == ep_id),
        'service_account': service.service_account if service else None,
    }


def endpoint_problem(name, replica, mode):
    ep = replica['endpoint']
    if ep is None:
        return '%s has no mirroring endpoint' % name
    if ep.state_desc != 'STARTED':
        return '%s endpoint is %s' % (name, ep.state_desc)
    wanted = 'CERTIFICATE' if mode == 'certificate' else 'NEGOTIATE'
    if ep.connection_auth_desc != wanted:
        return '%s endpoint authenticates with %s, not %s' % (name, ep.connection_auth_desc, wanted)
    return None


def certificate_pair(a, b):
    own = [c for c in a['certificates'] if c['id'] == a['endpoint'].certificate_id]
    if not own:
        return 'endpoint certificate missing on the source'
    copies = [c for c in b['certificates'] if c['thumbprint'] == own[0]['thumbprint']]
    if not copies:
        return 'no copy of %s (thumbprint %s)' % (own[0]['name'], own[0]['thumbprint'])
    if not any(c['owner_login'] and c['owner_login'].lower() in b['grantees'] for c in copies):
        return 'copy %s is not owned by a user whose login has CONNECT' % copies[0]['name']
    return None


def windows_pair(a_account, b_account, b):
    if a_account.lower() == (b_account or '').lower():
        return None
    return None if a_account.lower() in b['grantees'] else 'no CONNECT for %s' % a_account


def main():
    state_path, mode = sys.argv[1], sys.argv[2]
    network = dict(arg.split('=', 1) for arg in sys.argv[3:])
    with open(state_path) as handle:
        state = json.load(handle)
    replicas = dict((name, read(item['sql_port'])) for name, item in state.items())
    failures = [p for p in (endpoint_problem(n, r, mode) for n, r in replicas.items()) if p]
    if not failures:
        for a_name, a in replicas.items():
            for b_name, b in replicas.items():
                if a_name == b_name:
                    continue
                if mode == 'certificate':
                    problem = certificate_pair(a, b)
                else:
                    problem = windows_pair(network.get(a_name, a['service_account']),
                                           network.get(b_name, b['service_account']), b)
                print('%s -> %s: %s' % (a_name, b_name, problem or 'trusted'))
                if problem:
                    failures.append('%s -> %s: %s' % (a_name, b_name, problem))
    for failure in failures:
        print('NOT TRUSTED: %s' % failure)
    print('pairs trusted: %d, problems: %d' % (len(replicas) * (len(replicas) - 1) - len(failures), len(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
