"""Every SQL module with its default encrypt: true, validating the emulator's certificate through ca_file
(FreeTDS: a generated freetds.conf with 'ca file'); a wrong CA, or no CA for a self-signed certificate,
fails closed: no login happens and the message says how to fix it."""
import os

from tests.emulator.tlsutil import write_self_signed
from tests.fuzz.inprocess import run_module
from tests.fuzz.oracle import requests
from tests.support.certificates import pem, rsa_key, self_signed

PARTNER = pem(self_signed(rsa_key(2048, slot=95), common_name='tls-partner'))
# (module, arguments) in an order that builds on each other, like a topology run
PLAN = [
    ('login', dict(name='tls_login', password='Tls-Passw0rd!', check_policy=False)),
    ('user', dict(name='tls_user', login='tls_login')),
    ('master_key', dict(password='Tls-Master-K3y!')),
    ('certificate', dict(name='tls_cert', subject='mssql.hadr tls')),
    ('endpoint', dict(name='Hadr_endpoint', port=0, authentication='certificate', certificate='tls_cert',
                      endpoint_state='stopped')),
    ('endpoint_permission', dict(logins=['tls_login'])),
    ('partner_trust', dict(partners=[{'name': 'partner', 'public_certificate': PARTNER}])),
    ('endpoint_info', dict()),
]


def test_every_module_validates_the_certificate_and_converges(emulator):
    params = emulator.module_params()
    assert params['encrypt'] is True and params['ca_file'] == emulator.tls_cert and 'trust_server_certificate' not in params
    for module, args in PLAN:
        if module == 'endpoint':
            args = dict(args, port=emulator.port + 1 if emulator.port < 65535 else 5022)
        for attempt in ('first', 'again'):
            mark = emulator.mark_log()
            result = run_module(module, dict(params, **args))
            assert not result.get('failed'), (module, attempt, result)
            assert len(requests(emulator, mark).connections) == 1, (module, attempt)
            if attempt == 'again':
                assert not result['changed'], (module, result)


def test_a_wrong_ca_fails_closed(emulator, tmp_path):
    wrong_ca, dummy = write_self_signed(str(tmp_path / 'other.crt'), str(tmp_path / 'other.key'))
    mark = emulator.mark_log()
    result = run_module('login', dict(emulator.module_params(), ca_file=wrong_ca, name='never', password='Never-Passw0rd!'))
    assert result['failed'], result
    assert 'TLS' in result['msg'] or 'certificate' in result['msg'].lower() or 'Cannot connect' in result['msg'], result
    assert requests(emulator, mark).connections == [], 'logged in although the certificate did not validate'
    assert not [e for e in emulator.log_entries(since=mark) if e['kind'] in ('batch', 'rpc')]


def test_no_ca_for_a_self_signed_certificate_fails_closed_and_trusting_it_works(emulator):
    params = dict(emulator.module_params(), ca_file=None)
    mark = emulator.mark_log()
    result = run_module('endpoint_info', params)
    assert result['failed'] and requests(emulator, mark).connections == [], result
    result = run_module('endpoint_info', dict(params, trust_server_certificate=True))
    assert not result.get('failed'), result


def test_the_certificate_file_is_what_the_emulator_serves(emulator):
    assert os.path.exists(emulator.tls_cert) and '--tls-cert' in emulator.command()
