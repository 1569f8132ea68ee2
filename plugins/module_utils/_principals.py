# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The principals family: logins and database users. Read -> compare -> statements.

The only copy of this logic: the ``login`` and ``user`` modules and ``partner_trust`` (through
``_trust``) all call it. Reads are SQL text (one result set per SELECT) that a module puts into its
single read batch; ``parse_*`` turn the rows into plain dicts; ``plan_*`` compare them with what is
wanted and return ``Statement`` objects carrying this family's error hints, which the module hands to
the ChangeRecorder. Every rule SQL Server enforces and that can be checked without the server is
checked here, before any statement runs.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import secrets
import string

from ansible_collections.mssql.hadr.plugins.module_utils._catalog import (
    LOGIN_TYPES, LOGIN_TYPE_CODES_SQL, ModuleFailure, name_in, same_name, statement_maker, with_common_hints)
from ansible_collections.mssql.hadr.plugins.module_utils._tsql import (
    PASSWORD_MAX_LENGTH, TsqlValueError, binary_literal, parse_hex, quote_name, quote_string, sysname_length,
    validate_sysname)

SQL_LOGIN_SID_BYTES = 16           # 15419: "Supplied parameter sid should be binary(16)."

# SQL Server errors a user can act on, with what to do (tsql.md section 5).
HINTS = with_common_hints({
    15401: 'SQL Server cannot resolve the Windows account %s. Check the DOMAIN\\name spelling and that the '
           "instance's machine can reach that domain (a trust, or a local account of that machine).",
    15407: '%s is not a valid Windows account name; give it as DOMAIN\\name (not user@domain).',
    15434: 'Cannot drop %s while it is logged in. End its sessions (KILL) or disable it first, then run again.',
    15141: '%s owns server objects (an endpoint, for example); transfer them with ALTER AUTHORIZATION first.',
    15155: '%s owns a server object; transfer it with ALTER AUTHORIZATION first.',
    15173: '%s has granted permissions to others; revoke them before dropping it.',
    15138: '%s owns objects in the database (certificates or schemas); drop them or change their owner first.',
    15154: '%s owns objects in the database (certificates or schemas); drop them or change their owner first.',
    15063: 'The login already has a user under a different name in this database, so %s cannot be created.',
    15025: '%s already exists (SQL Server compares names case-insensitively, or the SID is taken).',
    15433: 'The sid given for %s is already used by another login.',
})


# A statement on a login or user, with this family's error hints.
statement = statement_maker(HINTS)


