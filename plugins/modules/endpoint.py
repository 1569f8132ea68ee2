#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: endpoint
short_description: Manage the database mirroring endpoint of a SQL Server instance
version_added: 0.1.0
description:
  - Creates, changes or drops the instance's database mirroring endpoint, which both database mirroring and
    Always On availability groups use for instance-to-instance traffic.
  - An instance has at most one such endpoint. If it exists under another name the module fails and names it;
    it never drops an endpoint implicitly.
  - The whole state is read in one batch; only what differs is changed, with one C(CREATE ENDPOINT) or one
    C(ALTER ENDPOINT) naming only the differing options. Nothing is sent when nothing differs.
  - While the endpoint is in use (a local availability replica, or a mirrored database), changes that can
    restart it are refused unless O(reconfigure_in_use=true), because partners see a restart as an error and
    it can trigger a failover.
  - Changing O(owner) uses C(ALTER AUTHORIZATION), which drops every permission on the endpoint; the module
    puts back the permissions that existed before (except for the new owner and the connecting login, which
    SQL Server refuses with error 4624) in the same run and returns them in RV(regranted).
author:
  - mssql.hadr developers (@mssql-hadr)
options:
  name:
    description:
      - Name of the endpoint.
    type: str
    default: Hadr_endpoint
  state:
    description:
      - V(present) creates or changes the endpoint, V(absent) drops it.
    type: str
    choices: [present, absent]
    default: present
  endpoint_state:
    description:
      - V(started) listens and serves partners, V(stopped) does not listen, V(disabled) refuses connections.
    type: str
    choices: [started, stopped, disabled]
    default: started
  port:
    description:
      - TCP port the endpoint listens on (1-65535). SQL Server documents 1024-32767; other ports give a warning.
    type: int
    default: 5022
  listener_ip:
    description:
      - V(ALL) to listen on every address, or one IPv4 or IPv6 address.
    type: str
    default: ALL
  role:
    description:
      - Database mirroring role the endpoint can take. Availability groups ignore it.
    type: str
    choices: [all, partner, witness]
    default: all
  authentication:
    description:
      - How partners authenticate. V(windows_certificate) tries Windows first, V(certificate_windows) the certificate first.
      - SQL Server on Linux supports only V(certificate); anything with Windows fails there before any change.
    type: str
    choices: [windows, certificate, windows_certificate, certificate_windows]
    default: windows
  windows_protocol:
    description:
      - Windows authentication protocol, when O(authentication) uses Windows.
    type: str
    choices: [negotiate, ntlm, kerberos]
    default: negotiate
  certificate:
    description:
      - Name of the certificate in C(master) the endpoint authenticates with. Required when O(authentication) uses certificates.
      - It must have a private key protected by the database master key and be valid now (else SQL Server's error 28055);
        the module checks this before any change and names the reason.
    type: str
  encryption:
    description:
      - Whether connections are encrypted.
    type: str
    choices: [required, supported, disabled]
    default: required
  encryption_algorithm:
    description:
      - Encryption algorithm(s), in order of preference. RC4 is deprecated and gives a warning.
    type: str
    choices: [aes, rc4, aes_rc4, rc4_aes]
    default: aes
  owner:
    description:
      - Login that owns the endpoint. When unset, a new endpoint is owned by the connecting login and an existing owner is kept.
    type: str
  fqdn:
    description:
      - Host name used in the returned endpoint URL RV(endpoint.url). Defaults to the server's machine name
        (or O(listener_ip) when it is an address).
    type: str
extends_documentation_fragment:
  - mssql.hadr.connection
  - mssql.hadr.attributes
  - mssql.hadr.attributes.reconfigure_in_use
seealso:
  - module: mssql.hadr.endpoint_permission
  - module: mssql.hadr.endpoint_info
  - name: CREATE ENDPOINT
    description: Microsoft's reference for the statement this module builds.
    link: https://learn.microsoft.com/sql/t-sql/statements/create-endpoint-transact-sql
'''

EXAMPLES = r'''
- name: Windows-authenticated endpoint on the conventional port
  mssql.hadr.endpoint:
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sa_password }}"
    fqdn: sql1.example.com

- name: Certificate-authenticated endpoint (the certificate module created sql1_cert)
  mssql.hadr.endpoint:
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sa_password }}"
    authentication: certificate
    certificate: sql1_cert
    port: 5022

- name: Move the endpoint to another port during a maintenance window
  mssql.hadr.endpoint:
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sa_password }}"
    port: 5023
    reconfigure_in_use: true

- name: Drop the endpoint
  mssql.hadr.endpoint:
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sa_password }}"
    state: absent
