#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: login
short_description: SQL Server logins (SQL, Windows or certificate-mapped) for database mirroring partners
version_added: 0.1.0
description:
  - Creates, changes or drops a server login. SQL Server's own rules are checked before any statement runs.
  - Mirroring partners authenticate with a Windows login (Windows topology) or with a login whose user owns the
    partner's certificate (certificate topology); M(mssql.hadr.partner_trust) manages all partners of a replica at once.
options:
  name:
    description:
      - Login name. Windows logins are C(DOMAIN\\name).
    type: str
    required: true
  state:
    description:
      - V(present) creates or changes the login; V(absent) drops it.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - V(sql) logs in with a password; V(windows) is a Windows account; V(certificate) maps the login to a
        certificate in master.
      - Default V(windows) when O(name) contains a backslash, else V(sql).
      - The type of an existing login cannot change; drop it first.
    type: str
    choices: [sql, windows, certificate]
  password:
    description:
      - Password of a V(sql) login; required to create one.
      - At most 128 UTF-16 code units, where a character outside the Basic Multilingual Plane (an emoji, for
        example) counts twice. That is all the TDS LOGIN7 packet carries, so a longer password could be
        stored but never used to log in; the module refuses it before sending anything, as it refuses an
        empty password and one containing a NUL character.
      - A password containing C(};) can be set here, but FreeTDS cannot send it when logging in (see
        O(login_password)); Microsoft's ODBC driver can.
    type: str
  update_password:
    description:
      - V(on_create) sets the password only when the login is created.
      - V(always) also changes it on an existing login when it differs; the module compares with
        C(PWDCOMPARE), so a second run changes nothing.
    type: str
    choices: [on_create, always]
    default: on_create
  check_policy:
    description:
      - Enforce the Windows password policy (V(sql) logins only). Default V(true) for SQL logins.
    type: bool
  check_expiration:
    description:
      - Enforce password expiration (V(sql) logins only; needs O(check_policy)). Default V(false) for SQL logins.
    type: bool
  sid:
    description:
      - SID of a V(sql) login as hex (C(0x) and 32 hex digits), so it is the same on every replica.
      - The SID of an existing login cannot change.
    type: str
  default_database:
    description:
      - Default database (not for V(certificate) logins).
    type: str
    default: master
  enabled:
    description:
      - Whether the login is enabled.
    type: bool
    default: true
  certificate:
    description:
      - Certificate in master the login maps to (V(certificate) logins only).
    type: str
extends_documentation_fragment:
  - mssql.hadr.connection
  - mssql.hadr.attributes
  - mssql.hadr.attributes.reconfigure_in_use
attributes:
  diff_mode:
    details: The password is never shown; when it changes, the diff shows C(password) as C(********).
seealso:
  - module: mssql.hadr.user
  - module: mssql.hadr.partner_trust
  - module: mssql.hadr.endpoint_permission
author:
  - mssql.hadr developers (@mssql-hadr)
'''

EXAMPLES = r'''
- name: A SQL login with the same SID on every replica
  mssql.hadr.login:
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sa_password }}"
    name: hadr_partner_b
    password: "{{ partner_b_login_password }}"
    sid: "0x5A1D2E3F4B5C6D7E8F90A1B2C3D4E5F6"

- name: Keep the password in step with the vault (changes only when it differs)
  mssql.hadr.login:
    name: app_monitor
    password: "{{ monitor_password }}"
    update_password: always
    check_expiration: false

- name: The service account of a partner instance (Windows topology)
  mssql.hadr.login:
    name: CONTOSO\sqlsvc-b

- name: A login mapped to a partner's certificate
  mssql.hadr.login:
    name: partner_b_cert_login
    type: certificate
    certificate: partner_b_cert

- name: Remove a login
  mssql.hadr.login:
    name: old_partner
    state: absent
