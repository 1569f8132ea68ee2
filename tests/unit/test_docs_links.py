"""Every relative link in README.md and docs/**/*.md points to a file that exists, and every #anchor to a
heading of the target (GitHub's heading slugs), so the guides stay navigable as files move."""
import os
import re

import pytest

from tests.support import REPO_ROOT

LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
FENCE = re.compile(r'^(```|~~~).*?^\1', re.MULTILINE | re.DOTALL)


def markdown_files():
    found = [os.path.join(REPO_ROOT, 'README.md')]
    for root, dummy, names in os.walk(os.path.join(REPO_ROOT, 'docs')):
        found += [os.path.join(root, name) for name in names if name.endswith('.md')]
    return sorted(found)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace('`', '')
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path):
    with open(path) as handle:
        text = FENCE.sub('', handle.read())
    return {slug(m.group(1)) for m in re.finditer(r'^#{1,6}\s+(.+?)\s*$', text, re.MULTILINE)}


def links(path):
    with open(path) as handle:
        text = FENCE.sub('', handle.read())
    return [m.group(1) for m in LINK.finditer(text) if not re.match(r'^[a-z]+:', m.group(1))]


@pytest.mark.parametrize('path', markdown_files(), ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_relative_links_resolve(path):
    broken = []
    for link in links(path):
        target, anchor = (link.split('#', 1) + [''])[:2]
        full = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else path
        if not os.path.exists(full):
            broken.append('%s: no such file' % link)
        elif anchor and full.endswith('.md') and anchor not in anchors(full):
            broken.append('%s: no heading with that anchor' % link)
    assert broken == []


def test_slug_follows_github():
    assert slug('1418: The server network address can not be reached') == \
        '1418-the-server-network-address-can-not-be-reached'
    assert slug('Your own servers, and the guides') == 'your-own-servers-and-the-guides'
    assert slug('`code` in a heading') == 'code-in-a-heading'


def yaml_blocks(path):
    with open(path) as handle:
        text = handle.read()
    return re.findall(r'^```ya?ml\n(.*?)^```', text, re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize('path', [p for p in markdown_files() if yaml_blocks(p)],
                         ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_yaml_snippets_parse(path):
    import yaml
    for block in yaml_blocks(path):
        assert yaml.safe_load(block) is not None, block
