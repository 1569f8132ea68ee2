"""The printed and Markdown forms of the trust matrix, and the Mermaid diagram in the report.

parse_mermaid accepts only the line shapes we emit. Those shapes (nodes with #quot;/#lt;/#gt;/#124;/#35;
entities, `-->|"..."|` and `<-->|"..."|` links, linkStyle) were also checked once by hand with mermaid
11's own parser (node + jsdom, `mermaid.parse`), which accepted a healthy and a broken diagram and
rejected an unquoted label with a quote in it; that check needs npm packages the test run does not have.
"""
import re

from ansible_collections.mssql.hadr.plugins.plugin_utils.topology import trust_matrix
from ansible_collections.mssql.hadr.plugins.plugin_utils.topology_report import (
    BROKEN_COLOUR, mermaid, report_markdown, report_text)
from tests.support.topology_inputs import NOW, by_name, cert_named, certificate_topology

LINK = re.compile(r'^    r(\d+) (-->|<-->)\|"([^"]*)"\| r(\d+)$')
NODE = re.compile(r'^    r(\d+)\["([^"]*)"\]$')
STYLE = re.compile(r'^    linkStyle (\d+) stroke:(#[0-9a-f]{6}),stroke-width:3px,color:(#[0-9a-f]{6})$')


def broken_topology():
    records = certificate_topology()
    sql2 = by_name(records, 'sql2')
    sql2['info']['connect_grantees'].remove('sql3_login')
    cert_named(sql2, 'sql3_cert')['login_has_connect'] = False
    return trust_matrix(records, now=NOW)


def parse_mermaid(text):
    """Every line must be a header, node, link or link style: returns (nodes, links, styles)."""
    lines = text.rstrip('\n').split('\n')
    assert lines[0] == 'flowchart LR'
    nodes, links, styles = {}, [], {}
    for line in lines[1:]:
        for pattern, sink in ((NODE, 'node'), (LINK, 'link'), (STYLE, 'style')):
            match = pattern.match(line)
            if match:
                break
        else:
            raise AssertionError('not a Mermaid line we emit: %r' % line)
        if sink == 'node':
            nodes[int(match.group(1))] = match.group(2)
        elif sink == 'link':
            links.append((int(match.group(1)), match.group(2), match.group(3), int(match.group(4))))
        else:
            styles[int(match.group(1))] = match.group(2)
    return nodes, links, styles


def test_healthy_mermaid_has_nodes_with_ports_and_days_and_two_way_links():
    nodes, links, styles = parse_mermaid(mermaid(trust_matrix(certificate_topology(), now=NOW)))
    assert nodes == {
        0: 'sql1<br/>TCP://sql1.example.com:5022<br/>certificate sql1_cert (expires in 364 days)',
        1: 'sql2<br/>TCP://sql2.example.com:5023<br/>certificate sql2_cert (expires in 364 days)',
        2: 'sql3<br/>TCP://sql3.example.com:5024<br/>certificate sql3_cert (expires in 364 days)'}
    assert links == [(0, '<-->', 'certificate, aes', 1), (0, '<-->', 'certificate, aes', 2),
                     (1, '<-->', 'certificate, aes', 2)]
    assert styles == {}


def test_broken_direction_is_a_red_link_with_its_reason():
    nodes, links, styles = parse_mermaid(mermaid(broken_topology()))
    assert len(nodes) == 3
    assert links[:2] == [(0, '<-->', 'certificate, aes', 1), (0, '<-->', 'certificate, aes', 2)]
    assert sorted(links[2:]) == [(1, '-->', 'certificate, aes', 2), (2, '-->', 'connect_missing', 1)]
    red = [i for i, link in enumerate(links) if link[2] == 'connect_missing']
    assert styles == {red[0]: BROKEN_COLOUR}


def test_mermaid_labels_escape_quotes_and_brackets():
    records = certificate_topology(('a"b', 'c<d>|e'))
    text = mermaid(trust_matrix(records, now=NOW))
    nodes, _links, _styles = parse_mermaid(text)
    assert nodes[0].startswith('a#quot;b<br/>')
    assert nodes[1].startswith('c#lt;d#gt;#124;e<br/>')
    assert '"b' not in text.replace('"a#quot;b', '')


def test_text_report_table_and_broken_pair_paragraph():
    text = report_text(broken_topology())
    lines = text.splitlines()
    assert lines[0] == ('Trust matrix: row connects to column (3 replicas: 5 of 6 ordered pairs can authenticate; '
                        'broken: sql3 -> sql2)')
    header, row1, row2, row3 = lines[2:6]
    assert header.split() == ['sql1', 'sql2', 'sql3']
    assert row1.split() == ['sql1', '-', 'ok', 'ok']
    assert row2.split() == ['sql2', 'ok', '-', 'ok']
    assert row3.split() == ['sql3', 'ok', 'BROKEN', '-']
    assert 'sql1 - TCP://sql1.example.com:5022 - certificate sql1_cert (expires in 364 days)' in lines
    start = lines.index('BROKEN sql3 -> sql2')
    assert lines[start + 1].startswith('  [connect_missing] login sql3_login on sql2')
    assert lines[start + 2].startswith('    fix: GRANT CONNECT with mssql.hadr.endpoint_permission')


def test_text_report_of_healthy_topology_has_no_broken_section():
    text = report_text(trust_matrix(certificate_topology(), now=NOW))
    assert 'BROKEN' not in text
    assert '6 of 6 ordered pairs can authenticate' in text


def test_markdown_report_sections():
    md = report_markdown(broken_topology(), title='Demo')
    assert md.startswith('# Demo\n\nChecked at 2026-11-26T12:00:00Z: **1 of 6 ordered pairs are broken**.\n')
    assert '| from \\ to | sql1 | sql2 | sql3 |' in md
    assert '| **sql3** | ok | **BROKEN** | - |' in md
    row = [line for line in md.splitlines() if line.startswith('| sql3 | sql2 |')]
    assert len(row) == 1 and '`connect_missing`' in row[0]
    assert ('| sql2 | TCP://sql2.example.com:5023 | started | certificate | required aes | sql2_cert | '
            '2027-11-26T00:00:00Z | 364 |') in md
    block = md.split('```mermaid\n', 1)[1].split('\n```', 1)[0]
    parse_mermaid(block)
    assert md.endswith('```\n')


def test_markdown_escapes_pipes_in_cells_and_flags_expiring_certificates():
    records = certificate_topology(('a|x', 'b'))
    records[1]['info']['certificates'][0]['expiry_date'] = '2026-12-01T12:00:00Z'
    md = report_markdown(trust_matrix(records, now=NOW))
    assert '| **a\\|x** |' in md
    assert '| 5 (renew soon) |' in md
    assert '## Warnings' in md and 'certificate b_cert of b expires in 5 days' in md
