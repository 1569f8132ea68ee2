"""The ansible-core matrix `make test` runs (.ci/ansible-core-matrix.txt, gates "sanity" and "matrix") covers
every minor release we claim, pinned, each with a controller Python that release supports.

Not checkable offline: that the last row is the newest release on PyPI (checked by hand when a row is
added: `pip index versions ansible-core` with the newest Python)."""
import os
import re

import yaml

from tests.support import REPO_ROOT

MATRIX = os.path.join(REPO_ROOT, '.ci', 'ansible-core-matrix.txt')
# Controller Pythons per ansible-core minor: ansible-core's support matrix (docs.ansible.com, "Releases and
# maintenance"); 2.22 from its package metadata (Requires-Python >=3.13, classifiers 3.13-3.15).
CONTROLLER_PYTHONS = {
    (2, 16): ('3.10', '3.11', '3.12'),
    (2, 17): ('3.10', '3.11', '3.12'),
    (2, 18): ('3.11', '3.12', '3.13'),
    (2, 19): ('3.11', '3.12', '3.13'),
    (2, 20): ('3.12', '3.13', '3.14'),
    (2, 21): ('3.12', '3.13', '3.14'),
    (2, 22): ('3.13', '3.14', '3.15'),
}


def rows():
    with open(MATRIX) as f:
        return [line.split() for line in f if line.strip() and not line.lstrip().startswith('#')]


def minor(version):
    return tuple(int(part) for part in version.split('.')[:2])


def read(*path):
    with open(os.path.join(REPO_ROOT, *path)) as f:
        return f.read()


def test_every_row_is_an_exact_release_with_a_supported_controller_python():
    for row in rows():
        assert len(row) in (2, 3) and re.match(r'^2\.\d+\.\d+$', row[0]), row
        assert row[1] in CONTROLLER_PYTHONS[minor(row[0])], (
            'ansible-core %s does not support Python %s as the controller' % (row[0], row[1]))


def test_every_minor_from_the_oldest_claimed_once_in_order():
    claimed = yaml.safe_load(read('meta', 'runtime.yml'))['requires_ansible']
    oldest = minor(re.match(r'^>=\s*([\d.]+)', claimed).group(1))
    minors = [minor(row[0]) for row in rows()]
    assert minors[0] == oldest, (minors[0], claimed)
    assert minors == [(2, m) for m in range(oldest[1], oldest[1] + len(minors))], minors


def test_the_main_row_is_the_main_venv():
    main = [row for row in rows() if row[2:] == ['main']]
    assert len(main) == 1, main
    version, python = main[0][:2]
    assert 'ansible-core==%s\n' % version in read('.ci', 'constraints.txt')
    assert re.search(r'^PYV=%s$' % re.escape(python), read('scripts', 'gates.sh'), re.M)
    assert re.search(r'python%s\b' % re.escape(python), read('scripts', 'bootstrap.sh'))


def test_the_matrix_venvs_get_the_main_venvs_module_libraries():
    """.ci/module-requirements.txt pins what .ci/constraints.txt pins, but where a Python marker says why not."""
    constraints = dict(line.strip().lower().split('==') for line in read('.ci', 'constraints.txt').splitlines()
                       if '==' in line and not line.startswith('#'))
    pins = [line for line in read('.ci', 'module-requirements.txt').splitlines() if line and not line.startswith('#')]
    assert {line.split('==')[0].lower() for line in pins} == {'pyodbc', 'cryptography', 'pyyaml', 'jinja2', 'markupsafe'}
    for line in pins:
        name, version = line.split(';')[0].strip().lower().split('==')
        if ';' not in line or '>=' in line.split(';')[1]:
            assert constraints[name] == version, (line, constraints[name])
