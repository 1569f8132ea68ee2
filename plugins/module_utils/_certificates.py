# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificates family: database master key and certificates. Read -> compare -> statements.

The only copy of this logic: ``master_key``, ``certificate``, ``user``, ``endpoint``, ``endpoint_info``
and ``partner_trust`` (through ``_trust``) use it. Like _principals.py, reads are SQL text for a
module's single read batch, and the planning is pure. X.509 and key formats (parsing, thumbprints,
PVK) live in _x509.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import datetime
import os

from ansible_collections.mssql.hadr.plugins.module_utils import _x509
from ansible_collections.mssql.hadr.plugins.module_utils._catalog import (
    ModuleFailure, hex_lower, iso_utc, same_name, statement_maker, utcnow, with_common_hints)
from ansible_collections.mssql.hadr.plugins.module_utils._endpoint import holds_connect
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import (
    binary_literal, quote_name, quote_string, validate_sysname)
from ansible_collections.mssql.hadr.plugins.module_utils.mssql import MssqlError

MASTER_KEY_NAME = '##MS_DatabaseMasterKey##'
SUBJECT_MAX_LENGTH = 128          # 15212; SQL Server on Linux enforces 64, which it reports itself
PRIVATE_KEY_PROTECTION = {'NA': 'none', 'MK': 'master_key', 'PW': 'password', 'SK': 'service_master_key'}

HINTS = with_common_hints({
    15232: 'A certificate named %s, or the same certificate (issuer and serial number) under another name, is '
           'already in this database.',
    15352: '%s is still used (by an endpoint, a login or a user mapped to it); remove that use first.',
    15465: 'SQL Server could not decrypt the private key of %s (PVK password).',
    15474: 'The private key does not match the public key of %s.',
    15208: 'SQL Server refused the certificate data of %s as invalid.',
    15212: 'The subject of %s is too long for this SQL Server (at most 64 characters on Linux, 128 on Windows).',
    15313: 'The password does not open %s: give the password the key was created with (the module never '
           'regenerates a key).',
})


# A statement on a master key or certificate, with this family's error hints.
statement = statement_maker(HINTS)

# ---------------------------------------------------------------------------------------------------
# Master key (reads and statements run in the key's database: _catalog.switch_database)


def master_key_sql(database):
    """(sql, params): 3 sets - the key, whether the service master key protects it, certificates it protects."""
    return ("SELECT name, key_length, algorithm_desc FROM sys.symmetric_keys WHERE name = '%s';"
            " SELECT is_master_key_encrypted_by_server FROM sys.databases WHERE name = ?;"
            " SELECT name FROM sys.certificates WHERE pvt_key_encryption_type = 'MK';" % MASTER_KEY_NAME, [database])


MASTER_KEY_RESULT_SETS = 3

# 2 sets: the master key of master and whether the service master key protects it, read from any database
# (endpoint_info does not switch to master).
MASTER_KEY_OF_MASTER_SQL = (
    "SELECT k.name FROM master.sys.symmetric_keys AS k WHERE k.name = '%s';"
    " SELECT d.is_master_key_encrypted_by_server FROM sys.databases AS d WHERE d.name = 'master';" % MASTER_KEY_NAME)


def parse_master_key(key_rows, database_rows, database):
    return {
        'database': database,
        'exists': bool(key_rows),
        'encrypted_by_service_master_key': bool(key_rows) and bool(
            database_rows and database_rows[0]['is_master_key_encrypted_by_server']),
    }


def open_master_key_sql(password, database):
    return statement('OPEN MASTER KEY DECRYPTION BY PASSWORD = %s' % quote_string(password, 'password'), [password],
                     "the master key of database '%s'" % database)


