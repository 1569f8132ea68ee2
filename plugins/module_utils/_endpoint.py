# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint family: read the mirroring endpoint, compare it with what is wanted, build the statements.

This file is the only copy of this logic in the collection. The modules ``endpoint``,
``endpoint_permission`` and ``endpoint_info`` use it, and so does ``partner_trust`` for the in-use check
and the CONNECT grants (see docs/dev/contracts.md, "Endpoint family").

Reads are SQL text made of single SELECT statements, each giving one result set, so a module can put
them into its one read batch (``Connection.query_sets``) in any order and hand the rows to the parse
functions here. Everything else is pure: it takes rows and options and returns data or statement text.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import datetime
import ipaddress

from ansible_collections.mssql.hadr.plugins.module_utils._change import ModuleFailure
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import quote_name, validate_sysname

DEFAULT_NAME = 'Hadr_endpoint'
DEFAULT_PORT = 5022
# CREATE ENDPOINT documents 1024-32767 as the valid range; SQL Server may accept more (tsql.md 1.2, [U]).
DOCUMENTED_PORTS = (1024, 32767)

AUTHENTICATIONS = ('windows', 'certificate', 'windows_certificate', 'certificate_windows')
WINDOWS_PROTOCOLS = ('negotiate', 'ntlm', 'kerberos')
ENCRYPTIONS = ('required', 'supported', 'disabled')
ALGORITHMS = ('aes', 'rc4', 'aes_rc4', 'rc4_aes')
ROLES = ('all', 'partner', 'witness')
ENDPOINT_STATES = ('started', 'stopped', 'disabled')

# sys.database_mirroring_endpoints.connection_auth -> (authentication, windows_protocol) (tsql.md 2.3).
CONNECTION_AUTH = {
    1: ('windows', 'ntlm'), 2: ('windows', 'kerberos'), 3: ('windows', 'negotiate'),
    4: ('certificate', None),
    5: ('windows_certificate', 'ntlm'), 6: ('windows_certificate', 'kerberos'), 7: ('windows_certificate', 'negotiate'),
    8: ('certificate_windows', 'ntlm'), 9: ('certificate_windows', 'kerberos'), 10: ('certificate_windows', 'negotiate'),
}
# sys.database_mirroring_endpoints.encryption_algorithm -> (encryption, algorithm) (tsql.md 2.3).
ENCRYPTION_CODES = {
    0: ('disabled', None), 1: ('required', 'rc4'), 2: ('required', 'aes'), 3: ('supported', 'rc4'),
    4: ('supported', 'aes'), 5: ('required', 'rc4_aes'), 6: ('required', 'aes_rc4'), 7: ('supported', 'rc4_aes'),
    8: ('supported', 'aes_rc4'),
}
ROLE_CODES = {0: 'none', 1: 'partner', 2: 'witness', 3: 'all'}

# Changes that can restart the endpoint, which partners see as an error (tsql.md 1.5). Owner is not one.
RESTARTING_FIELDS = ('state', 'port', 'listener_ip', 'role', 'authentication', 'windows_protocol', 'certificate',
                     'encryption', 'encryption_algorithm')
# The permissions an endpoint can carry (GRANT Endpoint Permissions page, tsql.md 3.5).
ENDPOINT_PERMISSIONS = ('ALTER', 'CONNECT', 'CONTROL', 'TAKE OWNERSHIP', 'VIEW DEFINITION')
LOGIN_TYPES = "('S', 'U', 'G', 'C', 'K')"

# ---------------------------------------------------------------------------------------------------
# Reads: each constant is whole SELECT statements; the comment says how many result sets it gives.

