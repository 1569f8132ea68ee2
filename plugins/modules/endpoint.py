#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: endpoint
short_description: Manage the database mirroring endpoint of a SQL Server instance
version_added: 1.0.0
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
  reconfigure_in_use:
    description:
      - Allow changes that can restart the endpoint (or drop it) while availability groups or mirroring sessions use it.
    type: bool
    default: false
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
  diff_mode:
    support: full
  platform:
    platforms: posix
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
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as ep
from ansible_collections.mssql.hadr.plugins.module_utils._change import ModuleFailure, diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import validate_sysname
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import MssqlError, mssql_argument_spec

# What to tell the user for SQL Server errors that DDL on the endpoint can still meet after our checks.
ERROR_HINTS = {
    7890: 'The port is bound by another process on the server: choose another port or stop that process.',
    7874: 'Another endpoint already uses this port or address: choose another port.',
    7862: 'The instance already has a database mirroring endpoint: manage it by its name.',
    28055: 'Use a certificate in master whose private key is protected by the master key and which is valid now.',
    15151: 'Check that the login or certificate exists on this instance.',
}


def read_state(conn, name, owner):
    """Everything the decision needs, in one batch (one round trip)."""
    login_sql, login_params = ep.logins_sql([owner] if owner else [])
    sets = conn.query_sets(' '.join(filter(None, [
        ep.SERVER_CONTEXT_SQL, ep.ALL_ENDPOINTS_SQL, ep.MIRRORING_ENDPOINT_SQL, ep.ENDPOINT_PERMISSIONS_SQL,
        ep.IN_USE_SQL, ep.MASTER_CERTIFICATES_SQL, login_sql])), login_params)
    context, platform, endpoints, mirroring, permissions, replicas, mirrored, certificates = sets[:8]
    current = ep.parse_endpoint(mirroring)
    return {
        'caller': context[0]['login_name'],
        'machine': context[0]['machine_name'],
        'linux': bool(platform) and (platform[0]['host_platform'] or '').lower() == 'linux',
        'endpoints': endpoints,
        'current': current,
        'permissions': ep.endpoint_permissions(permissions, current['id'] if current else None),
        'sessions': ep.in_use_sessions(replicas, mirrored),
        'certificates': certificates,
        'logins': sets[8] if login_sql else [],
    }


def check_name(state, name, want_present):
    """Fail when the name belongs to an endpoint of another type, or (present) the mirroring one has another name."""
    for row in state['endpoints']:
        if ep.same_name(row['name'], name) and row['type_desc'] != 'DATABASE_MIRRORING':
            raise ModuleFailure("Endpoint '%s' exists but is a %s endpoint, not a database mirroring endpoint; choose "
                                "another name." % (row['name'], row['type_desc']), option='name')
    current = state['current']
    if want_present and current and not ep.same_name(current['name'], name):
        raise ModuleFailure(
            "This instance already has a database mirroring endpoint, named '%s', and SQL Server allows only one. "
            "Set name: '%s' to manage it, or drop it first (state: absent, name: '%s') if you really want a new one."
            % (current['name'], current['name'], current['name']), option='name', existing_endpoint=current['name'])


def check_before_ddl(module, state, desired, fields):
    """Everything SQL Server would refuse, found before any statement runs."""
    if state['linux'] and 'windows' in desired['authentication']:
        raise ModuleFailure('authentication %s uses Windows authentication, which SQL Server on Linux does not support '
                            'for endpoints: use authentication: certificate with a certificate.'
                            % desired['authentication'], option='authentication')
    owner = desired['owner']
    if owner and not ep.find_by_name(state['logins'], owner):
        raise ModuleFailure("Login '%s' (owner) does not exist on this instance (SQL Server would answer 15151); "
                            "create it first (mssql.hadr.login) or choose an existing login." % owner, option='owner')
    current_id = state['current']['id'] if state['current'] else None
    for row in state['endpoints']:
        if row['port'] == desired['port'] and row['endpoint_id'] != current_id:
            raise ModuleFailure("Port %d is already used by endpoint '%s'; choose another port."
                                % (desired['port'], row['name']), option='port')
    if desired['certificate']:
        row = ep.find_by_name(state['certificates'], desired['certificate'])
        problem = ep.certificate_problem(row)
        names_certificate = state['current'] is None or bool(
            set(fields) & {'authentication', 'windows_protocol', 'certificate'})
        if problem and names_certificate:
            raise ModuleFailure("Certificate '%s' cannot serve the endpoint: %s (SQL Server would answer %s). "
                                "Use a certificate in master whose private key is protected by the master key and "
                                "that is valid now (see mssql.hadr.certificate)."
                                % (desired['certificate'], problem, 15151 if row is None else 28055),
                                option='certificate')
        if problem:
            module.warn("The endpoint's certificate '%s' cannot serve new connections: %s."
                        % (desired['certificate'], problem))


