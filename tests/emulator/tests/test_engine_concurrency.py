"""Several client threads at once (the wire runs one thread per connection): every statement is applied
exactly once, reads never see half an object, and the catalog stays consistent."""
import threading

from tests.emulator.engine.testing import Harness, SA_PASSWORD, free_port


def test_concurrent_sessions(tmp_path):
    h = Harness(str(tmp_path / 'data'))
    try:
        h.ok("CREATE ENDPOINT ep AS TCP (LISTENER_PORT = %d) FOR DATABASE_MIRRORING (ROLE = ALL)" % free_port())
        failures = []

        def worker(number):
            session = h.engine.login('sa', SA_PASSWORD, None, 'thread')
            try:
                for i in range(15):
                    name = 'w%d_%d' % (number, i)
                    for sql in ("CREATE LOGIN %s WITH PASSWORD = 'Str0ng!Passw0rd'" % name,
                                'CREATE USER %s FOR LOGIN %s' % (name, name),
                                'GRANT CONNECT ON ENDPOINT::ep TO %s' % name,
                                'SELECT COUNT(*) FROM sys.server_permissions p JOIN sys.server_principals s ON '
                                's.principal_id = p.grantee_principal_id WHERE p.class = 105'):
                        for result in h.engine.run_batch(session, sql):
                            if result.error is not None:
                                failures.append((sql, result.error.number, result.error.message))
            finally:
                h.engine.logout(session)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert failures == []
        assert h.value("SELECT COUNT(*) FROM sys.server_principals WHERE name LIKE 'w[0-9][_]%'") == 60
        assert h.value("SELECT COUNT(*) FROM sys.database_principals WHERE name LIKE 'w[0-9][_]%'") == 60
        assert h.value('SELECT COUNT(*) FROM sys.server_permissions WHERE class = 105 AND major_id >= 65536') == 60
    finally:
        h.close()
