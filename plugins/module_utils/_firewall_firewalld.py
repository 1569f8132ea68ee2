# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld backend: one policy per rule name and direction, holding rich rules.

Zones only filter traffic coming in, so both directions use policies (firewalld >= 0.9): inbound
from the zone (or ANY) to HOST, outbound from HOST to the zone (or ANY). The policy name is derived
from the rule name (firewalld allows 17 characters) and its short description holds the full rule
name, so the module finds its own rules again. Changes go to the permanent configuration and to
the running daemon; when firewalld is not running, firewall-offline-cmd edits the configuration.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import re
from xml.etree import ElementTree

from ansible_collections.mssql.hadr.plugins.module_utils._firewall import ANY, FirewallError, Rule

RICH_PORT = re.compile(r'\bport port="?(\d+)"? protocol="?tcp"?')
RICH_ADDRESS = re.compile(r'\b(?:source|destination) address="?([^"\s]+)"?')
POLICY_DIR = '/etc/firewalld/policies'
ENDPOINTS = {'inbound': ('ingress-zones', 'egress-zones'), 'outbound': ('egress-zones', 'ingress-zones')}


def policy_name(name, direction):
    digest = hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]
    return 'hadr-%s-%s' % (digest, 'in' if direction == 'inbound' else 'out')


def rich_rule(rule):
    side = 'source' if rule.direction == 'inbound' else 'destination'
    port = 'port port="%d" protocol="tcp" accept' % rule.port
    if rule.remote == ANY:
        return 'rule %s' % port
    family = 'ipv4' if rule.family == 4 else 'ipv6'
    return 'rule family="%s" %s address="%s" %s' % (family, side, rule.remote, port)


def parse_rich_rule(direction, text):
    """Our rich rules back to a Rule; anything else in our policy gives None (and is removed)."""
    port = RICH_PORT.search(text)
    if not port or not text.rstrip().endswith('accept'):
        return None
    address = RICH_ADDRESS.search(text)
    return Rule(direction, int(port.group(1)), address.group(1) if address else ANY)


def parse_policies(text):
    """`--list-all-policies` output to {policy: {key: value, 'rich rules': [rule text]}}."""
    policies, info = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace():
            info = policies.setdefault(line.split()[0], {'rich rules': []})
        elif info is not None and line.startswith('\t'):
            info['rich rules'].append(line.strip())
        elif info is not None:
            key, sep, value = line.strip().partition(':')
            if sep and key != 'rich rules':
                info[key] = value.strip()
    return policies


def policy_owner(pname):
    """The short description (our rule name) stored in the permanent policy file, if any."""
    try:
        root = ElementTree.parse(os.path.join(POLICY_DIR, pname + '.xml')).getroot()
    except (IOError, OSError, ElementTree.ParseError):
        return None
    return root.findtext('short')


def parse_active_zones(text):
    """`--get-active-zones` output to the set of zone names (zones with interfaces or sources)."""
    return set(line.split()[0] for line in text.splitlines() if line and not line[0].isspace())


class Policy:
    """What one policy (in one view: permanent or runtime) holds."""

    def __init__(self, zone, texts, rules, short):
        self.zone, self.texts, self.rules, self.short = zone, texts, rules, short


