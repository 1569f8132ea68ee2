"""mssql.hadr.firewall against real Linux firewalls, each in network namespaces made for the test.

Every scenario starts from a default-deny firewall (inbound and outbound), proves the port is closed
over the veth pair, then runs real ansible-playbook on the "server" side and checks TCP
reachability from two client addresses (one allowed, one not), in both directions.
"""
import os

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils._firewall_firewalld import policy_name
from tests.firewall import backends
from tests.firewall.playbook import run_tasks, task
from tests.firewall.sandbox import ALLOWED_V4, ALLOWED_V6, OTHER_V4, OTHER_V6, Sandbox

P1, P2, P3 = 5022, 5033, 5044
INST1, INST2 = 'mssql.hadr endpoint INST1', 'mssql.hadr endpoint INST2'
PARTNERS = [ALLOWED_V4, ALLOWED_V6]

pytestmark = pytest.mark.slow


# What an earlier run of the module outside any sandbox (or an administrator) leaves in a host's /etc.
PLANTED_HOST_FILES = {
    'nftables.conf': '#!/usr/sbin/nft -f\nflush ruleset\ninclude "/etc/nftables.d/mssql_hadr.nft"\n',
    'nftables.d/mssql_hadr.nft': 'table inet mssql_hadr {\n}\n',
    'iptables/rules.v4': '*filter\n-A INPUT -p tcp --dport 5022 -j ACCEPT\nCOMMIT\n',
    'sysconfig/nftables.conf': 'include "/etc/nftables/mssql_hadr.nft"\n',
    'ufw/user.rules': '### tuple ### allow tcp 5022 0.0.0.0/0 any 10.77.0.2 in\n',
    'default/ufw': 'IPV6=no\n',
    'firewalld/policies/planted.xml': '<?xml version="1.0" encoding="utf-8"?>\n<policy target="ACCEPT"></policy>\n',
}


def make_sandbox(request, planted_etc=None):
    if os.geteuid() != 0:
        pytest.fail('firewall tests need root (network namespaces, mounts); `make test` runs as root')
    sb = Sandbox(request.node.name[-6:].strip('[]_-') or 'x', [P1, P2, P3], planted_etc=planted_etc)
    request.addfinalizer(sb.close)
    return sb


@pytest.fixture
def sandbox(request):
    return make_sandbox(request)


@pytest.fixture
def planted_sandbox(request, tmp_path):
    """A sandbox on a host whose /etc holds firewall configuration of its own (PLANTED_HOST_FILES, and
    firewalld enabled at boot): laid over the host's /etc inside the sandbox only."""
    for path, content in PLANTED_HOST_FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    wants = tmp_path / 'systemd/system/multi-user.target.wants'
    wants.mkdir(parents=True)
    (wants / 'firewalld.service').symlink_to('/lib/systemd/system/firewalld.service')
    (tmp_path / 'mssql-hadr-planted').write_text('not firewall configuration: the sandbox keeps it\n')
    sb = make_sandbox(request, str(tmp_path))
    # the planted layer is in effect (so the files below are absent because the sandbox reset them)
    assert sb.read('/etc/mssql-hadr-planted') == 'not firewall configuration: the sandbox keeps it\n'
    return sb


def rules(port, addresses, directions=('inbound', 'outbound')):
    return sorted(({'direction': d, 'port': port, 'protocol': 'tcp', 'remote_address': a}
                   for d in directions for a in addresses),
                  key=lambda r: (r['direction'], r['port'], ':' in r['remote_address'], r['remote_address']))


def ok(result, changed):
    assert not result.get('failed'), result
    assert result['changed'] is changed, result
    assert bool(result['commands']) is changed, result
    return result


def expect(sb, inbound, outbound=None):
    assert sb.inbound(list(inbound)) == inbound
    if outbound:
        assert sb.outbound(list(outbound)) == outbound


def closed_everywhere(sb):
    expect(sb, dict(((src, port), False) for src in (ALLOWED_V4, OTHER_V4, ALLOWED_V6) for port in (P1, P2, P3)),
           {(ALLOWED_V4, P1): False, (ALLOWED_V6, P1): False})