# 1 set: the instance's mirroring endpoint (at most one row: only one can exist, error 7862).
MIRRORING_ENDPOINT_SQL = (
    "SELECT e.endpoint_id, e.name, e.state_desc, e.role, e.connection_auth, e.certificate_id,"
    " e.encryption_algorithm, t.port, t.ip_address, o.name AS owner, c.name AS certificate_name"
    " FROM sys.database_mirroring_endpoints AS e"
    " JOIN sys.tcp_endpoints AS t ON t.endpoint_id = e.endpoint_id"
    " LEFT JOIN sys.server_principals AS o ON o.principal_id = e.principal_id"
    " LEFT JOIN master.sys.certificates AS c ON c.certificate_id = e.certificate_id;")

# 1 set: every endpoint (system ones too), to find name clashes and ports already bound by another endpoint.
ALL_ENDPOINTS_SQL = (
    "SELECT e.endpoint_id, e.name, e.type_desc, t.port, o.name AS owner"
    " FROM sys.endpoints AS e LEFT JOIN sys.tcp_endpoints AS t ON t.endpoint_id = e.endpoint_id"
    " LEFT JOIN sys.server_principals AS o ON o.principal_id = e.principal_id;")

# 1 set: every permission on every endpoint (a handful of rows); filter with endpoint_permissions().
ENDPOINT_PERMISSIONS_SQL = (
    "SELECT sp.major_id AS endpoint_id, sp.permission_name, sp.state_desc, p.name AS grantee,"
    " p.type_desc AS grantee_type"
    " FROM sys.server_permissions AS sp"
    " JOIN sys.server_principals AS p ON p.principal_id = sp.grantee_principal_id"
    " WHERE sp.class = 105;")

# 2 sets: local availability replicas, then mirrored databases. Feed both to in_use_sessions().
IN_USE_SQL = (
    "SELECT ag.name AS availability_group, ar.replica_server_name, rs.role_desc, rs.connected_state_desc"
    " FROM sys.dm_hadr_availability_replica_states AS rs"
    " JOIN sys.availability_replicas AS ar ON ar.replica_id = rs.replica_id"
    " LEFT JOIN sys.availability_groups AS ag ON ag.group_id = rs.group_id"
    " WHERE rs.is_local = 1;"
    " SELECT d.name AS database_name, m.mirroring_role_desc, m.mirroring_state_desc, m.mirroring_partner_name"
    " FROM sys.database_mirroring AS m JOIN sys.databases AS d ON d.database_id = m.database_id"
    " WHERE m.mirroring_guid IS NOT NULL;")
IN_USE_RESULT_SETS = 2

# 1 set: who runs the module, on which machine and platform (Linux allows certificate authentication only).
SERVER_CONTEXT_SQL = (
    "SELECT SUSER_SNAME() AS login_name, CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)) AS machine_name,"
    " CAST(SERVERPROPERTY('ServerName') AS nvarchar(128)) AS server_name;"
    " SELECT host_platform FROM sys.dm_os_host_info;")
SERVER_CONTEXT_RESULT_SETS = 2

# 1 set: certificates in master with what decides whether an endpoint can use them (28055).
MASTER_CERTIFICATES_SQL = (
    "SELECT c.certificate_id, c.name, c.pvt_key_encryption_type, c.start_date, c.expiry_date"
    " FROM master.sys.certificates AS c;")


def logins_sql(names):
    """(sql, params): 1 set with the logins among ``names`` that exist (server collation decides the match)."""
    names = list(names)
    if not names:
        return None, []
    marks = ', '.join('?' for dummy in names)
    return ("SELECT name, type_desc, is_disabled FROM sys.server_principals"
            " WHERE type IN %s AND name IN (%s);" % (LOGIN_TYPES, marks), names)


# ---------------------------------------------------------------------------------------------------
# Parsing rows


def same_name(left, right):
    """Names compare as SQL Server's default (case-insensitive) collation does; trailing spaces never reach here."""
    if left is None or right is None:
        return left is right
    return left.casefold() == right.casefold()


