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
extends_documentation_fragment:
  - mssql.hadr.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
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
  reconfigure_in_use:
    description:
      - Allow dropping a user whose login holds CONNECT on the mirroring endpoint while the endpoint is in use.
    type: bool
    default: false
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

from ansible_collections.mssql.hadr.plugins.module_utils._change import run_module
from ansible_collections.mssql.hadr.plugins.module_utils._principals import run_user
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def main():
    argument_spec = mssql_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        database=dict(type='str', default='master'),
        login=dict(type='str'),
        certificate=dict(type='str'),
        without_login=dict(type='bool', default=False),
        reconfigure_in_use=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('login', 'certificate', 'without_login')])
    run_module(module, lambda conn, changes: run_user(module, conn, changes))


if __name__ == '__main__':
    main()
