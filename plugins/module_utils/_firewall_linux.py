# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Linux firewall backends and how the module finds the one the host runs (``detect``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.mssql.hadr.plugins.module_utils._firewall import FirewallError
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_firewalld import Firewalld
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_iptables import Iptables
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_nftables import Nftables
from ansible_collections.mssql.hadr.plugins.module_utils._firewall_ufw import Ufw

BACKENDS = {'firewalld': Firewalld, 'ufw': Ufw, 'nftables': Nftables, 'iptables': Iptables}
FIREWALLD_AT_BOOT = '/etc/systemd/system/multi-user.target.wants/firewalld.service'


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