def normalise_ip(value):
    """'ALL' or the canonical text of an IPv4/IPv6 address; raises ModuleFailure for anything else."""
    if value is None or value == '':   # NULL in sys.tcp_endpoints, or the option left empty
        return 'ALL'
    text = str(value).strip()
    if text.upper() == 'ALL':
        return 'ALL'
    if text.startswith('(') and text.endswith(')'):
        text = text[1:-1].strip().strip("'\"")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ModuleFailure("listener_ip %r is not an IPv4 or IPv6 address; give an address such as 10.0.0.5 or "
                            "fe80::1, or ALL to listen on every address." % (value,), option='listener_ip')


def parse_endpoint(rows):
    """The mirroring endpoint as the modules return it (without in_use and url), or None."""
    if not rows:
        return None
    row = rows[0]
    authentication, protocol = CONNECTION_AUTH.get(row['connection_auth'], ('unknown', None))
    encryption, algorithm = ENCRYPTION_CODES.get(row['encryption_algorithm'], ('unknown', None))
    return {
        'name': row['name'],
        'id': row['endpoint_id'],
        'state': (row['state_desc'] or '').lower(),
        'port': row['port'],
        'listener_ip': normalise_ip(row['ip_address']),
        'role': ROLE_CODES.get(row['role'], 'unknown'),
        'authentication': authentication,
        'windows_protocol': protocol,
        'certificate': row['certificate_name'] if 'certificate' in authentication else None,
        'encryption': encryption,
        'encryption_algorithm': algorithm,
        'owner': row['owner'],
    }


def endpoint_permissions(rows, endpoint_id):
    """Permissions on one endpoint: list of {grantee, grantee_type, permission, state} (state as state_desc)."""
    return [{'grantee': row['grantee'], 'grantee_type': row['grantee_type'],
             'permission': row['permission_name'], 'state': row['state_desc']}
            for row in rows if endpoint_id is not None and row['endpoint_id'] == endpoint_id]


def connect_grantees(permissions):
    """Sorted names of the logins granted CONNECT (with or without GRANT OPTION)."""
    return sorted((p['grantee'] for p in permissions
                   if p['permission'] == 'CONNECT' and p['state'] in ('GRANT', 'GRANT_WITH_GRANT_OPTION')),
                  key=lambda name: name.casefold())


def in_use_sessions(replica_rows, mirroring_rows):
    """Human-readable list of what uses this instance's endpoint; empty when it is not in use."""
    sessions = []
    for row in replica_rows:
        sessions.append("availability group '%s' (local replica '%s', role %s, %s)" % (
            row.get('availability_group') or '?', row.get('replica_server_name') or '?',
            row.get('role_desc') or 'UNKNOWN', (row.get('connected_state_desc') or 'UNKNOWN').lower()))
    for row in mirroring_rows:
        sessions.append("database mirroring of '%s' (role %s, %s, partner %s)" % (
            row.get('database_name') or '?', row.get('mirroring_role_desc') or 'UNKNOWN',
            (row.get('mirroring_state_desc') or 'UNKNOWN').lower(), row.get('mirroring_partner_name') or '?'))
    return sessions


def refuse_if_in_use(sessions, change, reconfigure_in_use):
    """Raise ModuleFailure when ``change`` (text) would touch an endpoint in use and the user did not allow it."""
    if sessions and not reconfigure_in_use:
        raise ModuleFailure(
            'Refusing to %s: the mirroring endpoint is in use by %s. Partners would see the endpoint restart or '
            'lose their connection, which can trigger a failover. Do it in a maintenance window with '
            'reconfigure_in_use: true.' % (change, '; '.join(sessions)),
            in_use_sessions=sessions)


