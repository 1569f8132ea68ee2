# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables backend: accept rules, commented with the rule name, in a table of our own.

An accept in one table does not stop another table's base chain on the same hook from dropping the
packet, so when another table has a filter chain on input/output that drops (by policy or by a
final unconditional drop/reject rule), the same accept rules are inserted at the top of that chain
too (or, with nftables_existing_chains=fail, the module fails naming it).

Persistence: /etc/nftables.d/mssql_hadr.nft (/etc/nftables/mssql_hadr.nft on Red Hat systems),
regenerated from the running ruleset, and included at the end of the distribution's main file
(/etc/nftables.conf or /etc/sysconfig/nftables.conf), which is checked with `nft -c -f`.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.mssql.hadr.plugins.module_utils._firewall import ANY, FirewallError, Rule, normalize_address

TABLE = ('inet', 'mssql_hadr')
HOOK_OF = {'inbound': 'input', 'outbound': 'output'}
FAMILY_TOKEN = {4: 'ip', 6: 'ip6'}
MAIN_FILES = (('/etc/nftables.conf', '/etc/nftables.d'), ('/etc/sysconfig/nftables.conf', '/etc/nftables'))
FILE_NAME = 'mssql_hadr.nft'
VERDICT_ONLY = ('counter', 'log', 'limit')


def render(rule, comment):
    """The rule text after `add rule FAMILY TABLE CHAIN` / `insert rule ...`."""
    words = ['tcp', 'dport', str(rule.port)]
    if rule.remote != ANY:
        side = 'saddr' if rule.direction == 'inbound' else 'daddr'
        words += [FAMILY_TOKEN[rule.family], side, rule.remote]
    return '%s accept comment "%s"' % (' '.join(words), comment)


def parse_expr(direction, expr):
    """A rule's JSON expressions to a Rule, or None when it is not of the form `render` writes."""
    port, remote, verdict = None, ANY, False
    for item in expr:
        match = item.get('match')
        if 'accept' in item:
            verdict = True
        elif match and match.get('op') == '==' and 'payload' in match.get('left', {}):
            payload, right = match['left']['payload'], match['right']
            if payload.get('protocol') == 'tcp' and payload.get('field') == 'dport' and isinstance(right, int):
                port = right
            elif payload.get('protocol') in ('ip', 'ip6') and payload.get('field') in ('saddr', 'daddr'):
                if isinstance(right, dict) and 'prefix' in right:
                    right = '%s/%s' % (right['prefix']['addr'], right['prefix']['len'])
                if not isinstance(right, str):
                    return None
                remote = normalize_address(right)
            else:
                return None
        elif 'counter' not in item:
            return None
    return Rule(direction, port, remote) if port and verdict else None


def drops(chain, rules):
    """True when this base chain ends by dropping: a drop policy, or an unconditional drop/reject."""
    if chain.get('policy') == 'drop':
        return True
    for rule in rules:
        verbs = [list(item)[0] for item in rule['expr']]
        if verbs and verbs[-1] in ('drop', 'reject') and all(v in VERDICT_ONLY for v in verbs[:-1]):
            return True
    return False


def compatible(chain_family, rule):
    return chain_family == 'inet' or rule.family is None or FAMILY_TOKEN[rule.family] == chain_family


