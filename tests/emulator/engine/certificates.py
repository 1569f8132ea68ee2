"""Master keys and certificates (tsql.md section 4): real X.509 made and read with cryptography."""
import datetime
import hashlib
import os
import struct
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from . import catalog
from .catalog import format_datetime, parse_datetime
from .core import StatementResult
from .passwords import check_password, hash_password
from .errors import SqlError, err, cannot, not_implemented
from .logins import check_password_policy
from .masterkey import master_key_usable, parse_master_key
from .pvk import PvkError, read_pvk, write_pvk
from .statements import Stmt, require_sysadmin
from .tokens import check_sysname
from . import types as T

KEY_SIZE = 2048   # [U] 2048 from SQL Server 2016 (tsql.md 4.2); the 2022 "minimum RSA-3072" note is unverified


def _not_in_transaction(xc, what):
    if xc.session.in_transaction:
        raise not_implemented('%s inside a user transaction' % what)


def endpoint_certificate_id(xc, name):
    """The master certificate an endpoint may use: 15151 if missing, 28055 if its private key is not
    protected by the master key or the current UTC date is outside its validity (tsql.md 1.3)."""
    row = xc.engine.one("SELECT certificate_id, pvt_key_encryption_type, start_date, expiry_date FROM certificates "
                        "WHERE db = 'master' AND name = ?", (name,))
    if row is None:
        raise cannot('find', 'certificate', name)
    now = datetime.datetime.utcnow()
    if row[1] != 'MK' or not parse_datetime(row[2]) <= now <= parse_datetime(row[3]):
        raise err(28055, name)
    return row[0]


# --- certificate helpers ---------------------------------------------------------------------------
def _name_text(name):
    """sys.certificates shows a name made of one CN as that CN's value [U], otherwise RFC 4514."""
    attributes = list(name)
    if len(attributes) == 1 and attributes[0].oid == NameOID.COMMON_NAME:
        return attributes[0].value
    return name.rfc4514_string()


def _certificate_sid(thumbprint):
    """[U] certificate SIDs: S-1-9-1 followed by the SHA-1 thumbprint (0x010600000000000901000000 + 20 bytes)."""
    return bytes.fromhex('010600000000000901000000') + thumbprint


def _string_sid(sid):
    count = sid[1]
    authority = int.from_bytes(sid[2:8], 'big')
    subs = struct.unpack('<%dI' % count, sid[8:8 + 4 * count])
    return 'S-%d-%d-%s' % (sid[0], authority, '-'.join(str(s) for s in subs))


def _serial_text(serial):
    raw = serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), 'big')
    return ' '.join('%02x' % b for b in raw[:16])


def _parse_date(text):
    try:
        return T.parse_date_string(text)
    except SqlError:
        raise SqlError(241, 'Conversion failed when converting date and/or time from character string.', 16)


def _resolve_path(engine, path):
    return path if os.path.isabs(path) else os.path.join(engine.data_dir, path)


class CertSpec:
    def __init__(self):
        self.owner = None
        self.subject = None
        self.start = None
        self.expiry = None
        self.encryption_password = None
        self.source = None        # 'generate' | 'binary' | 'file'
        self.cert_bytes = None
        self.cert_file = None
        self.key_bytes = None
        self.key_file = None
        self.key_password = None
        self.key_encryption_password = None
        self.active = True


def _parse_private_key_clause(st, spec, allow_source=True):
    st.expect('PRIVATE')
    st.expect('KEY')
    st.expect_op('(')
    seen = set()
    while True:
        tok = st.tok
        option = st.expect('FILE', 'BINARY', 'DECRYPTION', 'ENCRYPTION')
        if option in seen or (option in ('FILE', 'BINARY') and seen & {'FILE', 'BINARY'}):
            raise st.error(tok)
        seen.add(option)
        if option in ('DECRYPTION', 'ENCRYPTION'):
            st.expect('BY')
            st.expect('PASSWORD')
        st.expect_op('=')
        if option == 'FILE':
            spec.key_file = st.string()
        elif option == 'BINARY':
            spec.key_bytes = st.binary()
        elif option == 'DECRYPTION':
            spec.key_password = st.string()
        else:
            spec.key_encryption_password = st.string()
        if not st.accept_op(','):
            break
    st.expect_op(')')
    if allow_source and not seen & {'FILE', 'BINARY'}:
        raise st.error(st.tokens[st.i - 1])
    return seen


