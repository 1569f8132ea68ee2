"""SELECT over the catalog views: relational features, parameters, types, built-in functions."""
import datetime

import pytest

from tests.emulator.engine.testing import Harness, free_port


@pytest.fixture
def h(tmp_path):
    harness = Harness(str(tmp_path / 'data'))
    harness.ok("CREATE ENDPOINT Hadr_endpoint STATE = STOPPED AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING "
               "(AUTHENTICATION = WINDOWS NEGOTIATE, ENCRYPTION = REQUIRED ALGORITHM AES, ROLE = ALL)" % free_port())
    harness.ok("CREATE LOGIN [CORP\\alice] FROM WINDOWS; CREATE LOGIN peer WITH PASSWORD = 'Str0ng!Passw0rd'")
    harness.ok('GRANT CONNECT ON ENDPOINT::Hadr_endpoint TO [CORP\\alice]')
    yield harness
    harness.close()


def columns(h, sql, params=None):
    result = [r for r in h.run(sql, params=params) if r.columns is not None][0]
    assert result.error is None, result.error
    return [(c.name, c.sqltype) for c in result.columns]


def test_join_where_order_and_parameters(h):
    sql = ('SELECT sp.name, p.permission_name, p.state_desc FROM sys.server_permissions AS p '
           'INNER JOIN sys.server_principals AS sp ON sp.principal_id = p.grantee_principal_id '
           'INNER JOIN sys.endpoints e ON e.endpoint_id = p.major_id '
           'WHERE p.class = 105 AND e.name = @P1 ORDER BY sp.name')
    assert h.rows(sql, params=[('HADR_ENDPOINT', 'nvarchar(128)')]) == [('CORP\\alice', 'CONNECT', 'GRANT')]
    assert columns(h, sql, [('x', 'nvarchar(128)')]) == [
        ('name', 'nvarchar(128)'), ('permission_name', 'nvarchar(128)'), ('state_desc', 'nvarchar(60)')]


def test_left_join_exists_in_subquery_case_count(h):
    rows = h.rows("SELECT sp.name, COUNT(p.type) AS grants, "
                  "CASE WHEN EXISTS (SELECT 1 FROM sys.sql_logins l WHERE l.name = sp.name) THEN 'sql' "
                  "ELSE 'other' END AS kind "
                  "FROM sys.server_principals sp LEFT JOIN sys.server_permissions p "
                  "ON p.grantee_principal_id = sp.principal_id AND p.class = 105 "
                  "WHERE sp.name IN (SELECT name FROM sys.server_principals WHERE type IN ('S', 'U') AND name NOT LIKE 'NT %') "
                  "AND sp.name NOT LIKE '##%' GROUP BY sp.name ORDER BY sp.name DESC")
    assert rows == [('sa', 0, 'sql'), ('peer', 0, 'sql'), ('CORP\\alice', 1, 'other')]


def test_result_column_types(h):
    assert columns(h, 'SELECT sid, type, is_disabled, create_date FROM sys.server_principals WHERE 1 = 0') == [
        ('sid', 'varbinary(85)'), ('type', 'char(1)'), ('is_disabled', 'int'), ('create_date', 'datetime')]
    assert columns(h, "SELECT is_encryption_enabled, role, certificate_id FROM sys.database_mirroring_endpoints") \
        == [('is_encryption_enabled', 'bit'), ('role', 'tinyint'), ('certificate_id', 'int')]
    assert columns(h, "SELECT SERVERPROPERTY('ServerName') AS s, CAST(SERVERPROPERTY('ServerName') AS "
                      "nvarchar(128)) AS n, @@SERVERNAME, COUNT(*) AS c") == [
        ('s', 'sql_variant'), ('n', 'nvarchar(128)'), ('', 'nvarchar(128)'), ('c', 'int')]
    row = h.rows('SELECT is_encryption_enabled, create_date FROM sys.database_mirroring_endpoints e '
                 'JOIN sys.server_principals p ON p.principal_id = e.principal_id')[0]
    assert row[0] is True and isinstance(row[1], datetime.datetime)


def test_serverproperty_and_system_functions(h):
    assert h.rows("SELECT CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)), "
                  "CAST(SERVERPROPERTY('ServerName') AS nvarchar(128)), SERVERPROPERTY('InstanceName'), "
                  "CAST(SERVERPROPERTY('IsHadrEnabled') AS int), SERVERPROPERTY('NoSuchProperty')") == [
        ('SQLEMU1', 'SQLEMU1', None, 1, None)]
    assert h.value("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))").startswith('16.')
    assert h.value('SELECT @@VERSION').startswith('Microsoft SQL Server 2022')
    assert h.rows('SELECT SUSER_SNAME(), @@SPID, @@TRANCOUNT, DB_NAME(), IS_SRVROLEMEMBER(\'sysadmin\')') == [
        ('sa', h.session.spid, 0, 'master', 1)]
    assert h.value("SELECT SUSER_SNAME(sid) FROM sys.server_principals WHERE name = 'peer'") == 'peer'
    assert h.value("SELECT service_account FROM sys.dm_server_services") == 'CORP\\sqlsvc'


def test_convert_binary_styles_and_string_functions(h):
    assert h.rows("SELECT CONVERT(varchar(max), 0x0A0B, 1), CONVERT(nvarchar(20), 0x0A0B, 2), "
                  "CONVERT(varbinary(4), '0x0A0B', 1), UPPER(N'abc'), LOWER('ABC'), LEN('ab  '), "
                  "ISNULL(NULL, 'x'), COALESCE(NULL, NULL, 3), 'a' + N'b', LEFT('abcdef', 2)") == [
        ('0x0A0B', '0A0B', b'\x0a\x0b', 'ABC', 'abc', 2, 'x', 3, 'ab', 'ab')]


