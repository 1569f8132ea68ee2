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
extends_documentation_fragment:
  - mssql.hadr.connection
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Per partner - whether the login and user exist, the thumbprints of its certificates, and CONNECT.
  platform:
    platforms: posix
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
  reconfigure_in_use:
    description:
      - Allow removals (O(exclusive), O(remove_other_certificates)) while the endpoint is in use, which can cut a
        live partner off.
    type: bool
    default: false
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

import re
import string

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as certs
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils import _principals as principals
from ansible_collections.mssql.hadr.plugins.module_utils._change import ModuleFailure, diff_result, run_module
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import validate_sysname
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec


def pattern_fields(pattern):
    """{field: (conversion, format_spec)} of a str.format pattern; ValueError when it does not parse."""
    return {field: (conversion, spec) for dummy, field, spec, conversion in string.Formatter().parse(pattern)
            if field is not None}


def check_patterns(params):
    for option, required in (('login_pattern', {'partner'}), ('user_pattern', {'partner'}),
                             ('certificate_pattern', {'partner', 'thumbprint'})):
        try:
            fields = pattern_fields(params[option])
            # A trial run catches what parsing lets through, e.g. '{partner:d}' on a text value.
            params[option].format(partner='partner', thumbprint='0' * 40)
        except (ValueError, IndexError, KeyError) as exc:
            raise ModuleFailure("%s '%s' is not a valid format string: %s" % (option, params[option], exc), option=option)
        if set(fields) != required:
            raise ModuleFailure('%s must use exactly the fields %s, got %s.' % (
                option, ', '.join('{%s}' % f for f in sorted(required)),
                ', '.join('{%s}' % f for f in sorted(fields)) or 'none'), option=option)
        if option != 'certificate_pattern' and fields['partner'] != (None, ''):
            # login_matcher() recognises existing logins by the literal '{partner}' in the pattern.
            raise ModuleFailure("%s must use {partner} plainly, without a conversion or format spec." % option,
                                option=option)


def derived(pattern, option, **values):
    return validate_sysname(pattern.format(**values), '%s result' % option)


def login_matcher(pattern):
    """A regex that recognises logins made with ``pattern`` (its {partner} becomes a group)."""
    literal = pattern.replace('{{', '\x00').replace('}}', '\x01')
    pieces = [re.escape(piece.replace('\x00', '{').replace('\x01', '}')) for piece in literal.split('{partner}')]
    return re.compile('^%s$' % '(.+)'.join(pieces), re.IGNORECASE)


def desired_partners(params):
    """Partners with derived names and parsed certificates; every problem is reported before any statement."""
    check_patterns(params)
    partners, seen = [], set()
    for index, entry in enumerate(params['partners']):
        name = entry.get('name')
        if not name:
            raise ModuleFailure('partners[%d] has no name.' % index, option='partners')
        if name.casefold() in seen:
            raise ModuleFailure("Partner '%s' is listed twice." % name, option='partners')
        seen.add(name.casefold())
        sources = [key for key in ('public_certificate', 'windows_account') if entry.get(key)]
        if len(sources) != 1:
            raise ModuleFailure("Partner '%s' needs exactly one of public_certificate (certificate topology) and "
                                'windows_account (Windows topology).' % name, option='partners')
        partner = {'name': name, 'windows_account': entry.get('windows_account'), 'user': None,
                   'certificate': None, 'thumbprint': None, 'spec': None}
        if partner['windows_account']:
            partner['login'] = partner['windows_account']
            partner['login_spec'] = principals.desired_login({'name': partner['login'], 'type': 'windows'})
        else:
            spec = certs.desired_certificate({'name': 'placeholder', 'public_certificate': entry['public_certificate']})
            thumbprint = spec['thumbprint']
            partner['login'] = derived(params['login_pattern'], 'login_pattern', partner=name)
            partner['user'] = derived(params['user_pattern'], 'user_pattern', partner=name)
            spec.update(name=derived(params['certificate_pattern'], 'certificate_pattern', partner=name,
                                     thumbprint=thumbprint), owner=partner['user'])
            partner.update(certificate=spec['name'], thumbprint=thumbprint, spec=spec)
            partner['login_spec'] = principals.desired_login({'name': partner['login'], 'type': 'sql',
                                                              'password': principals.random_password()})
        partners.append(partner)
    logins = [p['login'].casefold() for p in partners]
    if len(set(logins)) != len(logins):
        raise ModuleFailure('Two partners map to the same login; check login_pattern and windows_account.',
                            option='partners')
    return partners


