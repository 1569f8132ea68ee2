#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: endpoint_info
short_description: Everything about a SQL Server instance's mirroring endpoint security, in one read
version_added: 1.0.0
description:
  - Returns, from one connection and one batch, the server, its database mirroring endpoint, the endpoint's
    C(CONNECT) grantees, the certificates in C(master) with their owners, the master key, the availability
    replicas and mirroring sessions using the endpoint, the current mirroring connections, and warnings.
  - Its return is the input of the collection's topology check, so its shape is stable and pinned below.
    Thumbprints are lowercase hexadecimal without C(0x), dates are ISO 8601 UTC (C(2026-01-31T12:00:00Z)).
  - Read-only; runs the same in check mode. Needs C(VIEW SERVER STATE) and C(VIEW ANY DEFINITION) (or sysadmin).
author:
  - mssql.hadr developers (@mssql-hadr)
options:
  warn_days:
    description:
      - Warn about certificates that expire within this many days.
    type: int
    default: 30
  fqdn:
    description:
      - Host name used in the returned endpoint URL RV(endpoint.url). Defaults to the server's machine name.
    type: str
extends_documentation_fragment:
  - mssql.hadr.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    support: full
    membership:
      - mssql.hadr.all
  check_mode:
    support: full
    details: Read-only; check mode changes nothing about what it does.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: mssql.hadr.endpoint
  - module: mssql.hadr.endpoint_permission
'''

EXAMPLES = r'''
- name: Read the endpoint security of an instance
  mssql.hadr.endpoint_info:
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sa_password }}"
  register: sql1

- name: Show the certificates that expire soon
  ansible.builtin.debug:
    msg: "{{ sql1.certificates | selectattr('days_left', 'lt', 60) | map(attribute='name') | list }}"
'''

RETURN = r'''
server:
  description: The instance.
  returned: always
  type: dict
  contains:
    name:
      description: "C(SERVERPROPERTY('ServerName'))."
      type: str
      sample: "SQL1"
    machine:
      description: "C(SERVERPROPERTY('MachineName'))."
      type: str
      sample: "SQL1"
    instance:
      description: "Instance name; null for the default instance."
      type: str
      sample: null
    version:
      description: "Product version."
      type: str
      sample: "16.0.4135.4"
    edition:
      description: "Edition."
      type: str
      sample: "Developer Edition (64-bit)"
    hadr_enabled:
      description: "Whether Always On availability groups are enabled."
      type: bool
      sample: true
    platform:
      description: "Windows or Linux (C(sys.dm_os_host_info))."
      type: str
      sample: "Linux"
    service_account:
      description: "Account the database engine service runs as; null when not visible."
      type: str
      sample: "NT Service\\MSSQLSERVER"
endpoint:
  description: The database mirroring endpoint, or null when there is none. Same keys as the endpoint module returns.
  returned: always
  type: dict
  contains:
    name:
      description: "Endpoint name."
      type: str
      sample: "Hadr_endpoint"
    id:
      description: "C(endpoint_id)."
      type: int
      sample: 65536
    state:
      description: "started, stopped or disabled."
      type: str
      sample: "started"
    port:
      description: "Listener port."
      type: int
      sample: 5022
    listener_ip:
      description: "ALL or the address."
      type: str
      sample: "ALL"
    role:
      description: "all, partner or witness."
      type: str
      sample: "all"
    authentication:
      description: "windows, certificate, windows_certificate or certificate_windows."
      type: str
      sample: "certificate"
    windows_protocol:
      description: "negotiate, ntlm or kerberos; null without Windows authentication."
      type: str
      sample: null
    certificate:
      description: "Certificate name; null without certificate authentication."
      type: str
      sample: "sql1_cert"
    encryption:
      description: "required, supported or disabled."
      type: str
      sample: "required"
    encryption_algorithm:
      description: "aes, rc4, aes_rc4 or rc4_aes; null when disabled."
      type: str
      sample: "aes"
    owner:
      description: "Owning login."
      type: str
      sample: "sa"
    in_use:
      description: "Whether availability replicas or mirroring sessions on this instance use it."
      type: bool
      sample: true
    url:
      description: "C(TCP://host:port)."
      type: str
      sample: "TCP://sql1.example.com:5022"
connect_grantees:
  description: Logins granted CONNECT on the mirroring endpoint (empty without an endpoint), sorted case-insensitively.
  returned: always
  type: list
  elements: str
  sample: [sql2_login, sql3_login]
endpoint_permissions:
  description: Every permission on the mirroring endpoint.
  returned: always
  type: list
  elements: dict
  contains:
    grantee:
      description: "Login or server role."
      type: str
    grantee_type:
      description: "C(type_desc) of the grantee, for example SQL_LOGIN."
      type: str
    permission:
      description: "For example CONNECT."
      type: str
    state:
      description: "GRANT, GRANT_WITH_GRANT_OPTION or DENY."
      type: str