def present_first_time(sb, backend):
    """Check mode, then create, then a second run: INST1 on P1 for the partners only."""
    r = run_tasks(sb, [task('check', check=True, name=INST1, port=P1, remote_addresses=PARTNERS),
                       task('create', name=INST1, port=P1, remote_addresses=PARTNERS),
                       task('again', name=INST1, port=P1, remote_addresses=PARTNERS)])
    check, create, again = ok(r[0], True), ok(r[1], True), ok(r[2], False)
    assert check['diff'] == {'before': {'rules': []}, 'after': {'rules': rules(P1, PARTNERS)}}
    assert create['diff']['before'] == {'rules': []}, 'check mode changed something'
    assert create['rules'] == again['rules'] == rules(P1, PARTNERS)
    assert {x['backend'] for x in r} == {backend}
    assert again['outbound_filtered'] is True
    return r


def open_to_partners_only(sb):
    expect(sb, {(ALLOWED_V4, P1): True, (OTHER_V4, P1): False, (ALLOWED_V6, P1): True, (OTHER_V6, P1): False},
           {(ALLOWED_V4, P1): True, (OTHER_V4, P1): False, (ALLOWED_V6, P1): True, (OTHER_V6, P1): False})


def move_and_add_second_instance(sb, **second):
    """INST1 moves from P1 to P2; INST2 (inbound only, any address) opens P3."""
    r = run_tasks(sb, [task('move', name=INST1, port=P2, remote_addresses=PARTNERS),
                       task('second instance', name=INST2, port=P3, direction='inbound', **second),
                       task('move again', name=INST1, port=P2, remote_addresses=PARTNERS),
                       task('second again', name=INST2, port=P3, direction='inbound', **second)])
    move, second = ok(r[0], True), ok(r[1], True)
    ok(r[2], False)
    ok(r[3], False)
    assert move['diff'] == {'before': {'rules': rules(P1, PARTNERS)}, 'after': {'rules': rules(P2, PARTNERS)}}
    assert second['rules'] == rules(P3, ['any'], ['inbound'])


def moved_state(sb):
    expect(sb, {(ALLOWED_V4, P1): False, (ALLOWED_V6, P1): False,
                (ALLOWED_V4, P2): True, (OTHER_V4, P2): False, (ALLOWED_V6, P2): True,
                (ALLOWED_V4, P3): True, (OTHER_V4, P3): True, (OTHER_V6, P3): True},
           {(ALLOWED_V4, P1): False, (ALLOWED_V4, P2): True, (OTHER_V4, P2): False, (ALLOWED_V4, P3): False})


def remove_first_instance(sb):
    r = run_tasks(sb, [task('check absent', check=True, name=INST1, port=P2, state='absent'),
                       task('absent', name=INST1, port=P2, state='absent'),
                       task('absent again', name=INST1, port=P2, state='absent')])
    ok(r[0], True)
    assert ok(r[1], True)['diff'] == {'before': {'rules': rules(P2, PARTNERS)}, 'after': {'rules': []}}
    assert ok(r[2], False)['rules'] == []
    expect(sb, {(ALLOWED_V4, P2): False, (ALLOWED_V6, P2): False, (ALLOWED_V4, P3): True, (OTHER_V4, P3): True},
           {(ALLOWED_V4, P2): False})


@pytest.mark.parametrize('firewall', [backends.Nftables(), backends.Iptables('nft'), backends.Iptables('legacy'),
                                      backends.Ufw()], ids=['nftables', 'iptables-nft', 'iptables-legacy', 'ufw'])
def test_backend_lifecycle(sandbox, firewall):
    firewall.setup(sandbox)
    closed_everywhere(sandbox)
    present_first_time(sandbox, firewall.backend)
    open_to_partners_only(sandbox)
    move_and_add_second_instance(sandbox)
    moved_state(sandbox)
    firewall.reboot(sandbox)
    moved_state(sandbox)
    remove_first_instance(sandbox)