class TrustPlan:
    """The statements for all partners, in order, with what each partner gets."""

    def __init__(self, sets, endpoint_name, module):
        login_rows, user_rows, self.cert_rows = sets[0], sets[1], sets[2]
        self.context = principals.parse_endpoint_context(sets[3:3 + principals.ENDPOINT_CONTEXT_SETS])
        endpoint = self.context['endpoint']
        if endpoint is None:
            raise ModuleFailure('This instance has no database mirroring endpoint, so no partner can be granted '
                                'CONNECT: create it first with mssql.hadr.endpoint.')
        if endpoint_name and not endpoints.same_name(endpoint_name, endpoint['name']):
            raise ModuleFailure("endpoint '%s' is not this instance's mirroring endpoint, which is '%s'."
                                % (endpoint_name, endpoint['name']), option='endpoint')
        self.endpoint = endpoint
        self.logins = login_rows
        self.users = [principals.parse_user(row) for row in user_rows]
        self.module = module
        self.statements = []
        self.removals = []           # what needs the in-use guard

    def user(self, name):
        return next((u for u in self.users if endpoints.same_name(u['name'], name)), None)

    def owned(self, user):
        return [row for row in self.cert_rows if endpoints.same_name(row['owner'], user)]

    def grant(self, partner, actions):
        if not principals.holds_connect(self.context, partner['login']):
            sql = endpoints.grant_connect_sql(self.endpoint['name'], partner['login'])
            self.statements.append(principals.Statement(sql))
            actions.append('granted CONNECT')

    def partner(self, partner, params):
        actions, removed = [], []
        current = principals.parse_login(principals.find(self.logins, partner['login']))
        spec = dict(partner['login_spec'])
        if current is not None:
            # An existing partner login keeps its own policy settings and default database.
            spec.update(check_policy=current['check_policy'], check_expiration=current['check_expiration'],
                        default_database=current['default_database'])
        statements, dummy = principals.plan_login(current, spec)
        self.statements += statements
        if statements:
            actions.append('created login' if current is None else 'enabled login')
        if partner['user']:
            actions += self.certificate_side(partner, params, removed)
        self.grant(partner, actions)
        return {'name': partner['name'], 'login': partner['login'], 'user': partner['user'],
                'certificate': partner['certificate'], 'thumbprint': partner['thumbprint'],
                'windows_account': partner['windows_account'], 'changed': bool(actions),
                'actions': actions, 'removed_certificates': removed}

    def certificate_side(self, partner, params, removed):
        actions = []
        users_of_login = [u['name'] for u in self.users if endpoints.same_name(u.get('login'), partner['login'])]
        user_spec = principals.desired_user({'name': partner['user'], 'login': partner['login']})
        statements, dummy = principals.plan_user(self.user(partner['user']), user_spec, 'master', True, users_of_login)
        self.statements += statements
        if statements:
            actions.append('created user')
        twin = next((row for row in self.cert_rows if endpoints.hex_lower(row['thumbprint']) == partner['thumbprint']),
                    None)
        if twin is not None and endpoints.same_name(twin['owner'], partner['user']):
            partner['certificate'] = twin['name']      # already trusted, whatever its name
        else:
            if twin is not None:
                raise ModuleFailure("The certificate of partner '%s' (thumbprint %s) is already in master as '%s', owned "
                                    "by '%s', not by '%s'. Remove it or give it to that user first."
                                    % (partner['name'], partner['thumbprint'], twin['name'], twin['owner'],
                                       partner['user']), error_number=15232)
            named = principals.find(self.cert_rows, partner['certificate'])
            statements, dummy = certs.plan_certificate(named, partner['spec'], 'master')
            self.statements += statements
            actions.append('imported certificate')
        facts = certs.predicted_certificate(partner['spec'])
        warning = certs.expiry_warning(partner['certificate'], facts['expiry_date'], facts['days_to_expiry'],
                                       params['warn_days'])
        if warning:
            self.module.warn("Partner '%s': %s" % (partner['name'], warning))
        if params['remove_other_certificates']:
            for row in self.owned(partner['user']):
                if endpoints.hex_lower(row['thumbprint']) != partner['thumbprint']:
                    self.statements += certs.plan_drop_certificate(row, certs.certificate_users(row))
                    self.removals.append("drop certificate '%s' of partner '%s'" % (row['name'], partner['name']))
                    removed.append(row['name'])
                    actions.append('dropped certificate %s' % row['name'])
        return actions

    def exclusive(self, partners, params):
        """Remove the trust of every grantee that is not a listed partner (never the endpoint owner)."""
        listed = {p['login'].casefold() for p in partners}
        matcher = login_matcher(params['login_pattern'])
        removed = []
        for permission in self.context['permissions']:
            grantee = permission['grantee']
            if (permission['permission'] != 'CONNECT' or permission['state'] == 'DENY'
                    or grantee.casefold() in listed or endpoints.same_name(grantee, self.endpoint['owner'])):
                continue
            entry = {'login': grantee, 'partner': None, 'dropped': []}
            self.statements.append(principals.Statement(endpoints.revoke_connect_sql(
                self.endpoint['name'], grantee, cascade=permission['state'] == 'GRANT_WITH_GRANT_OPTION')))
            match = matcher.match(grantee)
            if match:
                entry['partner'] = match.group(1)
                entry['dropped'] = self.drop_partner_objects(match.group(1), grantee, params)
            removed.append(entry)
            self.removals.append("remove the trust of '%s'" % grantee)
        return removed

    def drop_partner_objects(self, partner, login, params):
        dropped = []
        user_name = params['user_pattern'].format(partner=partner)
        user = self.user(user_name)
        if user is not None and endpoints.same_name(user.get('login'), login):
            for row in self.owned(user['name']):
                self.statements += certs.plan_drop_certificate(row, certs.certificate_users(row))
                dropped.append('certificate %s' % row['name'])
            self.statements += principals.plan_drop_user(user, [], 'master')
            dropped.append('user %s' % user['name'])
        # The login holds CONNECT, so it exists; its row was not read (only listed partners' logins are).
        current = principals.parse_login(principals.find(self.logins, login)) or {'name': login}
        self.statements += principals.plan_drop_login(current, [])
        dropped.append('login %s' % login)
        return dropped


