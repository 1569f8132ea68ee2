"""The firewall module's pure logic: validation, the rule model and each backend's render/parse pair."""
import shlex

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import _firewall as fw
from ansible_collections.mssql.hadr.plugins.module_utils import _firewall_firewalld as fwd
from ansible_collections.mssql.hadr.plugins.module_utils import _firewall_iptables as ipt
from ansible_collections.mssql.hadr.plugins.module_utils import _firewall_nftables as nft
from ansible_collections.mssql.hadr.plugins.module_utils import _firewall_ufw as ufw
from ansible_collections.mssql.hadr.plugins.module_utils._firewall import ANY, FirewallError, Rule

NAME = 'mssql.hadr endpoint 5022'
SAMPLE_RULES = [Rule('inbound', 5022, '10.0.0.2'), Rule('inbound', 5022, '10.1.0.0/16'),
                Rule('outbound', 5022, 'fd00::2'), Rule('outbound', 5023, 'fd00:1::/64'),
                Rule('inbound', 5022, ANY), Rule('outbound', 6000, ANY)]


@pytest.mark.parametrize('given, expected', [
    ('10.0.0.2', '10.0.0.2'), ('10.0.0.2/32', '10.0.0.2'), (' 10.1.0.0/16 ', '10.1.0.0/16'),
    ('FD00:0::2', 'fd00::2'), ('fd00::2/128', 'fd00::2'), ('fd00:1::/64', 'fd00:1::/64'),
])
def test_normalize_address(given, expected):
    assert fw.normalize_address(given) == expected


@pytest.mark.parametrize('given, message', [
    ('10.0.0.300', "'10.0.0.300' is not an IPv4/IPv6 address"),
    ('10.0.0.5/24', 'write the network as 10.0.0.0/24'),
    ('fd00::5/64', 'write the network as fd00::/64'),
    ('partner1.example.com', 'is not an IPv4/IPv6 address'),
    ('10.0.0.0/33', 'is not an IPv4/IPv6 address'),
])
def test_normalize_address_errors(given, message):
    with pytest.raises(FirewallError, match='remote_addresses') as err:
        fw.normalize_address(given)
    assert message in str(err.value)


def test_normalize_addresses_dedups_sorts_and_means_any():
    assert fw.normalize_addresses([]) == [ANY]
    assert fw.normalize_addresses(['any']) == [ANY]
    assert fw.normalize_addresses(['0.0.0.0/0', '::/0']) == [ANY]
    assert fw.normalize_addresses(['fd00::2', '10.0.0.9', '10.0.0.10/32', '10.0.0.9']) == \
        ['10.0.0.10', '10.0.0.9', 'fd00::2']
    with pytest.raises(FirewallError, match="'any' cannot be combined"):
        fw.normalize_addresses(['any', '10.0.0.1'])


@pytest.mark.parametrize('name', ['', 'x' * 101, 'a"b', "a'b", 'a\\b', 'a`b', 'a$b', 'a\nb'])
def test_validate_name_rejects(name):
    with pytest.raises(FirewallError, match='name'):
        fw.validate_name(name)


def test_desired_rules():
    assert fw.desired_rules('absent', 5022, 'both', [ANY]) == set()
    assert fw.desired_rules('present', 5022, 'inbound', ['10.0.0.2', 'fd00::2']) == {
        Rule('inbound', 5022, '10.0.0.2'), Rule('inbound', 5022, 'fd00::2')}
    assert len(fw.desired_rules('present', 5022, 'both', ['10.0.0.2', 'fd00::2'])) == 4


def test_split_and_join_any_are_inverse():
    rules = set(SAMPLE_RULES)
    split = fw.split_any(rules)
    assert Rule('inbound', 5022, '0.0.0.0/0') in split and Rule('inbound', 5022, '::/0') in split
    assert all(r.remote != ANY for r in split)
    assert fw.join_any(split) == rules
    # Half of "any" stays what it is.
    assert fw.join_any({Rule('inbound', 1, '0.0.0.0/0')}) == {Rule('inbound', 1, '0.0.0.0/0')}


def test_rules_as_dicts_sorted_and_shaped():
    assert fw.rules_as_dicts({Rule('outbound', 5022, '10.0.0.2'), Rule('inbound', 5022, ANY)}) == [
        {'direction': 'inbound', 'port': 5022, 'protocol': 'tcp', 'remote_address': 'any'},
        {'direction': 'outbound', 'port': 5022, 'protocol': 'tcp', 'remote_address': '10.0.0.2'}]


# firewalld ---------------------------------------------------------------------------------------

