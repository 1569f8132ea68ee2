# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The endpoint family: read the mirroring endpoint, compare it with what is wanted, build the statements.

This file is the only copy of this logic in the collection. The modules ``endpoint``,
``endpoint_permission`` and ``endpoint_info`` use it, and so do ``login``, ``user``, ``certificate`` and
``partner_trust`` for the in-use guard, the endpoint context and the CONNECT grants and revocations
(see docs/dev/contracts.md, "Endpoint family").

Reads are SQL text made of single SELECT statements, each giving one result set, so a module can put
them into its one read batch (``_catalog.read_sets``) in any order and hand the rows to the parse
functions here. Everything else is pure: it takes rows and options and returns data, warnings or
``Statement`` objects.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import ipaddress

from ansible_collections.mssql.hadr.plugins.module_utils._catalog import (
    ModuleFailure, Statement, find, iso_utc, same_name, utcnow, with_common_hints)
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

# What to tell the user for SQL Server errors that DDL on the endpoint can still meet after our checks.
HINTS = with_common_hints({
    7890: 'The port is bound by another process on the server: choose another port or stop that process.',
    7874: 'Another endpoint already uses this port or address: choose another port.',
    7862: 'The instance already has a database mirroring endpoint: manage it by its name.',
    28055: 'Use a certificate in master whose private key is protected by the master key and which is valid now.',
    15151: 'Check that the login or certificate exists on this instance.',
})

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

# endpoint_info's reads beyond the endpoint: the server, everything that uses the endpoint, its connections.
SERVER_INFO_SQL = (
    "SELECT CAST(SERVERPROPERTY('ServerName') AS nvarchar(128)) AS server_name,"
    " CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)) AS machine_name,"
    " CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)) AS instance_name,"
    " CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,"
    " CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,"
    " CAST(SERVERPROPERTY('IsHadrEnabled') AS nvarchar(128)) AS hadr_enabled;"
    " SELECT host_platform FROM sys.dm_os_host_info;"
    " SELECT servicename, service_account FROM sys.dm_server_services;")
SERVER_INFO_RESULT_SETS = 3

# 3 sets: every availability replica (not only local ones), mirrored databases, mirroring connections.
ENDPOINT_USE_SQL = (
    "SELECT ag.name AS availability_group, ar.replica_server_name, ar.endpoint_url, rs.is_local, rs.role_desc,"
    " rs.connected_state_desc, rs.synchronization_health_desc, rs.last_connect_error_number,"
    " rs.last_connect_error_description"
    " FROM sys.availability_replicas AS ar"
    " JOIN sys.availability_groups AS ag ON ag.group_id = ar.group_id"
    " LEFT JOIN sys.dm_hadr_availability_replica_states AS rs ON rs.replica_id = ar.replica_id;"
    " SELECT d.name AS database_name, m.mirroring_role_desc, m.mirroring_state_desc, m.mirroring_partner_name,"
    " m.mirroring_witness_name"
    " FROM sys.database_mirroring AS m JOIN sys.databases AS d ON d.database_id = m.database_id"
    " WHERE m.mirroring_guid IS NOT NULL;"
    " SELECT connection_id, state_desc, is_accept, principal_name, authentication_method,"
    " encryption_algorithm_desc, connect_time, login_state_desc FROM sys.dm_db_mirroring_connections;")
ENDPOINT_USE_RESULT_SETS = 3

# What every family that can cut a partner off reads: is the endpoint in use, and who may connect.
ENDPOINT_CONTEXT_SQL = ' '.join([IN_USE_SQL, MIRRORING_ENDPOINT_SQL, ENDPOINT_PERMISSIONS_SQL])
ENDPOINT_CONTEXT_SETS = IN_USE_RESULT_SETS + 2

# The endpoint module's own read: who runs it, every endpoint, the mirroring one, its permissions, its use.
ENDPOINT_STATE_SQL = ' '.join([SERVER_CONTEXT_SQL, ALL_ENDPOINTS_SQL, MIRRORING_ENDPOINT_SQL,
                               ENDPOINT_PERMISSIONS_SQL, IN_USE_SQL])
ENDPOINT_STATE_SETS = SERVER_CONTEXT_RESULT_SETS + 3 + IN_USE_RESULT_SETS


# ---------------------------------------------------------------------------------------------------
# Parsing rows


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


def parse_endpoint_context(sets):
    """{sessions, endpoint, permissions, grantees} from the ENDPOINT_CONTEXT_SQL result sets, in their order."""
    count = IN_USE_RESULT_SETS
    endpoint = parse_endpoint(sets[count])
    permissions = endpoint_permissions(sets[count + 1], endpoint['id'] if endpoint else None)
    return {'sessions': in_use_sessions(*sets[:count]), 'endpoint': endpoint,
            'permissions': permissions, 'grantees': connect_grantees(permissions)}