def trust_view(plan, partners):
    """Per partner: login/user exist, certificate thumbprints owned by its user, CONNECT (for the diff)."""
    view = {}
    for partner in partners:
        entry = {'login': principals.find(plan.logins, partner['login']) is not None,
                 'connect': principals.holds_connect(plan.context, partner['login'])}
        if partner['user']:
            entry['user'] = plan.user(partner['user']) is not None
            entry['certificates'] = sorted(endpoints.hex_lower(r['thumbprint']) for r in plan.owned(partner['user']))
        view[partner['name']] = entry
    return view


def run_partner_trust(module, conn, changes):
    params = module.params
    partners = desired_partners(params)
    principals.switch_database(conn, params, 'master')
    names = sorted({p['login'] for p in partners})
    sets = principals.read_sets(conn, [principals.logins_sql(names), principals.users_sql(),
                                       (certs.CERTIFICATES_SQL, []), (principals.ENDPOINT_CONTEXT_SQL, [])])
    plan = TrustPlan(sets, params['endpoint'], module)
    before = trust_view(plan, partners)
    results = [plan.partner(partner, params) for partner in partners]
    removed = plan.exclusive(partners, params) if params['exclusive'] else []
    for removal in plan.removals:
        endpoints.refuse_if_in_use(plan.context['sessions'], removal, params['reconfigure_in_use'])
    principals.apply(changes, plan.statements, certs.CERTIFICATE_HINTS)
    after = {}
    for result in results:
        entry = {'login': True, 'connect': True}
        if result['user']:
            owned = list(before[result['name']]['certificates'])
            if result['thumbprint'] not in owned:
                owned.append(result['thumbprint'])
            if params['remove_other_certificates']:
                owned = [result['thumbprint']]
            entry.update(user=True, certificates=sorted(owned))
        after[result['name']] = entry
    output = {'partners': results, 'removed': removed, 'endpoint': plan.endpoint['name']}
    for entry in removed:
        before[entry['partner'] or entry['login']] = {'connect': True}
        after[entry['partner'] or entry['login']] = {'connect': False, 'dropped': entry['dropped']}
    output.update(diff_result(module, before, after))
    return output


def main():
    argument_spec = mssql_argument_spec()
    argument_spec.update(
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
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_module(module, lambda conn, changes: run_partner_trust(module, conn, changes))


if __name__ == '__main__':
    main()