'''

RETURN = r'''
login:
  description: The login after the run (predicted in check mode); null when absent.
  returned: always
  type: dict
  contains:
    name: {description: Login name., type: str}
    type: {description: "sql, windows, windows_group, certificate or asymmetric_key.", type: str}
    sid: {description: 'SID as 0x hex, as the server has it after creation (null in check mode unless given); give it to the other replicas as sid.', type: str}
    default_database: {description: Default database., type: str}
    enabled: {description: Whether the login is enabled., type: bool}
    check_policy: {description: Password policy (sql logins; null otherwise)., type: bool}
    check_expiration: {description: Password expiration (sql logins; null otherwise)., type: bool}
    certificate: {description: Mapped certificate (certificate logins; null otherwise)., type: str}
  sample: {name: hadr_partner_b, type: sql, sid: "0x5A1D2E3F4B5C6D7E8F90A1B2C3D4E5F6", default_database: master,
           enabled: true, check_policy: true, check_expiration: false, certificate: null}
password_changed:
  description: Whether the password was set (creation or update_password=always with a different password).
  returned: always
  type: bool
queries:
  description: Statements run (or that would run in check mode), passwords replaced by C(********).
  returned: always
  type: list
  elements: str
  sample: ["CREATE LOGIN [hadr_partner_b] WITH PASSWORD = N'********', DEFAULT_DATABASE = [master], CHECK_POLICY = ON, CHECK_EXPIRATION = OFF"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils import _principals as principals
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import read_sets, state_view
from ansible_collections.mssql.hadr.plugins.module_utils._change import diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import validate_sysname
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        type=dict(type='str', choices=['sql', 'windows', 'certificate']),
        password=dict(type='str', no_log=True),
        update_password=dict(type='str', default='on_create', choices=['on_create', 'always'], no_log=False),
        check_policy=dict(type='bool'),
        check_expiration=dict(type='bool'),
        sid=dict(type='str'),
        default_database=dict(type='str', default='master'),
        enabled=dict(type='bool', default=True),
        certificate=dict(type='str'),
        reconfigure_in_use=dict(type='bool', default=False),
    )
    return spec


def run(module, conn, changes):
    params = module.params
    name = validate_sysname(params['name'], 'name')
    spec = principals.desired_login(params) if params['state'] == 'present' else None
    parts = [principals.logins_sql([name]), principals.owned_endpoints_sql(name), (endpoints.ENDPOINT_CONTEXT_SQL, [])]
    compare = bool(spec and spec['type'] == 'sql' and spec['password'] and spec['update_password'] == 'always')
    if compare:
        parts.append(principals.password_matches_sql(name, spec['password']))
    sets = read_sets(conn, parts)
    current = principals.parse_login(sets[0][0] if sets[0] else None)
    context = endpoints.parse_endpoint_context(sets[2:2 + endpoints.ENDPOINT_CONTEXT_SETS])
    if spec is None:
        statements = principals.plan_drop_login(current, [row['name'] for row in sets[1]])
        if statements and endpoints.holds_connect(context, current['name']):
            endpoints.guard_partner_removal(context, "drop login '%s'" % current['name'], params['reconfigure_in_use'])
        after = None
    else:
        password_matches = bool(compare and sets[-1] and sets[-1][0]['matches'])
        statements, after = principals.plan_login(current, spec, password_matches)
    changes.apply(statements)
    if current is None and after is not None and not changes.check_mode:
        # Read the new login back: its SID (server-chosen unless given) is what other replicas need.
        rows = conn.query(*principals.logins_sql([name]))
        after = principals.parse_login(rows[0]) if rows else after
    password_changed = any(statement.secrets for statement in statements)
    after_view = state_view(after, name)
    if password_changed:
        after_view['password'] = '********'    # diff shows that it changed, never what it is
    result = {'login': after, 'password_changed': password_changed}
    result.update(diff_result(module, state_view(current, name), after_view))
    return result


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