def random_password(length=40):
    """A password meeting any Windows complexity policy: every character class, no quote or bracket."""
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, '!#%*+-.=?@_~']
    chars = [secrets.choice(pool) for pool in pools]
    alphabet = ''.join(pools)
    chars += [secrets.choice(alphabet) for dummy in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return ''.join(chars)


# ---------------------------------------------------------------------------------------------------
# Logins


def logins_sql(names):
    """(sql, params): 1 result set, the logins among ``names`` with everything the login family compares."""
    names = list(names)
    return ("SELECT p.principal_id, p.name, p.sid, p.type, p.is_disabled, p.default_database_name,"
            " l.is_policy_checked, l.is_expiration_checked, c.name AS certificate_name"
            " FROM sys.server_principals AS p"
            " LEFT JOIN sys.sql_logins AS l ON l.principal_id = p.principal_id"
            " LEFT JOIN master.sys.certificates AS c ON c.sid = p.sid"
            " WHERE p.type IN %s AND %s;" % (LOGIN_TYPE_CODES_SQL, name_in('p.name', names)), names)


def password_matches_sql(name, password):
    """(sql, params): 1 set with ``matches`` (1/0): PWDCOMPARE, so the password never appears in SQL text."""
    return ("SELECT CAST(PWDCOMPARE(?, password_hash) AS int) AS matches FROM sys.sql_logins WHERE name = ?;",
            [password, name])


def owned_endpoints_sql(name):
    return ("SELECT e.name FROM sys.endpoints AS e JOIN sys.server_principals AS p"
            " ON p.principal_id = e.principal_id WHERE p.name = ?;", [name])


def parse_login(row):
    if row is None:
        return None
    login_type = LOGIN_TYPES.get(row['type'], row['type'])
    sql = login_type == 'sql'
    return {
        'name': row['name'],
        'type': login_type,
        'sid': '0x' + bytes(row['sid']).hex().upper() if row['sid'] is not None else None,
        'default_database': row['default_database_name'],
        'enabled': not row['is_disabled'],
        'check_policy': bool(row['is_policy_checked']) if sql else None,
        'check_expiration': bool(row['is_expiration_checked']) if sql else None,
        'certificate': row['certificate_name'] if login_type == 'certificate' else None,
    }


def desired_login(params):
    """The login the options describe, after SQL Server's own rules; raises ModuleFailure on bad input."""
    name = validate_sysname(params['name'], 'name')
    login_type = params.get('type') or ('windows' if '\\' in name else 'sql')
    password = params.get('password')
    check_policy, check_expiration = params.get('check_policy'), params.get('check_expiration')
    certificate, sid = params.get('certificate'), params.get('sid')
    if login_type == 'sql':
        if '\\' in name:
            raise ModuleFailure("SQL login names cannot contain a backslash ('%s'); for a Windows account use "
                                "type: windows." % name, option='name')
        if certificate:
            raise ModuleFailure('certificate applies to type: certificate logins only.', option='certificate')
        if check_policy is None:
            check_policy = True
        if check_expiration is None:
            check_expiration = False
        if check_expiration and not check_policy:
            raise ModuleFailure('check_expiration: true needs check_policy: true; SQL Server refuses the combination '
                                '(error 15122: The CHECK_EXPIRATION option cannot be used when CHECK_POLICY is OFF).',
                                option='check_expiration', error_number=15122)
        if password is not None:
            if password == '':
                raise ModuleFailure('password must not be empty.', option='password')
            if sysname_length(password) > PASSWORD_MAX_LENGTH:
                # Counted in UTF-16 code units, as LOGIN7 carries it: a longer password could never log in.
                raise ModuleFailure('password is %d characters long (UTF-16 code units; a character outside the '
                                    'Basic Multilingual Plane counts twice); SQL Server passwords hold at most %d.'
                                    % (sysname_length(password), PASSWORD_MAX_LENGTH), option='password')
            quote_string(password, 'password')
        if sid is not None:
            try:
                raw = parse_hex(sid, 'sid')
            except TsqlValueError as exc:
                raise ModuleFailure(str(exc), option='sid')
            if len(raw) != SQL_LOGIN_SID_BYTES:
                raise ModuleFailure('sid must be 16 bytes (32 hex digits) for a SQL login, got %d bytes (SQL Server '
                                    'error 15419). Copy it from sys.server_principals on the first replica.'
                                    % len(raw), option='sid', error_number=15419)
            sid = '0x' + raw.hex().upper()
    else:
        for option, value in (('password', password), ('sid', sid)):
            if value is not None:
                raise ModuleFailure('%s applies to type: sql logins only, not to a %s login.' % (option, login_type),
                                    option=option)
        for option, value in (('check_policy', check_policy), ('check_expiration', check_expiration)):
            if value is not None:
                raise ModuleFailure('%s applies to type: sql logins only (SQL Server error 15171 for certificate '
                                    'logins: Cannot use the parameter "%s").' % (option, option.upper()),
                                    option=option, error_number=15171)
        if login_type == 'windows':
            if certificate:
                raise ModuleFailure('certificate applies to type: certificate logins only.', option='certificate')
            domain, dummy, account = name.partition('\\')
            if not domain or not account or '@' in name:
                raise ModuleFailure("'%s' is not a valid Windows account name: give it as DOMAIN\\name (SQL Server "
                                    'error 15407).' % name, option='name', error_number=15407)
        elif login_type == 'certificate':
            if not certificate:
                raise ModuleFailure('type: certificate needs certificate: the name of a certificate in master.',
                                    option='certificate')
            validate_sysname(certificate, 'certificate')
    database = validate_sysname(params.get('default_database') or 'master', 'default_database')
    return {
        'name': name, 'type': login_type, 'password': password,
        'update_password': params.get('update_password') or 'on_create',
        'check_policy': check_policy, 'check_expiration': check_expiration, 'sid': sid,
        'default_database': database if login_type != 'certificate' else None,
        'enabled': params.get('enabled', True) is not False, 'certificate': certificate,
    }


def create_login_sql(spec):
    name = quote_name(spec['name'], 'name')
    if spec['type'] == 'windows':
        return 'CREATE LOGIN %s FROM WINDOWS WITH DEFAULT_DATABASE = %s' % (
            name, quote_name(spec['default_database'], 'default_database'))
    if spec['type'] == 'certificate':
        return 'CREATE LOGIN %s FROM CERTIFICATE %s' % (name, quote_name(spec['certificate'], 'certificate'))
    options = ['PASSWORD = %s' % quote_string(spec['password'], 'password')]
    if spec['sid']:
        options.append('SID = %s' % binary_literal(parse_hex(spec['sid'])))
    options += ['DEFAULT_DATABASE = %s' % quote_name(spec['default_database'], 'default_database'),
                'CHECK_POLICY = %s' % ('ON' if spec['check_policy'] else 'OFF'),
                'CHECK_EXPIRATION = %s' % ('ON' if spec['check_expiration'] else 'OFF')]
    return 'CREATE LOGIN %s WITH %s' % (name, ', '.join(options))


def plan_login(current, spec, password_matches=None):
    """(statements, after) that turn ``current`` (parse_login dict or None) into ``spec`` (desired_login)."""
    subject = 'login %s' % spec['name']
    if current is None:
        if spec['type'] == 'sql' and not spec['password']:
            raise ModuleFailure("password is required to create SQL login '%s'." % spec['name'], option='password')
        statements = [statement(create_login_sql(spec), [spec['password']], subject)]
        if not spec['enabled']:
            statements.append(statement('ALTER LOGIN %s DISABLE' % quote_name(spec['name']), subject=subject))
        after = {key: spec[key] for key in ('type', 'sid', 'default_database', 'enabled', 'check_policy',
                                            'check_expiration', 'certificate')}
        after['name'] = spec['name']
        return statements, after
    if current['type'] != spec['type']:
        raise ModuleFailure("Login '%s' exists as a %s login, not %s. SQL Server cannot change a login's type: drop it "
                            'first (state: absent), then create it again.' % (current['name'], current['type'],
                                                                              spec['type']), option='type')
    name = quote_name(current['name'])
    after = dict(current)
    options = []
    if spec['type'] == 'sql':
        if spec['sid'] and current['sid'] and spec['sid'].upper() != current['sid'].upper():
            raise ModuleFailure("Login '%s' has SID %s, not %s. A login's SID cannot change: drop the login and create "
                                'it again with the SID.' % (current['name'], current['sid'], spec['sid']), option='sid')
        if spec['password'] and spec['update_password'] == 'always' and not password_matches:
            options.append('PASSWORD = %s' % quote_string(spec['password'], 'password'))
    if spec['type'] == 'certificate' and not same_name(current['certificate'], spec['certificate']):
        raise ModuleFailure("Login '%s' is mapped to certificate '%s', not '%s'. The certificate of a login cannot change: "
                            'drop the login first (state: absent).' % (current['name'], current['certificate'],
                                                                       spec['certificate']), option='certificate')
    if spec['default_database'] and not same_name(current['default_database'], spec['default_database']):
        options.append('DEFAULT_DATABASE = %s' % quote_name(spec['default_database'], 'default_database'))
        after['default_database'] = spec['default_database']
    if spec['type'] == 'sql':
        if current['check_policy'] != spec['check_policy']:
            options.append('CHECK_POLICY = %s' % ('ON' if spec['check_policy'] else 'OFF'))
            after['check_policy'] = spec['check_policy']
        if current['check_expiration'] != spec['check_expiration']:
            options.append('CHECK_EXPIRATION = %s' % ('ON' if spec['check_expiration'] else 'OFF'))
            after['check_expiration'] = spec['check_expiration']
    statements = []
    if options:
        statements.append(statement('ALTER LOGIN %s WITH %s' % (name, ', '.join(options)), [spec['password']],
                                    subject))
    if current['enabled'] != spec['enabled']:
        statements.append(statement('ALTER LOGIN %s %s' % (name, 'ENABLE' if spec['enabled'] else 'DISABLE'),
                                    subject=subject))
        after['enabled'] = spec['enabled']
    return statements, after


def plan_drop_login(current, owned_endpoints):
    if current is None:
        return []
    if owned_endpoints:
        raise ModuleFailure("Login '%s' owns endpoint %s and cannot be dropped (SQL Server error 15141). Give the "
                            'endpoint another owner first (endpoint module, owner option).'
                            % (current['name'], ', '.join("'%s'" % e for e in owned_endpoints)),
                            owned_endpoints=owned_endpoints, error_number=15141)
    return [statement('DROP LOGIN %s' % quote_name(current['name']), subject='login %s' % current['name'])]


# ---------------------------------------------------------------------------------------------------
# Database users (reads and statements run in the user's database: see switch_database)


def users_sql(names=None):
    """(sql, params): 1 set, the users among ``names`` (every user when None) with what each maps to."""
    names = list(names) if names is not None else None
    where = ' AND %s' % name_in('dp.name', names) if names is not None else ''
    return ("SELECT dp.principal_id, dp.name, dp.type, dp.authentication_type, sp.name AS login_name,"
            " c.name AS certificate_name"
            " FROM sys.database_principals AS dp"
            " LEFT JOIN sys.server_principals AS sp ON sp.sid = dp.sid AND dp.type IN ('S', 'U', 'G')"
            " LEFT JOIN sys.certificates AS c ON c.sid = dp.sid AND dp.type = 'C'"
            " WHERE dp.type IN %s%s;" % (LOGIN_TYPE_CODES_SQL, where), names or [])


def users_of_logins_sql(logins):
    """(sql, params): 1 set, the users in this database mapped to the logins among ``logins`` (15063)."""
    logins = list(logins)
    return ("SELECT dp.name, sp.name AS login_name FROM sys.database_principals AS dp"
            " JOIN sys.server_principals AS sp ON sp.sid = dp.sid WHERE %s;" % name_in('sp.name', logins), logins)


def parse_user(row):
    if row is None:
        return None
    if row['type'] == 'C':
        mapping = {'certificate': row['certificate_name']}
    elif row['login_name'] is not None:
        mapping = {'login': row['login_name']}
    elif row['type'] == 'S' and row.get('authentication_type') in (0, None):
        mapping = {'without_login': True}
    else:
        mapping = {'orphaned': True}
    user = {'name': row['name'], 'login': None, 'certificate': None, 'without_login': False}
    user.update(mapping)
    return user


def describe_mapping(user):
    if user.get('login'):
        return "login '%s'" % user['login']
    if user.get('certificate'):
        return "certificate '%s'" % user['certificate']
    if user.get('without_login'):
        return 'no login (WITHOUT LOGIN)'
    return 'a login that no longer exists (orphaned)'


def desired_user(params):
    name = validate_sysname(params['name'], 'name')
    login, certificate = params.get('login'), params.get('certificate')
    without_login = bool(params.get('without_login'))
    if sum(1 for value in (login, certificate, without_login) if value) > 1:
        raise ModuleFailure('Give only one of login, certificate and without_login.')
    if not certificate and not without_login and not login:
        login = name          # CREATE USER without FOR LOGIN maps to the login of the same name
    if login:
        validate_sysname(login, 'login')
    if certificate:
        validate_sysname(certificate, 'certificate')
    return {'name': name, 'login': login, 'certificate': certificate, 'without_login': without_login}


def create_user_sql(spec):
    name = quote_name(spec['name'], 'name')
    if spec['certificate']:
        return 'CREATE USER %s FOR CERTIFICATE %s' % (name, quote_name(spec['certificate'], 'certificate'))
    if spec['without_login']:
        return 'CREATE USER %s WITHOUT LOGIN' % name
    return 'CREATE USER %s FOR LOGIN %s' % (name, quote_name(spec['login'], 'login'))


def plan_user(current, spec, database, login_exists=True, users_of_login=(), certificate_exists=True):
    """(statements, after) to create the user when missing; fails when it exists mapped to something else."""
    if current is not None:
        same = ((spec['login'] and same_name(current['login'], spec['login']))
                or (spec['certificate'] and same_name(current['certificate'], spec['certificate']))
                or (spec['without_login'] and current['without_login']))
        if not same:
            raise ModuleFailure("User '%s' in database '%s' is mapped to %s, not %s. Drop it first (state: absent) or "
                                'choose another user name.' % (current['name'], database, describe_mapping(current),
                                                               describe_mapping(spec)))
        return [], dict(current)
    if spec['login'] and not login_exists:
        raise ModuleFailure("Login '%s' does not exist, so user '%s' cannot be mapped to it: create the login first "
                            '(mssql.hadr.login).' % (spec['login'], spec['name']), option='login')
    if spec['login']:
        others = [u for u in users_of_login if not same_name(u, spec['name'])]
        if others:
            raise ModuleFailure("Login '%s' already has user '%s' in database '%s'; SQL Server allows one user per login and "
                                'database (error 15063).' % (spec['login'], others[0], database),
                                option='login', error_number=15063)
    if spec['certificate'] and not certificate_exists:
        raise ModuleFailure("Certificate '%s' does not exist in database '%s': import it first (mssql.hadr.certificate)."
                            % (spec['certificate'], database), option='certificate')
    after = dict(spec)
    return [statement(create_user_sql(spec), subject='user %s' % spec['name'])], after


def plan_drop_user(current, owned_certificates, database):
    if current is None:
        return []
    owned = sorted(owned_certificates)
    if owned:
        raise ModuleFailure("User '%s' owns certificate(s) %s in database '%s' and cannot be dropped (SQL Server refuses "
                            'too). Drop those certificates or give them another owner first.'
                            % (current['name'], ', '.join("'%s'" % c for c in owned), database),
                            owned_certificates=owned)
    return [statement('DROP USER %s' % quote_name(current['name']), subject='user %s' % current['name'])]