def test_policy_names_fit_firewalld_and_differ():
    names = [fwd.policy_name(n, d) for n in (NAME, 'mssql.hadr endpoint INST2', 'x' * 100)
             for d in ('inbound', 'outbound')]
    assert len(set(names)) == len(names)
    assert all(len(n) <= 17 and n.replace('-', '').isalnum() for n in names)


@pytest.mark.parametrize('rule', SAMPLE_RULES)
def test_rich_rule_round_trip(rule):
    text = fwd.rich_rule(rule)
    assert fwd.parse_rich_rule(rule.direction, text) == rule
    # firewalld prints rules back with every value quoted; both forms must parse.
    assert fwd.parse_rich_rule(rule.direction, text.replace('"', '')) == rule


def test_rich_rule_text():
    assert fwd.rich_rule(Rule('outbound', 5022, 'fd00::2')) == \
        'rule family="ipv6" destination address="fd00::2" port port="5022" protocol="tcp" accept'
    assert fwd.rich_rule(Rule('inbound', 5022, ANY)) == 'rule port port="5022" protocol="tcp" accept'
    assert fwd.parse_rich_rule('inbound', 'rule family="ipv4" source address="1.2.3.4" drop') is None


def test_parse_policies():
    text = ('allow-host-ipv6 (active)\n  priority: -15000\n  target: CONTINUE\n  ingress-zones: ANY\n'
            '  egress-zones: HOST\n  rich rules: \n\trule family="ipv6" icmp-type name="redirect" accept\n\n'
            'hadr-1234abcd-out\n  target: CONTINUE\n  ingress-zones: HOST\n  egress-zones: internal\n'
            '  rich rules: \n\trule port port="5022" protocol="tcp" accept\n'
            'denyout (active)\n  target: REJECT\n  ingress-zones: HOST\n  egress-zones: ANY\n  rich rules: \n')
    policies = fwd.parse_policies(text)
    assert sorted(policies) == ['allow-host-ipv6', 'denyout', 'hadr-1234abcd-out']
    assert policies['hadr-1234abcd-out']['egress-zones'] == 'internal'
    assert policies['hadr-1234abcd-out']['rich rules'] == ['rule port port="5022" protocol="tcp" accept']
    assert policies['denyout']['rich rules'] == [] and policies['denyout']['target'] == 'REJECT'


def test_parse_active_zones():
    text = 'internal\n  interfaces: eth1\npublic\n  interfaces: eth0\n  sources: 10.0.0.0/8\n'
    assert fwd.parse_active_zones(text) == {'internal', 'public'}
    assert fwd.parse_active_zones('') == set()


# ufw ---------------------------------------------------------------------------------------------

COMMENT_HEX = NAME.encode().hex()


@pytest.mark.parametrize('line, expected', [
    ('### tuple ### allow tcp 5022 0.0.0.0/0 any 10.1.0.2 in comment=%s' % COMMENT_HEX,
     Rule('inbound', 5022, '10.1.0.2')),
    ('### tuple ### allow tcp 5022 fd00::2 any ::/0 out comment=%s' % COMMENT_HEX,
     Rule('outbound', 5022, 'fd00::2')),
    ('### tuple ### allow tcp 5022 0.0.0.0/0 any 0.0.0.0/0 in comment=%s' % COMMENT_HEX,
     Rule('inbound', 5022, '0.0.0.0/0')),
    ('### tuple ### allow tcp 5022 0.0.0.0/0 any 10.1.0.2 in comment=%s' % 'x'.encode().hex(), None),
    ('### tuple ### allow tcp 5022 0.0.0.0/0 any 10.1.0.2 in', None),
    ('### tuple ### deny tcp 5022 0.0.0.0/0 any 10.1.0.2 in comment=%s' % COMMENT_HEX, None),
    ('### tuple ### allow udp 5022 0.0.0.0/0 any 10.1.0.2 in comment=%s' % COMMENT_HEX, None),
])
def test_ufw_parse_tuple(line, expected):
    assert ufw.parse_tuple(line, COMMENT_HEX) == expected


def test_ufw_args():
    assert ufw.ufw_args(Rule('inbound', 5022, '10.0.0.2')) == \
        ['in', 'proto', 'tcp', 'from', '10.0.0.2', 'to', 'any', 'port', '5022']
    assert ufw.ufw_args(Rule('inbound', 5022, ANY)) == ['in', 'proto', 'tcp', 'to', 'any', 'port', '5022']
    assert ufw.ufw_args(Rule('outbound', 5022, 'fd00::/64')) == \
        ['out', 'proto', 'tcp', 'to', 'fd00::/64', 'port', '5022']
    assert ufw.ufw_args(Rule('outbound', 5022, ANY)) == ['out', 'proto', 'tcp', 'to', 'any', 'port', '5022']


