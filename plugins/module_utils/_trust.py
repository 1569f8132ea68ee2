# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Partner trust: everything a replica holds so that its partners can connect, planned for all of them at once.

For a Windows partner: a login for its service account and CONNECT on the endpoint. For a certificate
partner: a login, a user in master, the partner's public certificate owned by that user, and CONNECT.
``desired_partners`` validates the options and derives the names; ``TrustPlan`` compares them with the
catalog rows and collects the statements of the principals and certificates families and the endpoint
family's grants and revocations, in order, with what each partner gets and the warnings to give. Pure:
rows and options in, statements out; the partner_trust module reads and applies.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import string

from ansible_collections.mssql.hadr.plugins.module_utils import _certificates as certificates
from ansible_collections.mssql.hadr.plugins.module_utils import _endpoint as endpoints
from ansible_collections.mssql.hadr.plugins.module_utils import _principals as principals
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import (
    ModuleFailure, find, hex_lower, same_name)
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import validate_sysname


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
            spec = certificates.desired_certificate({'name': 'placeholder', 'public_certificate': entry['public_certificate']})
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

    def __init__(self, sets, endpoint_name):
        login_rows, user_rows, self.cert_rows = sets[0], sets[1], sets[2]
        self.context = endpoints.parse_endpoint_context(sets[3:3 + endpoints.ENDPOINT_CONTEXT_SETS])
        endpoint = self.context['endpoint']
        if endpoint is None:
            raise ModuleFailure('This instance has no database mirroring endpoint, so no partner can be granted '
                                'CONNECT: create it first with mssql.hadr.endpoint.')
        if endpoint_name and not same_name(endpoint_name, endpoint['name']):
            raise ModuleFailure("endpoint '%s' is not this instance's mirroring endpoint, which is '%s'."
                                % (endpoint_name, endpoint['name']), option='endpoint')
        self.endpoint = endpoint
        self.logins = login_rows
        self.users = [principals.parse_user(row) for row in user_rows]
        self.statements = []
        self.warnings = []
        self.removals = []           # what needs the in-use guard

    def user(self, name):
        return next((u for u in self.users if same_name(u['name'], name)), None)

    def owned(self, user):
        return certificates.owned_by(self.cert_rows, user)

    def grant(self, partner, actions):
        if not endpoints.holds_connect(self.context, partner['login']):
            sql = endpoints.grant_connect_sql(self.endpoint['name'], partner['login'])
            self.statements.append(endpoints.statement(sql, self.endpoint['name']))
            actions.append('granted CONNECT')

    def partner(self, partner, params):
        actions, removed = [], []
        current = principals.parse_login(find(self.logins, partner['login']))
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
        users_of_login = [u['name'] for u in self.users if same_name(u.get('login'), partner['login'])]
        user_spec = principals.desired_user({'name': partner['user'], 'login': partner['login']})
        statements, dummy = principals.plan_user(self.user(partner['user']), user_spec, 'master', True, users_of_login)
        self.statements += statements
        if statements:
            actions.append('created user')
        twin = certificates.find_by_thumbprint(self.cert_rows, partner['thumbprint'])
        if twin is not None and same_name(twin['owner'], partner['user']):
            partner['certificate'] = twin['name']      # already trusted, whatever its name
        else:
            if twin is not None:
                raise ModuleFailure("The certificate of partner '%s' (thumbprint %s) is already in master as '%s', owned "
                                    "by '%s', not by '%s'. Remove it or give it to that user first."
                                    % (partner['name'], partner['thumbprint'], twin['name'], twin['owner'],
                                       partner['user']), error_number=15232)
            named = find(self.cert_rows, partner['certificate'])
            statements, dummy = certificates.plan_certificate(named, partner['spec'], 'master')
            self.statements += statements
            actions.append('imported certificate')
        facts = certificates.predicted_certificate(partner['spec'])
        warning = certificates.expiry_warning(partner['certificate'], facts['expiry_date'], facts['days_to_expiry'],
                                              params['warn_days'])
        if warning:
            self.warnings.append("Partner '%s': %s" % (partner['name'], warning))
        if params['remove_other_certificates']:
            for row in self.owned(partner['user']):
                if hex_lower(row['thumbprint']) != partner['thumbprint']:
                    self.statements += certificates.plan_drop_certificate(row, certificates.certificate_users(row))
                    self.removals.append("drop certificate '%s' of partner '%s'" % (row['name'], partner['name']))
                    removed.append(row['name'])
                    actions.append('dropped certificate %s' % row['name'])
        return actions

    def exclusive(self, partners, params):
        """Remove the trust of every grantee that is not a listed partner (never the endpoint owner)."""
        dummy, revoke = endpoints.plan_connect(self.context['grantees'], [p['login'] for p in partners], 'present',
                                               True, self.endpoint['owner'])
        matcher = login_matcher(params['login_pattern'])
        removed = []
        for grantee in revoke:
            entry = {'login': grantee, 'partner': None, 'dropped': []}
            self.statements += endpoints.connect_revocations(self.endpoint['name'], self.context['permissions'],
                                                             [grantee])
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
        if user is not None and same_name(user.get('login'), login):
            for row in self.owned(user['name']):
                self.statements += certificates.plan_drop_certificate(row, certificates.certificate_users(row))
                dropped.append('certificate %s' % row['name'])
            self.statements += principals.plan_drop_user(user, [], 'master')
            dropped.append('user %s' % user['name'])
        # The login holds CONNECT, so it exists; its row was not read (only listed partners' logins are).
        current = principals.parse_login(find(self.logins, login)) or {'name': login}
        self.statements += principals.plan_drop_login(current, [])
        dropped.append('login %s' % login)
        return dropped


def trust_view(plan, partners):
    """Per partner: login/user exist, certificate thumbprints owned by its user, CONNECT (for the diff)."""
    view = {}
    for partner in partners:
        entry = {'login': find(plan.logins, partner['login']) is not None,
                 'connect': endpoints.holds_connect(plan.context, partner['login'])}
        if partner['user']:
            entry['user'] = plan.user(partner['user']) is not None
            entry['certificates'] = sorted(hex_lower(r['thumbprint']) for r in plan.owned(partner['user']))
        view[partner['name']] = entry
    return view


def after_view(results, before, removed, remove_other_certificates):
    """The trust view (as ``trust_view`` gives it) once the plan has run, for the diff."""
    after = {}
    for result in results:
        entry = {'login': True, 'connect': True}
        if result['user']:
            owned = list(before[result['name']]['certificates'])
            if result['thumbprint'] not in owned:
                owned.append(result['thumbprint'])
            if remove_other_certificates:
                owned = [result['thumbprint']]
            entry.update(user=True, certificates=sorted(owned))
        after[result['name']] = entry
    for entry in removed:
        before[entry['partner'] or entry['login']] = {'connect': True}
        after[entry['partner'] or entry['login']] = {'connect': False, 'dropped': entry['dropped']}
    return after
