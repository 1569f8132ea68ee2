"""Pytest fixtures that run SQL Server emulator instances (contract: tests/emulator/README.md).

Loaded as a plugin by tests/conftest.py. Each instance is a real `python -m tests.emulator` process on
a free port with its own data directory; tests talk to it over TCP like to a SQL Server.
"""
import itertools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.emulator.__main__ import DEFAULT_SA_PASSWORD

_INSTANCE_NUMBERS = itertools.count(1)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT = 20.0
# sp_describe_undeclared_parameters: Microsoft's driver asks it for the type of a NULL parameter
DRIVER_TRAFFIC_PROCS = ('sp_datatype_info_100', 'sp_unprepare', 'sp_describe_undeclared_parameters')
_TYPEINFO_SQL_PREFIXES = ('sp_datatype_info', 'exec sp_datatype_info', 'execute sp_datatype_info')


def _port_slice():
    """This process's own ports: below the kernel's ephemeral range (32768-60999 on Linux), where client
    connections never take a local port, and inside SQL Server's documented endpoint range (1024-32767).
    Each pytest-xdist worker gets its own slice, so two workers never hand out the same port; a second
    pytest run beside the first sets MSSQL_HADR_PORT_SLICE_OFFSET to the number of workers before it."""
    worker = os.environ.get('PYTEST_XDIST_WORKER', '')
    if worker.startswith('gw') and worker[2:].isdigit():
        # two pytest runs side by side (the lanes of the matrix gate) shift their workers' slices apart
        index = (int(worker[2:]) + int(os.environ.get('MSSQL_HADR_PORT_SLICE_OFFSET', '0'))) % 8
        return range(16000 + 2000 * index, 18000 + 2000 * index)
    return range(12000, 16000)


_PORTS = None


def free_port(host='127.0.0.1'):
    """A TCP port nothing listens on right now, handed out in turn (a port comes back only after its whole slice).

    Ports the kernel picks for bind(0) are ephemeral ones: a client connection can take the same number
    as its local port before the endpoint that was given it starts listening (SQL Server error 7890 in a
    long benchmark). So ports come from _port_slice(), in turn, each checked with a bind; they are all in
    SQL Server's documented endpoint range, so an endpoint on one draws no port-range warning.
    """
    global _PORTS  # pylint: disable=global-statement
    if _PORTS is None:
        ports = _port_slice()
        start = (os.getpid() * 7919) % len(ports)
        _PORTS = itertools.cycle(itertools.chain(ports[start:], ports[:start]))
    for port in itertools.islice(_PORTS, len(_port_slice())):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError('no free port left in %s for this process' % _port_slice())


def odbc_value(value, freetds=True):
    """An ODBC connection-string value, braced only when it must be.

    FreeTDS 1.3 takes the text between '{' and the '};' that ends a braced value as is (no undoubling of
    '}}') and keeps the closing brace of a value that ends the string: so for FreeTDS the value is
    braced unchanged and connection strings end with ';'. Microsoft's driver doubles '}' (ODBC rule).
    """
    value = str(value)
    if not any(c in value for c in ';{}') and value == value.strip():
        return value
    if freetds:
        if '};' in value:
            raise ValueError("FreeTDS cannot take a value containing '};' in a connection string: %r" % value)
        return '{' + value + '}'
    return '{' + value.replace('}', '}}') + '}'


class EmulatorError(RuntimeError):
    """The emulator process did not start or stop as expected."""