certificates:
  description: Certificates in C(master), without SQL Server's own C(##...##) ones.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: "Certificate name."
      type: str
      sample: "sql2_cert"
    thumbprint:
      description: "SHA-1 of the DER certificate, lowercase hexadecimal without 0x."
      type: str
      sample: "4e1f0c..."
    subject:
      description: "Subject."
      type: str
    issuer:
      description: "Issuer."
      type: str
    serial:
      description: "Serial number as the catalog shows it."
      type: str
    start_date:
      description: "Start of validity, ISO 8601 UTC."
      type: str
      sample: "2026-01-01T00:00:00Z"
    expiry_date:
      description: "End of validity, ISO 8601 UTC."
      type: str
      sample: "2027-01-01T00:00:00Z"
    days_left:
      description: "Whole days until expiry; negative once expired."
      type: int
      sample: 200
    has_private_key:
      description: "Whether the certificate has a private key in this instance."
      type: bool
    private_key_encryption:
      description: "none, master_key, password or service_master_key: what protects the private key."
      type: str
      sample: "master_key"
    used_by_endpoint:
      description: "Whether the mirroring endpoint authenticates with it."
      type: bool
    owner_user:
      description: "Database user in master that owns the certificate."
      type: str
      sample: "sql2_user"
    owner_login:
      description: "Login that user maps to (by SID); null when none."
      type: str
      sample: "sql2_login"
    login_has_connect:
      description: "Whether RV(certificates[].owner_login) holds CONNECT on the endpoint or owns it."
      type: bool
    certificate_login:
      description: "Login created FROM this certificate, if any."
      type: str
    certificate_login_has_connect:
      description: "Whether that login holds CONNECT on the endpoint."
      type: bool
    pem:
      description: "The public certificate as PEM."
      type: str
master_key:
  description: The database master key of master.
  returned: always
  type: dict
  contains:
    exists:
      description: "Whether it exists."
      type: bool
    encrypted_by_service_master_key:
      description: "Whether it opens without a password (needed by endpoint certificates)."
      type: bool
availability_replicas:
  description: Replicas of the availability groups this instance takes part in.
  returned: always
  type: list
  elements: dict
  contains:
    availability_group:
      description: "Group name."
      type: str
    replica_server_name:
      description: "Replica."
      type: str
    endpoint_url:
      description: "Endpoint URL the group uses for that replica."
      type: str
    is_local:
      description: "Whether the replica is this instance."
      type: bool
    role:
      description: "PRIMARY, SECONDARY or RESOLVING; null when unknown."
      type: str
    connected_state:
      description: "CONNECTED or DISCONNECTED."
      type: str
    synchronization_health:
      description: "HEALTHY, PARTIALLY_HEALTHY or NOT_HEALTHY."
      type: str
    last_connect_error_number:
      description: "Last connection error."
      type: int
    last_connect_error_description:
      description: "Its text."
      type: str
mirroring_sessions:
  description: Databases mirrored through the endpoint.
  returned: always
  type: list
  elements: dict
  contains:
    database:
      description: "Database name."
      type: str
    role:
      description: "PRINCIPAL or MIRROR."
      type: str
    state:
      description: "For example SYNCHRONIZED."
      type: str
    partner_name:
      description: "Partner URL."
      type: str
    witness_name:
      description: "Witness URL."
      type: str
mirroring_connections:
  description: Current connections of the endpoint (C(sys.dm_db_mirroring_connections)).
  returned: always
  type: list
  elements: dict
  contains:
    connection_id:
      description: "Connection id."
      type: str
    state:
      description: "For example CONNECTED."
      type: str
    is_inbound:
      description: "Whether the partner connected to us."
      type: bool
    principal_name:
      description: "Remote login, or for certificate authentication the certificate owner."
      type: str
    authentication_method:
      description: "NTLM, KERBEROS, CERTIFICATE..."
      type: str
    encryption_algorithm:
      description: "Algorithm in use."
      type: str
    connect_time:
      description: "ISO 8601 UTC."
      type: str
    login_state:
      description: "Login state."
      type: str
security_warnings:
  description:
    - The same findings as the task's warnings, as data (Ansible removes C(warnings) from registered results).
    - Codes are V(no_endpoint), V(endpoint_not_started), V(encryption_disabled), V(rc4), V(certificate_expired),
      V(certificate_expiring), V(certificate_not_yet_valid), V(endpoint_certificate_key), V(endpoint_certificate_missing),
      V(master_key_not_service_encrypted).
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: "What kind of finding."
      type: str
      sample: "certificate_expiring"
    message:
      description: "What is wrong and what to do."
      type: str
queries:
  description: Always empty; the module changes nothing.
  returned: always
  type: list
  elements: str
  sample: []