class Firewalld:
    name = 'firewalld'

    def __init__(self, cmd, params):
        self.cmd = cmd
        self.rule_name = params['name']
        self.zone = params['zone'] or 'ANY'
        self.description = params['description'] or 'mssql.hadr: %s' % self.rule_name
        self.running = False
        self._cache = {}
        if cmd.which('firewall-cmd'):
            rc, out = cmd.read(['firewall-cmd', '--state'], ok_rcs=None)
            self.running = rc == 0 and out.strip() == 'running'
        if self.running:
            self.views = [['firewall-cmd', '--permanent'], ['firewall-cmd']]
        elif cmd.which('firewall-offline-cmd'):
            self.views = [['firewall-offline-cmd']]
        else:
            raise FirewallError('backend=firewalld: firewalld is not running and firewall-offline-cmd is not '
                                'installed; start firewalld or install the firewalld package.')
        self.persistence = ['/etc/firewalld/policies/%s.xml' % policy_name(self.rule_name, d)
                            for d in ('inbound', 'outbound')]
        self.notes = [] if self.running else [
            'firewalld is not running: the permanent configuration was edited with firewall-offline-cmd; '
            'it applies when firewalld starts.']
        if params['zone'] and params['state'] == 'present':
            rc, out = cmd.read(self.views[0] + ['--get-zones'])
            if self.zone not in out.split():
                raise FirewallError('firewalld zone %r does not exist; existing zones: %s. Create it first or '
                                    'leave zone unset (every zone).' % (self.zone, ', '.join(out.split())))
        if self.running and params['zone'] and params['state'] == 'present':
            rc, out = cmd.read(['firewall-cmd', '--get-active-zones'])
            if self.zone not in parse_active_zones(out):
                self.notes.append('firewalld zone %s has no interfaces or sources bound, so policies naming it '
                                  'match no traffic; bind the partners\' interface or addresses to it.' % self.zone)

    def _policies(self, view):
        """All policies of one view; read once per view until something changes."""
        key = (tuple(view), len(self.cmd.log))
        if key not in self._cache:
            rc, out = self.cmd.read(view + ['--list-all-policies'])
            self._cache[key] = parse_policies(out)
        return self._cache[key]

    def _read_policy(self, view, direction):
        pname = policy_name(self.rule_name, direction)
        info = self._policies(view).get(pname)
        if info is None:
            return None
        owner = policy_owner(pname)
        if owner not in (None, self.rule_name):
            raise FirewallError('firewalld policy %s exists but is not the one for rule name %r (its short '
                                'description is %r); remove or rename it.' % (pname, self.rule_name, owner))
        zone = info.get(ENDPOINTS[direction][0], '')
        parsed = [parse_rich_rule(direction, t) for t in info['rich rules']]
        return Policy(zone, info['rich rules'], set(r for r in parsed if r is not None), owner)

    def read_view(self, view):
        return dict((d, self._read_policy(view, d)) for d in ('inbound', 'outbound'))

    def current(self):
        policies = self.read_view(self.views[0])
        return set(r for p in policies.values() if p for r in p.rules)

    def outbound_filtered(self):
        """True when some policy from HOST rejects or drops: only then does an outbound rule matter."""
        return any('HOST' in info.get('ingress-zones', '').split() and info.get('target') in ('REJECT', 'DROP')
                   for info in self._policies(self.views[-1]).values())

    def ensure(self, desired):
        needs_reload = False
        for index, view in enumerate(self.views):
            runtime = self.running and index == 1
            for direction in ('inbound', 'outbound'):
                want = set(r for r in desired if r.direction == direction)
                have = self._read_policy(view, direction)
                if runtime:
                    needs_reload |= self._sync_runtime(view, direction, want, have)
                else:
                    self._sync_permanent(view, direction, want, have)
        if needs_reload:
            # A policy can only be created or deleted in the permanent configuration; a reload
            # brings it into the running firewall.
            self.cmd.change(['firewall-cmd', '--reload'])

    def _sync_permanent(self, view, direction, want, have):
        pname = policy_name(self.rule_name, direction)
        if have and (not want or have.zone != self.zone):
            self.cmd.change(view + ['--delete-policy=%s' % pname])
            have = None
        if not want:
            return
        if have is None:
            inner, outer = (self.zone, 'HOST') if direction == 'inbound' else ('HOST', self.zone)
            self.cmd.change(view + ['--new-policy=%s' % pname])
            policy = view + ['--policy=%s' % pname]
            self.cmd.change(policy + ['--set-short=%s' % self.rule_name])
            self.cmd.change(policy + ['--set-description=%s' % self.description])
            self.cmd.change(policy + ['--add-ingress-zone=%s' % inner])
            self.cmd.change(policy + ['--add-egress-zone=%s' % outer])
            have = Policy(self.zone, [], set(), self.rule_name)
        self._sync_rules(view + ['--policy=%s' % pname], direction, want, have)

    def _sync_runtime(self, view, direction, want, have):
        """Bring the running firewall in line; return True when only a reload can do it."""
        if bool(want) != bool(have) or (have and have.zone != self.zone):
            return True
        if want:
            self._sync_rules(view + ['--policy=%s' % policy_name(self.rule_name, direction)],
                             direction, want, have)
        return False

    def _sync_rules(self, policy, direction, want, have):
        for text in have.texts:
            if parse_rich_rule(direction, text) not in want:
                self.cmd.change(policy + ['--remove-rich-rule=%s' % text])
        for rule in want - have.rules:
            self.cmd.change(policy + ['--add-rich-rule=%s' % rich_rule(rule)])
