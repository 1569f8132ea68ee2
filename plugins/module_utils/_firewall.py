# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend-neutral part of the firewall module: the rule model, validation and the command log.

A rule is (direction, port, remote address). Every backend reads the rules it holds for one
rule name, and makes them equal to the desired set; this file knows nothing about any backend.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import shlex
from collections import namedtuple

ANY = 'any'
DIRECTIONS = ('inbound', 'outbound')
NAME_FORBIDDEN = '"\'\\`$\n\r\t'
NAME_MAX = 100


class FirewallError(Exception):
    """A problem the user can act on; the message says what and how."""


class Rule(namedtuple('Rule', 'direction port remote')):
    """One allow rule: TCP to `port`, from (inbound) or to (outbound) `remote` (ANY or a network)."""

    __slots__ = ()

    @property
    def family(self):
        """4, 6, or None for any address."""
        if self.remote == ANY:
            return None
        return ipaddress.ip_network(self.remote).version

    def as_dict(self):
        return dict(direction=self.direction, port=self.port, protocol='tcp', remote_address=self.remote)


def sort_rules(rules):
    return sorted(rules, key=lambda r: (r.direction, r.port, r.family or 0, r.remote))


def rules_as_dicts(rules):
    return [rule.as_dict() for rule in sort_rules(rules)]


def normalize_address(value):
    """Return the canonical text of an IPv4/IPv6 address or network: a host is written bare."""
    text = str(value).strip()
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if '/' in text:
            try:
                loose = ipaddress.ip_network(text, strict=False)
            except ValueError:
                loose = None
            if loose is not None:
                raise FirewallError('remote_addresses: %r has host bits set; write the network as %s '
                                    'or give the single address without a prefix.' % (text, loose))
        raise FirewallError('remote_addresses: %r is not an IPv4/IPv6 address or CIDR network (%s).'
                            % (text, exc))
    if network.num_addresses == 1:
        return str(network.network_address)
    return network.with_prefixlen


def normalize_addresses(values):
    """Validate and de-duplicate; an empty list, 'any', 0.0.0.0/0 together with ::/0 mean any."""
    if not values:
        return [ANY]
    if any(str(v).strip().lower() == ANY for v in values):
        if len(values) > 1:
            raise FirewallError("remote_addresses: 'any' cannot be combined with other addresses.")
        return [ANY]
    found = set(normalize_address(v) for v in values)
    if found == {'0.0.0.0/0', '::/0'}:
        return [ANY]
    return [r.remote for r in sort_rules(Rule('inbound', 0, a) for a in found)]


def validate_name(name):
    if not name or len(name) > NAME_MAX or any(c in NAME_FORBIDDEN for c in name):
        raise FirewallError('name: %r is not usable as a firewall rule name; use 1-%d characters without '
                            'quotes, backslashes, backticks, $ or line breaks.' % (name, NAME_MAX))


def desired_rules(state, port, direction, addresses):
    if state == 'absent':
        return set()
    directions = DIRECTIONS if direction == 'both' else (direction,)
    return set(Rule(d, port, a) for d in directions for a in addresses)


def split_any(rules):
    """Expand ANY into one rule per address family, for backends that keep IPv4 and IPv6 apart."""
    out = set()
    for rule in rules:
        if rule.remote == ANY:
            out.add(rule._replace(remote='0.0.0.0/0'))
            out.add(rule._replace(remote='::/0'))
        else:
            out.add(rule)
    return out


def join_any(rules):
    """Inverse of split_any: an IPv4 'everything' plus the same IPv6 'everything' is ANY."""
    rules = set(rules)
    for rule in list(rules):
        if rule.remote == '0.0.0.0/0' and rule._replace(remote='::/0') in rules:
            rules -= {rule, rule._replace(remote='::/0')}
            rules.add(rule._replace(remote=ANY))
    return rules


class Commands:
    """Runs backend commands: reads always, changes only outside check mode; logs every change."""

    def __init__(self, module):
        self.module = module
        self.log = []

    def which(self, tool):
        return self.module.get_bin_path(tool)

    def _run(self, args, data=None):
        return self.module.run_command(args, data=data, binary_data=data is not None,
                                       environ_update={'LC_ALL': 'C', 'LANG': 'C'})

    def read(self, args, ok_rcs=(0,)):
        """Run a read-only command; return (rc, stdout). ok_rcs=None accepts any exit code."""
        rc, out, err = self._run(args)
        if ok_rcs is not None and rc not in ok_rcs:
            raise FirewallError('%s failed (rc=%d): %s' % (shlex.join(args), rc, (err or out).strip()))
        return rc, out

    def change(self, args, data=None, shown=None):
        """Record a changing command; run it unless in check mode. `shown` replaces it in the log."""
        self.log.extend(shown if shown is not None else [shlex.join(args)])
        if self.module.check_mode:
            return ''
        rc, out, err = self._run(args, data=data)
        if rc != 0:
            raise FirewallError('%s failed (rc=%d): %s' % (shlex.join(args), rc, (err or out).strip()))
        return out

    def write_file(self, path, content, mode=0o644):
        """Write `path` when its content differs; return True if it did (or would)."""
        try:
            with open(path) as handle:
                if handle.read() == content:
                    return False
        except (IOError, OSError):
            pass
        self.log.append('write %s' % path)
        if not self.module.check_mode:
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            tmp = '%s.mssql_hadr.tmp' % path
            with open(tmp, 'w') as handle:
                handle.write(content)
            os.chmod(tmp, mode)
            os.rename(tmp, path)
        return True
