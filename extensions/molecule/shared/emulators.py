"""Start and stop the emulated SQL Server instances of a molecule scenario.

    python extensions/molecule/shared/emulators.py start STATE.json SPEC.json
    python extensions/molecule/shared/emulators.py stop STATE.json

SPEC.json: a list of {"name", "platform"?, "service_account"?, "windows_accounts"?: [...]}. ``start``
gives each instance its own free SQL port and its own free endpoint port (instances sharing a computer
need different endpoint ports), starts ``python -m tests.emulator`` from the repository root, waits
for ``listening on``, and writes STATE.json: name -> {sql_port, endpoint_port, pid, data, log}. ``stop``
sends SIGTERM to every instance in STATE.json and waits for it. Runs from the collection root, which
is the repository root.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

START_TIMEOUT = 30


def free_ports(count):
    socks = []
    try:
        for _number in range(count):
            sock = socket.socket()
            sock.bind(('127.0.0.1', 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def start(state_path, spec_path):
    with open(spec_path) as handle:
        spec = json.load(handle)
    base = os.path.dirname(os.path.abspath(state_path))
    ports = free_ports(2 * len(spec))
    state = {}
    for i, item in enumerate(spec):
        name = item['name']
        folder = os.path.join(base, 'emulators', name)
        os.makedirs(folder, exist_ok=True)
        console = os.path.join(folder, 'console.log')
        cmd = [sys.executable, '-m', 'tests.emulator', '--host', '127.0.0.1', '--port', str(ports[2 * i]),
               '--data', os.path.join(folder, 'data'), '--server-name', name.upper(),
               '--log', os.path.join(folder, 'requests.jsonl'), '--platform', item.get('platform', 'windows')]
        if item.get('service_account'):
            cmd += ['--service-account', item['service_account']]
        for account in item.get('windows_accounts', []):
            cmd += ['--windows-account', account]
        with open(console, 'w') as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        state[name] = {'sql_port': ports[2 * i], 'endpoint_port': ports[2 * i + 1], 'pid': proc.pid,
                       'data': os.path.join(folder, 'data'), 'log': os.path.join(folder, 'requests.jsonl'),
                       'console': console}
        with open(state_path, 'w') as handle:  # written as we go, so stop can clean up after a failure
            json.dump(state, handle, indent=2)
        wait_listening(name, proc, console)
    print(json.dumps(state, indent=2))


def wait_listening(name, proc, console):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with open(console) as handle:
            if any(line.startswith('listening on') for line in handle):
                return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    with open(console) as handle:
        tail = handle.read()[-2000:]
    raise SystemExit('emulator %s did not start (exit code %s); its output:\n%s' % (name, proc.poll(), tail))


def stop(state_path):
    if not os.path.exists(state_path):
        print('no emulators recorded in %s: nothing to stop' % state_path)
        return
    with open(state_path) as handle:
        state = json.load(handle)
    for name, item in state.items():
        try:
            os.kill(item['pid'], signal.SIGTERM)
        except ProcessLookupError:
            print('%s (pid %d) had already stopped' % (name, item['pid']))
            continue
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(item['pid']):
            time.sleep(0.1)
        if _alive(item['pid']):
            os.kill(item['pid'], signal.SIGKILL)
        print('%s (pid %d) stopped' % (name, item['pid']))
    os.remove(state_path)


def _alive(pid):
    try:
        waited, _status = os.waitpid(pid, os.WNOHANG)
        if waited:
            return False
    except ChildProcessError:
        pass  # not our child (started by an earlier molecule step): probe it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'start':
        start(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == 'stop':
        stop(sys.argv[2])
    else:
        raise SystemExit(__doc__)
