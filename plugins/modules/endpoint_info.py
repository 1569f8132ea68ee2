#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: endpoint_info
short_description: Everything about a SQL Server instance's mirroring endpoint security, in one read
version_added: 0.1.0
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
  - mssql.hadr.attributes
attributes:
  check_mode:
    details: Read-only; check mode changes nothing about what it does.
  diff_mode:
    support: none
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
    msg: "{{ sql1.certificates | selectattr('days_to_expiry', 'lt', 60) | map(attribute='name') | list }}"
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
    name: {description: Endpoint name., type: str, sample: Hadr_endpoint}
    id: {description: C(endpoint_id)., type: int, sample: 65536}
    state: {description: 'started, stopped or disabled.', type: str, sample: started}
    port: {description: Listener port., type: int, sample: 5022}
    listener_ip: {description: ALL or the address., type: str, sample: ALL}
    role: {description: 'all, partner or witness.', type: str, sample: all}
    authentication: {description: 'windows, certificate, windows_certificate or certificate_windows.', type: str, sample: certificate}
    windows_protocol: {description: 'negotiate, ntlm or kerberos; null without Windows authentication.', type: str, sample: null}
    certificate: {description: Certificate name; null without certificate authentication., type: str, sample: sql1_cert}
    encryption: {description: 'required, supported or disabled.', type: str, sample: required}
    encryption_algorithm: {description: 'aes, rc4, aes_rc4 or rc4_aes; null when disabled.', type: str, sample: aes}
    owner: {description: Owning login., type: str, sample: sa}
    in_use: {description: Whether availability replicas or mirroring sessions on this instance use it., type: bool, sample: true}
    url: {description: 'C(TCP://host:port).', type: str, sample: 'TCP://sql1.example.com:5022'}
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
    days_to_expiry:
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as certificates
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import read_sets, utcnow
from ansible_collections.mssql.hadr.plugins.module_utils._change import run_module
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        warn_days=dict(type='int', default=30),
        fqdn=dict(type='str'),
    )
    return spec


def run(module, conn, changes):
    sets = read_sets(conn, [(endpoints.SERVER_INFO_SQL, []), (endpoints.MIRRORING_ENDPOINT_SQL, []),
                            (endpoints.ENDPOINT_PERMISSIONS_SQL, []), (certificates.certificates_sql('master'), []),
                            (certificates.MASTER_KEY_OF_MASTER_SQL, []), (endpoints.ENDPOINT_USE_SQL, [])])
    server = endpoints.parse_server(*sets[:endpoints.SERVER_INFO_RESULT_SETS])
    endpoint_rows, permission_rows, certificate_rows, key_rows, key_flag_rows = sets[3:8]
    replicas, sessions, connections = endpoints.parse_endpoint_use(*sets[8:8 + endpoints.ENDPOINT_USE_RESULT_SETS])
    now = utcnow()
    endpoint = endpoints.parse_endpoint(endpoint_rows)
    permissions = endpoints.endpoint_permissions(permission_rows, endpoint['id'] if endpoint else None)
    grantees = endpoints.connect_grantees(permissions)
    in_use = endpoints.in_use_sessions([row for row in sets[8] if row['is_local']], sets[9])
    endpoint = endpoints.with_url(endpoint, in_use, module.params['fqdn'], server['machine'])
    certificate_rows = [row for row in certificate_rows if not row['name'].startswith('##')]
    described = [certificates.endpoint_view(row, endpoint, grantees, now) for row in certificate_rows]
    master_key = certificates.parse_master_key(key_rows, key_flag_rows, 'master')
    master_key.pop('database')
    found = endpoints.security_findings(endpoint, described, certificate_rows, master_key,
                                        module.params['warn_days'], now)
    for dummy, message in found:
        module.warn(message)
    return {
        'changed': False,
        'server': server,
        'endpoint': endpoint,
        'connect_grantees': grantees,
        'endpoint_permissions': permissions,
        'certificates': described,
        'master_key': master_key,
        'availability_replicas': replicas,
        'mirroring_sessions': sessions,
        'mirroring_connections': connections,
        'security_warnings': [{'code': code, 'message': message} for code, message in found],
    }


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
