# -*- coding: utf-8 -*-
# Copyright (c) mssql.hadr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""People-facing forms of a trust matrix (from ``_topology.trust_matrix``): plain text for the play's
output (AWX keeps it, while files written during a job are ephemeral) and Markdown with a Mermaid
diagram for a report file: replicas with their endpoint URL and certificate days to expiry, trust
links, broken links in red."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

BROKEN_COLOUR = '#d00000'
OK_MARK, BROKEN_MARK = 'ok', 'BROKEN'


def _cell(value):
    return '-' if value is None else (OK_MARK if value == 'ok' else BROKEN_MARK)


def _certificate_line(replica):
    cert = replica.get('certificate')
    if not cert:
        return None
    days = cert.get('days_to_expiry')
    when = 'expiry unknown' if days is None else (
        'expired %d days ago' % -days if days < 0 else 'expires in %d days' % days)
    return 'certificate %s (%s)' % (cert.get('name'), when)


def report_text(result):
    """The matrix as a fixed-width table plus one paragraph per broken pair, for the play's output."""
    names = result['names']
    width = max([len(n) for n in names] + [len(BROKEN_MARK), 6])
    lines = ['Trust matrix: row connects to column (%s)' % result['summary'], '']
    lines.append(' ' * (width + 2) + '  '.join(n.ljust(width) for n in names))
    for name, row in zip(names, result['matrix']):
        lines.append(name.ljust(width + 2) + '  '.join(_cell(v).ljust(width) for v in row))
    lines.append('')
    for replica in result['replicas']:
        parts = [replica['name'], replica.get('url') or 'no endpoint']
        if _certificate_line(replica):
            parts.append(_certificate_line(replica))
        lines.append(' - '.join(parts))
    for pair in result['broken']:
        lines.append('')
        lines.append('BROKEN %s -> %s' % (pair['source'], pair['target']))
        for problem in pair['problems']:
            lines.append('  [%s] %s' % (problem['reason'], problem['message']))
            lines.append('    fix: %s' % problem['fix'])
    warnings = sorted(set(w for p in result['pairs'] for w in p['warnings']))
    if warnings:
        lines.append('')
        lines.extend('warning: %s' % w for w in warnings)
    return '\n'.join(lines).rstrip() + '\n'


def _md_escape(text):
    """Text for a Markdown table cell."""
    return str(text).replace('\\', '\\\\').replace('|', '\\|').replace('\n', ' ')


def _mermaid_escape(text):
    """Text inside a quoted Mermaid label: entity codes for the characters that end or break it."""
    out = str(text).replace('#', '#35;').replace('"', '#quot;').replace('<', '#lt;').replace('>', '#gt;')
    return out.replace('|', '#124;').replace('\n', ' ')


def mermaid(result):
    """A Mermaid flowchart: one node per replica; a two-way link where both directions work, and one
    red link per broken direction, labelled with its reasons."""
    names = result['names']
    index = dict((name, i) for i, name in enumerate(names))
    lines = ['flowchart LR']
    for i, replica in enumerate(result['replicas']):
        label = [replica['name'], replica.get('url') or 'no endpoint']
        if _certificate_line(replica):
            label.append(_certificate_line(replica))
        lines.append('    r%d["%s"]' % (i, '<br/>'.join(_mermaid_escape(part) for part in label)))
    verdict = dict(((p['source'], p['target']), p) for p in result['pairs'])
    links, red = [], []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            there, back = verdict[(a, b)], verdict[(b, a)]
            if there['ok'] and back['ok']:
                links.append('    r%d <-->|"%s"| r%d' % (index[a], _mermaid_escape(_ok_label(there, back)), index[b]))
                continue
            for pair in (there, back):
                if pair['ok']:
                    label = _ok_label(pair, pair)
                else:
                    red.append(len(links))
                    label = ', '.join(sorted(set(p['reason'] for p in pair['problems'])))
                link = (index[pair['source']], _mermaid_escape(label), index[pair['target']])
                links.append('    r%d -->|"%s"| r%d' % link)
    lines.extend(links)
    for number in red:
        lines.append('    linkStyle %d stroke:%s,stroke-width:3px,color:%s' % (number, BROKEN_COLOUR, BROKEN_COLOUR))
    return '\n'.join(lines) + '\n'


def _ok_label(there, back):
    methods = sorted(set(m for m in (there['authentication'], back['authentication']) if m))
    algorithms = sorted(set(a for a in (there['encryption'], back['encryption']) if a))
    return '%s, %s' % ('/'.join(methods), '/'.join(algorithms))


def report_markdown(result, title='SQL Server endpoint trust'):
    """A Markdown report: verdict, matrix table, broken pairs with reasons and fixes, replicas, diagram."""
    names = result['names']
    verdict = 'all %d ordered pairs can authenticate' % len(result['pairs']) if result['ok'] else (
        '**%d of %d ordered pairs are broken**' % (len(result['broken']), len(result['pairs'])))
    out = ['# %s' % title, '', 'Checked at %s: %s.' % (result['checked_at'], verdict), '',
           '## Trust matrix', '', 'Row = the replica that connects, column = the replica that accepts.', '',
           '| from \\ to | %s |' % ' | '.join(_md_escape(n) for n in names),
           '|---|%s' % ('---|' * len(names))]
    for name, row in zip(names, result['matrix']):
        out.append('| **%s** | %s |' % (_md_escape(name), ' | '.join(
            '-' if v is None else ('ok' if v == 'ok' else '**BROKEN**') for v in row)))
    out.extend(['', '## Broken pairs', ''])
    if not result['broken']:
        out.append('None.')
    else:
        out.extend(['| from | to | reason | problem | fix |', '|---|---|---|---|---|'])
        for pair in result['broken']:
            for problem in pair['problems']:
                out.append('| %s | %s | `%s` | %s | %s |' % tuple(_md_escape(v) for v in (
                    pair['source'], pair['target'], problem['reason'], problem['message'], problem['fix'])))
    out.extend(['', '## Replicas', '', '| replica | endpoint | state | authentication | encryption | certificate '
                '| expires | days left |', '|---|---|---|---|---|---|---|---|'])
    for replica in result['replicas']:
        ep = replica.get('endpoint') or {}
        cert = replica.get('certificate') or {}
        days = cert.get('days_to_expiry')
        out.append('| %s |' % ' | '.join(_md_escape(v) for v in (
            replica['name'], replica.get('url') or '-', ep.get('state') or '-', ep.get('authentication') or '-',
            '%s %s' % (ep.get('encryption') or '-', ep.get('encryption_algorithm') or '') if ep else '-',
            cert.get('name') or '-', cert.get('expiry_date') or '-',
            '-' if days is None else ('%d%s' % (days, ' (renew soon)' if cert.get('expiring') else '')))))
    warnings = sorted(set(w for p in result['pairs'] for w in p['warnings']))
    if warnings:
        out.extend(['', '## Warnings', ''])
        out.extend('- %s' % _md_escape(w) for w in warnings)
    out.extend(['', '## Diagram', '', '```mermaid', mermaid(result).rstrip('\n'), '```', ''])
    return '\n'.join(out)
