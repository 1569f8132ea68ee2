#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: firewall
short_description: Open a database mirroring endpoint port in the host firewall, both ways, only to partners
version_added: 0.1.0
description:
  - Allows TCP traffic on the port of a SQL Server database mirroring (availability group) endpoint,
    inbound (partners connect to this instance) and outbound (this instance connects to the partners'
    endpoints on the same port), optionally only from and to the partners' addresses.
  - The module owns the rules it names. It finds them again by O(name) and makes them exactly what the
    options say, so an endpoint that moved to another port never leaves its old port open, and two
    instances on one computer (two names) never touch each other's rules.
  - On Linux it drives firewalld, ufw, nftables or iptables and keeps the rules across reboots (see
    O(backend) for where each keeps them). On Windows it uses the Windows Defender Firewall through the
    NetSecurity cmdlets (inbound rule on the local port, outbound rule on the remote port).
options:
  name:
    description:
      - Name of the rules. Rules with this name are owned by this task; everything else is left alone.
      - Default C(mssql.hadr endpoint <port>). Give one name per SQL Server instance when several run on
        one computer, so that moving one instance's port never removes the other's rule.
      - 1-100 characters without quotes, backslashes, backticks, C($) or line breaks.
    type: str
  port:
    description:
      - TCP port of the endpoint (1-65535). With O(state=absent) it only builds the default O(name).
    type: int
    required: true
  state:
    description:
      - V(present) makes the named rules exactly match the options; V(absent) removes every rule with
        this name, whatever its port.
    type: str
    choices: [present, absent]
    default: present
  direction:
    description:
      - V(inbound) allows connections to O(port) on this host; V(outbound) allows connections from this
        host to O(port) on the remote addresses; V(both) does both. Rules of the other direction with
        the same name are removed.
      - Where the firewall does not filter outgoing traffic the outbound rule changes nothing; the result
        says so in RV(outbound_filtered) and RV(notes).
    type: str
    choices: [inbound, outbound, both]
    default: both
  remote_addresses:
    description:
      - IPv4/IPv6 addresses or CIDR networks of the partners. Empty (the default) or V(any) means any address.
      - Validated with Python's C(ipaddress); a network with host bits set (V(10.0.0.5/24)) is an error.
    type: list
    elements: str
    default: []
  backend:
    description:
      - Which Linux firewall to use. V(auto) picks, in this order, firewalld if it is running, ufw if it is
        active, firewalld if it is installed and enabled at boot (configured offline), nftables if C(nft)
        exists and the iptables filter table is empty, else iptables; it fails when none is installed.
      - V(firewalld) uses one policy per name and direction (C(hadr-<hash>-in) from the zone to HOST,
        C(hadr-<hash>-out) from HOST to the zone), because zones filter inbound traffic only. Its rules are
        kept in C(/etc/firewalld/policies/<policy>.xml) (permanent) and applied to the running daemon;
        creating or deleting a policy needs C(firewall-cmd --reload), which also discards other runtime-only
        changes. When firewalld is not running, C(firewall-offline-cmd) edits the same files.
      - V(ufw) adds C(ufw allow ... comment <name>) rules; ufw keeps them in C(/etc/ufw/user.rules) and
        C(/etc/ufw/user6.rules). When ufw is inactive they are saved and apply once it is enabled.
      - V(nftables) keeps rules in its own table C(inet mssql_hadr) (chains C(input) and C(output)) and
        writes that table to C(/etc/nftables.d/mssql_hadr.nft) (C(/etc/nftables/mssql_hadr.nft) on Red Hat),
        included from the end of C(/etc/nftables.conf) (C(/etc/sysconfig/nftables.conf)). The main file is
        checked with C(nft -c -f) and left unchanged if it would no longer load. See O(nftables_existing_chains).
      - V(iptables) inserts commented ACCEPT rules at the top of the C(INPUT) and C(OUTPUT) chains
        (ip6tables for IPv6) with whichever C(iptables) the host has (legacy or nf_tables) and saves the
        tables with C(iptables-save) to C(/etc/iptables/rules.v4) and C(rules.v6) (Debian, loaded by
        iptables-persistent) or C(/etc/sysconfig/iptables) and C(ip6tables) (Red Hat iptables-services).
      - The module never installs, starts or enables a firewall service; the boot service
        (C(firewalld), C(ufw), C(nftables), C(netfilter-persistent) or C(iptables)) must be enabled for
        the rules to be loaded at boot.
    type: str
    choices: [auto, firewalld, iptables, nftables, ufw]
    default: auto
  zone:
    description:
      - firewalld only. Zone the partners are in; the inbound policy goes from this zone to HOST and the
        outbound policy from HOST to it. Default C(ANY), every zone.
      - The zone must have the partners' interface or addresses bound to it (an active zone); otherwise the
        policies match nothing, and RV(notes) says so.
    type: str
  profiles:
    description:
      - Windows only. Firewall profiles the rules apply to. Default all (C(Any)).
    type: list
    elements: str
    choices: [domain, private, public]
  description:
    description:
      - Description stored with the rules (Windows rule description, firewalld policy description).
    type: str
  nftables_existing_chains:
    description:
      - nftables only. What to do when another table has a base filter chain on the input (or output)
        hook that drops traffic by policy or by a final unconditional drop/reject rule. An accept in our
        own table cannot override that drop.
      - V(insert) inserts the same rules at the top of that chain too (and into the persisted file, as
        C(insert rule) lines after our table); V(fail) fails naming the chain, so you can open the port
        there yourself.
    type: str
    choices: [insert, fail]
    default: insert
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the named rules before and after as lists of dictionaries.
  platform:
    support: full
    platforms: [posix, windows]
