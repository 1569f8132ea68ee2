#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: partner_trust
short_description: Everything a replica needs to accept all its mirroring partners, in one call
version_added: 0.1.0
description:
  - For every partner in O(partners), creates what lets it connect to this instance's mirroring endpoint, reading
    the whole state once and using one connection however many partners there are.
  - Certificate topology (a partner with O(partners[].public_certificate)) - a SQL login with a random password
    that nobody needs to know (it is never used to log in), a user for it in master, the partner's public
    certificate owned by that user, and C(CONNECT) on the endpoint for the login.
  - Windows topology (a partner with O(partners[].windows_account)) - a Windows login for the partner's service
    account and C(CONNECT) on the endpoint.
  - A partner whose certificate changed (rotation) gets the new certificate beside the old one, owned by the same
    user, so the partner can switch without an outage; the old ones go only with O(remove_other_certificates=true).
  - Uses the same code as M(mssql.hadr.login), M(mssql.hadr.user), M(mssql.hadr.certificate) and
    M(mssql.hadr.endpoint_permission).
requirements:
  - cryptography (on the host that runs the module)
options:
  partners:
    description: The partners this instance accepts.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Partner name (for example its host name); object names are derived from it.
        type: str
        required: true
      public_certificate:
        description: The partner's public endpoint certificate, as PEM or base64 DER (certificate topology).
        type: str
      windows_account:
        description: The partner's SQL Server service account, C(DOMAIN\\name) (Windows topology).
        type: str
  endpoint:
    description:
      - Name of this instance's mirroring endpoint. By default the endpoint is found by type; when given, it must
        be that endpoint.
    type: str
  login_pattern:
    description:
      - Name of a certificate partner's login, as a Python format string with C({partner}).
      - C({partner}) appears plainly, without a conversion or format spec (the same holds for O(user_pattern)),
        because the module recognises the logins it made by it.
      - With O(exclusive=true), logins that match this pattern and are not listed are removed with their user and
        certificates, so change it only together with cleaning up.
    type: str
    default: '{partner}_login'
  user_pattern:
    description: Name of a certificate partner's user in master, a format string with C({partner}).
    type: str
    default: '{partner}_user'
  certificate_pattern:
    description:
      - Name of an imported partner certificate, a format string with C({partner}) and C({thumbprint}) (40 lowercase
        hex digits; C({thumbprint:.8}) takes the first 8). The thumbprint keeps a rotated certificate's name
        distinct from the old one's.
    type: str
    default: '{partner}_cert_{thumbprint:.8}'
  exclusive:
    description:
      - Remove the trust of every partner not listed - revoke C(CONNECT) from every other grantee of the endpoint
        (never its owner) and, for logins matching O(login_pattern), drop their certificates, user and login.
    type: bool
    default: false
  remove_other_certificates:
    description:
      - Drop the certificates owned by a listed partner's user other than the one given (after a rotation, once
        the partner uses its new certificate).
    type: bool
    default: false
  warn_days:
    description: Warn when a partner's certificate expires within this many days, or has expired.
    type: int
    default: 30
extends_documentation_fragment:
  - mssql.hadr.connection
  - mssql.hadr.attributes
  - mssql.hadr.attributes.reconfigure_in_use
attributes:
  diff_mode:
    details: Per partner - whether the login and user exist, the thumbprints of its certificates, and CONNECT.
seealso:
  - module: mssql.hadr.certificate
  - module: mssql.hadr.endpoint_permission
author:
  - mssql.hadr developers (@mssql-hadr)
'''

EXAMPLES = r'''
- name: This instance's endpoint certificate (generated in SQL Server)
  mssql.hadr.certificate:
    name: "{{ inventory_hostname_short }}_endpoint_cert"
    subject: "{{ inventory_hostname_short }} mirroring endpoint"
  register: endpoint_cert