def parse_endpoint_state(sets):
    """The endpoint module's view from the ENDPOINT_STATE_SQL result sets (see ``ENDPOINT_STATE_SETS``)."""
    context, platform, endpoints, mirroring, permissions, replicas, mirrored = sets[:ENDPOINT_STATE_SETS]
    current = parse_endpoint(mirroring)
    return {
        'caller': context[0]['login_name'],
        'machine': context[0]['machine_name'],
        'linux': bool(platform) and (platform[0]['host_platform'] or '').lower() == 'linux',
        'endpoints': endpoints,
        'current': current,
        'permissions': endpoint_permissions(permissions, current['id'] if current else None),
        'sessions': in_use_sessions(replicas, mirrored),
    }


def holds_connect(context, login):
    """Whether ``login`` holds CONNECT on the endpoint of an endpoint context."""
    return login is not None and any(same_name(login, grantee) for grantee in context['grantees'])


def guard_partner_removal(context, what, reconfigure_in_use):
    """The in-use guard for removing something that lets a partner in (login, user, certificate)."""
    endpoint = context['endpoint']['name'] if context['endpoint'] else 'the endpoint'
    refuse_if_in_use(context['sessions'], '%s, which lets a partner connect to %s' % (what, endpoint),
                     reconfigure_in_use)


def refuse_if_in_use(sessions, change, reconfigure_in_use):
    """Raise ModuleFailure when ``change`` (text) would touch an endpoint in use and the user did not allow it."""
    if sessions and not reconfigure_in_use:
        raise ModuleFailure(
            'Refusing to %s: the mirroring endpoint is in use by %s. Partners would see the endpoint restart or '
            'lose their connection, which can trigger a failover. Do it in a maintenance window with '
            'reconfigure_in_use: true.' % (change, '; '.join(sessions)),
            in_use_sessions=sessions)


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


def connect_revocations(endpoint, permissions, logins):
    """REVOKE CONNECT statements for ``logins``: CASCADE for a grantee holding GRANT OPTION, whose own grants
    must go too (else 4611). The one place that decides it."""
    with_option = {p['grantee'].casefold() for p in permissions
                   if p['permission'] == 'CONNECT' and p['state'] == 'GRANT_WITH_GRANT_OPTION'}
    return [statement(revoke_connect_sql(endpoint, login, cascade=login.casefold() in with_option), endpoint)
            for login in logins]


def statement(sql, endpoint):
    """A statement on the endpoint, with the endpoint family's error hints."""
    return Statement(sql, subject="endpoint '%s'" % endpoint, hints=HINTS)


# ---------------------------------------------------------------------------------------------------
# Decisions of the endpoint and endpoint_permission modules (pure: rows and options in, statements out)


def choose_endpoint(name, endpoints, mirroring):
    """The endpoint row to work on: the named one, or the mirroring endpoint found by type."""
    if name:
        row = find(endpoints, name)
        if row is None:
            raise ModuleFailure("Endpoint '%s' does not exist on this instance (SQL Server would answer 15151); "
                                "create it with mssql.hadr.endpoint or omit endpoint to use the mirroring endpoint."
                                % name, option='endpoint')
        return row
    if mirroring is None:
        raise ModuleFailure('This instance has no database mirroring endpoint; create it first with '
                            'mssql.hadr.endpoint.', option='endpoint')
    return find(endpoints, mirroring['name'])


def check_name(state, name, want_present):
    """Fail when the name belongs to an endpoint of another type, or (present) the mirroring one has another name."""
    for row in state['endpoints']:
        if same_name(row['name'], name) and row['type_desc'] != 'DATABASE_MIRRORING':
            raise ModuleFailure("Endpoint '%s' exists but is a %s endpoint, not a database mirroring endpoint; choose "
                                "another name." % (row['name'], row['type_desc']), option='name')
    current = state['current']
    if want_present and current and not same_name(current['name'], name):
        raise ModuleFailure(
            "This instance already has a database mirroring endpoint, named '%s', and SQL Server allows only one. "
            "Set name: '%s' to manage it, or drop it first (state: absent, name: '%s') if you really want a new one."
            % (current['name'], current['name'], current['name']), option='name', existing_endpoint=current['name'])


