"""The filter plugin wrappers: names, errors as AnsibleFilterError, output formats."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mssql.hadr.plugins.filter.topology import FilterModule
from tests.support.topology_inputs import NOW, certificate_topology

FILTERS = FilterModule().filters()


def test_filter_names():
    assert sorted(FILTERS) == ['trust_matrix', 'trust_report', 'windows_identity']


def test_trust_matrix_and_reports_through_the_filters():
    matrix = FILTERS['trust_matrix'](certificate_topology(), now=NOW, warn_days='30')
    assert matrix['ok'] is True and matrix['warn_days'] == 30
    assert FILTERS['trust_report'](matrix).startswith('Trust matrix: row connects to column')
    assert FILTERS['trust_report'](matrix, 'markdown', title='T').startswith('# T\n')


@pytest.mark.parametrize('call,message', [
    (lambda: FILTERS['trust_matrix']({'name': 'x'}), 'mssql.hadr.trust_matrix: trust_matrix expects a list'),
    (lambda: FILTERS['trust_report']({'no': 'pairs'}), 'expects the result of mssql.hadr.trust_matrix'),
    (lambda: FILTERS['trust_report'](FILTERS['trust_matrix']([], now=NOW), 'html'),
     "output_format must be text or markdown, not 'html'"),
])
def test_errors_are_filter_errors(call, message):
    with pytest.raises(AnsibleFilterError, match=message):
        call()


def test_windows_identity_filter():
    assert FILTERS['windows_identity']('CONTOSO\\svc')['network_account'] == 'CONTOSO\\svc'