class Nftables:
    name = 'nftables'

    def __init__(self, cmd, params):
        self.cmd = cmd
        self.rule_name = params['name']
        self.on_foreign = params['nftables_existing_chains']
        self.nft = cmd.which('nft')
        if not self.nft:
            raise FirewallError('backend=nftables: the nft command is not installed; install nftables or '
                                'choose another backend.')
        self.main_file, directory = next(((m, d) for m, d in MAIN_FILES if os.path.exists(m)), (None, None))
        self.include_file = os.path.join(directory, FILE_NAME) if directory else None
        self.persistence = [p for p in (self.include_file, self.main_file) if p]
        self.notes = [] if self.main_file else [
            'No nftables configuration file (%s) exists: the rules are active but will not survive a reboot.'
            % ' or '.join(m for m, d in MAIN_FILES)]
        self._load()

    def _load(self):
        rc, out = self.cmd.read([self.nft, '-j', 'list', 'ruleset'])
        self.chains, self.rules = {}, {}
        for item in json.loads(out).get('nftables', []):
            if 'chain' in item:
                chain = item['chain']
                self.chains[(chain['family'], chain['table'], chain['name'])] = chain
            elif 'rule' in item:
                rule = item['rule']
                self.rules.setdefault((rule['family'], rule['table'], rule['chain']), []).append(rule)

    def _foreign_dropping(self, direction):
        found = []
        for key, chain in sorted(self.chains.items()):
            if key[:2] == TABLE or chain.get('hook') != HOOK_OF[direction] or chain.get('type') != 'filter':
                continue
            if key[0] in ('inet', 'ip', 'ip6') and drops(chain, self.rules.get(key, [])):
                found.append(key)
        return found

    def _owned(self):
        """{chain key: [(Rule, handle)]} of every rule carrying our comment, in any table."""
        owned = {}
        for key, rules in self.rules.items():
            chain = self.chains.get(key, {})
            direction = 'inbound' if chain.get('hook') == 'input' else 'outbound'
            for rule in rules:
                if rule.get('comment') == self.rule_name:
                    owned.setdefault(key, []).append((parse_expr(direction, rule['expr']), rule['handle']))
        return owned

    def current(self):
        return set(r for k, rules in self._owned().items() if k[:2] == TABLE for r, h in rules if r)

    def outbound_filtered(self):
        return bool(self._foreign_dropping('outbound'))

    def _placement(self, desired):
        """{chain key: set(Rule)} where the desired rules must be."""
        where = {}
        for direction in ('inbound', 'outbound'):
            wanted = set(r for r in desired if r.direction == direction)
            where[TABLE + (HOOK_OF[direction],)] = wanted
            foreign = self._foreign_dropping(direction) if wanted else []
            if foreign and self.on_foreign == 'fail':
                raise FirewallError(
                    'nftables chain %s drops %s traffic before the accept rules in table %s could '
                    'let it through (an accept in one table does not override a drop in another). Allow '
                    'TCP port %s there yourself, or set nftables_existing_chains=insert to let this module '
                    'insert its rules at the top of that chain.'
                    % (', '.join(' '.join(k) for k in foreign), direction, ' '.join(TABLE),
                       ', '.join(sorted(set(str(r.port) for r in wanted)))))
            for key in foreign:
                where[key] = set(r for r in wanted if compatible(key[0], r))
        return where

    def ensure(self, desired):
        owned, where, script = self._owned(), self._placement(desired), []
        for key, rules in sorted(owned.items()):
            keep = where.get(key, set())
            seen = set()
            for rule, handle in rules:
                if rule in keep and rule not in seen:
                    seen.add(rule)
                else:
                    script.append('delete rule %s handle %d' % (' '.join(key), handle))
        for key, rules in sorted(where.items()):
            present = set(r for r, h in owned.get(key, []))
            verb = 'add' if key[:2] == TABLE else 'insert'
            for rule in sorted(rules - present, key=lambda r: (r.port, r.remote)):
                script.append('%s rule %s %s' % (verb, ' '.join(key), render(rule, self.rule_name)))
        if script:
            if any(line.startswith('add rule') for line in script):
                script = self._own_table_script() + script
            self.cmd.change([self.nft, '-f', '-'], data='\n'.join(script) + '\n', shown=['nft ' + s for s in script])
        self._persist(changed=bool(script))

    @staticmethod
    def _own_table_script():
        lines = ['add table %s' % ' '.join(TABLE)]
        for hook in ('input', 'output'):
            lines.append('add chain %s %s { type filter hook %s priority filter; policy accept; }'
                         % (' '.join(TABLE), hook, hook))
        return lines

    def _persist(self, changed):
        """Regenerate our file from the running rules; files are written only when they differ."""
        if not self.main_file:
            return
        if self.cmd.module.check_mode:
            if changed:
                self.cmd.log.append('write %s' % self.include_file)
            return
        self._load()
        if not any(key[:2] == TABLE for key in self.chains):
            return
        comments = set(r.get('comment') for k, rules in self.rules.items() if k[:2] == TABLE for r in rules)
        lines = ['# Written by the mssql.hadr.firewall module; regenerated on every change.',
                 'table %s' % ' '.join(TABLE), 'delete table %s' % ' '.join(TABLE)]
        rc, own = self.cmd.read([self.nft, 'list', 'table'] + list(TABLE))
        lines.append(own.strip())
        for key, rules in sorted(self.rules.items()):
            if key[:2] == TABLE:
                continue
            direction = 'inbound' if self.chains.get(key, {}).get('hook') == 'input' else 'outbound'
            for rule in rules:
                parsed = parse_expr(direction, rule['expr']) if rule.get('comment') in comments else None
                if parsed:
                    lines.append('insert rule %s %s' % (' '.join(key), render(parsed, rule['comment'])))
        self._write_checked('\n'.join(lines) + '\n')

    def _loads(self):
        rc, out, err = self.cmd.module.run_command([self.nft, '-c', '-f', self.main_file])
        return rc == 0, (err or out).strip()

    def _write_checked(self, content):
        """Write our file and the include line, keep them only if the whole configuration loads."""
        saved = {}
        for path in (self.include_file, self.main_file):
            saved[path] = open(path).read() if os.path.exists(path) else None
        include = 'include "%s"' % self.include_file
        main = saved[self.main_file]
        if include not in main.splitlines():
            main = main.rstrip('\n') + '\n' + include + '\n'
        if saved[self.include_file] == content and main == saved[self.main_file]:
            return
        loads, error = self._loads()
        if not loads:
            raise FirewallError('The rules are active, but they were not made persistent: %s does not load even '
                                'before this change (nft -c -f: %s). Fix it, then run the task again.'
                                % (self.main_file, error))
        self.cmd.write_file(self.include_file, content, mode=0o600)
        self.cmd.write_file(self.main_file, main, mode=os.stat(self.main_file).st_mode & 0o777)
        loads, error = self._loads()
        if not loads:
            for path, text in saved.items():
                if text is None:
                    os.remove(path)
                else:
                    with open(path, 'w') as handle:
                        handle.write(text)
            raise FirewallError('The rules are active, but %s no longer loads with them included, so the '
                                'persistent files were put back as they were (nft -c -f: %s).' % (self.main_file, error))
