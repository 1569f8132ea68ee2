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
extends_documentation_fragment:
  - mssql.hadr.connection
  - mssql.hadr.attributes
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

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as certificates
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import ModuleFailure, switch_database
from ansible_collections.mssql.hadr.plugins.module_utils._change import diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import quote_string, validate_sysname
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        password=dict(type='str', no_log=True),
        database=dict(type='str', default='master'),
        service_master_key_encryption=dict(type='bool', default=True),
        verify_password=dict(type='bool', default=False, no_log=False),
    )
    return spec


def run(module, conn, changes):
    params = module.params
    database = validate_sysname(params['database'], 'database')
    password = params.get('password')
    if password is not None:
        quote_string(password, 'password')
    switch_database(conn, params['login_database'], database)
    key_rows, database_rows, protected = conn.query_sets(*certificates.master_key_sql(database))
    current = certificates.parse_master_key(key_rows, database_rows, database)
    if params['state'] == 'present' and params['verify_password'] and current['exists']:
        if not password:
            raise ModuleFailure('verify_password: true needs password.', option='password')
        certificates.verify_master_key_password(conn, password, database)
    statements, after = certificates.plan_master_key(current, params['state'], password,
                                                     params['service_master_key_encryption'],
                                                     [row['name'] for row in protected])
    changes.apply(statements)
    if params['state'] == 'present' and not params['service_master_key_encryption']:
        module.warn("The master key of '%s' is not protected by the service master key: endpoint certificates in it "
                    'cannot be used until someone opens the key with its password.' % database)
    result = {'master_key': after}
    result.update(diff_result(module, current, after))
    return result


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
