"""No secret in anything the collection's playbooks produce, at -vvv with --diff.

tests/integration/test_secrets.py covers the principals and certificates modules' own plays. This file
extends the search to the whole suite of playbooks on two emulated replicas: certificate_topology (one
replica importing a PKCS#12 file, the other generating its certificate), its check-mode rerun,
rotate_certificates, verify_topology (which writes a report) and remove_topology. Searched: stdout and
stderr, every task result (returned queries, diffs, messages), and every file written under the run's
directory (Ansible's and the modules' temporary files, the report) - as plain text, with ' doubled, as
UTF-16LE/UTF-8 hex, base64, and the private key as PVK/DER hex (tests/support/secrets_play.leaks).
"""
import base64
import json
import os
import re
import subprocess

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from tests.support.secrets_play import leaks, long_hex_runs
from tests.support.topology import PLAYBOOKS, inventory, start_replicas
from tests.support.playbook import PlaybookRun, _environment, _read_records, ansible_playbook_path
from tests.support.certificates import der, pfx, rsa_key, self_signed

pytestmark = pytest.mark.slow

SA_PASSWORD = "Sa-S3cret'Ωmega-sa"
MASTER_KEY_PASSWORD = "Mk-S3cret'Ключ]-master"
PFX_PASSWORD = "Pfx-S3cret'秘密-pkcs12"
UNMASKED_PASSWORD = re.compile(r"(?i)\bPASSWORD\s*=\s*N?'(?!\*{8}')")
INPUTS = ('inventory.yml', 'extra_vars.yml')


def run(workdir, playbook, replicas, extra_vars=None, check=False):
    """ansible-playbook -vvv --diff, with every temporary file of the run under ``workdir``."""
    os.makedirs(os.path.join(workdir, 'tmp'), exist_ok=True)
    os.makedirs(os.path.join(workdir, 'moduletmp'), exist_ok=True)
    with open(os.path.join(workdir, 'ansible.cfg'), 'w') as handle:
        handle.write('[defaults]\n')
    with open(os.path.join(workdir, 'inventory.yml'), 'w') as handle:
        yaml.safe_dump(inventory(replicas), handle, sort_keys=False)
    command = [ansible_playbook_path(), '-i', os.path.join(workdir, 'inventory.yml'),
               os.path.join(PLAYBOOKS, playbook), '-vvv', '--diff']
    if extra_vars:
        with open(os.path.join(workdir, 'extra_vars.yml'), 'w') as handle:
            yaml.safe_dump(extra_vars, handle)
        command += ['-e', '@' + os.path.join(workdir, 'extra_vars.yml')]
    if check:
        command.append('--check')
    results = os.path.join(workdir, 'results.jsonl')
    env = _environment(workdir, results, {'TMPDIR': os.path.join(workdir, 'moduletmp')})
    proc = subprocess.run(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=900, check=False)
    return PlaybookRun(proc.returncode, _read_records(results), proc.stdout, proc.stderr, command)


def written_files(workdir):
    """Text of every file under the run's directory except the inputs we wrote (inventory, extra vars)."""
    texts = {}
    for root, dummy, files in os.walk(workdir):
        for name in files:
            path = os.path.join(root, name)
            if os.path.relpath(path, workdir) in INPUTS:
                continue
            with open(path, 'rb') as handle:
                texts[path] = handle.read()
    return texts


def raw_leaks(data, secrets):
    """Secrets written as bytes (binary files): the raw bytes, or the text in UTF-8 / UTF-16LE."""
    found = []
    for secret in secrets:
        forms = [secret] if isinstance(secret, bytes) else [secret.encode('utf-8'), secret.encode('utf-16-le')]
        found += [form[:20] for form in forms if form in data]
    return found


def search(label, text, secrets, public):
    found = leaks(text, secrets)
    assert not found, '%s: secrets leaked: %s' % (label, found)
    stray = long_hex_runs(text, public)
    assert not stray, '%s: long hex runs (key material?): %s' % (label, [s[:40] for s in stray])
    unmasked = UNMASKED_PASSWORD.findall(text)
    assert not unmasked, '%s: a PASSWORD literal is not masked: %s' % (label, unmasked[:3])


def test_no_secret_in_any_playbook_output_result_or_file(emulator_factory, tmp_path):
    key = rsa_key(2048, slot=97)
    cert = self_signed(key, common_name='sql1 pkcs12')
    data = pfx(cert, key, PFX_PASSWORD)
    pkcs12 = base64.b64encode(data).decode()
    replicas = start_replicas(emulator_factory, ['sql1', 'sql2'], sql1={
        'sa_password': SA_PASSWORD, 'hostvars': {
            'hadr_sql_password': SA_PASSWORD, 'hadr_master_key_password': MASTER_KEY_PASSWORD,
            'hadr_certificate_pkcs12': pkcs12, 'hadr_certificate_pkcs12_password': PFX_PASSWORD}},
        sql2={'hostvars': {'hadr_master_key_password': MASTER_KEY_PASSWORD}})
    numbers = key.private_numbers()
    secrets = [SA_PASSWORD, MASTER_KEY_PASSWORD, PFX_PASSWORD, pkcs12, replicas[1].instance.sa_password, data,
               key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()),
               numbers.d.to_bytes(256, 'big'), numbers.d.to_bytes(256, 'little'),
               numbers.p.to_bytes(128, 'big'), numbers.p.to_bytes(128, 'little')]
    steps = [('certificate_topology.yml', None, False), ('certificate_topology.yml', None, True),
             ('rotate_certificates.yml', {'hadr_rotation_id': '2027'}, False),
             ('verify_topology.yml', {'hadr_report_path': str(tmp_path / 'report' / 'trust-report.md'),
                                      'hadr_verify_timeout': 2}, False),
             ('remove_topology.yml', {'hadr_confirm_removal': True}, False)]
    (tmp_path / 'report').mkdir()
    searched = 0
    for index, (playbook, extra, check) in enumerate(steps):
        workdir = str(tmp_path / ('%d-%s' % (index, playbook)))
        result = run(workdir, playbook, replicas, extra, check)
        assert result.rc == 0, str(result)
        assert '<sql1> ESTABLISH LOCAL CONNECTION' in result.stdout or 'EXEC' in result.stdout   # really -vvv
        public = [der(cert)] + [base64.b64decode(r['certificate']['der_base64']) for r in result.records
                                if isinstance(r.get('certificate'), dict) and r['certificate'].get('der_base64')]
        search('%s output' % playbook, result.stdout + result.stderr, secrets, public)
        search('%s results' % playbook, json.dumps(result.records, ensure_ascii=False), secrets, public)
        for path, data in written_files(workdir).items():
            search('%s file %s' % (playbook, path), data.decode('utf-8', 'replace'), secrets, public)
            assert not raw_leaks(data, secrets), '%s file %s holds secret bytes' % (playbook, path)
            searched += 1
    report = tmp_path / 'report' / 'trust-report.md'
    assert report.exists(), 'verify_topology wrote no report'
    search('trust report', report.read_text(), secrets, [])
    assert searched >= 5, 'too few files written to search (%d): is the run directory right?' % searched
