"""`make demo`: three emulated SQL Server instances and what the collection builds across them.

Starts `python -m tests.emulator` three times on free ports, runs the demo playbooks that exist
(playbooks/certificate_topology.yml, then playbooks/verify_topology.yml) against them, shows each
instance's mirroring state read back over ODBC, and stops the instances. Parts that do not exist yet
are named as such; nothing is simulated here.

The inventory handed to the playbooks is described in docs/dev/contracts.md ("Demo").
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support import collection_path  # noqa: E402  (needs REPO on sys.path)

OUT = os.environ.get('MSSQL_HADR_DEMO_OUTPUT') or os.path.join(REPO, 'demo-output')
INSTANCES = ('sql1', 'sql2', 'sql3')
SA_PASSWORD = 'Emul@tor-Passw0rd'   # the emulator's documented default (tests.emulator.fixtures)
MASTER_KEY_PASSWORD = 'Demo-Master-Key-Passw0rd!'
PLAYBOOKS = ('certificate_topology', 'verify_topology')   # playbooks/NAME.yml, run as mssql.hadr.NAME
START_TIMEOUT = 30
RECAP = re.compile(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)\s')

# What the demo reads back from each instance once the playbooks ran.
STATE_QUERIES = (
    ('endpoint', "SELECT e.name, e.state_desc, e.role_desc, e.connection_auth_desc, "
                 "e.encryption_algorithm_desc, t.port "
                 "FROM sys.database_mirroring_endpoints e "
                 "JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id"),
    ('certificates', "SELECT name, subject, pvt_key_encryption_type_desc FROM master.sys.certificates "
                     "WHERE name NOT LIKE '##%'"),
    ('logins', "SELECT name, type_desc FROM sys.server_principals "
               "WHERE type IN ('S', 'C', 'U') AND name NOT LIKE '##%' AND name <> 'sa'"),
    ('CONNECT grants on the mirroring endpoint',
     "SELECT pr.name AS grantee, pe.state_desc FROM sys.server_permissions pe "
     "JOIN sys.server_principals pr ON pr.principal_id = pe.grantee_principal_id "
     "JOIN sys.database_mirroring_endpoints e ON e.endpoint_id = pe.major_id "
     "WHERE pe.class = 105 AND pe.permission_name = 'CONNECT'"),
)


class DemoError(Exception):
    pass


def tail(path, lines=8):
    with open(path) as handle:
        return ''.join(handle.readlines()[-lines:])


def say(text=''):
    print(text, flush=True)


def missing(part, why):
    say('  NOT AVAILABLE YET: %s - %s' % (part, why))


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def emulator_available():
    return os.path.exists(os.path.join(REPO, 'tests', 'emulator', '__main__.py'))


class Instance:
    """One `python -m tests.emulator` process."""

    def __init__(self, name):
        self.name = name
        self.port = free_port()
        self.endpoint_port = free_port()
        self.data = os.path.join(OUT, name, 'data')
        self.log = os.path.join(OUT, name, 'requests.jsonl')
        self.console = os.path.join(OUT, name, 'console.log')
        self.proc = None

    def start(self):
        os.makedirs(self.data)
        cmd = [sys.executable, '-m', 'tests.emulator', '--host', '127.0.0.1', '--port', str(self.port),
               '--data', self.data, '--server-name', self.name.upper(), '--log', self.log]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)

    def wait_listening(self):
        """Wait for `listening on`; a thread copies all console output to console.log meanwhile."""
        listening = threading.Event()
        first_line = []

        def copy_console():
            with open(self.console, 'w') as console:
                for line in self.proc.stdout:
                    console.write(line)
                    console.flush()
                    if not listening.is_set() and line.startswith('listening on'):
                        first_line.append(line.strip())
                        listening.set()

        reader = threading.Thread(target=copy_console, daemon=True)
        reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and reader.is_alive():   # reader ends when the process does
            if listening.wait(0.2):
                return first_line[0]
        reader.join(1)
        if not reader.is_alive():   # output closed: the process is exiting
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.poll()
        why = 'exited with code %s' % code if code is not None else 'was still silent after %ss' % START_TIMEOUT
        self.stop()
        raise DemoError('%s %s before printing "listening on"; last lines of %s:\n%s'
                        % (self.name, why, self.console, tail(self.console)))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_inventory(instances):
    """The replicas as the playbooks expect them (hadr_* variables, see the playbooks' headers)."""
    hosts = {}
    for inst in instances:
        hosts[inst.name] = {
            'ansible_connection': 'local',
            'ansible_python_interpreter': sys.executable,
            'hadr_sql_host': '127.0.0.1',
            'hadr_sql_port': inst.port,
            'hadr_sql_user': 'sa',
            'hadr_sql_password': SA_PASSWORD,
            'hadr_sql_odbc_driver': 'FreeTDS',
            'hadr_sql_encrypt': False,
            'hadr_endpoint_fqdn': '127.0.0.1',
            'hadr_endpoint_port': inst.endpoint_port,   # all three share this computer
        }
    path = os.path.join(OUT, 'inventory.json')
    with open(path, 'w') as handle:
        json.dump({'all': {
            'vars': {
                'hadr_master_key_password': MASTER_KEY_PASSWORD,
                'hadr_firewall': False,   # the demo never touches this computer's firewall
                'hadr_report_path': os.path.join(OUT, 'trust-report.md'),
            },
            'hosts': hosts,
        }}, handle, indent=2)
    return path


def playbook_exists(name):
    return os.path.exists(os.path.join(REPO, 'playbooks', name + '.yml'))


def run_playbook(name, inventory):
    """Run playbooks/NAME.yml by its collection name; return (rc, changed count per host)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_path(), ANSIBLE_FORCE_COLOR='0')
    playbook_bin = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    say('--- ansible-playbook -i %s mssql.hadr.%s' % (os.path.relpath(inventory, REPO), name))
    proc = subprocess.Popen([playbook_bin, '-i', inventory, 'mssql.hadr.' + name], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    changed = {}
    for line in proc.stdout:   # shown as it comes; the PLAY RECAP lines give the changed counts
        sys.stdout.write(line)
        match = RECAP.match(line)
        if match:
            changed[match.group(1)] = int(match.group(2))
    sys.stdout.flush()
    return proc.wait(), changed


def run_playbooks(inventory):
    """Topology (twice: the second run must change nothing), then verification; False on failure."""
    steps = [('certificate_topology', 'build the certificate topology'),
             ('certificate_topology', 'run it again: a second run changes nothing'),
             ('verify_topology', 'check that every replica can authenticate to every other one')]
    for index, (name, purpose) in enumerate(steps):
        if not playbook_exists(name):
            if index != 1:
                missing('playbooks/%s.yml' % name, 'the playbook does not exist in this checkout')
            continue
        say('=== step %d: %s' % (index + 1, purpose))
        rc, changed = run_playbook(name, inventory)
        if rc != 0:
            say('=== step %d FAILED: mssql.hadr.%s exited with code %d' % (index + 1, name, rc))
            return False
        if index == 1:
            if any(changed.values()) or not changed:
                say('=== step 2 FAILED: the second run reported changes: %s' % changed)
                return False
            say('=== step 2: changed=0 on %s' % ', '.join(sorted(changed)))
    return True


def show_state(instances):
    import pyodbc
    for inst in instances:
        say('--- %s (127.0.0.1:%d), read back over pyodbc + FreeTDS' % (inst.name, inst.port))
        conn = pyodbc.connect('DRIVER={FreeTDS};SERVER=127.0.0.1;PORT=%d;UID=sa;PWD=%s;DATABASE=master;'
                              'TDS_Version=7.4;Encryption=off' % (inst.port, SA_PASSWORD), autocommit=True,
                              timeout=10)
        try:
            server = conn.cursor().execute('SELECT CAST(@@SERVERNAME AS nvarchar(128))').fetchone()[0]
            say('    @@SERVERNAME = %s' % server)
            for title, sql in STATE_QUERIES:
                try:
                    rows = conn.cursor().execute(sql).fetchall()
                except pyodbc.Error as exc:
                    say('    %s: query failed: %s' % (title, exc.args[-1]))
                    continue
                if not rows:
                    say('    %s: none' % title)
                    continue
                say('    %s (%s):' % (title, ', '.join(column[0] for column in rows[0].cursor_description)))
                for row in rows:
                    say('      ' + ' | '.join(str(value) for value in row))
        finally:
            conn.close()


def main():
    say('mssql.hadr demo: three emulated SQL Server instances')
    if not emulator_available():
        missing('the SQL Server emulator', 'tests/emulator/__main__.py does not exist yet, so no instance '
                'can start; nothing else can run without it')
        for name in PLAYBOOKS:
            if not playbook_exists(name):
                missing('playbooks/%s.yml' % name, 'the playbook does not exist in this checkout')
        say('demo incomplete: see NOT AVAILABLE YET above')
        return 0

    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    instances = [Instance(name) for name in INSTANCES]
    ok = False
    try:
        for inst in instances:
            inst.start()
        for inst in instances:
            say('  %s: %s (endpoint port %d)' % (inst.name, inst.wait_listening(), inst.endpoint_port))
        inventory = write_inventory(instances)
        ok = run_playbooks(inventory)
        show_state(instances)
    except DemoError as exc:
        say('demo FAILED: %s' % exc)
    finally:
        for inst in instances:
            inst.stop()
        say('instances stopped; their data, request logs and console output are in %s' % OUT)
    absent = ['playbooks/%s.yml' % name for name in PLAYBOOKS if not playbook_exists(name)]
    if absent:
        say('demo incomplete: not available yet: %s' % ', '.join(absent))
    elif ok:
        report = os.path.join(OUT, 'trust-report.md')
        say('demo complete: certificate topology built, second run unchanged, trust verified%s'
            % ('; report: %s' % report if os.path.exists(report) else ''))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
