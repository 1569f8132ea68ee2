# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # What every SQL module supports (used with ansible.builtin.action_common_attributes and its
    # .actiongroups fragment, which describe the attributes). A module adds only its own details.
    DOCUMENTATION = r'''
attributes:
  action_group:
    support: full
    membership:
      - mssql.hadr.all
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
'''

    # A read-only SQL module (endpoint_info): check mode changes nothing about what it does, no diff.
    INFO = r'''
attributes:
  action_group:
    support: full
    membership:
      - mssql.hadr.all
  check_mode:
    support: full
    details: Read-only; check mode changes nothing about what it does.
  diff_mode:
    support: none
  platform:
    platforms: posix
'''

    # The in-use guard of every module that can cut a partner off or restart the endpoint.
    RECONFIGURE_IN_USE = r'''
options:
  reconfigure_in_use:
    description:
      - Allow a change that can cut a partner off or restart the mirroring endpoint while availability groups or
        database mirroring sessions on this instance use it. Such changes are dropping or replacing a login, user or
        certificate that lets a partner in, revoking C(CONNECT), and changing or dropping the endpoint.
      - Without it those changes are refused before any statement runs, naming what uses the endpoint, because
        partners see a restart or a lost connection as an error and it can trigger an automatic failover.
    type: bool
    default: false
'''
