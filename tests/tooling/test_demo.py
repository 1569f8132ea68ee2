"""make demo (scripts/demo.py), run for real: three emulated instances and the collection's playbooks."""
import os
import shutil
import socket
import subprocess
import sys

import pytest

from tests.support import REPO_ROOT

DEMO = os.path.join(REPO_ROOT, 'scripts', 'demo.py')


def run_demo(script, output_dir, timeout=600):
    env = dict(os.environ, MSSQL_HADR_DEMO_OUTPUT=str(output_dir))
    return subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.mark.slow
def test_demo_builds_verifies_and_reads_back_the_topology(tmp_path):
    proc = run_demo(DEMO, tmp_path / 'out')
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert 'NOT AVAILABLE YET' not in out
    assert '=== step 2: changed=0 on sql1, sql2, sql3' in out
    assert out.rstrip().splitlines()[-1].startswith('demo complete:')
    for name in ('sql1', 'sql2', 'sql3'):
        section = out.split('--- %s (127.0.0.1:' % name, 1)[1].split('\n---', 1)[0]
        assert '@@SERVERNAME = %s' % name.upper() in section
        assert '| STARTED | ALL | CERTIFICATE |' in section
        partners = {'sql1', 'sql2', 'sql3'} - {name}
        grants = section.split('CONNECT grants on the mirroring endpoint', 1)[1]
        assert all('%s_login | GRANT' % partner in grants for partner in partners), section
    assert (tmp_path / 'out' / 'trust-report.md').exists()
    # the instances were stopped: none of their SQL ports answers any more
    ports = [int(line.split('listening on 127.0.0.1:')[1].split()[0])
             for line in out.splitlines() if 'listening on 127.0.0.1:' in line]
    assert len(ports) == 3, out
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(('127.0.0.1', port), timeout=5).close()


def test_demo_names_what_is_missing_instead_of_pretending(tmp_path):
    """A checkout without the emulator and playbooks: the demo says so and runs nothing."""
    fake = tmp_path / 'checkout'
    shutil.copytree(os.path.join(REPO_ROOT, 'tests', 'support'), fake / 'tests' / 'support',
                    ignore=shutil.ignore_patterns('tests', '__pycache__'))
    (fake / 'tests' / '__init__.py').write_text('')
    (fake / 'scripts').mkdir()
    shutil.copy(DEMO, fake / 'scripts' / 'demo.py')
    proc = run_demo(str(fake / 'scripts' / 'demo.py'), tmp_path / 'out', timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'NOT AVAILABLE YET: the SQL Server emulator' in proc.stdout
    assert 'NOT AVAILABLE YET: playbooks/certificate_topology.yml' in proc.stdout
    assert 'NOT AVAILABLE YET: playbooks/verify_topology.yml' in proc.stdout
    assert 'demo incomplete' in proc.stdout
    assert 'listening on' not in proc.stdout
