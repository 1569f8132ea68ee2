"""python -m tests.emulator.ctl: in-use marks show in the views; faults are consumed by take_fault."""
import subprocess
import sys

import pytest

from tests.emulator.engine.testing import Harness, free_port


@pytest.fixture
def h(tmp_path):
    harness = Harness(str(tmp_path / 'data'))
    harness.ok("CREATE ENDPOINT Hadr_endpoint AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING (ROLE = ALL)"
               % free_port())
    yield harness
    harness.close()


def ctl(h, *args):
    return subprocess.run([sys.executable, '-m', 'tests.emulator.ctl', '--data', h.data_dir] + list(args),
                          capture_output=True, text=True, timeout=60, check=False)


def test_mark_in_use_availability_group(h):
    assert ctl(h, 'mark-in-use', '--availability-group', 'ag1').returncode == 0
    port = h.value('SELECT port FROM sys.tcp_endpoints WHERE type = 4')
    assert h.rows('SELECT g.name, r.replica_server_name, r.endpoint_url, s.is_local, s.role_desc, '
                  's.connected_state_desc FROM sys.dm_hadr_availability_replica_states s '
                  'JOIN sys.availability_replicas r ON r.replica_id = s.replica_id '
                  'JOIN sys.availability_groups g ON g.group_id = r.group_id WHERE s.is_local = 1') == [
        ('ag1', 'SQLEMU1', 'TCP://sqlemu1:%d' % port, True, 'PRIMARY', 'CONNECTED')]
    assert h.value("SELECT COUNT(*) FROM sys.dm_db_mirroring_connections WHERE state_desc = 'LOGGED_IN'") == 2


def test_mark_in_use_mirroring_and_clear(h):
    assert ctl(h, 'mark-in-use', '--mirroring', 'SalesDb').returncode == 0
    assert h.rows('SELECT d.name, m.mirroring_state_desc, m.mirroring_role_desc FROM sys.database_mirroring m '
                  'JOIN sys.databases d ON d.database_id = m.database_id WHERE m.mirroring_guid IS NOT NULL') == [
        ('SalesDb', 'SYNCHRONIZED', 'PRINCIPAL')]
    assert h.value('SELECT COUNT(*) FROM sys.database_mirroring WHERE mirroring_guid IS NULL') == 4
    assert ctl(h, 'clear').returncode == 0
    assert h.value('SELECT COUNT(*) FROM sys.database_mirroring WHERE mirroring_guid IS NOT NULL') == 0
    assert h.value('SELECT COUNT(*) FROM sys.dm_db_mirroring_connections') == 0


def test_changing_an_in_use_endpoint_closes_its_connections(h):
    ctl(h, 'mark-in-use', '--availability-group', 'ag1')
    h.ok('ALTER ENDPOINT Hadr_endpoint FOR DATABASE_MIRRORING (ROLE = PARTNER)')
    assert h.value('SELECT COUNT(*) FROM sys.dm_db_mirroring_connections') == 0
    assert h.value('SELECT COUNT(*) FROM sys.dm_hadr_availability_replica_states WHERE is_local = 1') == 1


def test_faults_are_matched_and_consumed(h):
    assert ctl(h, 'fault', '--match', r'CREATE\s+LOGIN', '--action', 'error:1205', '--times', '2').returncode == 0
    assert ctl(h, 'fault', '--match', 'DROP', '--action', 'delay:50').returncode == 0
    assert h.engine.take_fault('SELECT 1') is None
    assert h.engine.take_fault("CREATE  LOGIN x WITH PASSWORD = 'y'") == 'error:1205'
    assert h.engine.take_fault("CREATE LOGIN x WITH PASSWORD = 'y'") == 'error:1205'
    assert h.engine.take_fault("CREATE LOGIN x WITH PASSWORD = 'y'") is None
    assert h.engine.take_fault('DROP LOGIN x') == 'delay:50'
    assert h.engine.take_fault('DROP LOGIN x') is None


@pytest.mark.parametrize('args, message', [
    (['fault', '--match', '(', '--action', 'drop'], 'not a valid regular expression'),
    (['fault', '--match', 'x', '--action', 'explode'], '--action must be'),
    (['fault', '--match', 'x', '--action', 'drop', '--times', '0'], '--times must be at least 1'),
])
def test_bad_fault_arguments(h, args, message):
    result = ctl(h, *args)
    assert result.returncode != 0 and message in result.stderr


def test_ctl_without_a_catalog(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'tests.emulator.ctl', '--data', str(tmp_path / 'none'),
                             'clear'], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0 and 'no emulator catalog' in result.stderr
