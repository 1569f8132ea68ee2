#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: user
short_description: Database users mapped to a login, a certificate, or to nothing (WITHOUT LOGIN)
version_added: 0.1.0
description:
  - Creates or drops a database user (in master by default, where partners' certificate owners live).
  - A user that exists mapped to something else is never remapped; the module fails and says what it maps to.
  - Dropping a user that owns certificates fails with the names of those certificates.
options:
  name:
    description: User name.
    type: str
    required: true
  state:
    description: V(present) creates the user when missing; V(absent) drops it.
    type: str
    choices: [present, absent]
    default: present
  database:
    description: Database of the user.
    type: str
    default: master
  login:
    description:
      - Login the user maps to. When none of O(login), O(certificate) and O(without_login) is given, the user maps
        to the login of the same name, as C(CREATE USER) does.
    type: str
  certificate:
    description: Certificate in O(database) the user maps to.
    type: str
  without_login:
    description: Create the user C(WITHOUT LOGIN).
    type: bool
    default: false
extends_documentation_fragment:
  - mssql.hadr.connection
  - mssql.hadr.attributes
  - mssql.hadr.attributes.reconfigure_in_use
seealso:
  - module: mssql.hadr.login
  - module: mssql.hadr.certificate
  - module: mssql.hadr.partner_trust
author:
  - mssql.hadr developers (@mssql-hadr)
'''

EXAMPLES = r'''
- name: The user in master that will own partner B's certificate
  mssql.hadr.user:
    name: partner_b_user
    login: partner_b_login

- name: A user without a login, in another database
  mssql.hadr.user:
    name: signing_user
    database: msdb
    without_login: true

- name: Drop a user
  mssql.hadr.user:
    name: partner_b_user
    state: absent
'''

RETURN = r'''
user:
  description: The user after the run (predicted in check mode); null when absent.
  returned: always
  type: dict
  contains:
    name: {description: User name., type: str}
    database: {description: Database., type: str}
    login: {description: 'Login the user maps to, or null.', type: str}
    certificate: {description: 'Certificate the user maps to, or null.', type: str}
    without_login: {description: Whether the user has no login., type: bool}
  sample: {name: partner_b_user, database: master, login: partner_b_login, certificate: null, without_login: false}
queries:
  description: Statements run (or that would run in check mode).
  returned: always
  type: list
  elements: str
  sample: ["CREATE USER [partner_b_user] FOR LOGIN [partner_b_login]"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as certificates
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils import _principals as principals
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import find, read_sets, state_view, switch_database
from ansible_collections.mssql.hadr.plugins.module_utils._change import diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import validate_sysname
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        database=dict(type='str', default='master'),
        login=dict(type='str'),
        certificate=dict(type='str'),
        without_login=dict(type='bool', default=False),
        reconfigure_in_use=dict(type='bool', default=False),
    )
    return spec


def run(module, conn, changes):
    params = module.params
    database = validate_sysname(params['database'], 'database')
    name = validate_sysname(params['name'], 'name')
    spec = principals.desired_user(params) if params['state'] == 'present' else None
    login = spec['login'] if spec else None
    switch_database(conn, params['login_database'], database)
    parts = [principals.users_sql([name]), (certificates.CERTIFICATES_SQL, []), (endpoints.ENDPOINT_CONTEXT_SQL, [])]
    if login:
        parts += [principals.logins_sql([login]), principals.users_of_logins_sql([login])]
    sets = read_sets(conn, parts)
    current = principals.parse_user(sets[0][0] if sets[0] else None)
    certificate_rows = sets[1]
    context = endpoints.parse_endpoint_context(sets[2:2 + endpoints.ENDPOINT_CONTEXT_SETS])
    if spec is None:
        owned = [row['name'] for row in certificates.owned_by(certificate_rows, name)]
        statements = principals.plan_drop_user(current, owned, database)
        if statements and endpoints.holds_connect(context, current.get('login')):
            endpoints.guard_partner_removal(context, "drop user '%s' (login '%s')" % (name, current['login']),
                                            params['reconfigure_in_use'])
        after = None
    else:
        login_rows = sets[2 + endpoints.ENDPOINT_CONTEXT_SETS] if login else []
        users_of_login = [row['name'] for row in sets[3 + endpoints.ENDPOINT_CONTEXT_SETS]] if login else []
        certificate_exists = bool(spec['certificate'] and find(certificate_rows, spec['certificate']))
        statements, after = principals.plan_user(current, spec, database, bool(login_rows), users_of_login,
                                                 certificate_exists)
    changes.apply(statements)
    if after is not None:
        after = dict(after, database=database)
    result = {'user': after}
    result.update(diff_result(module, state_view(current, name), state_view(after, name)))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('login', 'certificate', 'without_login')])
    run_module(module, run)


if __name__ == '__main__':
    main()
