# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Catalog and statement plumbing that every SQL object family shares.

Reads are SQL text made of single SELECT statements, each giving one result set, so a module puts the
reads of several families into its one read batch (``read_sets``). Names compare as SQL Server's
default collation compares them (``same_name``, ``find``). A decision is a list of ``Statement``
objects: the text, the secrets to mask in ``queries``, the object it acts on and what to tell the user
when SQL Server refuses it (``hints``); ``_change.ChangeRecorder`` runs them. Nothing here takes an
AnsibleModule.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.mssql.hadr.plugins.module_utils._tsql import mask_secrets, quote_name

# sys.server_principals.type -> what the modules call it. The keys are also the principal types the
# reads select (LOGIN_TYPE_CODES_SQL), so the two cannot drift apart.
LOGIN_TYPES = {'S': 'sql', 'U': 'windows', 'G': 'windows_group', 'C': 'certificate', 'K': 'asymmetric_key'}
LOGIN_TYPE_CODES_SQL = '(%s)' % ', '.join("'%s'" % code for code in LOGIN_TYPES)

# SQL Server errors that mean the same to every family (tsql.md section 5); families add their own.
# Logins and master keys both check their password against the Windows policy (15116-15118).
PASSWORD_POLICY_HINT = ('The password for %s does not meet the Windows password policy SQL Server enforces '
                        '(length and three of: upper case, lower case, digits, symbols; not containing the login '
                        'name). Choose a stronger password; for a SQL login you can also set check_policy: false.')
COMMON_HINTS = {
    15116: PASSWORD_POLICY_HINT, 15117: PASSWORD_POLICY_HINT, 15118: PASSWORD_POLICY_HINT,
    15581: 'The database has no master key (or it cannot be opened), which %s needs: run mssql.hadr.master_key '
           'first.',
}


def with_common_hints(table):
    """A family's hint table: its own hints over the common ones."""
    merged = dict(COMMON_HINTS)
    merged.update(table)
    return merged


class ModuleFailure(Exception):
    """A problem found before (or instead of) changing anything; ``details`` go into the failure result."""

    def __init__(self, msg, **details):
        super(ModuleFailure, self).__init__(msg)
        self.msg = msg
        self.details = details


class Statement:
    """One statement: its text, the secrets to mask, the object it acts on and the hints for its errors.

    ``hints`` maps a SQL Server error number to advice; ``%s`` in the advice becomes ``subject``.
    """

    def __init__(self, sql, secrets_=(), subject=None, hints=None):
        self.sql = sql
        self.secrets = tuple(s for s in secrets_ if s)
        self.subject = subject
        self.hints = hints or {}

    def __repr__(self):
        return "Statement('%s')" % self.sql

    @property
    def masked(self):
        """The text as ``queries`` and failures show it: every secret replaced by ``********``."""
        return mask_secrets(self.sql, self.secrets)

    def advice(self, number):
        """The hint for SQL Server error ``number`` with the subject filled in, or None."""
        hint = self.hints.get(number)
        if hint is None:
            return None
        return hint.replace('%s', self.subject or 'the object', 1)

    def failure(self, error, **details):
        """The ModuleFailure that says what to do about ``error`` (an MssqlError from running this statement),
        or None when the statement has no hint for it. The one way hints meet SQL Server's errors."""
        advice = self.advice(error.number)
        if advice is None:
            return None
        return ModuleFailure('%s SQL Server said: %s (error %s).' % (advice, error.message, error.number),
                             error_number=error.number, failed_statement=self.masked, **details)


def statement_maker(hints):
    """The ``statement(sql, secret_values=(), subject=None)`` of a family: it makes Statements with ``hints``."""
    def statement(sql, secret_values=(), subject=None):
        return Statement(sql, secret_values, subject, hints)
    return statement


def same_name(left, right):
    """Names compare as SQL Server's default (case-insensitive) collation does; trailing spaces never reach here."""
    if left is None or right is None:
        return left is right
    return left.casefold() == right.casefold()


def find(rows, name, key='name'):
    """The first row whose ``key`` is ``name`` (compared with same_name), or None."""
    for row in rows:
        if same_name(row[key], name):
            return row
    return None


def name_in(column, values):
    """``column IN (?, ?)`` for the parameters, or a false condition for none (``IN ()`` is a syntax error)."""
    if not values:
        return '1 = 0'
    return '%s IN (%s)' % (column, ', '.join('?' for dummy in values))


def read_sets(conn, parts):
    """One round trip: ``parts`` is a list of (sql, params); returns the result sets, in order."""
    sql = ' '.join(part[0] for part in parts)
    params = [value for part in parts for value in part[1]]
    return conn.query_sets(sql, params)


def switch_database(conn, login_database, database):
    """Make ``database`` the session's database when the connection started elsewhere.

    A separate statement, not part of a read batch: a parameterised batch runs through sp_executesql,
    and a USE inside it ends with it, so the DDL that follows would run in the old database.
    """
    if not same_name(login_database or 'master', database):
        conn.execute('USE %s' % quote_name(database, 'database'))


def hex_lower(data):
    """Lowercase hex without 0x, as the modules return thumbprints."""
    return None if data is None else bytes(data).hex()


def iso_utc(value):
    """ISO 8601 UTC text ('2026-01-31T12:00:00Z') for a naive UTC datetime from the catalog."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + 'Z'


def utcnow():
    """Now as a naive UTC datetime, comparable with the catalog's dates."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def state_view(obj, name):
    """An object as the diff shows it: its fields and ``state: present``, or just its name and ``state: absent``."""
    if obj is None:
        return {'name': name, 'state': 'absent'}
    return dict(obj, state='present')
