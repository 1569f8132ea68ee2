# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the topology check: trust_matrix, trust_report, windows_identity (docs in the .yml files)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.mssql.hadr.plugins.plugin_utils.topology import (
    TopologyInputError, trust_matrix as _trust_matrix, windows_identity as _windows_identity)
from ansible_collections.mssql.hadr.plugins.plugin_utils.topology_report import report_markdown, report_text


def trust_matrix(replicas, now=None, warn_days=30):
    try:
        return _trust_matrix(replicas, now=now, warn_days=int(warn_days))
    except TopologyInputError as exc:
        raise AnsibleFilterError('mssql.hadr.trust_matrix: %s' % exc)


def trust_report(matrix, output_format='text', title='SQL Server endpoint trust'):
    if not isinstance(matrix, dict) or 'pairs' not in matrix:
        raise AnsibleFilterError('mssql.hadr.trust_report expects the result of mssql.hadr.trust_matrix')
    if output_format == 'text':
        return report_text(matrix)
    if output_format == 'markdown':
        return report_markdown(matrix, title=title)
    raise AnsibleFilterError('mssql.hadr.trust_report: output_format must be text or markdown, not %r'
                             % (output_format,))


def windows_identity(service_account, computer_account=None):
    return _windows_identity(service_account, computer_account)


class FilterModule(object):
    """The topology check's filters."""

    def filters(self):
        return {
            'trust_matrix': trust_matrix,
            'trust_report': trust_report,
            'windows_identity': windows_identity,
        }
