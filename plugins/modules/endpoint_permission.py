#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: endpoint_permission
short_description: Grant or revoke CONNECT on the database mirroring endpoint
version_added: 0.1.0
description:
  - Grants or revokes C(CONNECT) on an endpoint for a list of logins, in one call and one connection.
    Partners' logins need it to connect to this instance's mirroring endpoint.
  - Logins that do not exist fail the task before any change (SQL Server would answer error 15151).
  - Revoking (O(state=absent) or O(exclusive=true)) while the endpoint is in use can cut a live partner off,
    so it is refused unless O(reconfigure_in_use=true).
author:
  - mssql.hadr developers (@mssql-hadr)
options:
  endpoint:
    description:
      - Endpoint name. By default the instance's database mirroring endpoint, whatever its name.
    type: str
  logins:
    description:
      - Logins to grant C(CONNECT) to (O(state=present)) or revoke it from (O(state=absent)).
      - Names compare case-insensitively, as SQL Server's default collation does.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) grants, V(absent) revokes. Revoking from a login that does not exist or holds no grant changes nothing.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), also revoke C(CONNECT) from every other grantee (never from the endpoint owner).
    type: bool
    default: false
  permission:
    description:
      - Permission to manage. Only C(connect) for now.
    type: str
    choices: [connect]
    default: connect
extends_documentation_fragment:
  - mssql.hadr.connection
  - mssql.hadr.attributes
  - mssql.hadr.attributes.reconfigure_in_use
seealso:
  - module: mssql.hadr.endpoint
  - module: mssql.hadr.endpoint_info
  - name: GRANT Endpoint Permissions
    description: Microsoft's reference for the statement this module builds.
    link: https://learn.microsoft.com/sql/t-sql/statements/grant-endpoint-permissions-transact-sql
'''

EXAMPLES = r'''
- name: Let the partners' service accounts connect to the mirroring endpoint
  mssql.hadr.endpoint_permission:
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sa_password }}"
    logins:
      - EXAMPLE\sqlsvc2
      - EXAMPLE\sqlsvc3

- name: Only these partners, nobody else
  mssql.hadr.endpoint_permission:
    login_host: sql1.example.com
    login_user: sa
    login_password: "{{ sa_password }}"
    logins: [sql2_login, sql3_login]
    exclusive: true
'''

RETURN = r'''
endpoint:
  description: Name of the endpoint the permissions are on.
  returned: always
  type: str
  sample: Hadr_endpoint
grantees_before:
  description: Logins holding CONNECT on the endpoint before the run, sorted case-insensitively.
  returned: always
  type: list
  elements: str
  sample: ["EXAMPLE\\sqlsvc2"]
grantees_after:
  description: Logins holding CONNECT after the run (predicted in check mode).
  returned: always
  type: list
  elements: str
  sample: ["EXAMPLE\\sqlsvc2", "EXAMPLE\\sqlsvc3"]
granted:
  description: Logins granted CONNECT by this run.
  returned: always
  type: list
  elements: str
  sample: ["EXAMPLE\\sqlsvc3"]
revoked:
  description: Logins whose CONNECT was revoked by this run.
  returned: always
  type: list
  elements: str
  sample: []
queries:
  description: Statements executed (or, in check mode, that would be executed), in order.
  returned: always
  type: list
  elements: str
  sample: ["GRANT CONNECT ON ENDPOINT::[Hadr_endpoint] TO [EXAMPLE\\sqlsvc3]"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils import _principals as principals
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import ModuleFailure, find, read_sets, same_name
from ansible_collections.mssql.hadr.plugins.module_utils._change import diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import validate_sysname
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        endpoint=dict(type='str'),
        logins=dict(type='list', elements='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        exclusive=dict(type='bool', default=False),
        permission=dict(type='str', default='connect', choices=['connect']),
        reconfigure_in_use=dict(type='bool', default=False),
    )
    return spec


def run(module, conn, changes):
    params = module.params
    logins = [validate_sysname(login, 'login') for login in params['logins']]
    if params['endpoint'] is not None:
        validate_sysname(params['endpoint'], 'endpoint')
    if params['exclusive'] and params['state'] == 'absent':
        raise ModuleFailure('exclusive only applies to state: present (grant these logins and revoke every other '
                            'grantee); with state: absent list the logins to revoke.', option='exclusive')
    endpoint_rows, mirroring_rows, permission_rows, replicas, mirrored, existing = read_sets(conn, [
        (endpoints.ALL_ENDPOINTS_SQL, []), (endpoints.MIRRORING_ENDPOINT_SQL, []),
        (endpoints.ENDPOINT_PERMISSIONS_SQL, []), (endpoints.IN_USE_SQL, []), principals.logins_sql(logins)])
    endpoint = endpoints.choose_endpoint(params['endpoint'], endpoint_rows, endpoints.parse_endpoint(mirroring_rows))
    permissions = endpoints.endpoint_permissions(permission_rows, endpoint['endpoint_id'])
    before = endpoints.connect_grantees(permissions)
    if params['state'] == 'present':
        missing = [login for login in logins if not find(existing, login)]
        if missing:
            raise ModuleFailure('Login(s) %s do not exist on this instance (SQL Server would answer 15151); create '
                                'them first (mssql.hadr.login) - nothing was changed.'
                                % ', '.join("'%s'" % login for login in missing), missing_logins=missing)
        if any(same_name(login, endpoint['owner']) for login in logins):
            module.warn("'%s' owns endpoint '%s' and needs no CONNECT grant (SQL Server refuses it with 4624); "
                        "skipped." % (endpoint['owner'], endpoint['name']))
    grant, revoke = endpoints.plan_connect(before, logins, params['state'], params['exclusive'], endpoint['owner'])
    if revoke and endpoint['type_desc'] == 'DATABASE_MIRRORING':
        endpoints.refuse_if_in_use(endpoints.in_use_sessions(replicas, mirrored), 'revoke CONNECT on the endpoint '
                                   'from %s' % ', '.join("'%s'" % login for login in revoke), params['reconfigure_in_use'])
    changes.apply([endpoints.statement(endpoints.grant_connect_sql(endpoint['name'], login), endpoint['name'])
                   for login in grant])
    changes.apply(endpoints.connect_revocations(endpoint['name'], permissions, revoke))
    revoked = {login.casefold() for login in revoke}
    after = sorted([name for name in before if name.casefold() not in revoked] + grant, key=lambda n: n.casefold())
    result = {'endpoint': endpoint['name'], 'grantees_before': before, 'grantees_after': after,
              'granted': grant, 'revoked': revoke}
    result.update(diff_result(module, {'grantees': before}, {'grantees': after}))
    return result


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
