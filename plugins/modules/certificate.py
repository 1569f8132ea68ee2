#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: certificate
short_description: Endpoint certificates - generated in SQL Server, a partner's public certificate, or from PKCS#12
version_added: 0.1.0
description:
  - Creates, imports, replaces or drops a certificate (in master by default), from exactly one source
    (O(subject), O(public_certificate) or O(pkcs12)).
  - Returns the public certificate as PEM and base64 DER, so a play can read one instance's certificate and
    import it on every partner over SQL; no file, share or private key leaves the instance.
  - An imported certificate is the same when its thumbprint (SHA-1 of the DER, as C(sys.certificates) shows it)
    is the same; a generated one when a certificate with a private key exists under the name. A different
    certificate under the name fails unless O(replace=true).
requirements:
  - cryptography (on the host that runs the module)
options:
  name:
    description: Certificate name.
    type: str
    required: true
  state:
    description: V(present) creates or imports it; V(absent) drops it, refused while anything uses it.
    type: str
    choices: [present, absent]
    default: present
  database:
    description: Database of the certificate. Endpoint certificates live in master.
    type: str
    default: master
  owner:
    description:
      - Database user that owns the certificate (C(AUTHORIZATION)). A partner's certificate is owned by the user of
        the partner's login. A different owner on an existing certificate is changed with C(ALTER AUTHORIZATION).
    type: str
  subject:
    description:
      - Generate the certificate inside SQL Server with this subject; its private key is protected by the master key
        (run M(mssql.hadr.master_key) first). This instance's own endpoint certificate.
      - At most 128 characters (64 on SQL Server on Linux).
    type: str
  start_date:
    description: With O(subject), the start of validity (UTC, C(YYYY-MM-DD) or C(YYYY-MM-DDTHH:MM:SS)). Default now.
    type: str
  expiry_date:
    description: With O(subject), the end of validity (UTC). Default one year after the start.
    type: str
  valid_days:
    description: With O(subject), validity in days from the start, instead of O(expiry_date).
    type: int
  public_certificate:
    description:
      - A partner's public certificate, as PEM or base64 DER (as this module returns it in C(pem) or C(der_base64)).
        Imported C(FROM BINARY) without a private key, after being parsed and validated.
    type: str
  pkcs12:
    description:
      - A certificate with its RSA private key (enterprise PKI), as base64 PKCS#12 content or the path of a
        C(.pfx)/C(.p12) file on the host that runs the module. The key is converted to PVK, sent encrypted under a
        random one-time password, and then protected by the master key.
    type: str
  pkcs12_password:
    description: Password of O(pkcs12).
    type: str
  replace:
    description:
      - Drop and recreate the certificate when a different one has the name. Refused while an endpoint, a login or
        a user uses it, naming who.
    type: bool
    default: false
  warn_days:
    description: Warn when the certificate expires within this many days, or has expired.
    type: int
    default: 30
extends_documentation_fragment:
  - mssql.hadr.connection
  - mssql.hadr.attributes
  - mssql.hadr.attributes.reconfigure_in_use
attributes:
  diff_mode:
    details: The diff leaves out C(pem) and C(der_base64); private keys and passwords never appear.
seealso:
  - module: mssql.hadr.master_key
  - module: mssql.hadr.partner_trust
  - module: mssql.hadr.endpoint
author:
  - mssql.hadr developers (@mssql-hadr)
'''

EXAMPLES = r'''
- name: This instance's endpoint certificate, generated in SQL Server
  mssql.hadr.certificate:
    name: sql1_endpoint_cert
    subject: "sql1 mirroring endpoint"
    valid_days: 730
  register: own_cert

- name: Import a partner's public certificate (the pem its own certificate task returned), owned by its user
  mssql.hadr.certificate:
    name: sql2_cert
    owner: sql2_user
    public_certificate: "{{ partner_certificate_pem }}"   # e.g. hostvars['sql2'].own_cert.certificate.pem

- name: An enterprise PKI certificate with its private key
  mssql.hadr.certificate:
    name: sql1_pki_cert
    pkcs12: /etc/pki/sql1-endpoint.pfx
    pkcs12_password: "{{ pfx_password }}"
