"""Microsoft's documented example statements are accepted with the right catalog effect; mutated variants
are rejected with SQL Server's number, severity and message (corpus/README.md)."""
import json
import os

import pytest

from tests.emulator.engine.testing import Harness, free_port

CORPUS = os.path.join(os.path.dirname(__file__), 'corpus')


def _load(name):
    with open(os.path.join(CORPUS, name), encoding='utf-8') as handle:
        return json.load(handle)


def _cases(*names):
    return [pytest.param(case, id=case['name']) for name in names for case in _load(name)]


def _fill(text, port):
    return text.replace('{port}', str(port))


def _expected(rows, port):
    return [tuple(port if cell == '{port}' else cell for cell in row) for row in rows]


@pytest.fixture
def h(tmp_path):
    harness = Harness(str(tmp_path / 'data'))
    yield harness
    harness.close()


@pytest.mark.parametrize('case', _cases('endpoints.json', 'logins_grants.json', 'certificates.json'))
def test_documented_example(h, case):
    port = free_port()
    for batch in case.get('setup', []):
        h.ok(_fill(batch, port))
    if 'error' in case:
        number, severity, message = case['error']
        error = h.fails(_fill(case['batches'][0], port), number)
        assert (error.severity, error.message) == (severity, message)
        return
    for batch in case['batches']:
        h.ok(_fill(batch, port))
    assert case['checks'], 'a corpus case must check its catalog effect'
    for query, rows in case['checks']:
        assert sorted(h.rows(query), key=repr) == sorted(_expected(rows, port), key=repr), query


@pytest.mark.parametrize('case', _cases('mutations.json'))
def test_mutated_variant_is_rejected(h, case):
    port = free_port()
    for batch in case.get('setup', []):
        h.ok(_fill(batch, port))
    before = h.rows('SELECT COUNT(*) FROM sys.endpoints') + h.rows('SELECT COUNT(*) FROM sys.server_principals')
    number, severity, message = case['error']
    error = h.fails(_fill(case['sql'], port), number)
    assert (error.number, error.severity, error.message) == (number, severity, message)
    after = h.rows('SELECT COUNT(*) FROM sys.endpoints') + h.rows('SELECT COUNT(*) FROM sys.server_principals')
    assert after == before, 'a rejected statement changed the catalog'