def _parse_create_certificate(st):
    name = check_sysname(st.name())
    spec = CertSpec()
    if st.accept('AUTHORIZATION'):
        spec.owner = st.name()
    if st.accept('FROM'):
        if st.accept('ASSEMBLY'):
            raise not_implemented('CREATE CERTIFICATE FROM ASSEMBLY')
        if st.accept('EXECUTABLE'):
            raise not_implemented('CREATE CERTIFICATE FROM EXECUTABLE FILE')
        kind = st.expect('FILE', 'BINARY')
        st.expect_op('=')
        if kind == 'FILE':
            spec.source, spec.cert_file = 'file', st.string()
        else:
            spec.source, spec.cert_bytes = 'binary', st.binary()
        if st.accept('WITH'):
            if st.at('FORMAT'):
                raise not_implemented("CREATE CERTIFICATE ... FORMAT = 'PFX'")
            _parse_private_key_clause(st, spec)
            if kind == 'BINARY' and spec.key_file or kind == 'FILE' and spec.key_bytes:
                # [U] the grammar pairs FROM FILE with PRIVATE KEY (FILE) and FROM BINARY with (BINARY)
                raise st.error()
    else:
        if st.accept('ENCRYPTION'):
            st.expect('BY')
            st.expect('PASSWORD')
            st.expect_op('=')
            spec.encryption_password = st.string()
        st.expect('WITH')
        st.expect('SUBJECT')
        st.expect_op('=')
        spec.subject = st.string()
        spec.source = 'generate'
        while st.accept_op(','):
            tok = st.tok
            option = st.expect('START_DATE', 'EXPIRY_DATE')
            st.expect_op('=')
            value = st.string()
            if option == 'START_DATE':
                if spec.start is not None:
                    raise st.error(tok)
                spec.start = value
            else:
                if spec.expiry is not None:
                    raise st.error(tok)
                spec.expiry = value
    if st.accept('ACTIVE'):
        st.expect('FOR')
        st.expect('BEGIN_DIALOG')
        st.expect_op('=')
        spec.active = st.on_off()
    return CreateCertificate(name, spec)


def _load_key(spec, engine):
    """The private key given in a PRIVATE KEY (...) clause, or None."""
    if spec.key_bytes is None and spec.key_file is None:
        return None
    data = spec.key_bytes
    if spec.key_file is not None:
        try:
            with open(_resolve_path(engine, spec.key_file), 'rb') as handle:
                data = handle.read()
        except OSError:
            raise err(15208)
    try:
        key = read_pvk(data, spec.key_password)
    except PvkError as exc:
        if exc.kind == 'password':
            raise err(15465)
        raise err(15464)
    if not 384 <= key.key_size <= 4096 or key.key_size % 64:
        raise err(15464)
    return key


def _key_protection(xc, encryption_password, what='certificate'):
    """-> (pvt_key_encryption_type, key_password_hash) for a key being stored."""
    if encryption_password is not None:
        check_password_policy(encryption_password, None)
        return 'PW', hash_password(encryption_password)
    if not master_key_usable(xc):
        raise err(15581)
    return 'MK', None