def check_before_ddl(state, desired, fields, certificates, logins):
    """Everything SQL Server would refuse, found before any statement runs; returns warnings."""
    if state['linux'] and 'windows' in desired['authentication']:
        raise ModuleFailure('authentication %s uses Windows authentication, which SQL Server on Linux does not support '
                            'for endpoints: use authentication: certificate with a certificate.'
                            % desired['authentication'], option='authentication')
    owner = desired['owner']
    if owner and not find(logins, owner):
        raise ModuleFailure("Login '%s' (owner) does not exist on this instance (SQL Server would answer 15151); "
                            "create it first (mssql.hadr.login) or choose an existing login." % owner, option='owner')
    current_id = state['current']['id'] if state['current'] else None
    for row in state['endpoints']:
        if row['port'] == desired['port'] and row['endpoint_id'] != current_id:
            raise ModuleFailure("Port %d is already used by endpoint '%s'; choose another port."
                                % (desired['port'], row['name']), option='port')
    if not desired['certificate']:
        return []
    row = find(certificates, desired['certificate'])
    problem = certificate_problem(row)
    names_certificate = state['current'] is None or bool(
        set(fields) & {'authentication', 'windows_protocol', 'certificate'})
    if problem and names_certificate:
        raise ModuleFailure("Certificate '%s' cannot serve the endpoint: %s (SQL Server would answer %s). "
                            "Use a certificate in master whose private key is protected by the master key and "
                            "that is valid now (see mssql.hadr.certificate)."
                            % (desired['certificate'], problem, 15151 if row is None else 28055),
                            option='certificate')
    if problem:
        return ["The endpoint's certificate '%s' cannot serve new connections: %s." % (desired['certificate'], problem)]
    return []


def describe_change(fields, before, after):
    return 'change %s' % ', '.join('%s (%s -> %s)' % (f, before[f], after[f]) for f in fields)


def plan_present(state, desired, certificates, logins, reconfigure_in_use):
    """(statements, after, regranted, warnings) that create the endpoint or change what differs.

    An owner change drops every permission on the endpoint (ALTER AUTHORIZATION); the permissions that
    existed are put back in the same run, except those SQL Server refuses (4624), which are warned about.
    """
    current = state['current']
    warnings = warnings_for(desired)
    fields = endpoint_differences(current, desired) if current else []
    warnings += check_before_ddl(state, desired, fields, certificates, logins)
    if current is None:
        return [statement(create_endpoint_sql(desired), desired['name'])], \
            predicted_endpoint(None, desired, state['caller']), [], warnings
    name = current['name']
    restarting = [f for f in fields if f in RESTARTING_FIELDS]
    if restarting:
        refuse_if_in_use(state['sessions'], describe_change(restarting, current, desired), reconfigure_in_use)
    statements, regranted = [], []
    alter = alter_endpoint_sql(name, desired, fields)
    if alter:
        statements.append(statement(alter, name))
    if 'owner' in fields:
        statements.append(statement(alter_owner_sql(name, desired['owner']), name))
        restore, skipped = permissions_to_restore(state['permissions'], desired['owner'], state['caller'])
        regranted = [restore_permission_sql(name, permission) for permission in restore]
        statements += [statement(sql, name) for sql in regranted]
        warnings += ["%s %s for '%s' was dropped by the owner change and cannot be put back by that same login "
                     "(SQL Server error 4624); have another administrator restore it."
                     % (permission['state'], permission['permission'], permission['grantee'])
                     for permission in skipped if not same_name(permission['grantee'], desired['owner'])]
    return statements, predicted_endpoint(current, desired, state['caller']), regranted, warnings


def plan_absent(state, name, reconfigure_in_use):
    """(statements, warnings) that drop the endpoint named ``name``; nothing when it is not there."""
    current = state['current']
    if current is not None and same_name(current['name'], name):
        refuse_if_in_use(state['sessions'], "drop endpoint '%s'" % current['name'], reconfigure_in_use)
        return [statement(drop_endpoint_sql(current['name']), current['name'])], []
    if current is not None:
        return [], ["Nothing dropped: the mirroring endpoint of this instance is named '%s', not '%s'."
                    % (current['name'], name)]
    return [], []


# ---------------------------------------------------------------------------------------------------
# endpoint_info: the server, what uses the endpoint, and what a DBA should look at


def flag(value):
    """bit or '0'/'1' text (SERVERPROPERTY cast to nvarchar) as a bool; None stays None."""
    if value is None:
        return None
    return str(value).strip() in ('1', 'True', 'true')