def plan_master_key(current, state, password, service_master_key_encryption, protected_certificates=()):
    """(statements, after). Never regenerates or recreates an existing key."""
    subject = 'the master key of database %s' % current['database']
    after = dict(current)
    if state == 'absent':
        if not current['exists']:
            return [], after
        if protected_certificates:
            raise ModuleFailure("The master key of database '%s' protects the private key of certificate(s) %s; dropping "
                                'it would make them unusable. Drop those certificates first.'
                                % (current['database'], ', '.join("'%s'" % c for c in protected_certificates)),
                                protected_certificates=list(protected_certificates))
        after.update(exists=False, encrypted_by_service_master_key=False)
        return [statement('DROP MASTER KEY', subject=subject)], after
    statements = []
    if not current['exists']:
        if not password:
            raise ModuleFailure("password is required to create the master key of database '%s'." % current['database'],
                                option='password')
        statements.append(statement('CREATE MASTER KEY ENCRYPTION BY PASSWORD = %s' % quote_string(password, 'password'),
                                    [password], subject))
        # SQL Server protects a new key with the service master key too (CREATE MASTER KEY remarks).
        after.update(exists=True, encrypted_by_service_master_key=True)
    if service_master_key_encryption and not after['encrypted_by_service_master_key']:
        if not password:
            raise ModuleFailure("The master key of database '%s' is not protected by the service master key; give its "
                                'password so the module can open it and add that protection (endpoint certificates '
                                'need a master key that opens without a password).' % current['database'],
                                option='password')
        statements += [open_master_key_sql(password, current['database']),
                       statement('ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY', subject=subject)]
        after['encrypted_by_service_master_key'] = True
    elif not service_master_key_encryption and after['encrypted_by_service_master_key']:
        statements.append(statement('ALTER MASTER KEY DROP ENCRYPTION BY SERVICE MASTER KEY', subject=subject))
        after['encrypted_by_service_master_key'] = False
    return statements, after


# ---------------------------------------------------------------------------------------------------
# Certificates (reads run in the certificate's database)

def certificates_sql(database=None):
    """1 set: every certificate with its owner, public DER (CERTENCODED), owner's login and the login and user
    mapped to it. The one certificate read: of the session's database, or of ``database`` named explicitly
    (the endpoint modules read master's without switching to it)."""
    prefix = '%s.' % quote_name(database, 'database') if database else ''
    return ("SELECT c.certificate_id, c.name, c.thumbprint, c.subject, c.issuer_name, c.cert_serial_number,"
            " c.start_date, c.expiry_date, c.pvt_key_encryption_type, c.key_length, dp.name AS owner,"
            " CERTENCODED(c.certificate_id) AS der, sl.name AS login_name, su.name AS user_name,"
            " ol.name AS owner_login"
            " FROM {0}sys.certificates AS c"
            " LEFT JOIN {0}sys.database_principals AS dp ON dp.principal_id = c.principal_id"
            " LEFT JOIN sys.server_principals AS ol ON ol.sid = dp.sid"
            " LEFT JOIN sys.server_principals AS sl ON sl.sid = c.sid AND sl.type = 'C'"
            " LEFT JOIN {0}sys.database_principals AS su ON su.sid = c.sid AND su.type = 'C';".format(prefix))


CERTIFICATES_SQL = certificates_sql()


def parse_certificate(row, now=None):
    """The certificate as modules return it (thumbprint lowercase hex, dates ISO 8601 UTC)."""
    if row is None:
        return None
    der = bytes(row['der']) if row['der'] is not None else None
    key_length = row.get('key_length')
    if key_length is None and der is not None:
        key_length = _x509.describe(_x509.load_certificate(der))['key_length']
    expiry = row['expiry_date']
    now = now or utcnow()
    return {
        'name': row['name'],
        'thumbprint': hex_lower(row['thumbprint']),
        'subject': row['subject'],
        'issuer': row['issuer_name'],
        'serial': row['cert_serial_number'],
        'start_date': iso_utc(row['start_date']),
        'expiry_date': iso_utc(expiry),
        'days_to_expiry': (expiry - now).days if expiry is not None else None,
        'has_private_key': row['pvt_key_encryption_type'] not in (None, 'NA'),
        'private_key_encryption': PRIVATE_KEY_PROTECTION.get(row['pvt_key_encryption_type'],
                                                             row['pvt_key_encryption_type']),
        'key_length': key_length,
        'owner': row['owner'],
        'pem': _x509.der_to_pem(der) if der is not None else None,
        'der_base64': base64.b64encode(der).decode('ascii') if der is not None else None,
    }


def endpoint_view(row, endpoint, grantees, now=None):
    """A master certificate as endpoint_info returns it: the certificate, and how it serves the endpoint's trust
    (used by the endpoint; its owner's login or the login mapped to it holds CONNECT)."""
    cert = parse_certificate(row, now)
    has_connect = {name.casefold() for name in grantees}
    endpoint_owner = endpoint['owner'].casefold() if endpoint and endpoint['owner'] else None
    view = {key: cert[key] for key in ('name', 'thumbprint', 'subject', 'issuer', 'serial', 'start_date',
                                       'expiry_date', 'days_to_expiry', 'has_private_key', 'private_key_encryption')}
    view.update({
        'used_by_endpoint': bool(endpoint and same_name(endpoint['certificate'], row['name'])),
        'owner_user': row['owner'],
        'owner_login': row['owner_login'],
        'login_has_connect': bool(row['owner_login']) and row['owner_login'].casefold() in has_connect | {
            endpoint_owner},
        'certificate_login': row['login_name'],
        'certificate_login_has_connect': bool(row['login_name']) and row['login_name'].casefold() in has_connect,
        'pem': cert['pem'],
    })
    return view


