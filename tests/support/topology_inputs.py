"""Hand-built endpoint_info-shaped inputs for the topology check tests.

The shape follows issue 5 (pinned in endpoint_info's RETURN): thumbprints lowercase hex without 0x,
dates ISO 8601 UTC, each certificate with owner_user, owner_login, login_has_connect.
"""
import copy
import hashlib

NOW = '2026-11-26T12:00:00Z'


def thumbprint(name):
    return hashlib.sha1(name.encode()).hexdigest()


def own_certificate(replica, expiry='2027-11-26T00:00:00Z', start='2026-01-01T00:00:00Z'):
    return {'name': '%s_cert' % replica, 'thumbprint': thumbprint(replica), 'subject': 'CN=%s endpoint' % replica,
            'start_date': start, 'expiry_date': expiry, 'private_key_encryption': 'master_key',
            'owner_user': 'dbo', 'owner_login': 'sa', 'login_has_connect': False, 'pem': '-----BEGIN...'}


def partner_copy(partner, replica_cert):
    cert = copy.deepcopy(replica_cert)
    cert.update(name='%s_cert' % partner, private_key_encryption='no_private_key',
                owner_user='%s_user' % partner, owner_login='%s_login' % partner, login_has_connect=True)
    return cert


def info(name, port, authentication='certificate', encryption='required', algorithm='aes',
         service_account='NT Service\\MSSQLSERVER', state='started', grantees=(), certificates=()):
    return {
        'changed': False,
        'server': {'name': name.upper(), 'machine': name.upper(), 'instance': None, 'version': '16.0.4135.4',
                   'edition': 'Developer Edition (64-bit)', 'hadr_enabled': True, 'service_account': service_account},
        'endpoint': {'name': 'Hadr_endpoint', 'id': 65536, 'state': state, 'port': port, 'listener_ip': 'ALL',
                     'role': 'all', 'authentication': authentication, 'windows_protocol': 'negotiate',
                     'certificate': '%s_cert' % name if 'certificate' in authentication else None,
                     'encryption': encryption, 'encryption_algorithm': algorithm, 'owner': 'sa',
                     'in_use': False, 'url': 'TCP://%s.example.com:%d' % (name, port)},
        'connect_grantees': list(grantees),
        'certificates': list(certificates),
        'master_key': {'exists': True, 'encrypted_by_service_master_key': True},
        'availability_replicas': [], 'mirroring_sessions': [], 'connections': [], 'warnings': [],
    }


def certificate_topology(names=('sql1', 'sql2', 'sql3'), base_port=5022, reachable=True):
    """Replica records of a complete, healthy certificate topology."""
    records = []
    owns = dict((n, own_certificate(n)) for n in names)
    for i, name in enumerate(names):
        partners = [p for p in names if p != name]
        certs = [owns[name]] + [partner_copy(p, owns[p]) for p in partners]
        records.append({
            'name': name,
            'info': info(name, base_port + i, grantees=['%s_login' % p for p in partners], certificates=certs),
            'reachable': dict((p, reachable) for p in partners),
        })
    return records


def windows_topology(accounts, base_port=5022):
    """Replica records of a healthy Windows topology; ``accounts``: name -> service account."""
    names = list(accounts)
    records = []
    for i, name in enumerate(names):
        partners = [p for p in names if p != name]
        grantees = sorted(set(accounts[p] for p in partners if accounts[p].lower() != accounts[name].lower()))
        records.append({
            'name': name,
            'info': info(name, base_port + i, authentication='windows', service_account=accounts[name],
                         grantees=grantees),
            'reachable': dict((p, True) for p in partners),
        })
    return records


def by_name(records, name):
    return next(r for r in records if r['name'] == name)


def cert_named(record, cert_name):
    return next(c for c in record['info']['certificates'] if c['name'] == cert_name)