def test_firewalld_offline_then_running(sandbox):
    firewall = backends.Firewalld()
    firewall.setup(sandbox)
    closed_everywhere(sandbox)
    firewall.stop(sandbox)
    # firewalld down: the module must use firewall-offline-cmd (auto finds firewalld enabled at boot
    # only on systemd hosts, so the backend is named here).
    r = run_tasks(sandbox, [dict(t, **{'mssql.hadr.firewall': dict(t['mssql.hadr.firewall'], backend='firewalld')})
                            for t in (task('check', check=True, name=INST1, port=P1, remote_addresses=PARTNERS),
                                      task('create', name=INST1, port=P1, remote_addresses=PARTNERS),
                                      task('again', name=INST1, port=P1, remote_addresses=PARTNERS))])
    ok(r[0], True)
    assert ok(r[1], True)['diff']['before'] == {'rules': []}
    assert ok(r[2], False)['rules'] == rules(P1, PARTNERS)
    assert all(c.startswith('firewall-offline-cmd') for c in r[1]['commands']), r[1]['commands']
    assert any('not running' in n for n in r[1]['notes'])
    policy = sandbox.read('/etc/firewalld/policies/%s' % r[1]['persistence'][0].rsplit('/', 1)[1])
    assert '5022' in policy and INST1 in policy
    firewall.start(sandbox)
    open_to_partners_only(sandbox)
    again = run_tasks(sandbox, [task('running, unchanged', name=INST1, port=P1, remote_addresses=PARTNERS),
                                task('no such zone', name=INST2, port=P3, zone='nosuchzone')])
    assert ok(again[0], False)['backend'] == 'firewalld'
    assert again[1]['failed'] and "zone 'nosuchzone' does not exist" in again[1]['msg'], again[1]
    assert again[1]['commands'] == []
    # The second instance names a zone; policies match only zones with interfaces or sources bound.
    sandbox.sh('firewall-cmd --zone=public --change-interface=fwv0; firewall-cmd --permanent --zone=public '
               '--change-interface=fwv0')
    move_and_add_second_instance(sandbox, zone='public')
    assert 'ingress-zones: public' in sandbox.sh('firewall-cmd --info-policy=%s'
                                                 % policy_name(INST2, 'inbound')).stdout
    moved_state(sandbox)
    firewall.reboot(sandbox)
    moved_state(sandbox)
    remove_first_instance(sandbox)
    firewall.stop(sandbox)


def test_sandbox_starts_from_known_firewall_files_whatever_the_host_holds(planted_sandbox):
    """Regression: a host whose /etc held mssql_hadr.nft and its include made the nftables test fail."""
    sb = planted_sandbox
    for path, content in PLANTED_HOST_FILES.items():
        assert content not in sb.sh('cat /etc/%s 2>/dev/null || true' % path).stdout, path
    for path in ('nftables.d', 'iptables', 'sysconfig', 'firewalld/policies/planted.xml'):
        assert sb.sh('test -e /etc/%s' % path, check=False).returncode == 1, path
    assert sb.sh('test -e /etc/systemd/system/multi-user.target.wants/firewalld.service', check=False).returncode == 1
    known = os.path.join(os.path.dirname(__file__), 'etc')
    for path in ('nftables.conf', 'default/ufw', 'firewalld/firewalld.conf'):
        with open(os.path.join(known, path)) as f:
            assert sb.read('/etc/' + path) == f.read(), path
    assert sb.sh('readlink /etc/alternatives/iptables').stdout.strip() == '/usr/sbin/iptables-nft'
    with open('/usr/share/ufw/iptables/user.rules') as f:
        assert sb.read('/etc/ufw/user.rules') == f.read()


