"""How each Linux firewall is put into a default-deny state inside a Sandbox, and how a "reboot" is
simulated: the running rules are thrown away and loaded again from the backend's persistent files."""
from tests.firewall.sandbox import IPTABLES_TOOLS, wait_for

NFT_DEFAULT_DENY = '''\
flush ruleset
table inet filter {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iif lo accept
    meta l4proto ipv6-icmp accept
  }
  chain output {
    type filter hook output priority 0; policy drop;
    ct state established,related accept
    oif lo accept
    meta l4proto ipv6-icmp accept
  }
}
'''


class Nftables:
    backend = 'nftables'

    def setup(self, sb):
        sb.sh("cat > /etc/nftables.conf <<'EOF'\n%sEOF\nnft -f /etc/nftables.conf" % NFT_DEFAULT_DENY)

    def reboot(self, sb):
        sb.sh('nft flush ruleset; test -z "$(nft list ruleset)"; nft -f /etc/nftables.conf')


class Iptables:
    backend = 'iptables'

    def __init__(self, variant):
        self.variant = variant    # 'legacy' or 'nft'

    def setup(self, sb):
        # Point the alternatives (inside the sandbox's /etc overlay only) at the wanted variant.
        links = ' '.join('ln -sfn /usr/sbin/%s /etc/alternatives/%s;' % (
            tool.replace('tables', 'tables-%s' % self.variant, 1), tool) for tool in IPTABLES_TOOLS)
        sb.sh(links + '''
        iptables -V | grep -q "(%s)"
        for t in iptables ip6tables; do
          for c in INPUT OUTPUT; do
            $t -A $c -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
            $t -P $c DROP
          done
          $t -A INPUT -i lo -j ACCEPT
          $t -A OUTPUT -o lo -j ACCEPT
        done
        ip6tables -A INPUT -p ipv6-icmp -j ACCEPT
        ip6tables -A OUTPUT -p ipv6-icmp -j ACCEPT
        ''' % ('nf_tables' if self.variant == 'nft' else 'legacy'))

    def reboot(self, sb):
        sb.sh('''
        for t in iptables ip6tables; do $t -F; $t -P INPUT ACCEPT; $t -P OUTPUT ACCEPT; done
        iptables-restore < /etc/iptables/rules.v4
        ip6tables-restore < /etc/iptables/rules.v6
        ''')


class Ufw:
    backend = 'ufw'

    def setup(self, sb):
        sb.sh('ufw default deny incoming; ufw default deny outgoing; ufw --force enable')

    def reboot(self, sb):
        sb.sh('ufw disable; ufw --force enable')


class Firewalld:
    backend = 'firewalld'

    def __init__(self):
        self.daemons = []

    def setup(self, sb):
        # Outgoing traffic is allowed by firewalld unless a policy from HOST rejects it; add one, so
        # the outbound rules can be seen to work.
        sb.sh('''
        firewall-offline-cmd --new-policy denyout
        firewall-offline-cmd --policy denyout --add-ingress-zone HOST
        firewall-offline-cmd --policy denyout --add-egress-zone ANY
        firewall-offline-cmd --policy denyout --set-target REJECT
        firewall-offline-cmd --policy denyout --set-priority 100
        firewall-offline-cmd --policy denyout --add-protocol ipv6-icmp
        ''')
        self.start(sb)

    def start(self, sb):
        self.daemons.append(sb.start(['dbus-daemon', '--system', '--nofork', '--nopidfile']))
        wait_for(lambda: sb.sh('test -S /run/dbus/system_bus_socket', check=False).returncode == 0, what='dbus')
        self.daemons.append(sb.start(['firewalld', '--nofork', '--nopid', '--log-target', 'file',
                                      '--log-file', '/run/firewalld.log']))
        wait_for(lambda: sb.sh('firewall-cmd --state', check=False).returncode == 0, what='firewalld')

    def stop(self, sb):
        for proc in reversed(self.daemons):
            sb.stop(proc)
        self.daemons = []
        sb.sh('rm -f /run/dbus/system_bus_socket')

    def reboot(self, sb):
        self.stop(sb)
        self.start(sb)