# nftables ----------------------------------------------------------------------------------------

def nft_json_expr(rule):
    """The JSON `nft -j` prints for a rule written by render() (as seen from nftables 1.0.6)."""
    expr = [{'match': {'op': '==', 'left': {'payload': {'protocol': 'tcp', 'field': 'dport'}}, 'right': rule.port}}]
    if rule.remote != ANY:
        proto = 'ip' if rule.family == 4 else 'ip6'
        field = 'saddr' if rule.direction == 'inbound' else 'daddr'
        right = rule.remote
        if '/' in right:
            addr, length = right.split('/')
            right = {'prefix': {'addr': addr, 'len': int(length)}}
        expr.append({'match': {'op': '==', 'left': {'payload': {'protocol': proto, 'field': field}}, 'right': right}})
    return expr + [{'accept': None}]


@pytest.mark.parametrize('rule', SAMPLE_RULES)
def test_nft_render_and_parse(rule):
    text = nft.render(rule, NAME)
    assert text.startswith('tcp dport %d ' % rule.port) and text.endswith('accept comment "%s"' % NAME)
    assert nft.parse_expr(rule.direction, nft_json_expr(rule)) == rule


def test_nft_render_text():
    assert nft.render(Rule('inbound', 5022, '10.0.0.0/24'), NAME) == \
        'tcp dport 5022 ip saddr 10.0.0.0/24 accept comment "%s"' % NAME
    assert nft.render(Rule('outbound', 5022, 'fd00::2'), NAME) == \
        'tcp dport 5022 ip6 daddr fd00::2 accept comment "%s"' % NAME


def test_nft_parse_rejects_foreign_shapes():
    drop = [{'match': {'op': '==', 'left': {'payload': {'protocol': 'tcp', 'field': 'dport'}}, 'right': 5022}},
            {'drop': None}]
    assert nft.parse_expr('inbound', drop) is None
    ct = [{'match': {'op': 'in', 'left': {'ct': {'key': 'state'}}, 'right': ['established']}}, {'accept': None}]
    assert nft.parse_expr('inbound', ct) is None


@pytest.mark.parametrize('policy, rules, expected', [
    ('drop', [], True),
    ('accept', [], False),
    ('accept', [{'expr': [{'counter': {}}, {'drop': None}]}], True),
    ('accept', [{'expr': [{'reject': None}]}], True),
    ('accept', [{'expr': [{'match': {}}, {'drop': None}]}], False),
])
def test_nft_drops(policy, rules, expected):
    assert nft.drops({'policy': policy}, rules) is expected


def test_nft_family_compatibility():
    assert nft.compatible('inet', Rule('inbound', 1, 'fd00::1'))
    assert nft.compatible('ip', Rule('inbound', 1, ANY))
    assert nft.compatible('ip', Rule('inbound', 1, '10.0.0.1'))
    assert not nft.compatible('ip', Rule('inbound', 1, 'fd00::1'))
    assert not nft.compatible('ip6', Rule('inbound', 1, '10.0.0.1'))


# iptables ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('rule', [Rule('inbound', 5022, '10.0.0.2'), Rule('outbound', 5023, 'fd00:1::/64'),
                                  Rule('inbound', 5022, '0.0.0.0/0')])
def test_iptables_args_round_trip(rule):
    words = ipt.rule_args(rule, NAME)
    # `iptables -S` prints host addresses with their prefix length.
    printed = [w + '/32' if w == '10.0.0.2' else w for w in words]
    parsed = ipt.parse_spec(rule.direction, printed, NAME)
    assert parsed == (rule if rule.remote != '0.0.0.0/0' else rule._replace(remote=None))


def test_iptables_parse_real_line():
    line = ('-A INPUT -s 10.77.0.2/32 -p tcp -m tcp --dport 5022 -m comment --comment '
            '"mssql.hadr endpoint 5022" -j ACCEPT')
    assert ipt.parse_spec('inbound', shlex.split(line)[2:], NAME) == Rule('inbound', 5022, '10.77.0.2')
    assert ipt.parse_spec('inbound', shlex.split(line)[2:], 'other') is None
    negated = '-A INPUT ! -s 10.77.0.2/32 -p tcp -m tcp --dport 5022 -m comment --comment x -j ACCEPT'
    assert ipt.parse_spec('inbound', shlex.split(negated)[2:], 'x') is None
