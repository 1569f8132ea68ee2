"""The topology role's firewall step, for real, inside a network namespace this test creates (never the
host's firewall): two instances on one computer, each rule opening only its own endpoint port and only
to the partners' address, both directions, kept on a second run.

The replicas' "computer" is the firewall sandbox of tests/firewall (nftables, default deny): their
firewall module runs there (ansible_python_interpreter entered with nsenter), while the SQL modules run
on the controller (delegate_to: localhost) against the emulators, as in production.
"""
import sys

import pytest

from tests.firewall.backends import Nftables
from tests.firewall.sandbox import ALLOWED_V4, OTHER_V4, Sandbox
from tests.support.topology import changed_tasks, run_playbook, start_replicas, verify

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox_replicas(emulator_factory, tmp_path):
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2'])
    sandbox = Sandbox('top', [r.endpoint_port for r in replicas])
    try:
        Nftables().setup(sandbox)
        # Ansible runs the interpreter as one word: a wrapper enters the sandbox.
        python = tmp_path / 'python-in-sandbox'
        python.write_text('#!/bin/sh\nexec %s "$@"\n' % ' '.join(sandbox.enter() + [sys.executable]))
        python.chmod(0o755)
        for replica in replicas:
            replica.hostvars.update({
                'hadr_firewall': True,
                'hadr_firewall_address': ALLOWED_V4,   # where the partner connects from, as its rule allows it
                'ansible_python_interpreter': str(python),
            })
        yield sandbox, replicas
    finally:
        sandbox.close()


def test_firewall_opens_each_instance_port_only_to_the_partners(sandbox_replicas):
    sandbox, replicas = sandbox_replicas
    ports = [r.endpoint_port for r in replicas]
    probes = [(source, port) for source in (ALLOWED_V4, OTHER_V4) for port in ports]
    assert not any(sandbox.inbound(probes).values())  # default deny first

    run = run_playbook('certificate_topology.yml', replicas)
    assert run.rc == 0, str(run)
    rules = [r for r in run.records if r['action'] == 'mssql.hadr.firewall']
    assert sorted(r['host'] for r in rules) == ['sql1', 'sql2'] and all(r['changed'] for r in rules)
    assert sandbox.inbound(probes) == dict(((source, port), source == ALLOWED_V4) for source, port in probes)
    assert all(sandbox.outbound([(ALLOWED_V4, port) for port in ports]).values())

    again = run_playbook('certificate_topology.yml', replicas)
    assert again.rc == 0, str(again)
    assert changed_tasks(again) == []
    assert sandbox.inbound(probes) == dict(((source, port), source == ALLOWED_V4) for source, port in probes)

    run, matrix = verify(replicas)  # the SQL side is unaffected by where the firewall module ran
    assert run.rc == 0 and matrix['ok'], str(run)