def iso_utc(value):
    """ISO 8601 UTC text ('2026-01-31T12:00:00Z') for a naive UTC datetime from the catalog."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + 'Z'


def hex_lower(data):
    """Lowercase hex without 0x, as endpoint_info returns thumbprints."""
    return None if data is None else bytes(data).hex()


def pem_certificate(der):
    """PEM text of a DER certificate (as CERTENCODED returns it)."""
    if der is None:
        return None
    body = base64.b64encode(bytes(der)).decode('ascii')
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' % '\n'.join(lines)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def certificate_problem(row, now=None):
    """Why a master certificate row cannot serve an endpoint (28055's reasons), or None when it can."""
    now = now or utcnow()
    if row is None:
        return 'it does not exist in master'
    if row['pvt_key_encryption_type'] != 'MK':
        kinds = {'NA': 'it has no private key', 'PW': 'its private key is protected by a password',
                 'SK': 'its private key is protected by the service master key'}
        kind = kinds.get(row['pvt_key_encryption_type'], 'its private key is not protected by the master key')
        return '%s, not by the database master key' % kind
    if row['start_date'] is not None and now < row['start_date']:
        return 'it is not valid yet (start date %s)' % iso_utc(row['start_date'])
    if row['expiry_date'] is not None and now > row['expiry_date']:
        return 'it expired on %s' % iso_utc(row['expiry_date'])
    return None


def find_by_name(rows, name, key='name'):
    for row in rows:
        if same_name(row[key], name):
            return row
    return None


def with_url(endpoint, sessions, fqdn, machine):
    """The endpoint as modules return it: plus ``in_use`` and ``url`` (fqdn, else the listener address, else the
    machine name). None stays None."""
    if endpoint is None:
        return None
    result = dict(endpoint)
    result['in_use'] = bool(sessions)
    address = endpoint['listener_ip']
    specific = address != 'ALL' and not ipaddress.ip_address(address).is_unspecified   # 0.0.0.0 / :: mean all
    host = fqdn or (address if specific else machine)
    result['url'] = endpoint_url(host, endpoint['port'])
    return result


def endpoint_url(host, port):
    """TCP://host:port, with an IPv6 address in brackets (tsql.md 6.2)."""
    if host and ':' in host:
        host = '[%s]' % host
    return 'TCP://%s:%d' % (host, port)


# ---------------------------------------------------------------------------------------------------
# Wanted state and differences


def desired_endpoint(params):
    """The endpoint the options describe, validated; raises ModuleFailure (or TsqlValueError) on bad input."""
    name = validate_sysname(params['name'], 'name')
    port = params['port']
    if not 1 <= port <= 65535:
        raise ModuleFailure('port %d is not a TCP port: give a number from 1 to 65535 (1024-32767 as SQL Server '
                            'documents; 5022 by convention).' % port, option='port')
    authentication = params['authentication']
    certificate = params.get('certificate')
    uses_certificate = 'certificate' in authentication
    if uses_certificate and not certificate:
        raise ModuleFailure('authentication %s needs a certificate: set certificate to the name of a certificate in '
                            'master whose private key is protected by the master key (see the certificate module).'
                            % authentication, option='certificate')
    if certificate and not uses_certificate:
        raise ModuleFailure('certificate %r is set but authentication is %s; use authentication certificate (or '
                            'windows_certificate/certificate_windows), or remove certificate.'
                            % (certificate, authentication), option='certificate')
    if certificate:
        validate_sysname(certificate, 'certificate')
    if params.get('owner') is not None:
        validate_sysname(params['owner'], 'owner')
    encryption = params['encryption']
    return {
        'name': name,
        'state': params['endpoint_state'],
        'port': port,
        'listener_ip': normalise_ip(params['listener_ip']),
        'role': params['role'],
        'authentication': authentication,
        'windows_protocol': params['windows_protocol'] if 'windows' in authentication else None,
        'certificate': certificate if uses_certificate else None,
        'encryption': encryption,
        'encryption_algorithm': params['encryption_algorithm'] if encryption != 'disabled' else None,
        'owner': params.get('owner'),
    }


def endpoint_differences(current, desired):
    """Fields whose value differs, in a stable order; ``owner`` only when one is wanted."""
    fields = [field for field in RESTARTING_FIELDS if not _same_value(field, current[field], desired[field])]
    if desired.get('owner') is not None and not same_name(current['owner'], desired['owner']):
        fields.append('owner')
    return fields


def _same_value(field, left, right):
    if field == 'certificate':
        return same_name(left, right)
    return left == right


def predicted_endpoint(current, desired, caller=None):
    """What the endpoint will look like once the statements ran (for check mode and diff)."""
    after = dict(current) if current else {'name': desired['name'], 'id': None, 'owner': caller}
    for field in RESTARTING_FIELDS:
        after[field] = desired[field]
    if desired.get('owner') is not None:
        after['owner'] = desired['owner']
    return after


def warnings_for(desired):
    """Advice about a valid but unwise configuration."""
    warnings = []
    low, high = DOCUMENTED_PORTS
    if not low <= desired['port'] <= high:
        warnings.append('port %d is outside %d-%d, the range SQL Server documents for endpoint ports.'
                        % (desired['port'], low, high))
    if desired['encryption_algorithm'] and 'rc4' in desired['encryption_algorithm']:
        warnings.append('encryption_algorithm %s uses RC4, which is deprecated and unavailable in FIPS mode; '
                        'use aes.' % desired['encryption_algorithm'])
    if desired['encryption'] == 'disabled':
        warnings.append('encryption disabled: mirroring traffic travels unencrypted, and partners that require '
                        'encryption cannot connect.')
    return warnings


# ---------------------------------------------------------------------------------------------------
# Statements


def _listener_ip_clause(ip):
    if ip == 'ALL':
        return 'LISTENER_IP = ALL'
    if ':' in ip:
        return "LISTENER_IP = ('%s')" % ip      # IPv6 is quoted (CREATE ENDPOINT examples)
    return 'LISTENER_IP = (%s)' % ip            # IPv4 is bare


def _authentication_clause(spec):
    windows = 'WINDOWS %s' % spec['windows_protocol'].upper() if spec['windows_protocol'] else None
    certificate = 'CERTIFICATE %s' % quote_name(spec['certificate'], 'certificate') if spec['certificate'] else None
    order = {'windows': [windows], 'certificate': [certificate], 'windows_certificate': [windows, certificate],
             'certificate_windows': [certificate, windows]}[spec['authentication']]
    return 'AUTHENTICATION = %s' % ' '.join(order)


def _encryption_clause(spec):
    if spec['encryption'] == 'disabled':
        return 'ENCRYPTION = DISABLED'
    return 'ENCRYPTION = %s ALGORITHM %s' % (spec['encryption'].upper(),
                                             spec['encryption_algorithm'].upper().replace('_', ' '))


def create_endpoint_sql(spec):
    """CREATE ENDPOINT with every option spelled out (nothing left to server defaults)."""
    owner = ' AUTHORIZATION %s' % quote_name(spec['owner'], 'owner') if spec.get('owner') else ''
    return ('CREATE ENDPOINT %s%s STATE = %s AS TCP (LISTENER_PORT = %d, %s) FOR DATABASE_MIRRORING (%s, %s, ROLE = %s)'
            % (quote_name(spec['name'], 'name'), owner, spec['state'].upper(), spec['port'],
               _listener_ip_clause(spec['listener_ip']), _authentication_clause(spec), _encryption_clause(spec),
               spec['role'].upper()))


def alter_endpoint_sql(name, spec, fields):
    """ALTER ENDPOINT for the differing ``fields`` only, or None when no endpoint option differs.

    LISTENER_PORT is part of every AS TCP clause and ROLE of every FOR DATABASE_MIRRORING clause, because the
    documented grammar does not mark them optional.
    """
    parts = []
    if 'state' in fields:
        parts.append('STATE = %s' % spec['state'].upper())
    if 'port' in fields or 'listener_ip' in fields:
        tcp = ['LISTENER_PORT = %d' % spec['port']]
        if 'listener_ip' in fields:
            tcp.append(_listener_ip_clause(spec['listener_ip']))
        parts.append('AS TCP (%s)' % ', '.join(tcp))
    mirroring = []
    if set(fields) & {'authentication', 'windows_protocol', 'certificate'}:
        mirroring.append(_authentication_clause(spec))
    if set(fields) & {'encryption', 'encryption_algorithm'}:
        mirroring.append(_encryption_clause(spec))
    if mirroring or 'role' in fields:
        parts.append('FOR DATABASE_MIRRORING (%s)' % ', '.join(mirroring + ['ROLE = %s' % spec['role'].upper()]))
    if not parts:
        return None
    return 'ALTER ENDPOINT %s %s' % (quote_name(name, 'name'), ' '.join(parts))


def drop_endpoint_sql(name):
    return 'DROP ENDPOINT %s' % quote_name(name, 'name')


def alter_owner_sql(name, owner):
    """ALTER AUTHORIZATION, which drops every permission on the endpoint (tsql.md 1.7): re-grant afterwards."""
    return 'ALTER AUTHORIZATION ON ENDPOINT::%s TO %s' % (quote_name(name, 'name'), quote_name(owner, 'owner'))


def grant_connect_sql(endpoint, login, with_grant_option=False):
    return 'GRANT CONNECT ON ENDPOINT::%s TO %s%s' % (quote_name(endpoint, 'endpoint'), quote_name(login, 'login'),
                                                      ' WITH GRANT OPTION' if with_grant_option else '')


def revoke_connect_sql(endpoint, login, cascade=False):
    """REVOKE CONNECT; ``cascade`` for a grantee holding GRANT OPTION, whose own grants must go too (else 4611)."""
    return 'REVOKE CONNECT ON ENDPOINT::%s FROM %s%s' % (quote_name(endpoint, 'endpoint'), quote_name(login, 'login'),
                                                         ' CASCADE' if cascade else '')


def restore_permission_sql(endpoint, permission):
    """The statement that puts back one permission row (as endpoint_permissions() gives it)."""
    name = permission['permission']
    if name not in ENDPOINT_PERMISSIONS:
        raise ModuleFailure('Unexpected permission %r on endpoint %r; cannot restore it.' % (name, endpoint))
    verb = 'DENY' if permission['state'] == 'DENY' else 'GRANT'
    suffix = ' WITH GRANT OPTION' if permission['state'] == 'GRANT_WITH_GRANT_OPTION' else ''
    return '%s %s ON ENDPOINT::%s TO %s%s' % (verb, name, quote_name(endpoint, 'endpoint'),
                                              quote_name(permission['grantee'], 'grantee'), suffix)


def permissions_to_restore(permissions, new_owner, caller):
    """(to restore, skipped) after an owner change: SQL Server refuses grants to the owner or yourself (4624)."""
    restore, skipped = [], []
    for permission in permissions:
        if same_name(permission['grantee'], new_owner) or same_name(permission['grantee'], caller):
            skipped.append(permission)
        else:
            restore.append(permission)
    return restore, skipped


def plan_connect(grantees, logins, state, exclusive, owner=None):
    """(grant, revoke): login names to GRANT / REVOKE CONNECT so that the grantee list matches the request.

    ``present`` grants the listed logins that lack CONNECT; ``absent`` revokes it from listed logins that have
    it; ``exclusive`` (with present) also revokes it from every other grantee, never from the owner.
    Names compare case-insensitively; the output keeps the user's spelling for grants, the catalog's for revokes.
    """
    have = {name.casefold(): name for name in grantees}
    wanted = []
    for login in logins:
        if login.casefold() not in [w.casefold() for w in wanted]:
            wanted.append(login)
    grant, revoke = [], []
    if state == 'present':
        grant = [login for login in wanted
                 if login.casefold() not in have and not same_name(login, owner)]
        if exclusive:
            keep = {login.casefold() for login in wanted}
            revoke = [name for key, name in sorted(have.items())
                      if key not in keep and not same_name(name, owner)]
    else:
        revoke = [have[login.casefold()] for login in wanted if login.casefold() in have]
    return grant, revoke