def describe(fields, before, after):
    if before is None:
        return 'create the endpoint'
    return 'change %s' % ', '.join('%s (%s -> %s)' % (f, before[f], after[f]) for f in fields)


def run_statement(changes, sql):
    try:
        changes.run(sql)
    except MssqlError as exc:
        if exc.number in ERROR_HINTS:
            exc.message = '%s %s' % (exc.message, ERROR_HINTS[exc.number])
        raise


def ensure_present(module, changes, state, desired):
    params = module.params
    current = state['current']
    for warning in ep.warnings_for(desired):
        module.warn(warning)
    fields = ep.endpoint_differences(current, desired) if current else []
    check_before_ddl(module, state, desired, fields)
    regranted = []
    if current is None:
        run_statement(changes, ep.create_endpoint_sql(desired))
    else:
        restarting = [f for f in fields if f in ep.RESTARTING_FIELDS]
        if restarting:
            ep.refuse_if_in_use(state['sessions'], describe(restarting, current, desired),
                                params['reconfigure_in_use'])
        alter = ep.alter_endpoint_sql(current['name'], desired, fields)
        if alter:
            run_statement(changes, alter)
        if 'owner' in fields:
            run_statement(changes, ep.alter_owner_sql(current['name'], desired['owner']))
            restore, skipped = ep.permissions_to_restore(state['permissions'], desired['owner'], state['caller'])
            for permission in restore:
                sql = ep.restore_permission_sql(current['name'], permission)
                run_statement(changes, sql)
                regranted.append(sql)
            for permission in skipped:
                if not ep.same_name(permission['grantee'], desired['owner']):
                    module.warn("%s %s for '%s' was dropped by the owner change and cannot be put back by that "
                                "same login (SQL Server error 4624); have another administrator restore it."
                                % (permission['state'], permission['permission'], permission['grantee']))
    return ep.predicted_endpoint(current, desired, state['caller']), regranted


def work(module, conn, changes):
    params = module.params
    name = validate_sysname(params['name'], 'name')
    present = params['state'] == 'present'
    desired = ep.desired_endpoint(params) if present else None   # bad input fails before any read
    state = read_state(conn, name, params['owner'] if present else None)
    check_name(state, name, present)
    before = state['current'] if state['current'] and ep.same_name(state['current']['name'], name) else None
    regranted = []
    if present:
        after, regranted = ensure_present(module, changes, state, desired)
    else:
        after = None
        if before is not None:
            ep.refuse_if_in_use(state['sessions'], "drop endpoint '%s'" % before['name'], params['reconfigure_in_use'])
            run_statement(changes, ep.drop_endpoint_sql(before['name']))
        elif state['current'] is not None:
            module.warn("Nothing dropped: the mirroring endpoint of this instance is named '%s', not '%s'."
                        % (state['current']['name'], name))
    if changes.executed:
        # Report what SQL Server now holds rather than our prediction.
        after = read_state(conn, name, None)['current'] if present else None
    result = {
        'endpoint': ep.with_url(after, state['sessions'], params['fqdn'], state['machine']),
        'in_use_sessions': state['sessions'],
        'regranted': regranted,
    }
    result.update(diff_result(module, ep.with_url(before, state['sessions'], params['fqdn'], state['machine']) or {},
                              result['endpoint'] or {}))
    return result


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        name=dict(type='str', default=ep.DEFAULT_NAME),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        endpoint_state=dict(type='str', default='started', choices=list(ep.ENDPOINT_STATES)),
        port=dict(type='int', default=ep.DEFAULT_PORT),
        listener_ip=dict(type='str', default='ALL'),
        role=dict(type='str', default='all', choices=list(ep.ROLES)),
        authentication=dict(type='str', default='windows', choices=list(ep.AUTHENTICATIONS)),
        windows_protocol=dict(type='str', default='negotiate', choices=list(ep.WINDOWS_PROTOCOLS)),
        certificate=dict(type='str'),
        encryption=dict(type='str', default='required', choices=list(ep.ENCRYPTIONS)),
        encryption_algorithm=dict(type='str', default='aes', choices=list(ep.ALGORITHMS)),
        owner=dict(type='str'),
        fqdn=dict(type='str'),
        reconfigure_in_use=dict(type='bool', default=False),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, lambda conn, changes: work(module, conn, changes))


if __name__ == '__main__':
    main()