class CreateCertificate(Stmt):
    name = 'CREATE CERTIFICATE'
    ddl = True

    def __init__(self, certificate, spec):
        self.certificate, self.spec = certificate, spec

    def run(self, xc):
        with warnings.catch_warnings():
            # cryptography warns about CNs over X.509's 64 characters, which SQL Server on Windows allows
            warnings.filterwarnings('ignore', message="Attribute's length must be", category=UserWarning)
            return self._run(xc)

    def _run(self, xc):
        engine, spec, database = xc.engine, self.spec, xc.database
        require_sysadmin(xc)
        infos = []
        owner_id = 1
        if spec.owner is not None:
            row = engine.one('SELECT principal_id, type FROM database_principals WHERE db = ? AND name = ?',
                             (database, spec.owner))
            if row is None:
                raise cannot('find', 'user', spec.owner)
            if row[1] in ('R', 'G', 'C', 'K'):
                # tsql.md 4.2: groups and roles cannot own certificates [U text]
                raise SqlError(15353, 'An entity of type certificate cannot be owned by a role, a group, an '
                               'approle, or by principals mapped to certificates or asymmetric keys.')
            owner_id = row[0]
        if engine.one('SELECT 1 FROM certificates WHERE db = ? AND name = ?', (database, self.certificate)):
            raise err(15232, self.certificate)
        key = None
        if spec.source == 'generate':
            limit = 64 if engine.platform == 'linux' else 128
            if not 1 <= len(spec.subject) <= limit:
                raise err(15212, limit)
            now = datetime.datetime.utcnow().replace(microsecond=0)
            start = _parse_date(spec.start) if spec.start else now
            expiry = _parse_date(spec.expiry) if spec.expiry else start.replace(year=start.year + 1) \
                if not (start.month == 2 and start.day == 29) else start + datetime.timedelta(days=365)
            protection, password_hash = _key_protection(xc, spec.encryption_password)
            key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
            # SQL Server on Windows allows 128 characters where X.509's upper bound for a CN is 64
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.subject, _validate=False)])
            serial = int.from_bytes(os.urandom(16), 'big') >> 1 or 1
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                    .serial_number(serial).not_valid_before(start).not_valid_after(expiry)
                    .sign(key, hashes.SHA256()))
            # [U] warning texts of 15213-15215 (tsql.md 4.2 names the numbers only)
            if expiry < now:
                infos.append((15214, 'Warning: The certificate you created has expired.'))
            if start > now:
                infos.append((15215, 'Warning: The certificate you created is not yet valid; its start date is '
                                     'in the future.'))
        else:
            data = spec.cert_bytes
            if spec.cert_file is not None:
                try:
                    with open(_resolve_path(engine, spec.cert_file), 'rb') as handle:
                        data = handle.read()
                except OSError:
                    raise err(15208)
            try:
                cert = x509.load_der_x509_certificate(data)
                cert.public_key()
            except ValueError:
                raise err(15208) if spec.cert_file is not None else err(15297)
            if not isinstance(cert.public_key(), rsa.RSAPublicKey):
                raise err(15297)
            key = _load_key(spec, engine)
            if key is not None:
                if key.public_key().public_numbers() != cert.public_key().public_numbers():
                    raise err(15474, 'certificate')
                protection, password_hash = _key_protection(xc, spec.key_encryption_password)
            else:
                protection, password_hash = 'NA', None
        der = cert.public_bytes(serialization.Encoding.DER)
        thumbprint = hashlib.sha1(der).digest()
        issuer, serial_text = _name_text(cert.issuer), _serial_text(cert.serial_number)
        if engine.one('SELECT 1 FROM certificates WHERE db = ? AND issuer_name = ? AND cert_serial_number = ?',
                      (database, issuer, serial_text)):
            raise err(15232, self.certificate)
        sid = _certificate_sid(thumbprint)
        private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()) if key is not None else None
        with engine.write() as db:
            cid = max(catalog.FIRST_CERTIFICATE_ID - 1, db.execute(
                'SELECT max(certificate_id) FROM certificates WHERE db = ?', (database,)).fetchone()[0] or 0) + 1
            db.execute('INSERT INTO certificates (db, certificate_id, name, principal_id, pvt_key_encryption_type, '
                       'issuer_name, cert_serial_number, sid, string_sid, subject, expiry_date, start_date, '
                       'thumbprint, der, private_key, key_password_hash, key_length, is_active_for_begin_dialog) '
                       'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                       (database, cid, self.certificate, owner_id, protection, issuer, serial_text, sid,
                        _string_sid(sid), _name_text(cert.subject)[:4000],
                        format_datetime(_not_after(cert)), format_datetime(_not_before(cert)), thumbprint, der,
                        private, password_hash, cert.public_key().key_size, int(spec.active)))
        return StatementResult(infos=infos)


def _not_after(cert):
    value = getattr(cert, 'not_valid_after_utc', None) or cert.not_valid_after
    return value.replace(tzinfo=None)


def _not_before(cert):
    value = getattr(cert, 'not_valid_before_utc', None) or cert.not_valid_before
    return value.replace(tzinfo=None)


def _certificate_row(engine, database, name):
    return engine.one('SELECT certificate_id, principal_id, pvt_key_encryption_type, der, private_key, '
                      'key_password_hash FROM certificates WHERE db = ? AND name = ?', (database, name))


