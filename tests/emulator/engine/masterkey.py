"""CREATE / ALTER / DROP / OPEN / CLOSE MASTER KEY (tsql.md 4.1, 4.8)."""
import json
import uuid

from . import catalog
from .core import StatementResult
from .passwords import check_password, hash_password
from .errors import SqlError, err, cannot
from .logins import check_password_policy
from .statements import Stmt, require_sysadmin

MASTER_KEY = '##MS_DatabaseMasterKey##'


def _master_key(engine, database):
    return engine.one('SELECT by_smk, password_hashes FROM master_keys WHERE db = ?', (database,))


def master_key_usable(xc):
    """The DMK can encrypt: it exists and opens automatically (SMK copy) or was opened in this session."""
    row = _master_key(xc.engine, xc.database)
    return row is not None and (row[0] or (xc.session.spid, xc.database.lower()) in xc.engine.opened_master_keys)


class MasterKeyStmt(Stmt):
    def __init__(self, action, password=None, force=False):
        self.action, self.password, self.force = action, password, force
        self.name = action
        self.ddl = action not in ('OPEN MASTER KEY', 'CLOSE MASTER KEY')

    def run(self, xc):
        engine, database = xc.engine, xc.database
        require_sysadmin(xc)
        row = _master_key(engine, database)
        now = catalog.now_text()
        action = self.action
        if action == 'CREATE MASTER KEY':
            if row is not None:
                raise err(15578)
            check_password_policy(self.password, None)
            with engine.write() as db:
                db.execute('INSERT INTO master_keys VALUES (?, ?, ?, ?, 1, ?)',
                           (database, now, now, str(uuid.uuid4()).upper(),
                            json.dumps([hash_password(self.password).hex()])))
                db.execute('UPDATE databases SET is_master_key_encrypted_by_server = 1 WHERE name = ?', (database,))
            return StatementResult()
        if action == 'CLOSE MASTER KEY':
            engine.opened_master_keys.discard((xc.session.spid, database.lower()))
            return StatementResult()
        if row is None:
            if action == 'OPEN MASTER KEY':
                raise err(15581)
            raise cannot('drop' if action == 'DROP MASTER KEY' else 'alter', 'master key', MASTER_KEY)
        by_smk, hashes_json = row[0], json.loads(row[1])
        matches = [h for h in hashes_json if check_password(self.password, bytes.fromhex(h))] \
            if self.password is not None else []
        if action == 'OPEN MASTER KEY':
            if not matches:
                raise err(15313)
            engine.opened_master_keys.add((xc.session.spid, database.lower()))
            return StatementResult()
        if action == 'DROP MASTER KEY':
            cert = engine.one("SELECT name FROM certificates WHERE db = ? AND pvt_key_encryption_type = 'MK'",
                              (database,))
            if cert is not None:
                raise err(15580, 'certificate', cert[0])
            with engine.write() as db:
                db.execute('DELETE FROM master_keys WHERE db = ?', (database,))
                db.execute('UPDATE databases SET is_master_key_encrypted_by_server = 0 WHERE name = ?', (database,))
            engine.opened_master_keys = {k for k in engine.opened_master_keys if k[1] != database.lower()}
            return StatementResult()
        # ALTER MASTER KEY
        if action == 'REGENERATE':
            check_password_policy(self.password, None)
            hashes_json = [hash_password(self.password).hex()]
        elif action == 'ADD SMK':
            by_smk = 1
        elif action == 'DROP SMK':
            if not hashes_json:
                raise SqlError(15593, 'The master key has to be encrypted by at least one password or by the '
                               'service master key.')   # [U] number and text
            by_smk = 0
        elif action == 'ADD PASSWORD':
            check_password_policy(self.password, None)
            if not matches:   # already encrypted by this password: nothing to add [U]
                hashes_json.append(hash_password(self.password).hex())
        elif action == 'DROP PASSWORD':
            if not matches:
                raise err(15313)
            if len(hashes_json) == 1 and not by_smk:
                raise SqlError(15593, 'The master key has to be encrypted by at least one password or by the '
                               'service master key.')   # [U]
            hashes_json = [h for h in hashes_json if h not in matches]
        with engine.write() as db:
            db.execute('UPDATE master_keys SET by_smk = ?, password_hashes = ?, modify_date = ? WHERE db = ?',
                       (by_smk, json.dumps(hashes_json), now, database))
            db.execute('UPDATE databases SET is_master_key_encrypted_by_server = ? WHERE name = ?', (by_smk, database))
        return StatementResult()


def parse_master_key(st, verb):
    if verb in ('OPEN', 'CLOSE'):
        st.expect('MASTER')
        st.expect('KEY')
        if verb == 'CLOSE':
            return MasterKeyStmt('CLOSE MASTER KEY')
        st.expect('DECRYPTION')
        st.expect('BY')
        st.expect('PASSWORD')
        st.expect_op('=')
        return MasterKeyStmt('OPEN MASTER KEY', st.string())
    st.expect('MASTER')
    st.expect('KEY')
    if verb == 'DROP':
        return MasterKeyStmt('DROP MASTER KEY')
    if verb == 'CREATE':
        # The password is optional only on Azure SQL (tsql.md 4.1): SQL Server's grammar needs it.
        st.expect('ENCRYPTION')
        st.expect('BY')
        st.expect('PASSWORD')
        st.expect_op('=')
        return MasterKeyStmt('CREATE MASTER KEY', st.string())
    force = bool(st.accept('FORCE'))
    if force or st.at('REGENERATE'):
        st.expect('REGENERATE')
        st.expect('WITH')
        st.expect('ENCRYPTION')
        st.expect('BY')
        st.expect('PASSWORD')
        st.expect_op('=')
        return MasterKeyStmt('REGENERATE', st.string(), force)
    change = st.expect('ADD', 'DROP')
    st.expect('ENCRYPTION')
    st.expect('BY')
    if st.accept('SERVICE'):
        st.expect('MASTER')
        st.expect('KEY')
        return MasterKeyStmt('%s SMK' % change)
    st.expect('PASSWORD')
    st.expect_op('=')
    return MasterKeyStmt('%s PASSWORD' % change, st.string())