def test_nftables_dropping_chain_fail_mode_and_errors(planted_sandbox):
    sandbox = planted_sandbox
    backends.Nftables().setup(sandbox)
    r = run_tasks(sandbox, [
        task('default name, check mode', check=True, port=P1),
        task('fail mode', port=P1, nftables_existing_chains='fail'),
        task('bad port', port=70000),
        task('bad address', port=P1, remote_addresses=['10.0.0.300']),
        task('host bits', port=P1, remote_addresses=['10.77.0.2/24']),
        task('any mixed', port=P1, remote_addresses=['any', ALLOWED_V4]),
        task('bad name', port=P1, name='x"; flush ruleset'),
    ], verbosity=3)
    # A Linux host runs firewall.py, although Ansible would otherwise pick firewall.ps1 (sorted first).
    used = [line for line in r.stdout.splitlines() if 'Using module file' in line and '/firewall.' in line]
    assert used and all(line.endswith('/plugins/modules/firewall.py') for line in used), used
    assert ok(r[0], True)['name'] == 'mssql.hadr endpoint 5022'
    assert r[0]['rules'] == rules(P1, ['any'])
    assert r[1]['failed'] and 'inet filter input' in r[1]['msg'] and 'nftables_existing_chains' in r[1]['msg']
    assert r[1]['commands'] == []
    assert r[2]['failed'] and '70000' in r[2]['msg'] and '1-65535' in r[2]['msg']
    assert r[3]['failed'] and "'10.0.0.300'" in r[3]['msg']
    assert r[4]['failed'] and '10.77.0.0/24' in r[4]['msg']
    assert r[5]['failed'] and "'any' cannot be combined" in r[5]['msg']
    assert r[6]['failed'] and 'name' in r[6]['msg']
    assert 'mssql_hadr' not in sandbox.sh('nft list tables').stdout
    expect(sandbox, {(ALLOWED_V4, P1): False, (OTHER_V4, P1): False})
    # A main file that does not load: the rules go live, persistence is refused and nothing is written.
    sandbox.sh('echo "this is not nftables" >> /etc/nftables.conf')
    r = run_tasks(sandbox, [task('broken main file', port=P1, direction='inbound')])
    assert r[0]['failed'] and 'does not load even before this change' in r[0]['msg'], r[0]
    assert r[0]['commands'] and all(c.startswith('nft ') for c in r[0]['commands']), r[0]
    assert sandbox.sh('tail -n 1 /etc/nftables.conf').stdout == 'this is not nftables\n'
    assert sandbox.sh('test -e /etc/nftables.d/mssql_hadr.nft', check=False).returncode == 1
    expect(sandbox, {(ALLOWED_V4, P1): True, (OTHER_V4, P1): True})
    # Hide every firewall tool from the module: it must say so, not guess.
    sandbox.sh('''
    mount -t tmpfs tmpfs /usr/sbin
    touch /run/not-a-tool
    for t in firewall-cmd firewall-offline-cmd ufw nft iptables; do
      for d in /usr/bin /usr/local/sbin /usr/local/bin /sbin /bin; do
        [ -e $d/$t ] && mount --bind /run/not-a-tool $d/$t
      done
    done; true
    ''')
    r = run_tasks(sandbox, [task('nothing installed', port=P1)])
    assert r[0]['failed'] and 'No supported firewall found' in r[0]['msg']


def test_powershell_hosts_get_the_windows_implementation():
    """Linux hosts run firewall.py (every test above); a host with a PowerShell shell gets firewall.ps1.

    No PowerShell exists here, so the run fails - the point is which implementation Ansible tried.
    Check mode, so nothing could change even if it ran.
    """
    windows = dict(task('windows host', check=True, port=P1), vars={'ansible_shell_type': 'powershell'})
    r = run_tasks(None, [windows], verbosity=3)
    assert r[0]['failed'] and 'PowerShell: not found' in r[0]['module_stderr'], r[0]
    used = [line for line in r.stdout.splitlines() if 'Using module file' in line]
    assert used[0].endswith('/plugins/modules/firewall.ps1'), used   # the others are the collect task's


def test_ufw_inactive_saves_rules_that_apply_when_enabled(sandbox):
    sandbox.sh('ufw --force disable; ufw default deny incoming')
    r = run_tasks(sandbox, [task('inactive', backend='ufw', name=INST1, port=P1, remote_addresses=[ALLOWED_V4]),
                            task('inactive again', backend='ufw', name=INST1, port=P1, remote_addresses=[ALLOWED_V4])])
    assert any('ufw is inactive' in n for n in ok(r[0], True)['notes'])
    # ufw allows outgoing traffic by default: the outbound rule is kept, and the result says it does nothing.
    assert r[0]['outbound_filtered'] is False
    assert any('does not filter outgoing traffic' in n for n in r[0]['notes'])
    assert ok(r[1], False)['rules'] == rules(P1, [ALLOWED_V4])
    saved = [line for line in sandbox.read('/etc/ufw/user.rules').splitlines() if line.startswith('### tuple ###')]
    assert saved == ['### tuple ### allow tcp 5022 0.0.0.0/0 any 10.77.0.2 in comment=%s' % INST1.encode().hex(),
                     '### tuple ### allow tcp 5022 10.77.0.2 any 0.0.0.0/0 out comment=%s' % INST1.encode().hex()]
    sandbox.sh('ufw --force enable')
    expect(sandbox, {(ALLOWED_V4, P1): True, (OTHER_V4, P1): False})