class EmulatorInstance:
    """One running emulator process. Create through the `emulator` / `emulator_factory` fixtures."""

    def __init__(self, data_dir, *, host='127.0.0.1', port=None, server_name=None, platform='windows',
                 sa_password=DEFAULT_SA_PASSWORD, service_account=None, windows_accounts=(), tls_cert=None,
                 tls_key=None, log=True):
        self.host = host
        self.port = port
        self.data_dir = str(data_dir)
        self.server_name = server_name or 'SQLEMU%d' % next(_INSTANCE_NUMBERS)
        self.platform = platform
        self.sa_password = sa_password
        self.service_account = service_account
        self.windows_accounts = list(windows_accounts)
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.log_path = os.path.join(self.data_dir, 'requests.jsonl') if log else None
        self.stderr_path = os.path.join(self.data_dir, 'emulator.stderr')
        self.process = None
        os.makedirs(self.data_dir, exist_ok=True)

    # ---- process control
    def command(self):
        cmd = [sys.executable, '-m', 'tests.emulator', '--port', str(self.port), '--data', self.data_dir,
               '--host', self.host, '--server-name', self.server_name, '--platform', self.platform,
               '--sa-password', self.sa_password]
        if self.service_account:
            cmd += ['--service-account', self.service_account]
        for account in self.windows_accounts:
            cmd += ['--windows-account', account]
        if self.log_path:
            cmd += ['--log', self.log_path]
        if self.tls_cert:
            cmd += ['--tls-cert', self.tls_cert, '--tls-key', self.tls_key]
        return cmd

    def start(self):
        if self.process is not None and self.process.poll() is None:
            raise EmulatorError('emulator on port %s is already running' % self.port)
        attempts = 1 if self.port else 5
        for _attempt in range(attempts):
            port_given = self.port is not None
            if not port_given:
                self.port = free_port(self.host)
            if self._spawn():
                return self
            if port_given:
                break
            self.port = None   # the free port was taken in the meantime: try another one
        raise EmulatorError('emulator did not start (port %s, data %s):\n%s'
                            % (self.port, self.data_dir, self._stderr_tail()))

    def _spawn(self):
        with open(self.stderr_path, 'ab') as stderr:
            self.process = subprocess.Popen(self.command(), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr,
                                            stdin=subprocess.DEVNULL, env=_child_env())
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            # wait for output without blocking past the deadline (a hung start must not hang the test)
            if not select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                break
            line = self.process.stdout.readline()
            if line.startswith(b'listening on '):
                return True
            if not line and self.process.poll() is not None:
                break
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        return False

    def _stderr_tail(self):
        try:
            with open(self.stderr_path, 'rb') as handle:
                return handle.read()[-4000:].decode('utf-8', 'replace')
        except OSError:
            return '(no stderr)'

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM and wait; a clean stop must exit 0."""
        if not self.running:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.wait()
            raise EmulatorError('emulator on port %s ignored SIGTERM for %.0f s' % (self.port, timeout)) from exc
        self.process.stdout.close()
        if code != 0:
            raise EmulatorError('emulator on port %s exited with %s on SIGTERM:\n%s'
                                % (self.port, code, self._stderr_tail()))
        return code

    def kill(self):
        """SIGKILL, like a crash: nothing is flushed or closed by the emulator."""
        if self.running:
            self.process.kill()
            self.process.wait()
            self.process.stdout.close()

    def restart(self):
        """Stop (if running) and start again on the same port with the same data directory."""
        self.stop()
        return self.start()

    # ---- clients
    def connection_string(self, driver='FreeTDS', user='sa', password=None, database=None):
        password = self.sa_password if password is None else password
        freetds = 'freetds' in driver.lower()
        if freetds:
            parts = ['DRIVER={%s}' % driver, 'SERVER=%s' % self.host, 'PORT=%d' % self.port, 'TDS_Version=7.4']
        else:   # Microsoft ODBC Driver 17/18 (name or library path)
            parts = ['DRIVER={%s}' % driver, 'SERVER=%s,%d' % (self.host, self.port), 'Encrypt=no']
        parts += ['UID=%s' % odbc_value(user, freetds), 'PWD=%s' % odbc_value(password, freetds)]
        if database:
            parts.append('DATABASE=%s' % odbc_value(database, freetds))
        return ';'.join(parts) + ';'

    def connect(self, driver='FreeTDS', user='sa', password=None, database=None, autocommit=True, timeout=10):
        import pyodbc   # only tests that talk SQL need the driver manager
        return pyodbc.connect(self.connection_string(driver, user, password, database), autocommit=autocommit,
                              timeout=timeout)

    def module_params(self):
        """The connection options of a collection module for this instance."""
        return {'login_host': self.host, 'login_port': self.port, 'login_user': 'sa',
                'login_password': self.sa_password, 'odbc_driver': 'FreeTDS', 'encrypt': False}

    def ctl(self, *args, check=True):
        """Run `python -m tests.emulator.ctl --data DIR ARGS...` -> CompletedProcess."""
        result = subprocess.run([sys.executable, '-m', 'tests.emulator.ctl', '--data', self.data_dir]
                                + [str(a) for a in args], cwd=REPO_ROOT, capture_output=True, text=True,
                                env=_child_env(), check=False)
        if check and result.returncode != 0:
            raise EmulatorError('ctl %s failed (%d): %s%s' % (' '.join(map(str, args)), result.returncode,
                                                              result.stdout, result.stderr))
        return result

    # ---- request log
    def log_entries(self, since=0):
        """Parsed JSON lines of the request log, from mark `since` on."""
        if not self.log_path or not os.path.exists(self.log_path):
            return []
        with open(self.log_path, 'rb') as handle:
            handle.seek(since)
            data = handle.read()
        # a line being written right now (no newline yet) is left for the next call
        return [json.loads(line) for line in data.split(b'\n')[:-1] if line]

    def mark_log(self):
        """A mark for log_entries(since=mark): everything logged so far is before it."""
        if not self.log_path or not os.path.exists(self.log_path):
            return 0
        return os.path.getsize(self.log_path)

    def __repr__(self):
        state = 'running' if self.running else 'stopped'
        return '<EmulatorInstance %s %s:%s %s>' % (self.server_name, self.host, self.port, state)


def _child_env():
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    return env


def is_driver_traffic(entry):
    if entry['kind'] in ('tm', 'attention'):
        return True
    if entry['kind'] == 'rpc' and (entry['proc'] or '').split('.')[-1].strip('[]').lower() in DRIVER_TRAFFIC_PROCS:
        return True
    return entry['kind'] == 'batch' and (entry['sql'] or '').strip().lower().startswith(_TYPEINFO_SQL_PREFIXES)


def round_trips(entries):
    """The batch/rpc requests among log entries, without driver traffic (README.md: round trip)."""
    return [e for e in entries if e['kind'] in ('batch', 'rpc') and not is_driver_traffic(e)]


def connections(entries):
    """Distinct connection ids that logged in successfully, in order of appearance."""
    seen = []
    for entry in entries:
        if entry['kind'] == 'login' and entry['error'] is None and entry['conn'] not in seen:
            seen.append(entry['conn'])
    return seen


@pytest.fixture
def emulator_factory(tmp_path_factory):
    """Callable (**options) -> started EmulatorInstance; all are stopped at teardown.

    Options: server_name, platform, sa_password, service_account, windows_accounts, host, port,
    data_dir (reuse a directory), tls (True: generate a self-signed certificate), tls_cert, tls_key."""
    instances = []

    def make(**options):
        data_dir = options.pop('data_dir', None) or tmp_path_factory.mktemp('emulator')
        if options.pop('tls', False):
            from tests.emulator.tlsutil import write_self_signed
            options['tls_cert'], options['tls_key'] = write_self_signed(
                os.path.join(str(data_dir), 'server.crt'), os.path.join(str(data_dir), 'server.key'))
        instance = EmulatorInstance(data_dir, **options)
        instances.append(instance)
        return instance.start()

    yield make
    failures = []
    for instance in instances:
        try:
            instance.stop()
        except EmulatorError as exc:
            failures.append(str(exc))
    if failures:
        raise EmulatorError('; '.join(failures))


@pytest.fixture
def emulator(emulator_factory):
    """A started emulator instance with a fresh data directory."""
    return emulator_factory()