def owned_by(rows, user):
    """The certificate rows owned by database user ``user``."""
    return [row for row in rows if same_name(row['owner'], user)]


def certificate_users(row):
    """Who uses a certificate row besides its owner: a login or user mapped to it."""
    users = []
    if row.get('login_name'):
        users.append("login '%s'" % row['login_name'])
    if row.get('user_name'):
        users.append("user '%s'" % row['user_name'])
    return users


def certificate_uses(row, context, database):
    """(in_use_by, lets_partner_in) for a certificate row: who uses it (endpoint, mapped login or user), and
    whether removing it can cut a partner off (it is used, or its owner's or mapped login holds CONNECT)."""
    if row is None:
        return [], False
    in_use_by = certificate_users(row)
    endpoint = context['endpoint']
    if endpoint and same_name(database, 'master') and same_name(endpoint['certificate'], row['name']):
        in_use_by.insert(0, "endpoint '%s'" % endpoint['name'])
    lets_partner_in = bool(in_use_by) or holds_connect(context, row.get('owner_login')) or holds_connect(
        context, row.get('login_name'))
    return in_use_by, lets_partner_in


def find_by_thumbprint(rows, thumbprint):
    """The certificate row with this thumbprint (SQL Server keeps a certificate once per database), or None."""
    if not thumbprint:
        return None
    return next((row for row in rows if hex_lower(row['thumbprint']) == thumbprint), None)


def _date(value, option):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    text = str(value).strip().replace('T', ' ').rstrip('Z')
    for fmt in ('%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d'):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise ModuleFailure("%s '%s' is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)." % (option, value),
                        option=option)


def desired_certificate(params, now=None):
    """The wanted certificate with its source parsed and validated (raises ModuleFailure before any statement)."""
    name = validate_sysname(params['name'], 'name')
    if params.get('owner'):
        validate_sysname(params['owner'], 'owner')
    sources = [key for key in ('subject', 'public_certificate', 'pkcs12') if params.get(key)]
    spec = {'name': name, 'owner': params.get('owner'), 'source': sources[0] if sources else None,
            'cert': None, 'key': None, 'thumbprint': None}
    if params.get('state', 'present') == 'absent':
        return spec
    if len(sources) != 1:
        raise ModuleFailure('Give exactly one certificate source: subject (generated by SQL Server), '
                            'public_certificate (a partner\'s public certificate) or pkcs12 (with its private key); '
                            'got %s.' % (', '.join(sources) or 'none'))
    now = now or utcnow()
    try:
        if spec['source'] == 'subject':
            subject = params['subject']
            if not 1 <= len(subject) <= SUBJECT_MAX_LENGTH:
                raise ModuleFailure('subject must have 1 to %d characters (SQL Server error 15212; SQL Server on Linux '
                                    'allows 64).' % SUBJECT_MAX_LENGTH, option='subject', error_number=15212)
            quote_string(subject, 'subject')
            start = _date(params.get('start_date'), 'start_date')
            expiry = _date(params.get('expiry_date'), 'expiry_date')
            if params.get('valid_days') is not None:
                if expiry is not None:
                    raise ModuleFailure('Give expiry_date or valid_days, not both.', option='valid_days')
                if params['valid_days'] < 1:
                    raise ModuleFailure('valid_days must be at least 1.', option='valid_days')
                expiry = (start or now.replace(microsecond=0)) + datetime.timedelta(days=params['valid_days'])
            if start and expiry and expiry <= start:
                raise ModuleFailure('expiry_date %s is not after start_date %s.' % (expiry, start),
                                    option='expiry_date')
            spec.update(subject=subject, start_date=start, expiry_date=expiry)
        elif spec['source'] == 'public_certificate':
            spec['cert'] = _x509.load_certificate(params['public_certificate'], 'public_certificate')
        else:
            data = _x509.read_pkcs12_source(params['pkcs12'], 'pkcs12')
            spec['cert'], spec['key'] = _x509.load_pkcs12(data, params.get('pkcs12_password'), 'pkcs12')
    except _x509.CertificateError as exc:
        raise ModuleFailure(str(exc), option=spec['source'])
    if spec['cert'] is not None:
        spec['der'] = _x509.certificate_der(spec['cert'])
        spec['thumbprint'] = _x509.thumbprint(spec['der'])
    return spec