'''

RETURN = r'''
certificate:
  description: The certificate after the run (predicted in check mode); null when absent.
  returned: always
  type: dict
  contains:
    name: {description: Name., type: str}
    thumbprint: {description: SHA-1 of the DER as lowercase hex without 0x (null for a generated one in check mode)., type: str}
    subject: {description: Subject as SQL Server shows it., type: str}
    issuer: {description: Issuer as SQL Server shows it., type: str}
    serial: {description: Serial number as SQL Server shows it., type: str}
    start_date: {description: 'Start of validity, ISO 8601 UTC.', type: str}
    expiry_date: {description: 'End of validity, ISO 8601 UTC.', type: str}
    days_to_expiry: {description: Whole days until expiry (negative once expired)., type: int}
    has_private_key: {description: Whether SQL Server holds the private key., type: bool}
    private_key_encryption: {description: "none, master_key, password or service_master_key.", type: str}
    key_length: {description: RSA key length in bits., type: int}
    owner: {description: Owning database user., type: str}
    pem: {description: The public certificate as PEM., type: str}
    der_base64: {description: The public certificate as base64 DER., type: str}
operation:
  description: "What was done: none, create, replace, add_private_key, owner or drop."
  returned: always
  type: str
queries:
  description: Statements run (or that would run), private key bytes and passwords replaced by C(********).
  returned: always
  type: list
  elements: str
  sample: ["CREATE CERTIFICATE [sql1_cert] AUTHORIZATION [sql1_user] FROM BINARY = 0x3082..."]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as certificates
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import find, read_sets, state_view, switch_database
from ansible_collections.mssql.hadr.plugins.module_utils._change import diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import validate_sysname
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec

PUBLIC_FORMS = ('pem', 'der_base64')     # left out of the diff: long, and the thumbprint says the same


def argument_spec():
    spec = mssql_argument_spec()
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        database=dict(type='str', default='master'),
        owner=dict(type='str'),
        subject=dict(type='str'),
        start_date=dict(type='str'),
        expiry_date=dict(type='str'),
        valid_days=dict(type='int'),
        public_certificate=dict(type='str'),
        pkcs12=dict(type='str', no_log=True),
        pkcs12_password=dict(type='str', no_log=True),
        replace=dict(type='bool', default=False),
        warn_days=dict(type='int', default=30),
        reconfigure_in_use=dict(type='bool', default=False),
    )
    return spec


def run(module, conn, changes):
    params = module.params
    database = validate_sysname(params['database'], 'database')
    spec = certificates.desired_certificate(params)
    switch_database(conn, params['login_database'], database)
    sets = read_sets(conn, [(certificates.CERTIFICATES_SQL, []), certificates.master_key_sql(database),
                            (endpoints.ENDPOINT_CONTEXT_SQL, [])])
    rows, key_rows = sets[0], sets[1]
    context = endpoints.parse_endpoint_context(sets[1 + certificates.MASTER_KEY_RESULT_SETS:])
    row = find(rows, spec['name'])
    current = certificates.parse_certificate(row)
    in_use_by, lets_partner_in = certificates.certificate_uses(row, context, database)
    if params['state'] == 'absent':
        statements = certificates.plan_drop_certificate(row, in_use_by)
        action = 'drop' if statements else 'none'
    else:
        twin = certificates.find_by_thumbprint(rows, spec['thumbprint'])
        statements, action = certificates.plan_certificate(row, spec, database, params['replace'], in_use_by,
                                                           bool(key_rows), twin['name'] if twin else None)
    if action in ('drop', 'replace') and lets_partner_in:
        endpoints.guard_partner_removal(context, "%s certificate '%s'" % (action, row['name']),
                                        params['reconfigure_in_use'])
    changes.apply(statements)
    after = current
    if action == 'drop':
        after = None
    elif statements and changes.check_mode:
        after = certificates.predicted_certificate(spec, current['owner'] if current else None)
        if current and action in ('owner', 'add_private_key'):
            after = dict(current, owner=spec.get('owner') or current['owner'],
                         has_private_key=True if action == 'add_private_key' else current['has_private_key'])
    elif statements:
        after = certificates.parse_certificate(find(conn.query(certificates.CERTIFICATES_SQL), spec['name']))
    if after is not None:
        warning = certificates.expiry_warning(after['name'], after['expiry_date'], after['days_to_expiry'],
                                              params['warn_days'])
        if warning:
            module.warn(warning)
    before_view, after_view = (state_view({key: value for key, value in obj.items() if key not in PUBLIC_FORMS}
                                          if obj else None, spec['name']) for obj in (current, after))
    result = {'certificate': after, 'operation': action}
    result.update(diff_result(module, before_view, after_view))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('subject', 'public_certificate', 'pkcs12'),
                                               ('expiry_date', 'valid_days')],
                           required_by={'pkcs12_password': 'pkcs12', 'start_date': 'subject',
                                        'expiry_date': 'subject', 'valid_days': 'subject'})
    run_module(module, run)


if __name__ == '__main__':
    main()
