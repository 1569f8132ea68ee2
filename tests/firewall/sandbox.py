"""A throw-away host for firewall tests: a server and a client network namespace joined by a veth pair.

The server side also gets its own mount namespace with an overlay over /etc and a tmpfs on /run, so
the module can write /etc/nftables.conf, /etc/ufw/..., /etc/firewalld/... and /etc/iptables/... and
start daemons without touching the real host. The firewall configuration inside the overlay is not the
host's: every file and directory in FIREWALL_CONFIG is removed and laid anew from tests/firewall/etc
(Debian 12's package defaults, shortened to what each firewall needs to start), ufw's own rule templates
from /usr/share/ufw, and the iptables alternatives pointing at iptables-nft (Debian's default), so what an
administrator - or an earlier run of the module outside a sandbox - left in the host's /etc cannot change
a verdict. Everything runs through `nsenter` into one long-lived holder process that owns those namespaces.

Addresses: server 10.77.0.1 / fd77::1; client ALLOWED 10.77.0.2 / fd77::2 and OTHER 10.77.0.3 / fd77::3.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

SERVER_V4, ALLOWED_V4, OTHER_V4 = '10.77.0.1', '10.77.0.2', '10.77.0.3'
SERVER_V6, ALLOWED_V6, OTHER_V6 = 'fd77::1', 'fd77::2', 'fd77::3'

# Host configuration that decides what the firewall module sees or does: replaced in every sandbox.
FIREWALL_CONFIG = ('nftables.conf', 'nftables.d', 'nftables', 'sysconfig', 'iptables', 'ufw', 'default/ufw',
                   'firewalld', 'systemd/system/multi-user.target.wants/firewalld.service',
                   'systemd/system/multi-user.target.wants/nftables.service',
                   'systemd/system/multi-user.target.wants/ufw.service',
                   'systemd/system/multi-user.target.wants/netfilter-persistent.service',
                   'systemd/system/dbus-org.fedoraproject.FirewallD1.service')
IPTABLES_TOOLS = ('iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore')
KNOWN_ETC = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'etc')

# $HOST_ETC is the lower layer: /etc, or "$planted:/etc" when a test plays a host with files of its own.
HOLDER = r'''
set -e
mount -t tmpfs tmpfs "$WORK"
mkdir "$WORK/upper" "$WORK/work"
mount -t overlay overlay -o "lowerdir=$HOST_ETC,upperdir=$WORK/upper,workdir=$WORK/work" /etc
for path in $FIREWALL_CONFIG; do rm -rf "/etc/$path"; done
cp -R "$KNOWN_ETC/." /etc/
for tool in $IPTABLES_TOOLS; do ln -sfn "/usr/sbin/$(echo "$tool" | sed 's/tables/tables-nft/')" "/etc/alternatives/$tool"; done
mkdir -p /etc/ufw/applications.d /etc/firewalld/helpers /etc/firewalld/icmptypes \
         /etc/firewalld/ipsets /etc/firewalld/policies /etc/firewalld/services /etc/firewalld/zones
cp /usr/share/ufw/iptables/*.rules /usr/share/ufw/ufw.conf /etc/ufw/
mount -t tmpfs tmpfs /run
mkdir -p /run/dbus
echo ready
exec sleep 100000
'''

# Listens on every port given, IPv4 and IPv6, and answers each connection with "ok".
LISTENER = r'''
import socket, sys, threading
def serve(port):
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(b'ok'); c.close()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
print('listening', flush=True)
threading.Event().wait()
'''

# Connects from each (source, destination, port) at once; prints {"src dst port": true/false}.
# A completed TCP handshake is "reachable" (the kernel completes it for a listening socket without
# waiting for the listener process); a dropped SYN times out, a rejected one fails at once.
PROBE = r'''
import json, socket, sys, threading
out = {}
def probe(src, dst, port):
    fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
    s = socket.socket(fam); s.settimeout(0.6)
    try:
        s.bind((src, 0)); s.connect((dst, port)); out['%s %s %d' % (src, dst, port)] = True
    except OSError:
        out['%s %s %d' % (src, dst, port)] = False
    finally:
        s.close()
ts = [threading.Thread(target=probe, args=(a, b, int(p))) for a, b, p in json.loads(sys.argv[1])]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps(out))
'''


def run(args, check=True, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError('%s failed (rc=%d)\nstdout:\n%s\nstderr:\n%s'
                             % (' '.join(args), result.returncode, result.stdout, result.stderr))
    return result


class Sandbox:
    def __init__(self, tag, ports, planted_etc=None):
        """``planted_etc``: a directory laid over the host's /etc for this sandbox only (a test plays a host
        whose /etc already holds firewall configuration)."""
        stamp = '%d%s' % (os.getpid() % 100000, tag)
        self.server, self.client = 'fws%s' % stamp, 'fwc%s' % stamp
        self.work = tempfile.mkdtemp(prefix='mssql-hadr-fw-')
        self.daemons = []
        self.holder = None
        try:
            self._network()
            self._start_holder('%s:/etc' % planted_etc if planted_etc else '/etc')
            self.daemons.append(self._listener(['nsenter', '-t', str(self.holder.pid), '-m', '-n'], ports))
            self.daemons.append(self._listener(['ip', 'netns', 'exec', self.client], ports))
        except BaseException:
            self.close()
            raise

    def _network(self):
        for ns in (self.server, self.client):
            run(['ip', 'netns', 'add', ns])
            run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        run(['ip', 'link', 'add', 'fwv0', 'netns', self.server, 'type', 'veth', 'peer', 'fwv1', 'netns', self.client])
        for ns, dev, addrs in ((self.server, 'fwv0', [SERVER_V4, SERVER_V6]),
                               (self.client, 'fwv1', [ALLOWED_V4, OTHER_V4, ALLOWED_V6, OTHER_V6])):
            for addr in addrs:
                prefix = '/64' if ':' in addr else '/24'
                run(['ip', '-n', ns, 'addr', 'add', addr + prefix, 'dev', dev] + (['nodad'] if ':' in addr else []))
            run(['ip', '-n', ns, 'link', 'set', dev, 'up'])

    def _start_holder(self, host_etc):
        self.holder = subprocess.Popen(
            ['ip', 'netns', 'exec', self.server, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', HOLDER],
            env=dict(os.environ, WORK=self.work, HOST_ETC=host_etc, KNOWN_ETC=KNOWN_ETC,
                     FIREWALL_CONFIG=' '.join(FIREWALL_CONFIG), IPTABLES_TOOLS=' '.join(IPTABLES_TOOLS)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != 'ready':
            raise AssertionError('sandbox holder failed: %s %s' % (line, self.holder.stderr.read()))

    def _listener(self, prefix, ports):
        proc = subprocess.Popen(prefix + [sys.executable, '-c', LISTENER] + [str(p) for p in ports],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == 'listening'
        return proc

    def enter(self):
        """Command prefix that runs inside the server's network and mount namespaces."""
        return ['nsenter', '-t', str(self.holder.pid), '-m', '-n']

    def sh(self, script, check=True):
        """Run a shell script on the server side."""
        return run(self.enter() + ['sh', '-ec', textwrap.dedent(script)], check=check)

    def read(self, path):
        return self.sh('cat %s' % path).stdout

    def start(self, args):
        """Start a long-running process on the server side; it is stopped by close()."""
        proc = subprocess.Popen(self.enter() + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.daemons.append(proc)
        return proc

    def stop(self, proc):
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.daemons.remove(proc)

    def inbound(self, checks):
        """{(source, port): reachable} for connections from the client to the server."""
        return self._probe(['ip', 'netns', 'exec', self.client],
                           [(src, SERVER_V6 if ':' in src else SERVER_V4, port) for src, port in checks])

    def outbound(self, checks):
        """{(destination, port): reachable} for connections from the server to the client."""
        return self._probe(self.enter(),
                           [(SERVER_V6 if ':' in dst else SERVER_V4, dst, port) for dst, port in checks], out=True)

    def _probe(self, prefix, triples, out=False):
        result = json.loads(run(prefix + [sys.executable, '-c', PROBE, json.dumps(triples)]).stdout)
        return dict(((dst if out else src, port), result['%s %s %d' % (src, dst, port)])
                    for src, dst, port in triples)

    def close(self):
        for proc in reversed(self.daemons):
            proc.kill()
            proc.wait()
        self.daemons = []
        if self.holder:
            self.holder.kill()
            self.holder.wait()
        for ns in (self.server, self.client):
            run(['ip', 'netns', 'del', ns], check=False)
        shutil.rmtree(self.work, ignore_errors=True)


def wait_for(predicate, timeout=20.0, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError('timed out waiting for %s' % what)