'''

RETURN = r'''
endpoint:
  description: The endpoint after the run (predicted in check mode); null when it does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: "Endpoint name."
      type: str
      sample: "Hadr_endpoint"
    id:
      description: "C(endpoint_id); null when only predicted (check mode create)."
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
      description: "ALL or the canonical address."
      type: str
      sample: "ALL"
    role:
      description: "all, partner or witness."
      type: str
      sample: "all"
    authentication:
      description: "windows, certificate, windows_certificate or certificate_windows."
      type: str
      sample: "windows"
    windows_protocol:
      description: "negotiate, ntlm or kerberos; null without Windows authentication."
      type: str
      sample: "negotiate"
    certificate:
      description: "Certificate name; null without certificate authentication."
      type: str
      sample: null
    encryption:
      description: "required, supported or disabled."
      type: str
      sample: "required"
    encryption_algorithm:
      description: "aes, rc4, aes_rc4 or rc4_aes; null when encryption is disabled."
      type: str
      sample: "aes"
    owner:
      description: "Owning login."
      type: str
      sample: "sa"
    in_use:
      description: "Whether availability replicas or mirroring sessions on this instance use the endpoint."
      type: bool
      sample: false
    url:
      description: "Endpoint URL C(TCP://host:port) for partners."
      type: str
      sample: "TCP://sql1.example.com:5022"
in_use_sessions:
  description: What uses the endpoint, one line per availability group replica or mirrored database.
  returned: always
  type: list
  elements: str
  sample: ["availability group 'AG1' (local replica 'SQL1', role PRIMARY, connected)"]
regranted:
  description: Statements that put back the endpoint's permissions after an owner change.
  returned: always
  type: list
  elements: str
  sample: ["GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [DOM\\sql2$]"]
queries:
  description: Statements executed (or, in check mode, that would be executed), in order.
  returned: always
  type: list
  elements: str
  sample: ["ALTER ENDPOINT [Hadr_endpoint] AS TCP (LISTENER_PORT = 5023)"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as certificates
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils import _principals as principals
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import read_sets, same_name
from ansible_collections.mssql.hadr.plugins.module_utils._change import diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import validate_sysname
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        name=dict(type='str', default=endpoints.DEFAULT_NAME),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        endpoint_state=dict(type='str', default='started', choices=list(endpoints.ENDPOINT_STATES)),
        port=dict(type='int', default=endpoints.DEFAULT_PORT),
        listener_ip=dict(type='str', default='ALL'),
        role=dict(type='str', default='all', choices=list(endpoints.ROLES)),
        authentication=dict(type='str', default='windows', choices=list(endpoints.AUTHENTICATIONS)),
        windows_protocol=dict(type='str', default='negotiate', choices=list(endpoints.WINDOWS_PROTOCOLS)),
        certificate=dict(type='str'),
        encryption=dict(type='str', default='required', choices=list(endpoints.ENCRYPTIONS)),
        encryption_algorithm=dict(type='str', default='aes', choices=list(endpoints.ALGORITHMS)),
        owner=dict(type='str'),
        fqdn=dict(type='str'),
        reconfigure_in_use=dict(type='bool', default=False),
    )
    return spec


def run(module, conn, changes):
    params = module.params
    name = validate_sysname(params['name'], 'name')
    present = params['state'] == 'present'
    desired = endpoints.desired_endpoint(params) if present else None   # bad input fails before any read
    owner = [params['owner']] if present and params['owner'] else []
    sets = read_sets(conn, [(endpoints.ENDPOINT_STATE_SQL, []), (certificates.certificates_sql('master'), []),
                            principals.logins_sql(owner)])
    state = endpoints.parse_endpoint_state(sets)
    certificate_rows, owner_rows = sets[endpoints.ENDPOINT_STATE_SETS:]
    endpoints.check_name(state, name, present)
    current = state['current']
    before = current if current and same_name(current['name'], name) else None
    if present:
        statements, after, regranted, warnings = endpoints.plan_present(
            state, desired, certificate_rows, owner_rows, params['reconfigure_in_use'])
    else:
        statements, warnings = endpoints.plan_absent(state, name, params['reconfigure_in_use'])
        after, regranted = None, []
    for warning in warnings:
        module.warn(warning)
    changes.apply(statements)
    if changes.executed and present:
        # Report what SQL Server now holds rather than our prediction.
        after = endpoints.parse_endpoint_state(conn.query_sets(endpoints.ENDPOINT_STATE_SQL))['current']
    result = {
        'endpoint': endpoints.with_url(after, state['sessions'], params['fqdn'], state['machine']),
        'in_use_sessions': state['sessions'],
        'regranted': regranted,
    }
    before = endpoints.with_url(before, state['sessions'], params['fqdn'], state['machine'])
    result.update(diff_result(module, before or {}, result['endpoint'] or {}))
    return result


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