- name: Publish its public part to the other hosts of the play
  ansible.builtin.set_fact:
    partner_entry:
      name: "{{ inventory_hostname_short }}"
      public_certificate: "{{ endpoint_cert.certificate.pem }}"

- name: Accept every other replica; only public certificates move, over SQL
  mssql.hadr.partner_trust:
    partners: "{{ ansible_play_hosts | difference([inventory_hostname]) | map('extract', hostvars, 'partner_entry') }}"
    exclusive: true

- name: Windows topology, domain service accounts
  mssql.hadr.partner_trust:
    partners:
      - name: sql2
        windows_account: CONTOSO\sqlsvc-sql2
      - name: sql3
        windows_account: CONTOSO\sqlsvc-sql3
'''

RETURN = r'''
partners:
  description: Per partner, its objects and what this run changed for it.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Partner name., type: str}
    login: {description: Its login., type: str}
    user: {description: Its user in master (certificate topology; null otherwise)., type: str}
    certificate: {description: Name of the certificate with the given thumbprint (certificate topology)., type: str}
    thumbprint: {description: 'Thumbprint of the given certificate, lowercase hex.', type: str}
    changed: {description: Whether anything changed for this partner., type: bool}
    actions: {description: "What changed: created login, created user, imported certificate, granted CONNECT, ...", type: list, elements: str}
    removed_certificates: {description: Certificates dropped by remove_other_certificates., type: list, elements: str}
  sample: [{name: sql2, login: sql2_login, user: sql2_user, certificate: sql2_cert_3f2a9c01,
            thumbprint: 3f2a9c01d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0, changed: true,
            actions: [created login, created user, imported certificate, granted CONNECT], removed_certificates: []}]
removed:
  description: With exclusive, the grantees whose trust was removed and what was dropped.
  returned: always
  type: list
  elements: dict
endpoint:
  description: Name of the mirroring endpoint.
  returned: always
  type: str
queries:
  description: Statements run (or that would run), passwords replaced by C(********).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as certificates
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils import _principals as principals
from ansible_collections.mssql.hadr.plugins.module_utils import _trust as trust
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import read_sets, switch_database
from ansible_collections.mssql.hadr.plugins.module_utils._change import diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        partners=dict(type='list', elements='dict', required=True, options=dict(
            name=dict(type='str', required=True),
            public_certificate=dict(type='str'),
            windows_account=dict(type='str'),
        )),
        endpoint=dict(type='str'),
        login_pattern=dict(type='str', default='{partner}_login'),
        user_pattern=dict(type='str', default='{partner}_user'),
        certificate_pattern=dict(type='str', default='{partner}_cert_{thumbprint:.8}'),
        exclusive=dict(type='bool', default=False),
        remove_other_certificates=dict(type='bool', default=False),
        warn_days=dict(type='int', default=30),
        reconfigure_in_use=dict(type='bool', default=False),
    )
    return spec


def run(module, conn, changes):
    params = module.params
    partners = trust.desired_partners(params)
    switch_database(conn, params['login_database'], 'master')
    sets = read_sets(conn, [principals.logins_sql(sorted({p['login'] for p in partners})), principals.users_sql(),
                            (certificates.CERTIFICATES_SQL, []), (endpoints.ENDPOINT_CONTEXT_SQL, [])])
    plan = trust.TrustPlan(sets, params['endpoint'])
    before = trust.trust_view(plan, partners)
    results = [plan.partner(partner, params) for partner in partners]
    removed = plan.exclusive(partners, params) if params['exclusive'] else []
    for removal in plan.removals:
        endpoints.refuse_if_in_use(plan.context['sessions'], removal, params['reconfigure_in_use'])
    for warning in plan.warnings:
        module.warn(warning)
    changes.apply(plan.statements)
    after = trust.after_view(results, before, removed, params['remove_other_certificates'])
    result = {'partners': results, 'removed': removed, 'endpoint': plan.endpoint['name']}
    result.update(diff_result(module, before, after))
    return result


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), run)


if __name__ == '__main__':
    main()
