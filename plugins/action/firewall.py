# -*- coding: utf-8 -*-
# Copyright: (c) mssql.hadr developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs firewall.ps1 on Windows hosts and firewall.py everywhere else.

Ansible prefers .ps1 for PowerShell connections, but for any other connection it looks the module up
without an extension and takes the first file in sorted order - firewall.ps1 before firewall.py.
This action asks for the .py explicitly on non-PowerShell hosts and is otherwise the normal action.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        connection = self._connection
        wrap_async = self._task.async_val and not connection.has_native_async
        preferences = connection.module_implementation_preferences
        if getattr(connection._shell, 'SHELL_FAMILY', None) != 'powershell':
            connection.module_implementation_preferences = ('.py',)
        try:
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        finally:
            connection.module_implementation_preferences = preferences
        if not wrap_async:
            self._remove_tmp_path(connection._shell.tmpdir)
        return result
