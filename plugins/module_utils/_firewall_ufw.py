# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ufw backend: `ufw allow ... comment NAME`; rules are read back from ufw's own rule files.

ufw keeps user rules in /etc/ufw/user.rules and user6.rules, one `### tuple ###` line per rule with
the comment hex-encoded. Reading those files works whether or not ufw is active (`ufw status`
shows nothing while it is inactive).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import os

from ansible_collections.mssql.hadr.plugins.module_utils._firewall import (
    ANY, FirewallError, Rule, join_any, normalize_address, split_any)

RULE_FILES = ('/etc/ufw/user.rules', '/etc/ufw/user6.rules')
DEFAULTS = '/etc/default/ufw'
EVERYWHERE = ('0.0.0.0/0', '::/0')


def parse_tuple(line, comment_hex):
    """A `### tuple ###` line to a Rule when it carries our comment and is a plain TCP allow."""
    fields = line.split('### tuple ###', 1)[1].split()
    if not fields or fields[-1] != 'comment=%s' % comment_hex:
        return None
    fields = fields[:-1]
    # action proto dport dst sport src [dapp sapp] direction
    if len(fields) not in (7, 9) or fields[0] != 'allow' or fields[1] != 'tcp' or not fields[2].isdigit():
        return None
    direction = 'inbound' if fields[-1] == 'in' else 'outbound'
    remote = fields[5] if direction == 'inbound' else fields[3]
    remote = remote if remote in EVERYWHERE else normalize_address(remote)
    return Rule(direction, int(fields[2]), remote)


def ufw_args(rule):
    """The words after `ufw allow` / `ufw delete allow` for one rule."""
    remote = None if rule.remote == ANY else rule.remote
    if rule.direction == 'inbound':
        return ['in', 'proto', 'tcp'] + (['from', remote] if remote else []) + ['to', 'any', 'port', str(rule.port)]
    return ['out', 'proto', 'tcp', 'to', remote or 'any', 'port', str(rule.port)]


def read_defaults():
    """KEY=value pairs of /etc/default/ufw (quotes removed)."""
    values = {}
    if os.path.exists(DEFAULTS):
        with open(DEFAULTS) as handle:
            for line in handle:
                key, sep, value = line.strip().partition('=')
                if sep and not key.startswith('#'):
                    values[key] = value.strip('"\'')
    return values


class Ufw:
    name = 'ufw'
    persistence = list(RULE_FILES)

    def __init__(self, cmd, params):
        self.cmd = cmd
        self.rule_name = params['name']
        self.ufw = cmd.which('ufw')
        if not self.ufw:
            raise FirewallError('backend=ufw: the ufw command is not installed; install ufw or choose another backend.')
        rc, out = cmd.read([self.ufw, 'status'], ok_rcs=(0, 1))
        self.active = 'Status: active' in out
        self.defaults = read_defaults()
        self.notes = [] if self.active else [
            'ufw is inactive: the rules are saved in its rule files and take effect when ufw is enabled.']

    def _read(self):
        comment = binascii.hexlify(self.rule_name.encode('utf-8')).decode('ascii')
        found = set()
        for path in RULE_FILES:
            if not os.path.exists(path):
                continue
            with open(path) as handle:
                for line in handle:
                    if line.startswith('### tuple ###'):
                        rule = parse_tuple(line, comment)
                        if rule:
                            found.add(rule)
        return found

    def current(self):
        found = self._read()
        if self.defaults.get('IPV6', 'yes') != 'yes':
            found = set(r._replace(remote=ANY) if r.remote == '0.0.0.0/0' else r for r in found)
        return join_any(found)

    def outbound_filtered(self):
        return self.defaults.get('DEFAULT_OUTPUT_POLICY', 'ACCEPT') != 'ACCEPT'

    def ensure(self, desired):
        have = self._read()
        want = split_any(desired)
        if self.defaults.get('IPV6', 'yes') != 'yes':
            # ufw then writes IPv4 rules only; 'any' means IPv4 everywhere.
            want = set(r for r in want if r.remote != '::/0')
        # ufw adds and deletes an 'any' rule for both families at once.
        remove = join_any(have - want)
        add = join_any(want - have)
        for rule in sorted(remove):
            self.cmd.change([self.ufw, 'delete', 'allow'] + ufw_args(rule))
        for rule in sorted(add):
            self.cmd.change([self.ufw, 'allow'] + ufw_args(rule) + ['comment', self.rule_name])
