"""Mutated statements never crash the engine: every outcome is a result or an SQL Server error."""
import json
import os
import random
import re

import pytest

from tests.emulator.engine import SqlError, StatementResult
from tests.emulator.engine.testing import Harness, free_port

CORPUS = os.path.join(os.path.dirname(__file__), 'corpus')
EXTRA = [
    "SELECT e.name, t.port, m.role_desc FROM sys.endpoints AS e JOIN sys.tcp_endpoints AS t ON t.endpoint_id = "
    "e.endpoint_id LEFT JOIN sys.database_mirroring_endpoints AS m ON m.endpoint_id = e.endpoint_id WHERE "
    "e.name = N'x' AND (t.port > 5 OR t.port IS NULL) ORDER BY e.name DESC",
    "SELECT CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)), CASE WHEN COUNT(*) > 1 THEN 'a' ELSE 'b' END "
    "FROM sys.server_principals WHERE name IN (SELECT name FROM sys.sql_logins) GROUP BY type HAVING COUNT(*) > 0",
    "REVOKE GRANT OPTION FOR CONNECT ON ENDPOINT::[Hadr_endpoint] FROM [x] CASCADE",
    "ALTER MASTER KEY FORCE REGENERATE WITH ENCRYPTION BY PASSWORD = 'Regen!Passw0rd#1'",
]


def statements():
    found = list(EXTRA)
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith('.json'):
            with open(os.path.join(CORPUS, name), encoding='utf-8') as handle:
                for case in json.load(handle):
                    found += case.get('setup', []) + case.get('batches', []) + ([case['sql']] if 'sql' in case else [])
    return found


def mutate(rng, sql):
    pieces = re.findall(r"N?'(?:[^']|'')*'|\[[^\]]*\]|\w+|::|\S", sql)
    for _unused in range(rng.randint(1, 3)):
        if not pieces:
            break
        i = rng.randrange(len(pieces))
        choice = rng.random()
        if choice < 0.3:
            del pieces[i]
        elif choice < 0.5:
            pieces.insert(i, pieces[rng.randrange(len(pieces))])
        elif choice < 0.7:
            j = rng.randrange(len(pieces))
            pieces[i], pieces[j] = pieces[j], pieces[i]
        else:
            pieces[i] = rng.choice(['(', ')', ',', '=', "'", 'NULL', 'ALL', '0x', '-1', '99999', 'WITH', 'AS',
                                    'SELECT', '[', ';', 'GO', 'N\'\'', '@P9', '*'])
    return ' '.join(pieces)


@pytest.mark.parametrize('seed', range(4))
def test_mutations_give_results_or_sql_errors(tmp_path, seed):
    rng = random.Random(seed)
    h = Harness(str(tmp_path / 'data'))
    try:
        h.ok("CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master_Key_Passw0rd!'")
        sources = statements()
        for _unused in range(150):
            sql = mutate(rng, rng.choice(sources).replace('{port}', str(free_port())))
            if h.session.in_transaction:
                h.engine.rollback_transaction(h.session)
            try:
                results = h.run(sql)
            except SqlError:   # pragma: no cover - run_batch reports errors in results
                raise AssertionError('run_batch raised instead of returning an error: %r' % sql)
            assert results and all(isinstance(r, StatementResult) for r in results), sql
            for result in results:
                if result.error is not None:
                    assert result.error.number and result.error.message, sql
                    assert result.error.severity in (11, 14, 15, 16, 20), (sql, result.error.severity)
    finally:
        h.close()
