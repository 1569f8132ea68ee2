# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology check: can every replica authenticate to every other one? Pure Python, no SQL.

Input: one record per replica (see ``trust_matrix``) holding that replica's ``endpoint_info`` result
and what the play found out about the network (which partner ports answered). Output: the N x N
matrix of ordered pairs ``source -> target`` ("source connects, target accepts"), each with the
reasons it is broken and the fix. ``report_text`` and ``report_markdown`` render it for people.

The rules, from SQL Server's documentation (shared/reference/tsql.md, sections 1.2, 6.3-6.5, 4.9):
- both endpoints exist and are STARTED;
- they share an authentication method (WINDOWS and/or CERTIFICATE; NTLM and KERBEROS never meet;
  NEGOTIATE meets either);
- certificate: the source's endpoint certificate is usable (private key protected by the master
  key, inside its validity dates); the target holds the same certificate (by thumbprint), inside its
  dates, owned by a user that maps to a login with CONNECT on the target's endpoint;
- Windows: the source's service account, as the network sees it, is the target's own account, or a
  login the target granted CONNECT (or the target endpoint's owner);
- encryption: DISABLED never meets REQUIRED; when both sides encrypt they need a common algorithm
  (the accepting side's order wins);
- the target's endpoint port answered from the source (when the play checked it).
Not modelled (could not be verified without a real server): whether SUPPORTED + SUPPORTED with no
common algorithm falls back to no encryption — treated as broken; endpoint ROLE, which only matters
for database mirroring witnesses.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

AUTH_METHODS = {
    'windows': ('windows',),
    'certificate': ('certificate',),
    'windows_certificate': ('windows', 'certificate'),
    'certificate_windows': ('certificate', 'windows'),
}
ALGORITHMS = {'aes': ('aes',), 'rc4': ('rc4',), 'aes_rc4': ('aes', 'rc4'), 'rc4_aes': ('rc4', 'aes')}
MASTER_KEY_PROTECTION = 'master_key'

# Service accounts, lower case, without the domain part where it varies.
_BUILTIN_UNUSABLE = {
    'localsystem': 'LocalSystem', 'nt authority\\system': 'LocalSystem', '.\\localsystem': 'LocalSystem',
    'system': 'LocalSystem',
    'nt authority\\localservice': 'Local Service', 'nt authority\\local service': 'Local Service',
    'localservice': 'Local Service',
}
_NETWORK_SERVICE = ('nt authority\\networkservice', 'nt authority\\network service', 'networkservice')
_VIRTUAL_PREFIX = 'nt service\\'

CERTIFICATE_TOPOLOGY_HINT = ('use the mssql.hadr.certificate_topology role (certificate authentication), '
                             'or run SQL Server under a domain account')


class TopologyInputError(ValueError):
    """The input is not what the topology check expects; the message says what to pass."""


# ---------------------------------------------------------------------------------------------
# small helpers

def parse_utc(value):
    """An ISO 8601 date-time as an aware UTC datetime (``Z`` or an offset; naive means UTC)."""
    if value is None or value == '':
        return None
    if isinstance(value, datetime.datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith('Z') or text.endswith('z'):
            text = text[:-1] + '+00:00'
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise TopologyInputError('not an ISO 8601 date-time: %r (endpoint_info returns dates like '
                                     '2027-01-31T00:00:00Z)' % (value,))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def days_between(now, later):
    """Whole days from ``now`` until ``later`` (negative once passed), rounded down."""
    return int((later - now).total_seconds() // 86400)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _problem(reason, message, fix):
    return {'reason': reason, 'message': message, 'fix': fix}


# ---------------------------------------------------------------------------------------------
# Windows identities

def windows_identity(service_account, computer_account=None):
    """How partners see a SQL Server service account on the network.

    Returns a dict: ``kind`` (domain | virtual | network_service | builtin | local | missing),
    ``network_account`` (the account partners must grant, or None), ``usable`` (bool) and
    ``message`` (why not, and what to do). Virtual accounts (``NT Service\\...``) and Network Service
    authenticate as the computer account ``DOMAIN\\HOST$``, which the caller passes as
    ``computer_account``. LocalSystem, Local Service and accounts local to the computer cannot
    authenticate to another computer with Windows authentication.
    """
    account = (service_account or '').strip()
    low = account.lower()
    if not account:
        return _identity('missing', None, False, 'the service account is not known: set hadr_service_account '
                         'for this replica (DOMAIN\\account)')
    if low in _BUILTIN_UNUSABLE:
        return _identity('builtin', None, False, 'the service runs as %s, which cannot authenticate to other '
                         'computers with Windows authentication: %s'
                         % (_BUILTIN_UNUSABLE[low], CERTIFICATE_TOPOLOGY_HINT))
    if low.startswith(_VIRTUAL_PREFIX) or low in _NETWORK_SERVICE:
        kind = 'network_service' if low in _NETWORK_SERVICE else 'virtual'
        if not computer_account:
            return _identity(kind, None, False, 'the service runs as %s, which partners see as the computer '
                             'account DOMAIN\\HOST$: set hadr_computer_account for this replica' % account)
        if not _is_domain_account(computer_account) or not computer_account.endswith('$'):
            return _identity(kind, None, False, 'hadr_computer_account %r is not of the form DOMAIN\\HOST$'
                             % computer_account)
        return _identity(kind, computer_account, True, 'the service runs as %s; partners see it as %s'
                         % (account, computer_account))
    if '@' in account and '\\' not in account:
        return _identity('domain', None, False, 'SQL Server logins need the pre-Windows 2000 form DOMAIN\\account, '
                         'not the user principal name %s' % account)
    if not _is_domain_account(account):
        return _identity('local', None, False, 'the service runs as %s, an account local to the computer, which '
                         'other computers cannot authenticate: %s' % (account, CERTIFICATE_TOPOLOGY_HINT))
    domain = account.split('\\', 1)[0].lower()
    short_host = computer_account.split('\\', 1)[-1].rstrip('$').lower() if computer_account else None
    if domain in ('.', 'nt authority', 'nt service', 'builtin') or (short_host and domain == short_host):
        return _identity('local', None, False, 'the service runs as %s, an account local to the computer, which '
                         'other computers cannot authenticate: %s' % (account, CERTIFICATE_TOPOLOGY_HINT))
    return _identity('domain', account, True, 'domain account %s' % account)


def _identity(kind, network_account, usable, message):
    return {'kind': kind, 'network_account': network_account, 'usable': usable, 'message': message}


def _is_domain_account(account):
    parts = account.split('\\')
    return len(parts) == 2 and all(part.strip() for part in parts)


# ---------------------------------------------------------------------------------------------
# one replica, normalised

class Replica:
    """What the check needs from one replica record, read once and validated."""

    def __init__(self, record, now):
        if not isinstance(record, dict) or not record.get('name'):
            raise TopologyInputError('each replica record needs a "name" (the inventory host name); got %r'
                                     % (record,))
        self.name = str(record['name'])
        info = record.get('info')
        self.info_error = None
        if not isinstance(info, dict) or info.get('failed'):
            self.info_error = (info or {}).get('msg') if isinstance(info, dict) else None
            info = None
        self.info = info
        self.endpoint = (info or {}).get('endpoint') or None
        self.reachable = dict(record.get('reachable') or {})
        ep = self.endpoint or {}
        self.port = record.get('port') or ep.get('port')
        self.address = record.get('address') or _host_of(ep.get('url')) or self.name
        self.url = ep.get('url') or ('TCP://%s:%s' % (self.address, self.port) if self.port else None)
        server = (info or {}).get('server') or {}
        self.service_account = record.get('service_account') or server.get('service_account')
        self.identity = windows_identity(self.service_account, record.get('computer_account'))
        self.grantees = set(_lower(g) for g in (info or {}).get('connect_grantees') or [])
        self.certificates = list((info or {}).get('certificates') or [])
        self.now = now

    @property
    def methods(self):
        return AUTH_METHODS.get(self.endpoint.get('authentication'), ())

    @property
    def algorithms(self):
        return ALGORITHMS.get(self.endpoint.get('encryption_algorithm') or 'aes', ())

    def endpoint_certificate(self):
        """This replica's own endpoint certificate (the dict from endpoint_info), or None."""
        name = self.endpoint.get('certificate') if self.endpoint else None
        for cert in self.certificates:
            if name and cert.get('name') == name:
                return cert
        return None

    def certificates_with_thumbprint(self, thumbprint):
        wanted = _lower(thumbprint)
        return [c for c in self.certificates if _lower(c.get('thumbprint')) == wanted]

    def has_connect(self, login):
        """Whether ``login`` may connect to this replica's endpoint (grantee or endpoint owner)."""
        low = _lower(login)
        return bool(low) and (low in self.grantees or low == _lower(self.endpoint.get('owner')))

    def summary(self, warn_days):
        cert = self.endpoint_certificate() if self.endpoint else None
        return {
            'name': self.name, 'address': self.address, 'port': self.port, 'url': self.url,
            'info_available': self.info is not None,
            'endpoint': None if not self.endpoint else {
                key: self.endpoint.get(key) for key in (
                    'name', 'state', 'authentication', 'windows_protocol', 'certificate', 'encryption',
                    'encryption_algorithm', 'owner', 'in_use')},
            'service_account': self.service_account,
            'network_account': self.identity['network_account'],
            'certificate': None if not cert else _certificate_summary(cert, self.now, warn_days),
        }


def _host_of(url):
    """``host.fqdn`` from ``TCP://host.fqdn:5022`` (and ``[v6]`` from ``TCP://[v6]:5022``)."""
    if not url or '://' not in url:
        return None
    rest = url.split('://', 1)[1]
    host = rest.rsplit(':', 1)[0] if ':' in rest else rest
    return host or None


def _certificate_summary(cert, now, warn_days):
    expiry = parse_utc(cert.get('expiry_date'))
    days = days_between(now, expiry) if expiry else None
    return {
        'name': cert.get('name'), 'thumbprint': cert.get('thumbprint'), 'subject': cert.get('subject'),
        'start_date': cert.get('start_date'), 'expiry_date': cert.get('expiry_date'),
        'days_to_expiry': days, 'expiring': days is not None and days <= warn_days,
    }


# ---------------------------------------------------------------------------------------------
# the checks for one ordered pair

def _validity_problem(cert, now, where, reason_prefix, fix):
    """A problem when ``cert`` is outside its validity dates at ``now``, else None."""
    start, expiry = parse_utc(cert.get('start_date')), parse_utc(cert.get('expiry_date'))
    if expiry is not None and now > expiry:
        return _problem(reason_prefix + 'expired', 'certificate %s on %s expired on %s'
                        % (cert.get('name'), where, cert.get('expiry_date')), fix)
    if start is not None and now < start:
        return _problem(reason_prefix + 'not_yet_valid', 'certificate %s on %s is not valid before %s'
                        % (cert.get('name'), where, cert.get('start_date')), fix)
    return None


def _source_certificate_problems(src):
    """Problems with the certificate the source endpoint authenticates with (outbound)."""
    name = src.endpoint.get('certificate')
    cert = src.endpoint_certificate()
    rotate = 'run the mssql.hadr.rotate_certificates playbook (or certificate_topology) for %s' % src.name
    if cert is None:
        return [_problem('source_certificate_missing', 'the endpoint of %s uses certificate %s, which is not '
                         'in its master database' % (src.name, name),
                         'run mssql.hadr.certificate_topology for %s to create its endpoint certificate'
                         % src.name)], None
    problems = []
    if cert.get('private_key_encryption') != MASTER_KEY_PROTECTION:
        problems.append(_problem(
            'source_certificate_key', 'the private key of certificate %s on %s is not protected by the master '
            'key (%s), so the endpoint cannot use it' % (name, src.name, cert.get('private_key_encryption')),
            'protect it with the master key (ALTER CERTIFICATE ... WITH PRIVATE KEY (DECRYPTION BY PASSWORD)) '
            'or create a new one with the mssql.hadr.certificate module'))
    validity = _validity_problem(cert, src.now, src.name, 'source_certificate_', rotate)
    if validity:
        problems.append(validity)
    return problems, cert


def _certificate_auth(src, dst):
    """(problems, warnings) for ``src`` authenticating to ``dst`` with its endpoint certificate."""
    problems, own = _source_certificate_problems(src)
    if own is None:
        return problems
    trust_fix = ('run mssql.hadr.certificate_topology (partner_trust on %s with partner %s), or '
                 'mssql.hadr.partner_trust directly' % (dst.name, src.name))
    copies = dst.certificates_with_thumbprint(own.get('thumbprint'))
    if not copies:
        problems.append(_problem('certificate_missing', '%s has no copy of the certificate %s (thumbprint %s) '
                                 'that %s authenticates with' % (dst.name, own.get('name'), own.get('thumbprint'),
                                                                 src.name), trust_fix))
        return problems
    copy_problems = [_copy_problems(copy, src, dst, trust_fix) for copy in copies]
    best = min(copy_problems, key=len)  # one good copy is enough
    return problems + best


def _copy_problems(copy, src, dst, trust_fix):
    # No date check here: the same thumbprint means the same DER, so the copy's dates are the
    # source certificate's, already checked once.
    if copy.get('certificate_login') and copy.get('certificate_login_has_connect'):
        return []  # the other documented pattern: CREATE LOGIN ... FROM CERTIFICATE + GRANT CONNECT
    if not copy.get('owner_user'):
        return [_problem('certificate_not_owned', 'certificate %s on %s is not owned by a database user in master, '
                         'so no login can be granted CONNECT for it' % (copy.get('name'), dst.name), trust_fix)]
    if not copy.get('owner_login'):
        return [_problem('certificate_user_without_login', 'certificate %s on %s is owned by user %s, which maps '
                         'to no login' % (copy.get('name'), dst.name, copy.get('owner_user')), trust_fix)]
    if not (copy.get('login_has_connect') or dst.has_connect(copy.get('owner_login'))):
        return [_problem('connect_missing', 'login %s on %s (owner of %s\'s certificate %s) has no CONNECT on '
                         'endpoint %s' % (copy.get('owner_login'), dst.name, src.name, copy.get('name'),
                                          dst.endpoint.get('name')),
                         'GRANT CONNECT with mssql.hadr.endpoint_permission (logins: [%s]) on %s, or run '
                         'mssql.hadr.certificate_topology' % (copy.get('owner_login'), dst.name))]
    return []


def _windows_auth(src, dst):
    problems = []
    protocols = {_lower(src.endpoint.get('windows_protocol') or 'negotiate'),
                 _lower(dst.endpoint.get('windows_protocol') or 'negotiate')}
    if protocols == {'ntlm', 'kerberos'}:
        problems.append(_problem('windows_protocol_mismatch', '%s uses %s and %s uses %s; NTLM and Kerberos never '
                                 'meet' % (src.name, src.endpoint.get('windows_protocol'), dst.name,
                                           dst.endpoint.get('windows_protocol')),
                                 'use NEGOTIATE (the default) on both endpoints'))
    if not src.identity['usable']:
        problems.append(_problem('windows_account_unusable', '%s: %s' % (src.name, src.identity['message']),
                                 CERTIFICATE_TOPOLOGY_HINT))
        return problems
    account = src.identity['network_account']
    if _lower(account) == _lower(dst.identity['network_account']):
        return problems  # the same account on both sides: its login is already there
    if not dst.has_connect(account):
        problems.append(_problem('connect_missing', '%s has no login with CONNECT on endpoint %s for %s\'s '
                                 'service account %s' % (dst.name, dst.endpoint.get('name'), src.name, account),
                                 'run mssql.hadr.windows_topology (partner_trust on %s with windows_account %s)'
                                 % (dst.name, account)))
    return problems


_AUTH_CHECKS = {'certificate': _certificate_auth, 'windows': _windows_auth}


def _authentication(src, dst):
    """(method that works or None, problems). Tries every method both endpoints share."""
    common = [m for m in src.methods if m in dst.methods]
    if not common:
        return None, [_problem('authentication_mismatch', '%s authenticates with %s and %s accepts %s: no common '
                               'method' % (src.name, src.endpoint.get('authentication'), dst.name,
                                           dst.endpoint.get('authentication')),
                               'use the same authentication on every endpoint (one topology role for all replicas)')]
    collected = []
    for method in common:
        problems = _AUTH_CHECKS[method](src, dst)
        if not problems:
            return method, []
        collected.extend(problems)
    return None, collected


def _encryption(src, dst):
    """(negotiated algorithm or 'none', problems)."""
    enc_s = _lower(src.endpoint.get('encryption') or 'required')
    enc_d = _lower(dst.endpoint.get('encryption') or 'required')
    if 'disabled' in (enc_s, enc_d):
        if 'required' in (enc_s, enc_d):
            off = src if enc_s == 'disabled' else dst
            on = dst if off is src else src
            return None, [_problem('encryption_mismatch', 'encryption is disabled on %s and required on %s'
                                   % (off.name, on.name),
                                   'set encryption: required on %s (mssql.hadr.endpoint)' % off.name)]
        return 'none', []
    common = [a for a in dst.algorithms if a in src.algorithms]  # the accepting side's order wins
    if not common:
        return None, [_problem('algorithm_mismatch', '%s offers %s and %s accepts %s: no common algorithm'
                               % (src.name, src.endpoint.get('encryption_algorithm'), dst.name,
                                  dst.endpoint.get('encryption_algorithm')),
                               'use encryption_algorithm: aes on every endpoint')]
    return common[0], []


def _endpoint_problems(replica, side):
    """Problems that stop a replica from taking part at all (no info, no endpoint, not started)."""
    if replica.info is None:
        return [_problem('%s_info_missing' % side, 'no endpoint_info result for %s%s' % (
            replica.name, ': ' + replica.info_error if replica.info_error else ''),
            'make %s reachable for the SQL modules (connection options) and run verify_topology again'
            % replica.name)]
    if not replica.endpoint:
        return [_problem('%s_endpoint_missing' % side, '%s has no database mirroring endpoint' % replica.name,
                         'run the topology role (or mssql.hadr.endpoint) for %s' % replica.name)]
    if _lower(replica.endpoint.get('state')) != 'started':
        return [_problem('%s_endpoint_not_started' % side, 'endpoint %s on %s is %s' % (
            replica.endpoint.get('name'), replica.name, replica.endpoint.get('state')),
            'start it: mssql.hadr.endpoint with endpoint_state: started on %s' % replica.name)]
    return []


def check_pair(src, dst, warn_days=30):
    """The verdict for ``src`` connecting to ``dst``: a dict with ok, problems, warnings and what was negotiated."""
    pair = {'source': src.name, 'target': dst.name, 'ok': False, 'authentication': None, 'encryption': None,
            'problems': [], 'warnings': []}
    problems = _endpoint_problems(src, 'source') + _endpoint_problems(dst, 'target')
    if problems:
        pair['problems'] = problems
        return pair
    method, auth_problems = _authentication(src, dst)
    algorithm, enc_problems = _encryption(src, dst)
    problems = auth_problems + enc_problems
    if src.reachable.get(dst.name) is False:
        problems.append(_problem('unreachable', '%s could not open a TCP connection to %s:%s (%s\'s endpoint port)'
                                 % (src.name, dst.address, dst.port, dst.name),
                                 'open port %s both ways between %s and %s (hadr_firewall: true runs '
                                 'mssql.hadr.firewall) and check the endpoint listens on it'
                                 % (dst.port, src.name, dst.name)))
    pair.update(ok=not problems, authentication=method, encryption=algorithm, problems=problems)
    pair['warnings'] = _pair_warnings(src, dst, method, algorithm, warn_days)
    return pair


def _pair_warnings(src, dst, method, algorithm, warn_days):
    warnings = []
    if algorithm == 'none':
        warnings.append('traffic from %s to %s is not encrypted' % (src.name, dst.name))
    elif algorithm == 'rc4':
        warnings.append('traffic from %s to %s uses RC4, which is deprecated' % (src.name, dst.name))
    if method == 'certificate':
        cert = src.endpoint_certificate()
        expiry = parse_utc(cert.get('expiry_date'))
        if expiry is not None:
            days = days_between(src.now, expiry)
            if days <= warn_days:
                warnings.append('certificate %s of %s expires in %d days: rotate it (rotate_certificates.yml)'
                                % (cert.get('name'), src.name, days))
    return warnings


# ---------------------------------------------------------------------------------------------
# the whole matrix

def trust_matrix(records, now=None, warn_days=30):
    """The N x N trust matrix of ``records`` (a list of replica records).

    A replica record is a dict: ``name`` (inventory name, required), ``info`` (the replica's
    ``mssql.hadr.endpoint_info`` result; a failed or missing result makes every pair with it broken),
    ``reachable`` (dict: partner name -> bool, whether the partner's endpoint port answered from this
    replica; a missing entry means "not checked"), and optional overrides ``address``, ``port``,
    ``service_account`` and ``computer_account`` (``DOMAIN\\HOST$``, how partners see a virtual
    account or Network Service).

    Returns ``replicas`` (summaries in input order), ``pairs`` (every ordered pair, row by row),
    ``matrix`` (rows = source, columns = target: ``ok``, ``broken`` or None on the diagonal),
    ``broken`` (the pairs that are not ok), ``ok`` (bool) and ``summary`` (one line).
    """
    if not isinstance(records, (list, tuple)):
        raise TopologyInputError('trust_matrix expects a list of replica records, got %s' % type(records).__name__)
    now = parse_utc(now) if now is not None else datetime.datetime.now(datetime.timezone.utc)
    replicas = [Replica(r, now) for r in records]
    names = [r.name for r in replicas]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise TopologyInputError('replica names must be unique; repeated: %s' % ', '.join(duplicates))
    pairs, matrix = [], []
    for src in replicas:
        row = []
        for dst in replicas:
            if src is dst:
                row.append(None)
                continue
            pair = check_pair(src, dst, warn_days)
            pairs.append(pair)
            row.append('ok' if pair['ok'] else 'broken')
        matrix.append(row)
    broken = [p for p in pairs if not p['ok']]
    return {
        'replicas': [r.summary(warn_days) for r in replicas],
        'names': names,
        'pairs': pairs,
        'matrix': matrix,
        'broken': broken,
        'ok': not broken,
        'checked_at': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'warn_days': warn_days,
        'summary': '%d replicas: %d of %d ordered pairs can authenticate%s' % (
            len(replicas), len(pairs) - len(broken), len(pairs),
            '' if not broken else '; broken: ' + ', '.join('%s -> %s' % (p['source'], p['target']) for p in broken)),
    }
