"""No password or private key byte reaches ansible-playbook -vvv output, in any spelling.

Every play of the principals/certificates integration tests already searches its own -vvv output
(tests/support/secrets_play.play). This file proves that search finds each spelling,
runs one play that touches every secret-carrying option (including failures, whose messages are the
likeliest leak), and searches the transcript of the whole suite's plays once more.
"""
import base64
import os

import pytest

from ansible_collections.mssql.hadr.plugins.module_utils import _x509
from tests.integration import test_certificate, test_login, test_master_key, test_user
from tests.support.secrets_play import TRANSCRIPT, leaks, long_hex_runs, play
from tests.support.certificates import der, pfx, rsa_key, self_signed

pytestmark = pytest.mark.slow

LOGIN_PW = "S3cret-Login'Pässwörd]-密码"
KEY_PW = "S3cret-Master'Key]-ключ"
PFX_PW = "S3cret-Pfx'Pass]-秘密"
SUITE_SECRETS = [test_login.PW1, test_login.PW2, test_user.PW, test_master_key.KEY_PW, test_master_key.OTHER_PW,
                 test_certificate.PFX_PW, LOGIN_PW, KEY_PW, PFX_PW]


def test_the_search_finds_every_spelling():
    key = rsa_key(2048, slot=50)
    pvk_hex = _x509.pvk_from_key(key).hex()
    spellings = [LOGIN_PW, LOGIN_PW.replace("'", "''"), LOGIN_PW.encode('utf-16-le').hex().upper(),
                 LOGIN_PW.encode('utf-16-le').hex(), base64.b64encode(LOGIN_PW.encode()).decode()]
    for spelling in spellings:
        assert leaks('noise %s noise' % spelling, [LOGIN_PW]), spelling
    assert leaks('0x' + pvk_hex.upper(), [_x509.pvk_from_key(key)])
    assert long_hex_runs('BINARY = 0x' + pvk_hex.upper())
    public = der(self_signed(key))
    assert long_hex_runs('FROM BINARY = 0x' + public.hex().upper(), [public]) == []
    assert not leaks("N'********'", [LOGIN_PW])


def test_every_secret_option_at_vvv_including_failures(emulator):
    key = rsa_key(2048, slot=51)
    cert = self_signed(key, common_name='secret-test')
    data = pfx(cert, key, PFX_PW)
    material = [_x509.pvk_from_key(key), data, key.private_numbers().d.to_bytes(256, 'little')]
    secrets = {'login_pw': LOGIN_PW, 'key_pw': KEY_PW, 'pfx': base64.b64encode(data).decode(), 'pfx_pw': PFX_PW,
               'weak_pw': 'weakpassword'}
    run = play(emulator, [
        {'name': 'login', 'mssql.hadr.login': {'name': 'secret_login', 'password': '{{ login_pw }}',
                                               'update_password': 'always'}},
        {'name': 'login again', 'mssql.hadr.login': {'name': 'secret_login', 'password': '{{ login_pw }}',
                                                     'update_password': 'always'}},
        {'name': 'weak', 'mssql.hadr.login': {'name': 'weak_login', 'password': '{{ weak_pw }}'},
         'ignore_errors': True},
        {'name': 'master key', 'mssql.hadr.master_key': {'password': '{{ key_pw }}'}},
        {'name': 'verify wrong', 'mssql.hadr.master_key': {'password': '{{ login_pw }}', 'verify_password': True},
         'ignore_errors': True},
        {'name': 'pfx wrong', 'mssql.hadr.certificate': {'name': 'pki', 'pkcs12': '{{ pfx }}',
                                                         'pkcs12_password': '{{ login_pw }}'}, 'ignore_errors': True},
        {'name': 'pfx', 'mssql.hadr.certificate': {'name': 'pki', 'pkcs12': '{{ pfx }}',
                                                   'pkcs12_password': '{{ pfx_pw }}'}},
    ], secrets=secrets, extra_secrets=material, public_blobs=[der(cert)], diff=True)
    assert run.result('login')['changed'] and not run.result('login again')['changed']
    assert run.result('weak')['failed'] and run.result('verify wrong')['failed'] and run.result('pfx wrong')['failed']
    assert run.result('pfx')['queries'][0].endswith("WITH PRIVATE KEY (BINARY = 0x********, DECRYPTION BY PASSWORD = "
                                                    "N'********')")
    for result in run.results:
        assert '********' in str(result.get('queries', '')) or not any(
            'PASSWORD' in q for q in result.get('queries', [])), result['task']


def test_the_whole_suite_transcript_holds_no_secret():
    if not os.path.exists(TRANSCRIPT):
        pytest.fail('No transcript at %s: run this file together with the other integration tests of the '
                    'principals family (they write it).' % TRANSCRIPT)
    with open(TRANSCRIPT) as handle:
        text = handle.read()
    assert '-vvv' in text or '<localhost> EXEC' in text          # it really is -vvv output
    assert not leaks(text, SUITE_SECRETS)
