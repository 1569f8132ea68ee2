#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: master_key
short_description: The database master key that protects endpoint certificates' private keys
version_added: 0.1.0
description:
  - Creates the database master key (in master by default) and keeps it protected by the service master key, so
    that endpoint certificates open without a password.
  - Never drops, regenerates or recreates an existing key as a side effect; a different O(password) is not an
    instruction to change the key (use O(verify_password) to check it).
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
  state:
    description:
      - V(present) creates the key when missing; V(absent) drops it, refused while certificates' private keys
        depend on it.
    type: str
    choices: [present, absent]
    default: present
  password:
    description:
      - Password that encrypts the key. Needed to create it, to add service master key protection, and for
        O(verify_password). Must satisfy the Windows password policy.
    type: str
  database:
    description: Database of the key.
    type: str
    default: master
  service_master_key_encryption:
    description:
      - Keep the key also encrypted by the service master key, so it opens automatically. Endpoint
        certificates need this.
    type: bool
    default: true
  verify_password:
    description:
      - Fail when O(password) does not open the existing key (checked with C(OPEN MASTER KEY), then closed).
    type: bool
    default: false
seealso:
  - module: mssql.hadr.certificate
author:
  - mssql.hadr developers (@mssql-hadr)
'''

EXAMPLES = r'''
- name: Master key in master, opened by the service master key
  mssql.hadr.master_key:
    password: "{{ master_key_password }}"

- name: Check that the vault's password still opens the key
  mssql.hadr.master_key:
    password: "{{ master_key_password }}"
    verify_password: true
'''

RETURN = r'''
master_key:
  description: The key after the run (predicted in check mode).
  returned: always
  type: dict
  contains:
    database: {description: Database., type: str}
    exists: {description: Whether the key exists., type: bool}
    encrypted_by_service_master_key: {description: Whether the service master key protects it., type: bool}
  sample: {database: master, exists: true, encrypted_by_service_master_key: true}
queries:
  description: Statements run (or that would run in check mode), passwords replaced by C(********).
  returned: always
  type: list
  elements: str
  sample: ["CREATE MASTER KEY ENCRYPTION BY PASSWORD = N'********'"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils._certificates import run_master_key
from ansible_collections.mssql.hadr.plugins.module_utils._change import run_module
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def main():
    argument_spec = mssql_argument_spec()
    argument_spec.update(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        password=dict(type='str', no_log=True),
        database=dict(type='str', default='master'),
        service_master_key_encryption=dict(type='bool', default=True),
        verify_password=dict(type='bool', default=False, no_log=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, lambda conn, changes: run_master_key(module, conn, changes))


if __name__ == '__main__':
    main()