notes:
  - Only TCP is managed; database mirroring endpoints use TCP.
  - On Linux the module needs root (it runs the firewall commands and writes their configuration files).
  - ufw matches rules without their comment when deleting, so two names holding the identical rule
    (same direction, port and address) share it; give each SQL Server instance its own port.
  - The Windows implementation (C(firewall.ps1)) has been syntax-checked but not executed by the project's
    tests, which run on Linux only; see docs/firewall.md in the collection.
seealso:
  - name: Configure the Windows Firewall for database mirroring
    description: Microsoft's notes on the endpoint port.
    link: https://learn.microsoft.com/sql/database-engine/database-mirroring/the-database-mirroring-endpoint-sql-server
  - name: firewalld policies
    description: Policies filter traffic between zones, including from and to the host.
    link: https://firewalld.org/documentation/concepts.html
author:
  - mssql.hadr developers (@mssql-hadr)
'''

EXAMPLES = r'''
- name: Open the endpoint port both ways, only to the partners
  mssql.hadr.firewall:
    port: 5022
    remote_addresses:
      - 10.0.1.11
      - 10.0.1.12
      - fd00:1::/64

- name: Two instances on one computer, each owning its own rule
  mssql.hadr.firewall:
    name: "mssql.hadr endpoint {{ item.instance }}"
    port: "{{ item.port }}"
    remote_addresses: "{{ partner_addresses }}"
  loop:
    - {instance: PROD1, port: 5022}
    - {instance: PROD2, port: 5023}

- name: Use a firewalld zone and only inbound
  mssql.hadr.firewall:
    port: 5022
    direction: inbound
    backend: firewalld
    zone: internal

- name: Remove the rules of an instance (whatever port they are on)
  mssql.hadr.firewall:
    name: "mssql.hadr endpoint PROD2"
    port: 5023
    state: absent
'''

RETURN = r'''
backend:
  description: The firewall used (V(windows) on Windows).
  returned: always
  type: str
  sample: nftables
name:
  description: The rule name used.
  returned: always
  type: str
  sample: mssql.hadr endpoint 5022
rules:
  description: The rules with this name after the task (what they would be, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    direction:
      description: V(inbound) or V(outbound).
      type: str
    port:
      description: TCP port (local port for inbound, remote port for outbound).
      type: int
    protocol:
      description: Always V(tcp).
      type: str
    remote_address:
      description: Partner address or network, or V(any).
      type: str
  sample:
    - {direction: inbound, port: 5022, protocol: tcp, remote_address: 10.0.1.11}
    - {direction: outbound, port: 5022, protocol: tcp, remote_address: 10.0.1.11}
commands:
  description: The firewall commands and file writes that ran (or would run, in check mode).
  returned: always
  type: list
  elements: str
  sample:
    - nft add rule inet mssql_hadr input tcp dport 5022 ip saddr 10.0.1.11 accept comment "mssql.hadr endpoint 5022"
    - write /etc/nftables.d/mssql_hadr.nft
persistence:
  description: The files where the backend keeps the rules across reboots.
  returned: always
  type: list
  elements: str
  sample: [/etc/nftables.d/mssql_hadr.nft, /etc/nftables.conf]
outbound_filtered:
  description:
    - Whether the firewall filters outgoing traffic at all (a drop/reject policy or rule for outgoing
      traffic). When false, the outbound rule is kept but changes nothing now.
  returned: always
  type: bool
notes:
  description: Facts worth knowing about this run (inactive firewall, outbound not filtered, ignored options).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mssql.hadr.plugins.module_utils._firewall import (
    Commands, FirewallError, desired_rules, normalize_addresses, rules_as_dicts, validate_name)
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_linux import BACKENDS, detect


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


def run(module, cmd):
    """Validate, pick a backend, read, converge, verify, report; raises FirewallError."""
    params = dict(module.params)
    if not 1 <= params['port'] <= 65535:
        raise FirewallError('port: %d is not a TCP port; use 1-65535.' % params['port'])
    params['name'] = params['name'] or 'mssql.hadr endpoint %d' % params['port']
    validate_name(params['name'])
    desired = desired_rules(params['state'], params['port'], params['direction'],
                            normalize_addresses(params['remote_addresses']))
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


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    cmd = Commands(module)
    try:
        result = run(module, cmd)
    except FirewallError as exc:
        module.fail_json(msg=str(exc), commands=cmd.log)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
