"""Shared test support: makes the checkout importable as ansible_collections.mssql.hadr."""
import hashlib
import os
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def collection_path():
    """Return a directory whose ansible_collections/mssql/hadr is a link to this checkout.

    It lives outside the checkout so that tools walking the tree never meet a link loop.
    """
    digest = hashlib.sha1(REPO_ROOT.encode()).hexdigest()[:10]
    base = os.path.join(tempfile.gettempdir(), 'mssql-hadr-collections-%s' % digest)
    link = os.path.join(base, 'ansible_collections', 'mssql', 'hadr')
    if os.path.realpath(link) != REPO_ROOT:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        tmp = '%s.%d' % (link, os.getpid())
        os.symlink(REPO_ROOT, tmp)
        os.replace(tmp, link)
    return base