def expiry_warning(name, expiry_iso, days_to_expiry, warn_days):
    if days_to_expiry is None:
        return None
    if days_to_expiry < 0:
        return "Certificate '%s' expired on %s; an endpoint cannot use it (SQL Server error 28055) and partners " \
               'reject it in the handshake. Renew it.' % (name, expiry_iso)
    if days_to_expiry < warn_days:
        return "Certificate '%s' expires on %s, in %d day(s) (warn_days: %d). Plan its rotation." % (
            name, expiry_iso, days_to_expiry, warn_days)
    return None


def _date_literal(value):
    return "'%s'" % value.strftime('%Y%m%d %H:%M:%S')


def create_certificate_sql(spec):
    """(sql, secrets): CREATE CERTIFICATE for a generated, public-only or PKCS#12 certificate."""
    head = 'CREATE CERTIFICATE %s' % quote_name(spec['name'], 'name')
    if spec.get('owner'):
        head += ' AUTHORIZATION %s' % quote_name(spec['owner'], 'owner')
    if spec['source'] == 'subject':
        options = ['SUBJECT = %s' % quote_string(spec['subject'], 'subject')]
        if spec.get('start_date'):
            options.append('START_DATE = %s' % _date_literal(spec['start_date']))
        if spec.get('expiry_date'):
            options.append('EXPIRY_DATE = %s' % _date_literal(spec['expiry_date']))
        return '%s WITH %s' % (head, ', '.join(options)), ()
    sql = '%s FROM BINARY = %s' % (head, binary_literal(spec['der']))
    if spec['source'] == 'public_certificate':
        return sql, ()
    clause, secrets = private_key_clause(spec['key'])
    return '%s WITH %s' % (sql, clause), secrets


def private_key_clause(key):
    """(PRIVATE KEY (...) clause, secrets). The PVK travels encrypted under a fresh random ASCII password.

    ASCII because the text encoding SQL Server uses for a PVK password is not documented (tsql.md 8):
    ASCII bytes are the same in every single-byte and UTF-8 encoding. No ENCRYPTION BY PASSWORD: the
    imported key is then protected by the database master key, as endpoints require (28055).
    """
    password = base64.b32encode(os.urandom(20)).decode('ascii')
    pvk = _x509.pvk_from_key(key, password)
    clause = 'PRIVATE KEY (BINARY = %s, DECRYPTION BY PASSWORD = %s)' % (binary_literal(pvk), quote_string(password))
    return clause, (pvk, password)