def parse_server(server_rows, host_rows, service_rows):
    """The server facts from the SERVER_INFO_SQL result sets."""
    server = server_rows[0]
    # The database engine's account: the 'SQL Server (...)' service, not the Agent or full-text ones.
    account = next((row['service_account'] for row in service_rows
                    if (row['servicename'] or '').startswith('SQL Server (') and row['service_account']), None)
    return {'name': server['server_name'], 'machine': server['machine_name'], 'instance': server['instance_name'],
            'version': server['product_version'], 'edition': server['edition'],
            'hadr_enabled': flag(server['hadr_enabled']),
            'platform': host_rows[0]['host_platform'] if host_rows else None, 'service_account': account}


def parse_endpoint_use(replica_rows, mirroring_rows, connection_rows):
    """(availability_replicas, mirroring_sessions, mirroring_connections) from the ENDPOINT_USE_SQL result sets."""
    replicas = [{
        'availability_group': row['availability_group'], 'replica_server_name': row['replica_server_name'],
        'endpoint_url': row['endpoint_url'], 'is_local': bool(row['is_local']), 'role': row['role_desc'],
        'connected_state': row['connected_state_desc'], 'synchronization_health': row['synchronization_health_desc'],
        'last_connect_error_number': row['last_connect_error_number'],
        'last_connect_error_description': row['last_connect_error_description'],
    } for row in replica_rows]
    sessions = [{
        'database': row['database_name'], 'role': row['mirroring_role_desc'], 'state': row['mirroring_state_desc'],
        'partner_name': row['mirroring_partner_name'], 'witness_name': row['mirroring_witness_name'],
    } for row in mirroring_rows]
    connections = [{
        'connection_id': str(row['connection_id']), 'state': row['state_desc'], 'is_inbound': bool(row['is_accept']),
        'principal_name': row['principal_name'], 'authentication_method': row['authentication_method'],
        'encryption_algorithm': row['encryption_algorithm_desc'],
        'connect_time': iso_utc(row['connect_time']) if isinstance(row['connect_time'], datetime.datetime)
        else row['connect_time'],
        'login_state': row['login_state_desc'],
    } for row in connection_rows]
    return replicas, sessions, connections


def security_findings(endpoint, certificates, certificate_rows, master_key, warn_days, now):
    """(code, message) pairs: what a DBA should look at (endpoint_info's security_warnings)."""
    found = []
    if endpoint is None:
        found.append(('no_endpoint', 'This instance has no database mirroring endpoint; create one with '
                                     'mssql.hadr.endpoint.'))
    else:
        if endpoint['state'] != 'started':
            found.append(('endpoint_not_started', "Endpoint '%s' is %s: partners cannot connect. Start it with "
                                                  "endpoint_state: started." % (endpoint['name'], endpoint['state'])))
        if endpoint['encryption'] == 'disabled':
            found.append(('encryption_disabled', "Endpoint '%s' does not encrypt mirroring traffic; set encryption: "
                                                 "required." % endpoint['name']))
        if endpoint['encryption_algorithm'] and 'rc4' in endpoint['encryption_algorithm']:
            found.append(('rc4', "Endpoint '%s' allows RC4, which is deprecated; use encryption_algorithm: aes."
                                 % endpoint['name']))
        if endpoint['certificate']:
            row = find(certificate_rows, endpoint['certificate'])
            if row is None:
                found.append(('endpoint_certificate_missing', "Endpoint '%s' uses certificate '%s', which is not in "
                                                              "master." % (endpoint['name'], endpoint['certificate'])))
            elif row['pvt_key_encryption_type'] != 'MK':
                found.append(('endpoint_certificate_key', "The private key of endpoint certificate '%s' is not "
                                                          "protected by the master key; the endpoint cannot use it "
                                                          "(28055)." % row['name']))
            if not master_key['encrypted_by_service_master_key']:
                found.append(('master_key_not_service_encrypted', 'The master key of master is not protected by the '
                                                                  'service master key, so the endpoint cannot open '
                                                                  'its certificate key without a password.'))
    for cert in certificates:
        days = cert['days_to_expiry']
        if days is not None and days < 0:
            found.append(('certificate_expired', "Certificate '%s' expired on %s: new connections that use it fail."
                                                 % (cert['name'], cert['expiry_date'])))
        elif days is not None and days <= warn_days:
            found.append(('certificate_expiring', "Certificate '%s' expires on %s (in %d days); rotate it."
                                                  % (cert['name'], cert['expiry_date'], days)))
        row = find(certificate_rows, cert['name'])
        if row['start_date'] is not None and row['start_date'] > now:
            found.append(('certificate_not_yet_valid', "Certificate '%s' is not valid before %s."
                                                       % (cert['name'], cert['start_date'])))
    return found