def test_dates(h):
    assert h.value("SELECT DATEDIFF(day, '2024-01-01', '2024-03-01')") == 60
    assert h.value("SELECT DATEADD(year, 1, CAST('2024-02-29' AS datetime))") == datetime.datetime(2025, 2, 28)
    assert h.value("SELECT CASE WHEN GETUTCDATE() > '2020-01-01' THEN 1 ELSE 0 END") == 1
    assert h.value("SELECT DATEDIFF(second, create_date, GETUTCDATE()) FROM sys.server_principals "
                   "WHERE name = 'peer'") in (0, 1, 2)


def test_collation_is_case_insensitive(h):
    assert h.value("SELECT COUNT(*) FROM sys.server_principals WHERE name = 'PEER'") == 1
    assert h.value("SELECT COUNT(*) FROM sys.server_principals WHERE name LIKE 'corp\\_%' ESCAPE '\\'") == 0
    assert h.value("SELECT COUNT(*) FROM sys.server_principals WHERE name LIKE 'corp%'") == 1


def test_conversion_errors(h):
    error = h.fails("SELECT CAST('abc' AS int)", 245)
    assert error.message == "Conversion failed when converting the varchar value 'abc' to data type int."
    h.fails('SELECT 1 / 0', 8134)


def test_union_top_distinct_derived_table(h):
    assert h.rows("SELECT TOP 1 name FROM sys.server_principals WHERE type = 'S' AND name NOT LIKE '##%' ORDER BY name") == [('peer',)]
    assert h.rows("SELECT name FROM sys.databases WHERE database_id = 1 UNION ALL SELECT name FROM sys.databases "
                  "WHERE database_id = 2") == [('master',), ('tempdb',)]
    assert h.rows('SELECT DISTINCT type FROM (SELECT type FROM sys.server_principals) AS t WHERE type = \'R\'') \
        == [('R',)]
    assert h.rows('SELECT name FROM sys.databases ORDER BY database_id') == [
        ('master',), ('tempdb',), ('model',), ('msdb',)]


def test_database_scoped_views_follow_use_and_three_part_names(h):
    h.ok("CREATE USER peer_user FOR LOGIN peer")
    assert h.value("SELECT COUNT(*) FROM sys.database_principals WHERE name = 'peer_user'") == 1
    h.ok('USE msdb')
    assert h.value("SELECT COUNT(*) FROM sys.database_principals WHERE name = 'peer_user'") == 0
    assert h.value("SELECT COUNT(*) FROM master.sys.database_principals WHERE name = 'peer_user'") == 1
    assert h.value('SELECT DB_NAME()') == 'msdb'
    h.fails('USE nosuchdb', 911)


def test_nocount_and_rowcount(h):
    result = h.run('SELECT name FROM sys.databases')[0]
    assert result.rowcount == 4
    result = h.run('SET NOCOUNT ON; SELECT name FROM sys.databases')[1]
    assert result.rowcount is None and len(result.rows) == 4


def test_select_without_cast_of_boolean_is_rejected(h):
    h.fails('SELECT 1 = 1', 102)
    error = h.fails("SELECT name FROM sys.endpoints WHERE name ORDER BY name", 4145)
    assert error.message == ("An expression of non-boolean type specified in a context where a condition is "
                             "expected, near 'ORDER'.")


def test_named_instance_properties_and_service_accounts(tmp_path):
    named = Harness(str(tmp_path / 'named'), server_name='HOST1\\INST2', service_account='CORP\\sql_inst2')
    try:
        assert named.rows("SELECT CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)), "
                          "CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)), @@SERVERNAME, @@SERVICENAME") == [
            ('HOST1', 'INST2', 'HOST1\\INST2', 'INST2')]
        assert named.value('SELECT servicename FROM sys.dm_server_services') == 'SQL Server (INST2)'
        # the instance's own service SID login exists from the start and is sysadmin
        assert named.value("SELECT IS_SRVROLEMEMBER('sysadmin', 'NT SERVICE\\MSSQL$INST2')") == 1
        named.fails('CREATE LOGIN [NT SERVICE\\MSSQL$INST2] FROM WINDOWS', 15025)
        named.ok('CREATE LOGIN [CORP\\sql_inst2] FROM WINDOWS')
        named.fails('CREATE LOGIN [NT SERVICE\\MSSQLSERVER] FROM WINDOWS', 15401)
    finally:
        named.close()


@pytest.mark.parametrize('platform, expected', [
    ('windows', ['##MS_PolicyEventProcessingLogin##', '##MS_PolicyTsqlExecutionLogin##', 'NT AUTHORITY\\SYSTEM',
                 'NT SERVICE\\MSSQLSERVER', 'NT SERVICE\\SQLSERVERAGENT', 'NT SERVICE\\SQLWriter',
                 'NT SERVICE\\Winmgmt', 'sa']),
    ('linux', ['##MS_PolicyEventProcessingLogin##', '##MS_PolicyTsqlExecutionLogin##',
               'NT AUTHORITY\\NETWORK SERVICE', 'NT AUTHORITY\\SYSTEM', 'sa']),
])
def test_a_fresh_instance_has_the_built_in_logins(tmp_path, platform, expected):
    fresh = Harness(str(tmp_path / platform), platform=platform)
    try:
        assert [r[0] for r in fresh.rows("SELECT name FROM sys.server_principals WHERE type <> 'R' "
                                         "ORDER BY name")] == expected
        assert fresh.value("SELECT COUNT(*) FROM sys.sql_logins WHERE name LIKE '##%' AND is_disabled = 1") == 2
    finally:
        fresh.close()
