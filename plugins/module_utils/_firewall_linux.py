# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Linux firewall module's run: validate, pick a backend, read, converge, verify, report."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.mssql.hadr.plugins.module_utils._firewall import (
    Commands, FirewallError, desired_rules, normalize_addresses, rules_as_dicts, validate_name)
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_firewalld import Firewalld
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_iptables import Iptables
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_nftables import Nftables
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_ufw import Ufw

BACKENDS = {'firewalld': Firewalld, 'ufw': Ufw, 'nftables': Nftables, 'iptables': Iptables}
FIREWALLD_AT_BOOT = '/etc/systemd/system/multi-user.target.wants/firewalld.service'


def argument_spec():
    return dict(
        name=dict(type='str'),
        port=dict(type='int', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        direction=dict(type='str', default='both', choices=['inbound', 'outbound', 'both']),
        remote_addresses=dict(type='list', elements='str', default=[]),
        backend=dict(type='str', default='auto', choices=['auto'] + sorted(BACKENDS)),
        zone=dict(type='str'),
        profiles=dict(type='list', elements='str', choices=['domain', 'private', 'public']),
        description=dict(type='str'),
        nftables_existing_chains=dict(type='str', default='insert', choices=['insert', 'fail']),
    )


def iptables_in_use(cmd):
    """True when the iptables filter table already holds rules or a non-ACCEPT policy."""
    if not cmd.which('iptables'):
        return False
    rc, out = cmd.read([cmd.which('iptables'), '-w', '-S'], ok_rcs=(0, 1, 3))
    return any(line.startswith('-A ') or (line.startswith('-P ') and not line.endswith(' ACCEPT'))
               for line in out.splitlines())


def detect(cmd):
    """The backend the host runs, in the order documented under `backend`."""
    firewall_cmd = cmd.which('firewall-cmd')
    if firewall_cmd and cmd.read([firewall_cmd, '--state'], ok_rcs=None)[0] == 0:
        return 'firewalld'
    if cmd.which('ufw') and 'Status: active' in cmd.read([cmd.which('ufw'), 'status'], ok_rcs=(0, 1))[1]:
        return 'ufw'
    if cmd.which('firewall-offline-cmd') and os.path.exists(FIREWALLD_AT_BOOT):
        return 'firewalld'
    if cmd.which('nft') and not iptables_in_use(cmd):
        return 'nftables'
    if cmd.which('iptables'):
        return 'iptables'
    raise FirewallError('No supported firewall found: none of firewalld, ufw, nftables (nft) or iptables is '
                        'installed. Install one of them, or set backend explicitly.')


def run(module):
    """Everything after argument parsing; returns the result dict or raises FirewallError."""
    params = dict(module.params)
    if not 1 <= params['port'] <= 65535:
        raise FirewallError('port: %d is not a TCP port; use 1-65535.' % params['port'])
    params['name'] = params['name'] or 'mssql.hadr endpoint %d' % params['port']
    validate_name(params['name'])
    addresses = normalize_addresses(params['remote_addresses'])
    desired = desired_rules(params['state'], params['port'], params['direction'], addresses)

    cmd = Commands(module)
    try:
        return converge(module, cmd, params, desired)
    except FirewallError as exc:
        exc.commands = cmd.log
        raise


def converge(module, cmd, params, desired):
    backend_name = detect(cmd) if params['backend'] == 'auto' else params['backend']
    backend = BACKENDS[backend_name](cmd, params)
    before = backend.current()
    # Always converge: the backend also checks what `current` does not show (firewalld's runtime
    # view, nftables rules inserted into other tables' chains).
    backend.ensure(desired)
    after = desired if module.check_mode else backend.current()
    if after != desired:
        raise FirewallError('%s did not keep the rules it was given: wanted %s, found %s afterwards.'
                            % (backend_name, rules_as_dicts(desired), rules_as_dicts(after)))
    result = dict(changed=bool(cmd.log), backend=backend_name, name=params['name'],
                  rules=rules_as_dicts(after), commands=cmd.log, persistence=backend.persistence,
                  outbound_filtered=backend.outbound_filtered(), notes=list(backend.notes))
    if params['profiles']:
        result['notes'].append('profiles applies to Windows only and was ignored.')
    if params['zone'] and backend_name != 'firewalld':
        result['notes'].append('zone applies to firewalld only and was ignored.')
    if params['direction'] != 'inbound' and params['state'] == 'present' and not result['outbound_filtered']:
        result['notes'].append('%s does not filter outgoing traffic on this host, so the outbound rule '
                               'changes nothing now; it keeps the port open if outgoing traffic is '
                               'filtered later.' % backend_name)
    if module._diff:
        result['diff'] = dict(before=dict(rules=rules_as_dicts(before)), after=dict(rules=rules_as_dicts(after)))
    return result
