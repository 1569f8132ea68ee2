"""Execution environment: `ansible-builder create` makes a build context from the image definitions in
docs/awx/ee/, and the requirements ansible-builder's builder stage computes from the installed collection
(its meta/execution-environment.yml) are the ones the modules need. Offline: the image itself needs a
container engine and is not built here."""
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.support import REPO_ROOT

pytestmark = pytest.mark.slow
EE_DIR = os.path.join(REPO_ROOT, 'docs', 'awx', 'ee')
BIN = os.path.dirname(sys.executable)
# bindep line: package name, optional [selectors], optional version constraints (bindep's README grammar)
BINDEP_LINE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._+-]*(\s+\[[!A-Za-z0-9:._ -]+\])?(\s+[<>=!]=?\s*[\w.]+)*$')


def run(args, cwd):
    env = dict(os.environ)
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)   # install only into the path given, never "already installed"
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, '%s failed (%d):\n%s\n%s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    """The collection as `ansible-galaxy collection build` makes it, named as docs/awx/ee expects."""
    out = tmp_path_factory.mktemp('dist')
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(out), REPO_ROOT], REPO_ROOT)
    built = [name for name in os.listdir(str(out)) if name.endswith('.tar.gz')]
    assert len(built) == 1, built
    return os.path.join(str(out), built[0])


def create_context(definition, tarball, workdir):
    """Run the documented recipe up to `ansible-builder create`; returns (context dir, Containerfile text)."""
    for name in (definition, 'requirements.yml'):
        shutil.copy(os.path.join(EE_DIR, name), os.path.join(workdir, name))
    shutil.copy(tarball, os.path.join(workdir, 'mssql-hadr.tar.gz'))
    run([os.path.join(BIN, 'ansible-builder'), 'create', '-f', definition, '--context', 'context',
         '--output-filename', 'Containerfile'], workdir)
    context = os.path.join(workdir, 'context')
    with open(os.path.join(context, 'Containerfile')) as handle:
        return context, handle.read()


def builder_requirements(context, workdir):
    """What the image's builder stage computes: install the galaxy requirements the way the galaxy stage
    does, then run the context's own introspect.py with the arguments the Containerfile gives it."""
    build = os.path.join(context, '_build')
    collections = os.path.join(workdir, 'collections')
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--force', '-r', 'requirements.yml',
         '-p', collections], build)
    pip_out, bindep_out = os.path.join(workdir, 'pip.txt'), os.path.join(workdir, 'bindep.txt')
    args = [sys.executable, os.path.join(build, 'scripts', 'introspect.py'), 'introspect',
            '--write-pip', pip_out, '--write-bindep', bindep_out]
    if os.path.exists(os.path.join(build, 'bindep.txt')):
        args += ['--user-bindep', 'bindep.txt']
    if os.path.exists(os.path.join(build, 'exclude-bindep.txt')):
        args += ['--exclude-bindep-reqs', 'exclude-bindep.txt']
    run(args + [collections], build)
    with open(pip_out) as pip, open(bindep_out) as bindep:
        return [line.split('#')[0].strip() for line in pip], [line.split('#')[0].strip() for line in bindep]


def test_collection_metadata_points_at_existing_files():
    with open(os.path.join(REPO_ROOT, 'meta', 'execution-environment.yml')) as handle:
        meta = yaml.safe_load(handle)
    assert set(meta['dependencies']) == {'python', 'system'}
    for path in meta['dependencies'].values():
        assert not os.path.isabs(path) and os.path.isfile(os.path.join(REPO_ROOT, path)), path
    with open(os.path.join(REPO_ROOT, meta['dependencies']['system'])) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith('#')]
    assert lines and all(BINDEP_LINE.match(line) for line in lines), lines


def test_microsoft_driver_image(tarball, tmp_path):
    context, containerfile = create_context('execution-environment.yml', tarball, str(tmp_path))
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in containerfile
    base_stage = containerfile.split('FROM base AS galaxy')[0]
    repo_line = 'RUN curl -fsSL https://packages.microsoft.com/config/rhel/9/prod.repo'
    assert repo_line in base_stage and 'ENV ACCEPT_EULA=Y' in base_stage
    # the repository and licence come before the final stage installs the system packages
    assert containerfile.index(repo_line) < containerfile.index('RUN /output/scripts/install-from-bindep')
    with open(os.path.join(context, '_build', 'collections', 'mssql-hadr.tar.gz'), 'rb') as copied, \
            open(tarball, 'rb') as original:
        assert copied.read() == original.read()
    pip, system = builder_requirements(context, str(tmp_path))
    assert pip == ['pyodbc', 'cryptography']
    assert 'msodbcsql18 [platform:rpm]' in system and 'unixODBC [platform:rpm]' in system
    assert 'freetds [platform:rpm]' not in system


def test_freetds_image(tarball, tmp_path):
    context, containerfile = create_context('execution-environment-freetds.yml', tarball, str(tmp_path))
    assert 'packages.microsoft.com' not in containerfile and 'epel-release' in containerfile
    final_stage = containerfile.split('FROM base AS final')[1]
    assert final_stage.index('install-from-bindep') < final_stage.index('[FreeTDS]')
    pip, system = builder_requirements(context, str(tmp_path))
    assert pip == ['pyodbc', 'cryptography']
    assert 'freetds [platform:rpm]' in system and 'unixODBC [platform:rpm]' in system
    assert not [line for line in system if line.startswith('msodbcsql')]


@pytest.mark.parametrize('definition', ['execution-environment.yml', 'execution-environment-freetds.yml'])
def test_image_ansible_core_matches_requires_ansible(definition):
    with open(os.path.join(EE_DIR, definition)) as handle:
        ee = yaml.safe_load(handle)
    with open(os.path.join(REPO_ROOT, 'meta', 'runtime.yml')) as handle:
        runtime = yaml.safe_load(handle)
    assert ee['dependencies']['ansible_core']['package_pip'] == 'ansible-core' + runtime['requires_ansible']
