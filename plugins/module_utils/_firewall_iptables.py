# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables backend (legacy or nf_tables flavour, whichever `iptables` is): commented ACCEPT rules
inserted at the top of the filter table's INPUT and OUTPUT chains, IPv6 through ip6tables.

Persistence: the whole filter state saved with iptables-save / ip6tables-save where the
distribution's boot service loads it: /etc/iptables/rules.v4 and rules.v6 (Debian/Ubuntu
iptables-persistent / netfilter-persistent), or /etc/sysconfig/iptables and ip6tables (Red Hat
iptables-services).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shlex

from ansible_collections.mssql.hadr.plugins.module_utils._firewall import (
    FirewallError, Rule, join_any, normalize_address, split_any)

CHAINS = {'inbound': 'INPUT', 'outbound': 'OUTPUT'}
TOOLS = {4: 'iptables', 6: 'ip6tables'}
EVERYWHERE = {4: '0.0.0.0/0', 6: '::/0'}
SAVE_PATHS = {
    'debian': {4: '/etc/iptables/rules.v4', 6: '/etc/iptables/rules.v6'},
    'redhat': {4: '/etc/sysconfig/iptables', 6: '/etc/sysconfig/ip6tables'},
}


def rule_args(rule, comment):
    """The iptables words after `-I CHAIN 1` / `-D CHAIN` for one rule."""
    side = '-s' if rule.direction == 'inbound' else '-d'
    words = ['-p', 'tcp', '-m', 'tcp', '--dport', str(rule.port)]
    if rule.remote not in EVERYWHERE.values():
        words = [side, rule.remote] + words
    return words + ['-m', 'comment', '--comment', comment, '-j', 'ACCEPT']


def parse_spec(direction, words, comment):
    """`iptables -S` words (after `-A CHAIN`) to a Rule when they carry our comment and are ours."""
    if '!' in words:
        return None
    options = {}
    for key, value in zip(words, words[1:]):
        if key.startswith('-'):
            options.setdefault(key, value)
    if options.get('--comment') != comment or options.get('-j') != 'ACCEPT' or options.get('-p') != 'tcp':
        return None
    if '--dport' not in options or not options['--dport'].isdigit():
        return None
    remote = options.get('-s' if direction == 'inbound' else '-d')
    return Rule(direction, int(options['--dport']), normalize_address(remote) if remote else None)


class Iptables:
    name = 'iptables'

    def __init__(self, cmd, params):
        self.cmd = cmd
        self.rule_name = params['name']
        self.tools = dict((f, cmd.which(t)) for f, t in TOOLS.items() if cmd.which(t))
        if 4 not in self.tools:
            raise FirewallError('backend=iptables: the iptables command is not installed; install iptables or '
                                'choose another backend.')
        flavour = 'redhat' if os.path.isdir('/etc/sysconfig') and not os.path.isdir('/etc/iptables') else 'debian'
        self.save_paths = dict((f, SAVE_PATHS[flavour][f]) for f in self.tools)
        self.persistence = [self.save_paths[f] for f in sorted(self.tools)]
        rc, version = cmd.read([self.tools[4], '-V'])
        self.notes = ['iptables variant: %s' % version.strip()]
        if 6 not in self.tools:
            self.notes.append('ip6tables is not installed: only IPv4 rules are managed.')

    def _read(self):
        """[(family, direction, Rule, words)] of our rules; words are what `-D CHAIN` needs."""
        found = []
        for family, tool in sorted(self.tools.items()):
            for direction, chain in CHAINS.items():
                rc, out = self.cmd.read([tool, '-w', '-S', chain])
                for line in out.splitlines():
                    words = shlex.split(line)
                    if words[:2] != ['-A', chain]:
                        continue
                    rule = parse_spec(direction, words[2:], self.rule_name)
                    if rule:
                        found.append((family, rule._replace(remote=rule.remote or EVERYWHERE[family]), words[2:]))
        return found

    def current(self):
        return join_any(rule for family, rule, words in self._read())

    def outbound_filtered(self):
        for family, tool in self.tools.items():
            rc, out = self.cmd.read([tool, '-w', '-S', 'OUTPUT'])
            for line in out.splitlines():
                if line in ('-P OUTPUT DROP', '-P OUTPUT REJECT') or line.endswith(('-j DROP', '-j REJECT')):
                    return True
        return False

    def ensure(self, desired):
        want = set(r for r in split_any(desired) if r.family in self.tools)
        kept = set()
        for family, rule, words in self._read():
            if rule in want and rule not in kept:
                kept.add(rule)
            else:
                self.cmd.change([self.tools[family], '-w', '-D', CHAINS[rule.direction]] + words)
        for rule in sorted(want - kept, key=lambda r: (r.direction, r.port, r.remote)):
            self.cmd.change([self.tools[rule.family], '-w', '-I', CHAINS[rule.direction], '1']
                            + rule_args(rule, self.rule_name))
        self._persist()

    def _persist(self):
        """Save the tables when our rules in the saved file differ from the running ones.

        iptables-save writes everything, so saving only then avoids persisting other software's
        runtime rules on runs that did not change ours."""
        marker = '--comment "%s"' % self.rule_name
        for family, path in sorted(self.save_paths.items()):
            old = open(path).read() if os.path.exists(path) else ''
            if self.cmd.module.check_mode:
                if self.cmd.log:
                    self.cmd.log.append('write %s' % path)
                continue
            rc, saved = self.cmd.read([self.tools[family] + '-save'])
            ours = [[line for line in text.splitlines() if marker in line] for text in (old, saved)]
            if ours[0] != ours[1]:
                self.cmd.write_file(path, saved, mode=0o640)
