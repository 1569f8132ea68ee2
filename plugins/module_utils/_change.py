# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mechanics every SQL module shares: connect once, record statements, run them outside check mode.

A module reads state, decides in Python, and hands its ``Statement`` objects to
``ChangeRecorder.apply``. The recorder keeps each statement (secrets masked) for the ``queries`` return
value, executes it only when not in check mode, so no module repeats ``if not module.check_mode``, and
turns a SQL Server error the statement has a hint for into a ModuleFailure that says what to do: the
one place where hints meet errors. ``run_module`` wraps the whole run: one connection, clear failures
that list the statements that did run, and the common return values (``changed``, ``queries``, ``diff``).
This file and the firewall command runner are the only module_utils that handle an AnsibleModule.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.mssql.hadr.plugins.module_utils._catalog import ModuleFailure
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import TsqlValueError
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import MssqlError, connect


class ChangeRecorder:
    """Records the statements that close a difference and runs them unless in check mode."""

    def __init__(self, conn, check_mode):
        self.conn = conn
        self.check_mode = check_mode
        self.queries = []      # every statement decided, secrets masked
        self.executed = []     # those that ran successfully (a subset of queries, outside check mode)

    @property
    def changed(self):
        return bool(self.queries)

    def run(self, statement):
        """Record a Statement (secrets masked) and execute it unless in check mode.

        A SQL Server error the statement has a hint for becomes a ModuleFailure with that advice;
        any other error passes through as MssqlError.
        """
        masked = statement.masked
        self.queries.append(masked)
        if self.check_mode:
            return
        try:
            self.conn.execute(statement.sql)
        except MssqlError as exc:
            exc.statement = masked
            failure = statement.failure(exc)
            if failure is None:
                raise
            raise failure
        self.executed.append(masked)

    def apply(self, statements):
        """Run statements in order (see ``run``)."""
        for statement in statements:
            self.run(statement)


def diff_result(module, before, after):
    """The ``diff`` return value in the shape Ansible prints, only when running with --diff."""
    if not module._diff:
        return {}
    return {'diff': {'before': before, 'after': after}}


def run_module(module, run, connection=None):
    """Connect once, call ``run(module, conn, changes)`` and exit the module with its result.

    ``run`` returns a dict of module-specific return values and may raise ModuleFailure (a problem
    the user must fix), MssqlError (from SQL Server) or TsqlValueError (a name or value that cannot be
    used). A failure after some statements ran lists them in ``executed`` so the user knows what
    changed; ``queries`` still lists everything that was decided.
    """
    changes = None
    conn = None
    try:
        conn = connection or connect(module.params)
        changes = ChangeRecorder(conn, module.check_mode)
        result = run(module, conn, changes) or {}
    except (ModuleFailure, MssqlError, TsqlValueError) as exc:
        failure = {'msg': _failure_message(exc, changes)}
        if isinstance(exc, ModuleFailure):
            failure.update(exc.details)
        if isinstance(exc, MssqlError):
            failure['error_number'] = exc.number
            if exc.statement:
                failure['failed_statement'] = exc.statement
        if changes is not None:
            failure['queries'] = changes.queries
            failure['executed'] = changes.executed
            failure['changed'] = bool(changes.executed)
        if conn is not None:
            conn.close()
        module.fail_json(**failure)
    conn.close()
    result.setdefault('changed', changes.changed)
    result['queries'] = changes.queries
    module.exit_json(**result)


def _failure_message(exc, changes):
    message = exc.msg if isinstance(exc, ModuleFailure) else str(exc)
    if isinstance(exc, MssqlError) and exc.statement:
        message = '%s; statement: %s' % (message, exc.statement)
    if changes is not None and changes.executed:
        message += ' (statements already executed before the failure: %s)' % '; '.join(changes.executed)
    elif changes is not None and changes.queries and not changes.check_mode:
        message += ' (nothing was changed)'
    return message
