"""T-SQL built-ins that read the catalog or the calling session (SERVERPROPERTY, SUSER_SNAME, PWDCOMPARE,
LOGINPROPERTY, CERTENCODED, ...). Mixed into Engine; functions.register exposes them to SQLite."""
import os

from . import types as T
from .passwords import check_password

PRODUCT_VERSION = '16.0.4135.4'   # SQL Server 2022 CU15 [U: any 2022 build would do]
PRODUCT_LEVEL = 'RTM'
PRODUCT_UPDATE_LEVEL = 'CU15'
EDITION = 'Developer Edition (64-bit)'


class SessionFunctions:
    def _session(self):
        return self.current.session

    def fn_serverproperty(self, name):
        if name is None:
            return None
        values = {
            'machinename': self.machine_name, 'servername': self.server_name,
            'instancename': self.instance_name, 'productversion': PRODUCT_VERSION,
            'productmajorversion': '16', 'productminorversion': '0', 'productlevel': PRODUCT_LEVEL,
            'productupdatelevel': PRODUCT_UPDATE_LEVEL, 'edition': EDITION, 'engineedition': 3,
            'ishadrenabled': 1, 'hadrmanagerstatus': 1, 'isclustered': 0, 'isintegratedsecurityonly': 0,
            'collation': 'SQL_Latin1_General_CP1_CI_AS', 'computernamephysicalnetbios': self.machine_name,
            'issingleuser': 0, 'isfulltextinstalled': 0, 'processid': os.getpid(),
            'buildclrversion': 'v4.0.30319', 'editionid': -2117995310,
        }
        return values.get(str(name).lower())   # unknown property: NULL, as SQL Server does

    def fn_suser_sname(self, sid=None):
        if sid is None:
            return self._session().login_name
        row = self.one('SELECT name FROM server_principals WHERE sid = ?', (bytes(sid),))
        return row[0] if row else None

    def fn_suser_name(self, pid=None):
        if pid is None:
            return self._session().login_name
        row = self.one('SELECT name FROM server_principals WHERE principal_id = ?', (pid,))
        return row[0] if row else None

    def fn_suser_id(self, name=None):
        if name is None:
            return self._session().principal_id
        row = self.one('SELECT principal_id FROM server_principals WHERE name = ?', (name,))
        return row[0] if row else None

    def fn_suser_sid(self, name=None):
        name = self._session().login_name if name is None else name
        row = self.one('SELECT sid FROM server_principals WHERE name = ?', (name,))
        return row[0] if row else None

    def fn_user_name(self, pid=None):
        if pid is None:
            return self.user_name(self._session())
        row = self.one('SELECT name FROM database_principals WHERE db = ? AND principal_id = ?',
                       (self.current.database, pid))
        return row[0] if row else None

    def fn_user_id(self, name=None):
        name = self.user_name(self._session()) if name is None else name
        row = self.one('SELECT principal_id FROM database_principals WHERE db = ? AND name = ?',
                       (self.current.database, name))
        return row[0] if row else None

    def fn_db_name(self, dbid=None):
        if dbid is None:
            return self.current.database
        row = self.one('SELECT name FROM databases WHERE database_id = ?', (dbid,))
        return row[0] if row else None

    def fn_db_id(self, name=None):
        name = self.current.database if name is None else name
        row = self.one('SELECT database_id FROM databases WHERE name = ?', (name,))
        return row[0] if row else None

    def fn_is_srvrolemember(self, role, login=None):
        """[U] reports actual membership (sa is a member of sysadmin); public is always 1."""
        role_row = self.one("SELECT principal_id FROM server_principals WHERE name = ? AND type = 'R'", (role,))
        if role_row is None:
            return None
        if login is None:
            pid = self._session().principal_id
        else:
            row = self.server_principal(login)
            if row is None:
                return None
            pid = row[0]
        if role_row[0] == 2:
            return 1
        if role_row[0] == 3:
            return 1 if self.is_sysadmin(pid) else 0
        return 1 if self.one('SELECT 1 FROM server_role_members WHERE role_principal_id = ? AND '
                             'member_principal_id = ?', (role_row[0], pid)) else 0

    def fn_has_perms_by_name(self, securable, securable_class, permission, sub=None, sub_class=None):
        from .permissions import has_perms_by_name
        return has_perms_by_name(self, self._session(), securable, securable_class, permission)

    def fn_pwdcompare(self, clear, stored, version=None):
        if clear is None or stored is None:
            return None
        return 1 if check_password(clear, bytes(stored)) else 0

    def fn_loginproperty(self, login, prop):
        row = self.one('SELECT principal_id, type, is_disabled, password_hash, modify_date, must_change, '
                       'default_database_name, default_language_name, is_expiration_checked, is_policy_checked '
                       'FROM server_principals WHERE name = ?', (login,))
        if row is None or row[1] != 'S' or prop is None:
            return None
        values = {
            'badpasswordcount': 0, 'badpasswordtime': T.VARIANT_DATETIME + '1900-01-01 00:00:00.000',
            'daysuntilexpiration': None, 'defaultdatabase': row[6], 'defaultlanguage': row[7],
            'historylength': 0, 'isexpired': 0, 'islocked': 0, 'ismustchange': row[5],
            'lockouttime': T.VARIANT_DATETIME + '1900-01-01 00:00:00.000', 'passwordhash': row[3],
            'passwordlastsettime': T.VARIANT_DATETIME + row[4],
            'passwordhashalgorithm': 2,
        }
        return values.get(str(prop).lower())

    def fn_certencoded(self, cert_id):
        row = self.one('SELECT der FROM certificates WHERE db = ? AND certificate_id = ?',
                       (self.current.database, cert_id))
        return row[0] if row else None

    def fn_cert_id(self, name):
        row = self.one('SELECT certificate_id FROM certificates WHERE db = ? AND name = ?',
                       (self.current.database, name))
        return row[0] if row else None

    def fn_certproperty(self, cert_id, prop):
        row = self.one('SELECT expiry_date, start_date, issuer_name, cert_serial_number, subject, sid, string_sid '
                       'FROM certificates WHERE db = ? AND certificate_id = ?', (self.current.database, cert_id))
        if row is None or prop is None:
            return None
        key = str(prop).lower()
        values = {'expiry_date': T.VARIANT_DATETIME + row[0], 'start_date': T.VARIANT_DATETIME + row[1],
                  'issuer_name': row[2], 'cert_serial_number': row[3], 'subject': row[4], 'sid': row[5],
                  'string_sid': row[6]}
        return values.get(key)
