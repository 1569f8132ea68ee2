# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # What every SQL module supports. A module adds only its own details (for example diff_mode details).
    DOCUMENTATION = r'''
attributes:
  action_group:
    description: Part of the action group C(mssql.hadr.all), so a play sets the connection options once with
      C(module_defaults) for C(group/mssql.hadr.all).
    support: full
    membership:
      - mssql.hadr.all
  check_mode:
    description: Runs in check mode and predicts the change and the return values without changing the server.
    support: full
  diff_mode:
    description: Returns the object before and after the run (predicted in check mode) with C(--diff).
    support: full
  platform:
    description: Where the module runs - any POSIX host with pyodbc and an ODBC driver that reaches SQL Server over TDS.
    support: full
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
