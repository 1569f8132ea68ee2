# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: appends every task result as one JSON line to $MSSQL_HADR_RESULTS_FILE.

Used by tests/support/playbook.py. It is an extra (aggregate) callback, so the normal stdout
callback still prints its human-readable output, which secret-leak tests search.
Results are what any callback sees: already censored for no_log tasks by ansible-core.
With MSSQL_HADR_RESULTS_SUMMARY=1 only the outcome of each result is written (task, host, action, changed,
failed, skipped): make bench measures the collection, not the copying and encoding of whole results.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: record_results
type: aggregate
short_description: write each task result as a JSON line to a file (test helper)
description:
  - Appends one JSON object per task result and host to the file named by E(MSSQL_HADR_RESULTS_FILE).
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
'''

import json
import os

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase
from ansible.vars.clean import module_response_deepcopy, strip_internal_keys


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'record_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get('MSSQL_HADR_RESULTS_FILE')
        self._summary_only = os.environ.get('MSSQL_HADR_RESULTS_SUMMARY') == '1'

    def _record(self, result, status):
        if not self._path:
            return
        if self._summary_only:
            data = dict((key, result._result[key]) for key in ('changed', 'failed') if key in result._result)
        else:
            data = strip_internal_keys(module_response_deepcopy(result._result))
        data.update({
            'task': result._task.get_name(),
            'host': result._host.get_name(),
            'action': result._task.action,
        })
        if result._task.run_once:
            data['run_once'] = True     # ran for one host, applies to every host of the play
        # make the outcome explicit even when the module did not say so
        data.setdefault('changed', False)
        data.setdefault('failed', status in ('failed', 'unreachable'))
        if status == 'skipped':
            data['skipped'] = True
        if status == 'unreachable':
            data['unreachable'] = True
        with open(self._path, 'a') as handle:
            handle.write(json.dumps(data, cls=AnsibleJSONEncoder, sort_keys=True) + '\n')

    def v2_playbook_on_play_start(self, play):
        """Record the play's hosts in inventory order, so "the first host" does not depend on timing.

        ansible-core has no public API for this; a missing attribute only loses the order.
        """
        if not self._path:
            return
        try:
            inventory = play._variable_manager._inventory
            hosts = [host.get_name() for host in inventory.get_hosts(play.hosts, order=play.order)]
        except AttributeError:
            return
        with open(self._path, 'a') as handle:
            handle.write(json.dumps({'play_hosts': hosts}) + '\n')

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, 'unreachable')