'''

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as ep
from ansible_collections.mssql.hadr.plugins.module_utils._change import run_module
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec

SERVER_SQL = (
    "SELECT CAST(SERVERPROPERTY('ServerName') AS nvarchar(128)) AS server_name,"
    " CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)) AS machine_name,"
    " CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)) AS instance_name,"
    " CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,"
    " CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,"
    " CAST(SERVERPROPERTY('IsHadrEnabled') AS nvarchar(128)) AS hadr_enabled;"
    " SELECT host_platform FROM sys.dm_os_host_info;"
    " SELECT servicename, service_account FROM sys.dm_server_services;")

CERTIFICATES_SQL = (
    "SELECT c.certificate_id, c.name, c.thumbprint, c.subject, c.issuer_name, c.cert_serial_number,"
    " c.start_date, c.expiry_date, c.pvt_key_encryption_type, u.name AS owner_user, l.name AS owner_login,"
    " cl.name AS certificate_login, CERTENCODED(c.certificate_id) AS der"
    " FROM master.sys.certificates AS c"
    " LEFT JOIN master.sys.database_principals AS u ON u.principal_id = c.principal_id"
    " LEFT JOIN sys.server_principals AS l ON l.sid = u.sid"
    " LEFT JOIN sys.server_principals AS cl ON cl.sid = c.sid AND cl.type = 'C';")

MASTER_KEY_SQL = (
    "SELECT k.name FROM master.sys.symmetric_keys AS k WHERE k.name = '##MS_DatabaseMasterKey##';"
    " SELECT d.is_master_key_encrypted_by_server FROM sys.databases AS d WHERE d.name = 'master';")

REPLICAS_SQL = (
    "SELECT ag.name AS availability_group, ar.replica_server_name, ar.endpoint_url, rs.is_local, rs.role_desc,"
    " rs.connected_state_desc, rs.synchronization_health_desc, rs.last_connect_error_number,"
    " rs.last_connect_error_description"
    " FROM sys.availability_replicas AS ar"
    " JOIN sys.availability_groups AS ag ON ag.group_id = ar.group_id"
    " LEFT JOIN sys.dm_hadr_availability_replica_states AS rs ON rs.replica_id = ar.replica_id;")

MIRRORING_SQL = (
    "SELECT d.name AS database_name, m.mirroring_role_desc, m.mirroring_state_desc, m.mirroring_partner_name,"
    " m.mirroring_witness_name"
    " FROM sys.database_mirroring AS m JOIN sys.databases AS d ON d.database_id = m.database_id"
    " WHERE m.mirroring_guid IS NOT NULL;")

CONNECTIONS_SQL = (
    "SELECT connection_id, state_desc, is_accept, principal_name, authentication_method,"
    " encryption_algorithm_desc, connect_time, login_state_desc FROM sys.dm_db_mirroring_connections;")

PRIVATE_KEY = {'NA': 'none', 'MK': 'master_key', 'PW': 'password', 'SK': 'service_master_key'}


def flag(value):
    """bit or '0'/'1' text (SERVERPROPERTY cast to nvarchar) as a bool; None stays None."""
    if value is None:
        return None
    return str(value).strip() in ('1', 'True', 'true')


def service_account(rows):
    """The database engine's account: the 'SQL Server (...)' service, not the Agent or full-text ones."""
    for row in rows:
        if (row['servicename'] or '').startswith('SQL Server (') and row['service_account']:
            return row['service_account']
    return None


def describe_certificate(row, endpoint, grantees, now):
    has_connect = {name.casefold() for name in grantees}
    owner = endpoint['owner'].casefold() if endpoint and endpoint['owner'] else None
    left = None
    if row['expiry_date'] is not None:
        left = int((row['expiry_date'] - now).total_seconds() // 86400)
    return {
        'name': row['name'],
        'thumbprint': ep.hex_lower(row['thumbprint']),
        'subject': row['subject'],
        'issuer': row['issuer_name'],
        'serial': row['cert_serial_number'],
        'start_date': ep.iso_utc(row['start_date']),
        'expiry_date': ep.iso_utc(row['expiry_date']),
        'days_left': left,
        'has_private_key': row['pvt_key_encryption_type'] != 'NA',
        'private_key_encryption': PRIVATE_KEY.get(row['pvt_key_encryption_type'], row['pvt_key_encryption_type']),
        'used_by_endpoint': bool(endpoint and ep.same_name(endpoint['certificate'], row['name'])),
        'owner_user': row['owner_user'],
        'owner_login': row['owner_login'],
        'login_has_connect': bool(row['owner_login']) and (
            row['owner_login'].casefold() in has_connect or row['owner_login'].casefold() == owner),
        'certificate_login': row['certificate_login'],
        'certificate_login_has_connect': bool(row['certificate_login']) and (
            row['certificate_login'].casefold() in has_connect),
        'pem': ep.pem_certificate(row['der']),
    }


def findings(endpoint, certificates, certificate_rows, master_key, warn_days, now):
    """(code, message) pairs: what a DBA should look at."""
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
            row = ep.find_by_name(certificate_rows, endpoint['certificate'])
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
        if cert['days_left'] is not None and cert['days_left'] < 0:
            found.append(('certificate_expired', "Certificate '%s' expired on %s: new connections that use it fail."
                                                 % (cert['name'], cert['expiry_date'])))
        elif cert['days_left'] is not None and cert['days_left'] <= warn_days:
            found.append(('certificate_expiring', "Certificate '%s' expires on %s (in %d days); rotate it."
                                                  % (cert['name'], cert['expiry_date'], cert['days_left'])))
        row = ep.find_by_name(certificate_rows, cert['name'])
        if row['start_date'] is not None and row['start_date'] > now:
            found.append(('certificate_not_yet_valid', "Certificate '%s' is not valid before %s."
                                                       % (cert['name'], cert['start_date'])))
    return found


def work(module, conn):
    sets = conn.query_sets(' '.join([
        SERVER_SQL, ep.MIRRORING_ENDPOINT_SQL, ep.ENDPOINT_PERMISSIONS_SQL, CERTIFICATES_SQL, MASTER_KEY_SQL,
        REPLICAS_SQL, MIRRORING_SQL, CONNECTIONS_SQL]))
    (server_rows, host_rows, service_rows, endpoint_rows, permission_rows, certificate_rows, key_rows,
     key_flag_rows, replica_rows, mirroring_rows, connection_rows) = sets[:11]
    now = ep.utcnow()
    server = server_rows[0]
    endpoint = ep.parse_endpoint(endpoint_rows)
    permissions = ep.endpoint_permissions(permission_rows, endpoint['id'] if endpoint else None)
    grantees = ep.connect_grantees(permissions)
    local_replicas = [row for row in replica_rows if row['is_local']]
    sessions = ep.in_use_sessions(local_replicas, mirroring_rows)
    endpoint = ep.with_url(endpoint, sessions, module.params['fqdn'], server['machine_name'])
    certificate_rows = [row for row in certificate_rows if not row['name'].startswith('##')]
    certificates = [describe_certificate(row, endpoint, grantees, now) for row in certificate_rows]
    master_key = {'exists': bool(key_rows),
                  'encrypted_by_service_master_key': bool(key_rows) and bool(
                      key_flag_rows and flag(key_flag_rows[0]['is_master_key_encrypted_by_server']))}
    found = findings(endpoint, certificates, certificate_rows, master_key, module.params['warn_days'], now)
    for dummy, message in found:
        module.warn(message)
    return {
        'changed': False,
        'server': {
            'name': server['server_name'], 'machine': server['machine_name'], 'instance': server['instance_name'],
            'version': server['product_version'], 'edition': server['edition'],
            'hadr_enabled': flag(server['hadr_enabled']),
            'platform': host_rows[0]['host_platform'] if host_rows else None,
            'service_account': service_account(service_rows),
        },
        'endpoint': endpoint,
        'connect_grantees': grantees,
        'endpoint_permissions': permissions,
        'certificates': certificates,
        'master_key': master_key,
        'availability_replicas': [{
            'availability_group': row['availability_group'], 'replica_server_name': row['replica_server_name'],
            'endpoint_url': row['endpoint_url'], 'is_local': bool(row['is_local']), 'role': row['role_desc'],
            'connected_state': row['connected_state_desc'],
            'synchronization_health': row['synchronization_health_desc'],
            'last_connect_error_number': row['last_connect_error_number'],
            'last_connect_error_description': row['last_connect_error_description'],
        } for row in replica_rows],
        'mirroring_sessions': [{
            'database': row['database_name'], 'role': row['mirroring_role_desc'], 'state': row['mirroring_state_desc'],
            'partner_name': row['mirroring_partner_name'], 'witness_name': row['mirroring_witness_name'],
        } for row in mirroring_rows],
        'mirroring_connections': [{
            'connection_id': str(row['connection_id']), 'state': row['state_desc'], 'is_inbound': bool(row['is_accept']),
            'principal_name': row['principal_name'], 'authentication_method': row['authentication_method'],
            'encryption_algorithm': row['encryption_algorithm_desc'],
            'connect_time': ep.iso_utc(row['connect_time']) if isinstance(row['connect_time'], datetime.datetime)
            else row['connect_time'],
            'login_state': row['login_state_desc'],
        } for row in connection_rows],
        'security_warnings': [{'code': code, 'message': message} for code, message in found],
    }


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        warn_days=dict(type='int', default=30),
        fqdn=dict(type='str'),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, lambda conn, changes: work(module, conn))


if __name__ == '__main__':
    main()