def plan_certificate(current, spec, database, replace=False, in_use_by=(), master_key_exists=True,
                     same_thumbprint_elsewhere=None):
    """(statements, action) to make the certificate match ``spec``.

    ``current`` is the raw catalog row (or None); ``in_use_by`` lists who uses it (endpoint, login, user);
    ``same_thumbprint_elsewhere`` is the name of another certificate in the database with the wanted thumbprint.
    ``action`` is one of none, create, replace, add_private_key, owner.
    """
    subject = 'certificate %s' % spec['name']
    needs_master_key = spec['source'] in ('subject', 'pkcs12')
    statements, action = [], 'none'
    matches = current is not None and _matches(current, spec)
    if current is None or not matches:
        if current is not None and not replace:
            raise ModuleFailure(
                "Certificate '%s' in database '%s' is a different certificate (thumbprint %s, %s) from the one asked for "
                '(%s). Use another name, or replace: true to drop and recreate it.'
                % (spec['name'], database, hex_lower(current['thumbprint']),
                   'with private key' if current['pvt_key_encryption_type'] != 'NA' else 'public only',
                   spec['thumbprint'] or "generated with subject '%s'" % spec.get('subject')),
                option='replace')
        if current is not None and in_use_by:
            raise ModuleFailure("Refusing to replace certificate '%s': it is used by %s. Point those at another "
                                'certificate first.' % (spec['name'], ', '.join(in_use_by)), used_by=list(in_use_by))
        if same_thumbprint_elsewhere and not (current is not None and same_name(same_thumbprint_elsewhere,
                                                                                current['name'])):
            raise ModuleFailure("This certificate (thumbprint %s) is already in database '%s' as '%s'; SQL Server keeps a "
                                'certificate only once (error 15232). Use that name.'
                                % (spec['thumbprint'], database, same_thumbprint_elsewhere), error_number=15232)
        if needs_master_key and not master_key_exists:
            raise ModuleFailure("Database '%s' has no master key, which protects the private key of certificate '%s' "
                                '(SQL Server error 15581). Run mssql.hadr.master_key first.'
                                % (database, spec['name']), error_number=15581)
        if current is not None:
            statements.append(statement('DROP CERTIFICATE %s' % quote_name(current['name']), subject=subject))
            action = 'replace'
        else:
            action = 'create'
        sql, secrets = create_certificate_sql(spec)
        statements.append(statement(sql, secrets, subject))
        return statements, action
    if spec['source'] == 'pkcs12' and current['pvt_key_encryption_type'] == 'NA':
        if not master_key_exists:
            raise ModuleFailure("Database '%s' has no master key to protect the private key of certificate '%s' "
                                '(SQL Server error 15581). Run mssql.hadr.master_key first.' % (database, spec['name']),
                                error_number=15581)
        clause, secrets = private_key_clause(spec['key'])
        statements.append(statement('ALTER CERTIFICATE %s WITH %s' % (quote_name(current['name']), clause), secrets,
                                    subject))
        action = 'add_private_key'
    if spec.get('owner') and not same_name(current['owner'], spec['owner']):
        statements.append(statement('ALTER AUTHORIZATION ON CERTIFICATE::%s TO %s' % (
            quote_name(current['name']), quote_name(spec['owner'], 'owner')), subject=subject))
        action = 'owner' if action == 'none' else action
    return statements, action


def _matches(row, spec):
    if spec['source'] == 'subject':
        # A generated certificate matches when it exists with its private key (dates are not compared).
        return row['pvt_key_encryption_type'] != 'NA'
    return hex_lower(row['thumbprint']) == spec['thumbprint']


def predicted_certificate(spec, owner_default=None, now=None):
    """The certificate as it will be after creation (check mode, or the partner_trust result)."""
    now = now or utcnow()
    if spec.get('cert') is not None:
        facts = _x509.describe(spec['cert'])
        expiry = facts['expiry_date'].replace(tzinfo=None)
        return {
            'name': spec['name'], 'thumbprint': facts['thumbprint'], 'subject': facts['subject'],
            'issuer': facts['issuer'], 'serial': facts['serial'],
            'start_date': iso_utc(facts['start_date'].replace(tzinfo=None)), 'expiry_date': iso_utc(expiry),
            'days_to_expiry': (expiry - now).days, 'has_private_key': spec['key'] is not None,
            'private_key_encryption': 'master_key' if spec['key'] is not None else 'none',
            'key_length': facts['key_length'], 'owner': spec.get('owner') or owner_default,
            'pem': facts['pem'], 'der_base64': facts['der_base64'],
        }
    start = spec.get('start_date') or now
    expiry = spec.get('expiry_date') or start + datetime.timedelta(days=365)
    return {'name': spec['name'], 'thumbprint': None, 'subject': spec.get('subject'), 'issuer': spec.get('subject'),
            'serial': None, 'start_date': iso_utc(start), 'expiry_date': iso_utc(expiry),
            'days_to_expiry': (expiry - now).days, 'has_private_key': True, 'private_key_encryption': 'master_key',
            'key_length': None, 'owner': spec.get('owner') or owner_default, 'pem': None, 'der_base64': None}


def plan_drop_certificate(current, in_use_by):
    if current is None:
        return []
    if in_use_by:
        raise ModuleFailure("Refusing to drop certificate '%s': it is used by %s (SQL Server error 15352). Remove that "
                            'use first.' % (current['name'], ', '.join(in_use_by)), used_by=list(in_use_by),
                            error_number=15352)
    return [statement('DROP CERTIFICATE %s' % quote_name(current['name']), subject='certificate %s' % current['name'])]


def verify_master_key_password(conn, password, database):
    """Open and close the key with the password: no change, and the only check SQL Server offers (15313)."""
    opening = open_master_key_sql(password, database)
    try:
        conn.execute(opening.sql)
    except MssqlError as exc:
        failure = opening.failure(exc, option='password')
        if failure is None:
            raise
        raise failure
    conn.execute('CLOSE MASTER KEY')