def _parse_alter_certificate(st):
    name = st.name()
    spec = CertSpec()
    if st.accept('REMOVE'):
        st.expect('PRIVATE')
        st.expect('KEY')
        return AlterCertificate(name, 'REMOVE', spec)
    st.expect('WITH')
    if st.accept('ACTIVE'):
        st.expect('FOR')
        st.expect('BEGIN_DIALOG')
        st.expect_op('=')
        spec.active = st.on_off()
        return AlterCertificate(name, 'ACTIVE', spec)
    _parse_private_key_clause(st, spec, allow_source=False)
    return AlterCertificate(name, 'KEY', spec)


class AlterCertificate(Stmt):
    name = 'ALTER CERTIFICATE'
    ddl = True

    def __init__(self, certificate, action, spec):
        self.certificate, self.action, self.spec = certificate, action, spec

    def run(self, xc):
        engine, spec, database = xc.engine, self.spec, xc.database
        row = _certificate_row(engine, database, self.certificate)
        if row is None or not engine.is_sysadmin(xc.session.principal_id):
            raise cannot('alter', 'certificate', self.certificate)
        cid, _unused, protection, der, private, password_hash = row
        if self.action == 'ACTIVE':
            with engine.write() as db:
                db.execute('UPDATE certificates SET is_active_for_begin_dialog = ? WHERE db = ? AND '
                           'certificate_id = ?', (int(spec.active), database, cid))
            return StatementResult()
        if self.action == 'REMOVE':
            with engine.write() as db:
                db.execute("UPDATE certificates SET pvt_key_encryption_type = 'NA', private_key = NULL, "
                           "key_password_hash = NULL WHERE db = ? AND certificate_id = ?", (database, cid))
            return StatementResult()
        if spec.key_bytes is None and spec.key_file is None:
            # re-protect the existing key: WITH PRIVATE KEY (DECRYPTION BY PASSWORD = 'old' [, ENCRYPTION ...])
            if private is None:
                raise err(15208)   # [U] no key to re-protect and no FILE / BINARY given
            if protection == 'PW':
                if spec.key_password is None or not check_password(spec.key_password, password_hash):
                    raise err(15465)
            elif spec.key_password is not None:
                raise err(15147, 'certificate')
            new_protection, new_hash = _key_protection(xc, spec.key_encryption_password)
            with engine.write() as db:
                db.execute('UPDATE certificates SET pvt_key_encryption_type = ?, key_password_hash = ? WHERE db = ? '
                           'AND certificate_id = ?', (new_protection, new_hash, database, cid))
            return StatementResult()
        if private is not None:
            # [U] adding a key to a certificate that has one (tsql.md 4.4 suggests 15332)
            raise SqlError(15332, 'The private key is already set for this certificate.')
        key = _load_key(spec, engine)
        cert = x509.load_der_x509_certificate(der)
        if key.public_key().public_numbers() != cert.public_key().public_numbers():
            raise err(15474, 'certificate')
        new_protection, new_hash = _key_protection(xc, spec.key_encryption_password)
        private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        with engine.write() as db:
            db.execute('UPDATE certificates SET pvt_key_encryption_type = ?, key_password_hash = ?, private_key = ? '
                       'WHERE db = ? AND certificate_id = ?', (new_protection, new_hash, private, database, cid))
        return StatementResult()


class DropCertificate(Stmt):
    name = 'DROP CERTIFICATE'
    ddl = True

    def __init__(self, certificate):
        self.certificate = certificate

    def run(self, xc):
        engine, database = xc.engine, xc.database
        row = _certificate_row(engine, database, self.certificate)
        if row is None or not engine.is_sysadmin(xc.session.principal_id):
            raise cannot('drop', 'certificate', self.certificate)
        cid = row[0]
        used = (database.lower() == 'master' and (
            engine.one('SELECT 1 FROM endpoints WHERE certificate_id = ? AND type = 4', (cid,)) or
            engine.one("SELECT 1 FROM server_principals WHERE type = 'C' AND certificate_id = ?", (cid,)))) or \
            engine.one("SELECT 1 FROM database_principals WHERE db = ? AND type = 'C' AND certificate_id = ?",
                       (database, cid))
        if used:
            # tsql.md 4.5: 15352 for endpoints and mapped logins/users [V-3p mapping]
            raise err(15352, 'certificate')
        with engine.write() as db:
            db.execute('DELETE FROM certificates WHERE db = ? AND certificate_id = ?', (database, cid))
        return StatementResult()


