"""The instance's catalog: SQLite tables (durable, WAL + synchronous=FULL) and the sys.* views over them.

Every view has exactly SQL Server's name, column names and value domains (tsql.md section 2); VIEWS gives
each column's SQL Server type so result sets carry the right TDS types.
"""
import datetime
import os
import sqlite3

DB_FILE = 'catalog.sqlite3'
USER_ENDPOINT_ID_START = 65536    # tsql.md 2.1: ids below 65536 are system endpoints
FIRST_USER_PRINCIPAL_ID = 263     # [U] typical first user login id on a fresh SQL Server 2022
FIRST_CERTIFICATE_ID = 256        # [U] ids 101.. are the ##MS_ certificates we do not model


def tsql_collation(a, b):
    """SQL_Latin1_General_CP1_CI_AS, approximately: case-insensitive, trailing spaces ignored."""
    a, b = a.rstrip(' ').casefold(), b.rstrip(' ').casefold()
    return (a > b) - (a < b)


def now_text():
    return format_datetime(datetime.datetime.utcnow())


def format_datetime(value):
    """datetime values are stored as text 'YYYY-MM-DD HH:MM:SS.fff' (datetime has ~3 ms precision)."""
    return value.strftime('%Y-%m-%d %H:%M:%S.') + '%03d' % (value.microsecond // 1000)


def parse_datetime(text):
    if text is None:
        return None
    return datetime.datetime.strptime(text, '%Y-%m-%d %H:%M:%S.%f')


def open_db(data_dir, busy_timeout_ms=10000):
    """Open (and create) the catalog. Every writer uses BEGIN IMMEDIATE ... COMMIT."""
    os.makedirs(data_dir, exist_ok=True)
    conn = sqlite3.connect(os.path.join(data_dir, DB_FILE), timeout=busy_timeout_ms / 1000.0,
                           isolation_level=None, check_same_thread=False)
    conn.create_collation('TSQL', tsql_collation)
    conn.execute('PRAGMA journal_mode=WAL')
    conn.execute('PRAGMA synchronous=FULL')
    conn.execute('PRAGMA foreign_keys=ON')
    conn.execute('PRAGMA busy_timeout=%d' % busy_timeout_ms)
    return conn


SCHEMA = '''
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS server_principals (
  principal_id INTEGER PRIMARY KEY, name TEXT COLLATE TSQL NOT NULL UNIQUE, sid BLOB UNIQUE, type TEXT NOT NULL,
  is_disabled INT NOT NULL DEFAULT 0, create_date TEXT, modify_date TEXT, default_database_name TEXT,
  default_language_name TEXT, credential_id INT, owning_principal_id INT, is_fixed_role INT NOT NULL DEFAULT 0,
  password_hash BLOB, is_policy_checked INT, is_expiration_checked INT, must_change INT NOT NULL DEFAULT 0,
  certificate_id INT);
CREATE TABLE IF NOT EXISTS server_role_members (
  role_principal_id INT NOT NULL REFERENCES server_principals(principal_id),
  member_principal_id INT NOT NULL REFERENCES server_principals(principal_id),
  PRIMARY KEY (role_principal_id, member_principal_id));
CREATE TABLE IF NOT EXISTS server_permissions (
  class INT NOT NULL, major_id INT NOT NULL, minor_id INT NOT NULL,
  grantee_principal_id INT NOT NULL REFERENCES server_principals(principal_id),
  grantor_principal_id INT NOT NULL, type TEXT NOT NULL, permission_name TEXT NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY (class, major_id, minor_id, grantee_principal_id, type));
CREATE TABLE IF NOT EXISTS endpoints (
  endpoint_id INTEGER PRIMARY KEY, name TEXT COLLATE TSQL NOT NULL UNIQUE,
  principal_id INT REFERENCES server_principals(principal_id), protocol INT NOT NULL, type INT NOT NULL,
  state INT NOT NULL, is_admin_endpoint INT NOT NULL DEFAULT 0, port INT, is_dynamic_port INT, ip_address TEXT,
  role INT, connection_auth INT, certificate_id INT, encryption_algorithm INT);
CREATE TABLE IF NOT EXISTS databases (
  database_id INTEGER PRIMARY KEY, name TEXT COLLATE TSQL NOT NULL UNIQUE, create_date TEXT, owner_sid BLOB,
  compatibility_level INT NOT NULL DEFAULT 160, is_master_key_encrypted_by_server INT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS database_principals (
  db TEXT COLLATE TSQL NOT NULL, principal_id INT NOT NULL, name TEXT COLLATE TSQL NOT NULL, type TEXT NOT NULL,
  sid BLOB, default_schema_name TEXT, create_date TEXT, modify_date TEXT, owning_principal_id INT,
  is_fixed_role INT NOT NULL DEFAULT 0, authentication_type INT NOT NULL DEFAULT 0, certificate_id INT,
  PRIMARY KEY (db, principal_id), UNIQUE (db, name));
CREATE TABLE IF NOT EXISTS database_role_members (
  db TEXT COLLATE TSQL NOT NULL, role_principal_id INT NOT NULL, member_principal_id INT NOT NULL,
  PRIMARY KEY (db, role_principal_id, member_principal_id));
CREATE TABLE IF NOT EXISTS certificates (
  db TEXT COLLATE TSQL NOT NULL, certificate_id INT NOT NULL, name TEXT COLLATE TSQL NOT NULL,
  principal_id INT NOT NULL, pvt_key_encryption_type TEXT NOT NULL, issuer_name TEXT, cert_serial_number TEXT,
  sid BLOB, string_sid TEXT, subject TEXT, expiry_date TEXT, start_date TEXT, thumbprint BLOB, der BLOB NOT NULL,
  private_key BLOB, key_password_hash BLOB, key_length INT, pvt_key_last_backup_date TEXT,
  is_active_for_begin_dialog INT NOT NULL DEFAULT 1,
  PRIMARY KEY (db, certificate_id), UNIQUE (db, name));
CREATE TABLE IF NOT EXISTS master_keys (
  db TEXT COLLATE TSQL PRIMARY KEY, create_date TEXT, modify_date TEXT, key_guid TEXT, by_smk INT NOT NULL,
  password_hashes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS availability_groups (group_id TEXT PRIMARY KEY, name TEXT COLLATE TSQL UNIQUE);
CREATE TABLE IF NOT EXISTS availability_replicas (
  replica_id TEXT PRIMARY KEY, group_id TEXT NOT NULL REFERENCES availability_groups(group_id),
  replica_metadata_id INT, replica_server_name TEXT, owner_sid BLOB, endpoint_url TEXT, availability_mode INT,
  failover_mode INT, session_timeout INT, primary_role_allow_connections INT, secondary_role_allow_connections INT,
  create_date TEXT, modify_date TEXT, backup_priority INT, read_only_routing_url TEXT, seeding_mode INT);
CREATE TABLE IF NOT EXISTS replica_states (
  replica_id TEXT PRIMARY KEY REFERENCES availability_replicas(replica_id), group_id TEXT, is_local INT,
  role INT, operational_state INT, connected_state INT, recovery_health INT, synchronization_health INT,
  last_connect_error_number INT, last_connect_error_description TEXT, last_connect_error_timestamp TEXT);
CREATE TABLE IF NOT EXISTS database_mirroring_state (
  database_id INTEGER PRIMARY KEY REFERENCES databases(database_id), mirroring_guid TEXT, mirroring_state INT,
  mirroring_role INT, mirroring_role_sequence INT, mirroring_safety_level INT, mirroring_safety_sequence INT,
  mirroring_partner_name TEXT, mirroring_partner_instance TEXT, mirroring_witness_name TEXT,
  mirroring_witness_state INT, mirroring_connection_timeout INT, mirroring_redo_queue INT);
CREATE TABLE IF NOT EXISTS mirroring_connections (
  connection_id TEXT PRIMARY KEY, transport_stream_id TEXT, state INT, connect_time TEXT, login_time TEXT,
  authentication_method TEXT, principal_name TEXT, remote_user_name TEXT, last_activity_time TEXT,
  is_accept INT, login_state INT, peer_certificate_id INT, encryption_algorithm INT);
'''

# Faults live in their own small store so that test control never waits for a catalog write lock.
CONTROL_FILE = 'control.sqlite3'
CONTROL_SCHEMA = ('CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY, match TEXT NOT NULL, '
                  'action TEXT NOT NULL, remaining INT)')


def open_control(data_dir, busy_timeout_ms=10000):
    os.makedirs(data_dir, exist_ok=True)
    conn = sqlite3.connect(os.path.join(data_dir, CONTROL_FILE), timeout=busy_timeout_ms / 1000.0,
                           isolation_level=None, check_same_thread=False)
    conn.execute('PRAGMA journal_mode=WAL')
    conn.execute('PRAGMA synchronous=FULL')
    conn.execute(CONTROL_SCHEMA)
    return conn


def _case(column, mapping, default='NULL'):
    whens = ' '.join("WHEN %r THEN '%s'" % (k, v) if isinstance(k, str) else "WHEN %d THEN '%s'" % (k, v)
                     for k, v in mapping.items())
    return 'CASE %s %s ELSE %s END' % (column, whens, default)


ENDPOINT_COLUMNS = [
    ('name', 'nvarchar(128)'), ('endpoint_id', 'int'), ('principal_id', 'int'), ('protocol', 'tinyint'),
    ('protocol_desc', 'nvarchar(60)'), ('type', 'tinyint'), ('type_desc', 'nvarchar(60)'), ('state', 'tinyint'),
    ('state_desc', 'nvarchar(60)'), ('is_admin_endpoint', 'bit')]
ENDPOINT_SELECT = ('name, endpoint_id, principal_id, protocol, %s AS protocol_desc, type, %s AS type_desc, '
                   'state, %s AS state_desc, is_admin_endpoint' % (
                       _case('protocol', {1: 'HTTP', 2: 'TCP', 3: 'NAMED_PIPES', 4: 'SHARED_MEMORY', 5: 'VIA'}),
                       _case('type', {1: 'SOAP', 2: 'TSQL', 3: 'SERVICE_BROKER', 4: 'DATABASE_MIRRORING'}),
                       _case('state', {0: 'STARTED', 1: 'STOPPED', 2: 'DISABLED'})))

CONNECTION_AUTH_DESC = {1: 'NTLM', 2: 'KERBEROS', 3: 'NEGOTIATE', 4: 'CERTIFICATE', 5: 'NTLM, CERTIFICATE',
                        6: 'KERBEROS, CERTIFICATE', 7: 'NEGOTIATE, CERTIFICATE', 8: 'CERTIFICATE, NTLM',
                        9: 'CERTIFICATE, KERBEROS', 10: 'CERTIFICATE, NEGOTIATE'}
ALGORITHM_DESC = {0: 'NONE', 1: 'RC4', 2: 'AES', 3: 'NONE, RC4', 4: 'NONE, AES', 5: 'RC4, AES', 6: 'AES, RC4',
                  7: 'NONE, RC4, AES', 8: 'NONE, AES, RC4'}
PRINCIPAL_TYPE_DESC = {'S': 'SQL_LOGIN', 'U': 'WINDOWS_LOGIN', 'G': 'WINDOWS_GROUP', 'R': 'SERVER_ROLE',
                       'C': 'CERTIFICATE_MAPPED_LOGIN', 'K': 'ASYMMETRIC_KEY_MAPPED_LOGIN'}
DB_PRINCIPAL_TYPE_DESC = {'A': 'APPLICATION_ROLE', 'C': 'CERTIFICATE_MAPPED_USER', 'E': 'EXTERNAL_USER',
                          'G': 'WINDOWS_GROUP', 'K': 'ASYMMETRIC_KEY_MAPPED_USER', 'R': 'DATABASE_ROLE',
                          'S': 'SQL_USER', 'U': 'WINDOWS_USER', 'X': 'EXTERNAL_GROUPS'}
SP_COLUMNS = [
    ('name', 'nvarchar(128)'), ('principal_id', 'int'), ('sid', 'varbinary(85)'), ('type', 'char(1)'),
    ('type_desc', 'nvarchar(60)'), ('is_disabled', 'int'), ('create_date', 'datetime'),
    ('modify_date', 'datetime'), ('default_database_name', 'nvarchar(128)'),
    ('default_language_name', 'nvarchar(128)'), ('credential_id', 'int'), ('owning_principal_id', 'int'),
    ('is_fixed_role', 'bit')]
SP_SELECT = ('name, principal_id, sid, type, %s AS type_desc, is_disabled, create_date, modify_date, '
             'default_database_name, default_language_name, credential_id, owning_principal_id, is_fixed_role'
             % _case('type', PRINCIPAL_TYPE_DESC))

# name -> (scope, columns, SELECT over base tables). Database-scoped views carry a hidden _db column.
VIEWS = {
    'sys.endpoints': ('server', ENDPOINT_COLUMNS, 'SELECT %s FROM endpoints' % ENDPOINT_SELECT),
    'sys.tcp_endpoints': (
        'server', ENDPOINT_COLUMNS + [('port', 'int'), ('is_dynamic_port', 'bit'), ('ip_address', 'nvarchar(45)')],
        'SELECT %s, port, is_dynamic_port, ip_address FROM endpoints WHERE protocol = 2' % ENDPOINT_SELECT),
    'sys.database_mirroring_endpoints': (
        'server', ENDPOINT_COLUMNS + [
            ('role', 'tinyint'), ('role_desc', 'nvarchar(60)'), ('is_encryption_enabled', 'bit'),
            ('connection_auth', 'tinyint'), ('connection_auth_desc', 'nvarchar(60)'), ('certificate_id', 'int'),
            ('encryption_algorithm', 'tinyint'), ('encryption_algorithm_desc', 'nvarchar(60)')],
        'SELECT %s, role, %s AS role_desc, CASE encryption_algorithm WHEN 0 THEN 0 ELSE 1 END, '
        'connection_auth, %s, certificate_id, encryption_algorithm, %s FROM endpoints WHERE type = 4' % (
            ENDPOINT_SELECT, _case('role', {0: 'NONE', 1: 'PARTNER', 2: 'WITNESS', 3: 'ALL'}),
            _case('connection_auth', CONNECTION_AUTH_DESC), _case('encryption_algorithm', ALGORITHM_DESC))),
    'sys.server_principals': ('server', SP_COLUMNS, 'SELECT %s FROM server_principals' % SP_SELECT),
    'sys.sql_logins': (
        'server', SP_COLUMNS + [('is_policy_checked', 'bit'), ('is_expiration_checked', 'bit'),
                                ('password_hash', 'varbinary(256)')],
        "SELECT %s, is_policy_checked, is_expiration_checked, password_hash FROM server_principals "
        "WHERE type = 'S'" % SP_SELECT),
    'sys.server_role_members': (
        'server', [('role_principal_id', 'int'), ('member_principal_id', 'int')],
        'SELECT role_principal_id, member_principal_id FROM server_role_members'),
    'sys.server_permissions': (
        'server', [('class', 'tinyint'), ('class_desc', 'nvarchar(60)'), ('major_id', 'int'), ('minor_id', 'int'),
                   ('grantee_principal_id', 'int'), ('grantor_principal_id', 'int'), ('type', 'char(4)'),
                   ('permission_name', 'nvarchar(128)'), ('state', 'char(1)'), ('state_desc', 'nvarchar(60)')],
        "SELECT class, %s, major_id, minor_id, grantee_principal_id, grantor_principal_id, "
        "substr(type || '    ', 1, 4), permission_name, state, %s FROM server_permissions" % (
            _case('class', {100: 'SERVER', 101: 'SERVER_PRINCIPAL', 105: 'ENDPOINT', 108: 'AVAILABILITY GROUP'}),
            _case('state', {'D': 'DENY', 'R': 'REVOKE', 'G': 'GRANT', 'W': 'GRANT_WITH_GRANT_OPTION'}))),
    'sys.databases': (
        'server', [('name', 'nvarchar(128)'), ('database_id', 'int'), ('source_database_id', 'int'),
                   ('owner_sid', 'varbinary(85)'), ('create_date', 'datetime'), ('compatibility_level', 'tinyint'),
                   ('collation_name', 'nvarchar(128)'), ('user_access', 'tinyint'),
                   ('user_access_desc', 'nvarchar(60)'), ('is_read_only', 'bit'), ('state', 'tinyint'),
                   ('state_desc', 'nvarchar(60)'), ('recovery_model', 'tinyint'),
                   ('recovery_model_desc', 'nvarchar(60)'), ('is_master_key_encrypted_by_server', 'bit'),
                   ('is_encrypted', 'bit'), ('is_trustworthy_on', 'bit')],
        "SELECT name, database_id, NULL, owner_sid, create_date, compatibility_level, "
        "'SQL_Latin1_General_CP1_CI_AS', 0, 'MULTI_USER', 0, 0, 'ONLINE', "
        "CASE WHEN name IN ('master', 'msdb', 'tempdb') THEN 3 ELSE 1 END, "
        "CASE WHEN name IN ('master', 'msdb', 'tempdb') THEN 'SIMPLE' ELSE 'FULL' END, "
        "is_master_key_encrypted_by_server, 0, CASE WHEN name = 'msdb' THEN 1 ELSE 0 END FROM databases"),
    'sys.database_principals': (
        'database', [('name', 'nvarchar(128)'), ('principal_id', 'int'), ('type', 'char(1)'),
                     ('type_desc', 'nvarchar(60)'), ('default_schema_name', 'nvarchar(128)'),
                     ('create_date', 'datetime'), ('modify_date', 'datetime'), ('owning_principal_id', 'int'),
                     ('sid', 'varbinary(85)'), ('is_fixed_role', 'bit'), ('authentication_type', 'int'),
                     ('authentication_type_desc', 'nvarchar(60)'), ('default_language_name', 'nvarchar(128)'),
                     ('default_language_lcid', 'int'), ('allow_encrypted_value_modifications', 'bit')],
        "SELECT name, principal_id, type, %s, default_schema_name, create_date, modify_date, owning_principal_id, "
        "sid, is_fixed_role, authentication_type, %s, NULL, NULL, 0, db AS _db FROM database_principals" % (
            _case('type', DB_PRINCIPAL_TYPE_DESC),
            _case('authentication_type', {0: 'NONE', 1: 'INSTANCE', 2: 'DATABASE', 3: 'WINDOWS'}))),
    'sys.database_role_members': (
        'database', [('role_principal_id', 'int'), ('member_principal_id', 'int')],
        'SELECT role_principal_id, member_principal_id, db AS _db FROM database_role_members'),
    'sys.certificates': (
        'database', [('name', 'nvarchar(128)'), ('certificate_id', 'int'), ('principal_id', 'int'),
                     ('pvt_key_encryption_type', 'char(2)'), ('pvt_key_encryption_type_desc', 'nvarchar(60)'),
                     ('is_active_for_begin_dialog', 'bit'), ('issuer_name', 'nvarchar(442)'),
                     ('cert_serial_number', 'nvarchar(64)'), ('sid', 'varbinary(85)'),
                     ('string_sid', 'nvarchar(128)'), ('subject', 'nvarchar(4000)'), ('expiry_date', 'datetime'),
                     ('start_date', 'datetime'), ('thumbprint', 'varbinary(32)'), ('attested_by', 'nvarchar(260)'),
                     ('pvt_key_last_backup_date', 'datetime'), ('key_length', 'int')],
        "SELECT name, certificate_id, principal_id, pvt_key_encryption_type, %s, is_active_for_begin_dialog, "
        "issuer_name, cert_serial_number, sid, string_sid, subject, expiry_date, start_date, thumbprint, NULL, "
        "pvt_key_last_backup_date, key_length, db AS _db FROM certificates" % _case(
            'pvt_key_encryption_type', {'NA': 'NO_PRIVATE_KEY', 'MK': 'ENCRYPTED_BY_MASTER_KEY',
                                        'PW': 'ENCRYPTED_BY_PASSWORD', 'SK': 'ENCRYPTED_BY_SERVICE_MASTER_KEY'})),
    'sys.symmetric_keys': (
        'database', [('name', 'nvarchar(128)'), ('principal_id', 'int'), ('symmetric_key_id', 'int'),
                     ('key_length', 'int'), ('key_algorithm', 'char(2)'), ('algorithm_desc', 'nvarchar(60)'),
                     ('create_date', 'datetime'), ('modify_date', 'datetime'), ('key_guid', 'uniqueidentifier'),
                     ('key_thumbprint', 'varbinary(32)'), ('provider_type', 'nvarchar(60)'),
                     ('cryptographic_provider_guid', 'uniqueidentifier'),
                     ('cryptographic_provider_algid', 'sql_variant')],
        # [U] the DMK row: AES-256 (tsql.md 2.9), symmetric_key_id 101, owned by dbo.
        "SELECT '##MS_DatabaseMasterKey##', 1, 101, 256, 'A3', 'AES_256', create_date, modify_date, key_guid, "
        "NULL, NULL, NULL, NULL, db AS _db FROM master_keys"),
    'sys.availability_groups': (
        'server', [('group_id', 'uniqueidentifier'), ('name', 'nvarchar(128)')],
        'SELECT group_id, name FROM availability_groups'),
    'sys.availability_replicas': (
        'server', [('replica_id', 'uniqueidentifier'), ('group_id', 'uniqueidentifier'),
                   ('replica_metadata_id', 'int'), ('replica_server_name', 'nvarchar(256)'),
                   ('owner_sid', 'varbinary(85)'), ('endpoint_url', 'nvarchar(128)'), ('availability_mode', 'tinyint'),
                   ('availability_mode_desc', 'nvarchar(60)'), ('failover_mode', 'tinyint'),
                   ('failover_mode_desc', 'nvarchar(60)'), ('session_timeout', 'int'),
                   ('primary_role_allow_connections', 'tinyint'),
                   ('primary_role_allow_connections_desc', 'nvarchar(60)'),
                   ('secondary_role_allow_connections', 'tinyint'),
                   ('secondary_role_allow_connections_desc', 'nvarchar(60)'), ('create_date', 'datetime'),
                   ('modify_date', 'datetime'), ('backup_priority', 'int'),
                   ('read_only_routing_url', 'nvarchar(256)'), ('seeding_mode', 'tinyint'),
                   ('seeding_mode_desc', 'nvarchar(60)')],
        'SELECT replica_id, group_id, replica_metadata_id, replica_server_name, owner_sid, endpoint_url, '
        'availability_mode, %s, failover_mode, %s, session_timeout, primary_role_allow_connections, %s, '
        'secondary_role_allow_connections, %s, create_date, modify_date, backup_priority, read_only_routing_url, '
        'seeding_mode, %s FROM availability_replicas' % (
            _case('availability_mode', {0: 'ASYNCHRONOUS_COMMIT', 1: 'SYNCHRONOUS_COMMIT', 4: 'CONFIGURATION_ONLY'}),
            _case('failover_mode', {0: 'AUTOMATIC', 1: 'MANUAL'}),
            _case('primary_role_allow_connections', {2: 'ALL', 3: 'READ_WRITE'}),
            _case('secondary_role_allow_connections', {0: 'NO', 1: 'READ_ONLY', 2: 'ALL'}),
            _case('seeding_mode', {0: 'AUTOMATIC', 1: 'MANUAL'}))),
    'sys.dm_hadr_availability_replica_states': (
        'server', [('replica_id', 'uniqueidentifier'), ('group_id', 'uniqueidentifier'), ('is_local', 'bit'),
                   ('role', 'tinyint'), ('role_desc', 'nvarchar(60)'), ('operational_state', 'tinyint'),
                   ('operational_state_desc', 'nvarchar(60)'), ('connected_state', 'tinyint'),
                   ('connected_state_desc', 'nvarchar(60)'), ('recovery_health', 'tinyint'),
                   ('recovery_health_desc', 'nvarchar(60)'), ('synchronization_health', 'tinyint'),
                   ('synchronization_health_desc', 'nvarchar(60)'), ('last_connect_error_number', 'int'),
                   ('last_connect_error_description', 'nvarchar(1024)'),
                   ('last_connect_error_timestamp', 'datetime')],
        'SELECT replica_id, group_id, is_local, role, %s, operational_state, %s, connected_state, %s, '
        'recovery_health, %s, synchronization_health, %s, last_connect_error_number, '
        'last_connect_error_description, last_connect_error_timestamp FROM replica_states' % (
            _case('role', {0: 'RESOLVING', 1: 'PRIMARY', 2: 'SECONDARY'}),
            _case('operational_state', {0: 'PENDING_FAILOVER', 1: 'PENDING', 2: 'ONLINE', 3: 'OFFLINE',
                                        4: 'FAILED', 5: 'FAILED_NO_QUORUM'}),
            _case('connected_state', {0: 'DISCONNECTED', 1: 'CONNECTED'}),
            _case('recovery_health', {0: 'ONLINE_IN_PROGRESS', 1: 'ONLINE'}),
            _case('synchronization_health', {0: 'NOT_HEALTHY', 1: 'PARTIALLY_HEALTHY', 2: 'HEALTHY'}))),
    'sys.database_mirroring': (
        'server', [('database_id', 'int'), ('mirroring_guid', 'uniqueidentifier'), ('mirroring_state', 'tinyint'),
                   ('mirroring_state_desc', 'nvarchar(60)'), ('mirroring_role', 'tinyint'),
                   ('mirroring_role_desc', 'nvarchar(60)'), ('mirroring_role_sequence', 'int'),
                   ('mirroring_safety_level', 'tinyint'), ('mirroring_safety_level_desc', 'nvarchar(60)'),
                   ('mirroring_safety_sequence', 'int'), ('mirroring_partner_name', 'nvarchar(128)'),
                   ('mirroring_partner_instance', 'nvarchar(128)'), ('mirroring_witness_name', 'nvarchar(128)'),
                   ('mirroring_witness_state', 'tinyint'), ('mirroring_witness_state_desc', 'nvarchar(60)'),
                   ('mirroring_connection_timeout', 'int'), ('mirroring_redo_queue', 'int')],
        'SELECT d.database_id, m.mirroring_guid, m.mirroring_state, %s, m.mirroring_role, %s, '
        'm.mirroring_role_sequence, m.mirroring_safety_level, %s, m.mirroring_safety_sequence, '
        'm.mirroring_partner_name, m.mirroring_partner_instance, m.mirroring_witness_name, '
        'm.mirroring_witness_state, %s, m.mirroring_connection_timeout, m.mirroring_redo_queue '
        'FROM databases d LEFT JOIN database_mirroring_state m ON m.database_id = d.database_id' % (
            _case('m.mirroring_state', {0: 'SUSPENDED', 1: 'DISCONNECTED', 2: 'SYNCHRONIZING',
                                        3: 'PENDING_FAILOVER', 4: 'SYNCHRONIZED'}),
            _case('m.mirroring_role', {1: 'PRINCIPAL', 2: 'MIRROR'}),
            _case('m.mirroring_safety_level', {0: 'UNKNOWN', 1: 'OFF', 2: 'FULL'}),
            _case('m.mirroring_witness_state', {0: 'UNKNOWN', 1: 'CONNECTED', 2: 'DISCONNECTED'}))),
    'sys.dm_db_mirroring_connections': (
        'server', [('connection_id', 'uniqueidentifier'), ('transport_stream_id', 'uniqueidentifier'),
                   ('state', 'smallint'), ('state_desc', 'nvarchar(60)'), ('connect_time', 'datetime'),
                   ('login_time', 'datetime'), ('authentication_method', 'nvarchar(128)'),
                   ('principal_name', 'nvarchar(128)'), ('remote_user_name', 'nvarchar(128)'),
                   ('last_activity_time', 'datetime'), ('is_accept', 'bit'), ('login_state', 'smallint'),
                   ('login_state_desc', 'nvarchar(60)'), ('peer_certificate_id', 'int'),
                   ('encryption_algorithm', 'smallint'), ('encryption_algorithm_desc', 'nvarchar(60)'),
                   ('receives_posted', 'smallint'), ('is_receive_flow_controlled', 'bit'),
                   ('sends_posted', 'smallint'), ('is_send_flow_controlled', 'bit'),
                   ('total_bytes_sent', 'bigint'), ('total_bytes_received', 'bigint'),
                   ('total_fragments_sent', 'bigint'), ('total_fragments_received', 'bigint'),
                   ('total_sends', 'bigint'), ('total_receives', 'bigint'), ('peer_arbitration_id', 'uniqueidentifier')],
        "SELECT connection_id, transport_stream_id, state, %s, connect_time, login_time, authentication_method, "
        "principal_name, remote_user_name, last_activity_time, is_accept, login_state, "
        "CASE login_state WHEN 12 THEN 'ONLINE' WHEN 13 THEN 'ERROR' ELSE 'INITIAL' END, peer_certificate_id, "
        "encryption_algorithm, %s, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL FROM mirroring_connections" % (
            _case('state', {1: 'NEW', 2: 'CONNECTING', 3: 'CONNECTED', 4: 'LOGGED_IN', 5: 'CLOSED'}),
            _case('encryption_algorithm', ALGORITHM_DESC))),
    'sys.dm_os_host_info': (
        'server', [('host_platform', 'nvarchar(256)'), ('host_distribution', 'nvarchar(256)'),
                   ('host_release', 'nvarchar(256)'), ('host_service_pack_level', 'nvarchar(256)'),
                   ('host_sku', 'int'), ('os_language_version', 'int'), ('host_architecture', 'nvarchar(256)')],
        "SELECT (SELECT value FROM meta WHERE key = 'host_platform'), "
        "(SELECT value FROM meta WHERE key = 'host_distribution'), "
        "(SELECT value FROM meta WHERE key = 'host_release'), '', "
        "(SELECT value FROM meta WHERE key = 'host_sku'), 1033, 'X64'"),
    'sys.dm_server_services': (
        'server', [('servicename', 'nvarchar(256)'), ('startup_type', 'int'), ('startup_type_desc', 'nvarchar(256)'),
                   ('status', 'int'), ('status_desc', 'nvarchar(256)'), ('process_id', 'int'),
                   ('last_startup_time', 'datetime'), ('service_account', 'nvarchar(256)'),
                   ('filename', 'nvarchar(256)'), ('is_clustered', 'nvarchar(1)'),
                   ('cluster_nodename', 'nvarchar(256)'), ('instant_file_initialization_enabled', 'nvarchar(1)')],
        "SELECT (SELECT value FROM meta WHERE key = 'service_name'), 2, 'Automatic', 4, 'Running', "
        "(SELECT value FROM meta WHERE key = 'process_id'), (SELECT value FROM meta WHERE key = 'startup_time'), "
        "(SELECT value FROM meta WHERE key = 'service_account'), "
        "(SELECT value FROM meta WHERE key = 'service_file'), 'N', NULL, 'Y'"),
}

# Real SQL Server views the emulator does not model: querying them is "not implemented", never 208.
UNMODELLED_VIEWS = frozenset('''
sys.objects sys.tables sys.columns sys.schemas sys.all_objects sys.system_objects sys.database_permissions
sys.asymmetric_keys sys.credentials sys.configurations sys.dm_exec_sessions sys.dm_exec_connections
sys.dm_exec_requests sys.login_token sys.user_token sys.key_encryptions sys.crypt_properties
sys.availability_databases_cluster sys.dm_hadr_database_replica_states sys.availability_group_listeners
sys.dm_hadr_availability_group_states sys.dm_hadr_cluster sys.dm_hadr_cluster_members sys.server_triggers
sys.service_broker_endpoints sys.soap_endpoints sys.http_endpoints sys.via_endpoints sys.endpoint_webmethods
sys.master_files sys.database_files sys.sysprocesses sys.syslogins sys.sysusers sys.messages
sys.dm_os_sys_info sys.dm_os_windows_info sys.registered_search_properties sys.linked_logins sys.servers
sys.server_audits sys.database_scoped_configurations sys.types sys.indexes sys.sql_modules sys.procedures
'''.split())


def create_schema_tx(conn):
    """Create tables (if missing) and (re)create the views, inside the caller's transaction."""
    for statement in SCHEMA.split(';'):
        if statement.strip():
            conn.execute(statement)
    for name, (scope, columns, select) in VIEWS.items():
        conn.execute('DROP VIEW IF EXISTS "%s"' % name)
        names = [c for c, _unused in columns] + (['_db'] if scope == 'database' else [])
        conn.execute('CREATE VIEW "%s" (%s) AS %s' % (name, ', '.join('"%s"' % n for n in names), select))


SYSTEM_DATABASES = [(1, 'master'), (2, 'tempdb'), (3, 'model'), (4, 'msdb')]
FIXED_SERVER_ROLES = [(2, 'public'), (3, 'sysadmin'), (4, 'securityadmin'), (5, 'serveradmin'), (6, 'setupadmin'),
                      (7, 'processadmin'), (8, 'diskadmin'), (9, 'dbcreator'), (10, 'bulkadmin')]
FIXED_DB_ROLES = [(0, 'public'), (16384, 'db_owner'), (16385, 'db_accessadmin'), (16386, 'db_securityadmin'),
                  (16387, 'db_ddladmin'), (16389, 'db_backupoperator'), (16390, 'db_datareader'),
                  (16391, 'db_datawriter'), (16392, 'db_denydatareader'), (16393, 'db_denydatawriter')]
# System endpoints 1-5 as a fresh SQL Server 2022 shows them (tsql.md 2.1: ids below 65536).
SYSTEM_ENDPOINTS = [(1, 'Dedicated Admin Connection', 2, 1), (2, 'TSQL Local Machine', 4, 0),
                    (3, 'TSQL Named Pipes', 3, 0), (4, 'TSQL Default TCP', 2, 0), (5, 'TSQL Default VIA', 5, 0)]


def builtin_logins(platform, instance):
    """Logins a fresh SQL Server 2022 has besides sa: (name, type, disabled, sysadmin) [U: from memory of
    fresh installs; the ##MS_..## certificate-mapped logins and their certificates are not modelled]."""
    logins = [('##MS_PolicyEventProcessingLogin##', 'S', 1, False),
              ('##MS_PolicyTsqlExecutionLogin##', 'S', 1, False),
              ('NT AUTHORITY\\SYSTEM', 'U', 0, False)]
    if platform == 'linux':
        return logins + [('NT AUTHORITY\\NETWORK SERVICE', 'U', 0, False)]
    service = 'MSSQL$%s' % instance if instance else 'MSSQLSERVER'
    agent = 'SQLAgent$%s' % instance if instance else 'SQLSERVERAGENT'
    return logins + [('NT SERVICE\\SQLWriter', 'U', 0, True), ('NT SERVICE\\Winmgmt', 'U', 0, True),
                     ('NT SERVICE\\' + service, 'U', 0, True), ('NT SERVICE\\' + agent, 'U', 0, True)]


def seed(conn, sa_hash, platform='windows', instance=None):
    """First start only: the objects every fresh instance has."""
    from .logins import windows_sid
    ts = now_text()
    conn.execute('BEGIN IMMEDIATE')
    conn.execute("INSERT INTO server_principals (principal_id, name, sid, type, create_date, modify_date, "
                 "default_database_name, default_language_name, password_hash, is_policy_checked, "
                 "is_expiration_checked) VALUES (1, 'sa', X'01', 'S', ?, ?, 'master', 'us_english', ?, 1, 0)",
                 (ts, ts, sa_hash))
    for pid, name in FIXED_SERVER_ROLES:
        conn.execute("INSERT INTO server_principals (principal_id, name, sid, type, create_date, modify_date, "
                     "owning_principal_id, is_fixed_role) VALUES (?, ?, ?, 'R', ?, ?, 1, ?)",
                     (pid, name, bytes([pid]), ts, ts, 0 if name == 'public' else 1))
    conn.execute('INSERT INTO server_role_members VALUES (3, 1)')
    for pid, (name, kind, disabled, sysadmin) in enumerate(builtin_logins(platform, instance), start=256):
        sid = windows_sid(name) if kind == 'U' else os.urandom(16)
        conn.execute('INSERT INTO server_principals (principal_id, name, sid, type, is_disabled, create_date, '
                     'modify_date, default_database_name, default_language_name, password_hash, is_policy_checked, '
                     'is_expiration_checked) VALUES (?, ?, ?, ?, ?, ?, ?, \'master\', \'us_english\', ?, ?, ?)',
                     (pid, name, sid, kind, disabled, ts, ts, os.urandom(70) if kind == 'S' else None,
                      1 if kind == 'S' else None, 0 if kind == 'S' else None))
        conn.execute("INSERT INTO server_permissions VALUES (100, 0, 0, ?, 1, 'COSQ', 'CONNECT SQL', 'G')", (pid,))
        if sysadmin:
            conn.execute('INSERT INTO server_role_members VALUES (3, ?)', (pid,))
    for did, name in SYSTEM_DATABASES:
        conn.execute('INSERT INTO databases (database_id, name, create_date, owner_sid) VALUES (?, ?, ?, X\'01\')',
                     (did, name, ts))
        seed_database(conn, name, ts)
    for eid, name, protocol, admin in SYSTEM_ENDPOINTS:
        tcp = protocol == 2
        conn.execute('INSERT INTO endpoints (endpoint_id, name, principal_id, protocol, type, state, '
                     'is_admin_endpoint, port, is_dynamic_port) VALUES (?, ?, 1, ?, 2, 0, ?, ?, ?)',
                     (eid, name, protocol, admin, 0 if tcp else None, 1 if tcp else None))
        if not admin:   # public holds CONNECT on the T-SQL endpoints
            conn.execute("INSERT INTO server_permissions VALUES (105, ?, 0, 2, 1, 'CO', 'CONNECT', 'G')", (eid,))
    conn.execute("INSERT INTO server_permissions VALUES (100, 0, 0, 2, 1, 'VWDB', 'VIEW ANY DATABASE', 'G')")
    conn.execute("INSERT INTO server_permissions VALUES (100, 0, 0, 1, 1, 'COSQ', 'CONNECT SQL', 'G')")
    conn.execute("INSERT INTO meta VALUES ('seeded', ?)", (ts,))
    conn.execute('COMMIT')


def seed_database(conn, db, ts):
    rows = [(1, 'dbo', 'S', b'\x01', 'dbo', 1), (2, 'guest', 'S', b'\x00', 'guest', 0),
            (3, 'INFORMATION_SCHEMA', 'S', None, None, 0), (4, 'sys', 'S', None, None, 0)]
    for pid, name, typ, sid, schema, auth in rows:
        conn.execute('INSERT INTO database_principals (db, principal_id, name, type, sid, default_schema_name, '
                     'create_date, modify_date, authentication_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                     (db, pid, name, typ, sid, schema, ts, ts, auth))
    for pid, name in FIXED_DB_ROLES:
        conn.execute("INSERT INTO database_principals (db, principal_id, name, type, create_date, modify_date, "
                     "owning_principal_id, is_fixed_role) VALUES (?, ?, ?, 'R', ?, ?, 1, ?)",
                     (db, pid, name, ts, ts, 0 if pid == 0 else 1))