class AlterCertificateOwner(Stmt):
    name = 'ALTER AUTHORIZATION'
    ddl = True

    def __init__(self, certificate, owner):
        self.certificate, self.owner = certificate, owner

    def run(self, xc):
        engine, database = xc.engine, xc.database
        row = _certificate_row(engine, database, self.certificate)
        if row is None or not engine.is_sysadmin(xc.session.principal_id):
            raise cannot('find', 'certificate', self.certificate)
        owner = engine.one('SELECT principal_id, type FROM database_principals WHERE db = ? AND name = ?',
                           (database, self.owner))
        if owner is None:
            raise cannot('find', 'user', self.owner)
        if owner[1] in ('R', 'G', 'C', 'K'):
            raise SqlError(15353, 'An entity of type certificate cannot be owned by a role, a group, an approle, or '
                           'by principals mapped to certificates or asymmetric keys.')
        with engine.write() as db:
            db.execute('UPDATE certificates SET principal_id = ? WHERE db = ? AND certificate_id = ?',
                       (owner[0], database, row[0]))
        return StatementResult()


def _parse_backup(st):
    st.expect('BACKUP')
    st.expect('CERTIFICATE')
    name = st.name()
    st.expect('TO')
    st.expect('FILE')
    st.expect_op('=')
    path = st.string()
    spec = CertSpec()
    if st.accept('WITH'):
        if st.at('FORMAT'):
            raise not_implemented("BACKUP CERTIFICATE ... FORMAT = 'PFX'")
        seen = _parse_private_key_clause(st, spec, allow_source=False)
        if 'BINARY' in seen or 'FILE' not in seen or 'ENCRYPTION' not in seen:
            raise st.error(st.tokens[st.i - 1])
    return BackupCertificate(name, path, spec)


class BackupCertificate(Stmt):
    name = 'BACKUP CERTIFICATE'
    ddl = True

    def __init__(self, certificate, path, spec):
        self.certificate, self.path, self.spec = certificate, path, spec

    def run(self, xc):
        engine, spec, database = xc.engine, self.spec, xc.database
        _not_in_transaction(xc, 'BACKUP CERTIFICATE')   # writes files: not undone by a rollback
        row = _certificate_row(engine, database, self.certificate)
        if row is None:
            raise cannot('find', 'certificate', self.certificate)
        cid, _unused, protection, der, private, password_hash = row
        cert_path = _resolve_path(engine, self.path)
        key_path = _resolve_path(engine, spec.key_file) if spec.key_file else None
        key_data = None
        if key_path is not None:
            if private is None:
                raise err(15246, self.certificate)
            if protection == 'PW':
                if spec.key_password is None or not check_password(spec.key_password, password_hash):
                    raise err(15465)
            elif spec.key_password is not None:
                raise err(15147, 'certificate')
            elif not master_key_usable(xc):
                raise err(15581)
            check_password_policy(spec.key_encryption_password, None)
            key = serialization.load_der_private_key(private, None)
            key_data = write_pvk(key, spec.key_encryption_password)
        for path in [cert_path] + ([key_path] if key_path else []):
            if os.path.exists(path) or not os.path.isdir(os.path.dirname(path) or '.'):
                raise err(15240, path)
        written = []
        try:
            for path, data in [(cert_path, der)] + ([(key_path, key_data)] if key_path else []):
                with open(path, 'xb') as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                written.append(path)
        except OSError:
            for path in written:
                os.unlink(path)
            raise err(15240, cert_path)
        if key_path is not None:
            with engine.write() as db:
                db.execute('UPDATE certificates SET pvt_key_last_backup_date = ? WHERE db = ? AND certificate_id = ?',
                           (catalog.now_text(), database, cid))
        return StatementResult()


def parse(st):
    verb = st.tok.value.upper()
    if verb == 'BACKUP':
        return _parse_backup(st)
    st.next()
    if st.at('MASTER'):
        return parse_master_key(st, verb)
    st.expect('CERTIFICATE')
    if verb == 'CREATE':
        return _parse_create_certificate(st)
    if verb == 'DROP':
        return DropCertificate(st.name())
    return _parse_alter_certificate(st)
