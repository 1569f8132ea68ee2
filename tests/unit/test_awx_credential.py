"""The AWX credential type in docs/awx/: AWX would accept it, and what it injects is what the
connection layer reads, with the same meaning as leaving the variable unset."""
import copy
import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.mssql.hadr.plugins.module_utils.mssql import mssql_argument_spec
from tests.support.awx_credential import definition_problems, inject, load_type

PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'


def env_fallbacks():
    """{MSSQL_* variable: module option} from the connection layer's argument spec."""
    found = {}
    for option, spec in mssql_argument_spec().items():
        if 'fallback' in spec:
            for name in spec['fallback'][1]:
                found[name] = option
    return found


def validated(environment, monkeypatch):
    """Connection options as a module would see them with only ``environment`` set."""
    for name in env_fallbacks():
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator(mssql_argument_spec()).validate({})
    assert result.error_messages == []
    return result.validated_parameters


def test_awx_accepts_the_definition():
    inputs, injectors = load_type()
    assert definition_problems(inputs, injectors) == []


@pytest.mark.parametrize('breakage, expected', [
    (lambda i, j: i['fields'].append({'id': 'flag', 'label': 'x', 'type': 'boolean', 'secret': True}),
     'only allowed on string fields'),
    (lambda i, j: j['env'].update(MSSQL_X='{{ no_such_field }}'), "'no_such_field' is undefined"),
    (lambda i, j: j['env'].update(ANSIBLE_X='x'), 'not an allowed variable name'),
    (lambda i, j: i['fields'].append({'id': 'tower', 'label': 'x'}), 'reserved name tower'),
    (lambda i, j: i['fields'].append({'id': 'n', 'label': 'x', 'type': 'string', 'default': 5}), 'is not a string'),
    (lambda i, j: j['file'].update(template='x'), 'template.<name> for every file'),
])
def test_the_validator_refuses_what_awx_refuses(breakage, expected):
    inputs, injectors = copy.deepcopy(load_type())
    breakage(inputs, injectors)
    assert any(expected in problem for problem in definition_problems(inputs, injectors)), \
        definition_problems(inputs, injectors)


def test_injects_exactly_the_variables_the_connection_layer_reads():
    injectors = load_type()[1]
    assert sorted(injectors['env']) == sorted(env_fallbacks())


def test_password_is_secret_and_nothing_else_is():
    inputs = load_type()[0]
    assert [f['id'] for f in inputs['fields'] if f.get('secret')] == ['password']


def test_empty_credential_means_the_module_defaults(monkeypatch, tmp_path):
    inputs, injectors = load_type()
    env = inject(inputs, injectors, {}, private_dir=str(tmp_path))
    expected = dict(validated({}, monkeypatch), login_user='', login_password='', odbc_driver='', ca_file='')
    assert validated(env, monkeypatch) == expected
    assert env['MSSQL_ENCRYPT'] == 'true', 'an unset credential must not turn encryption off'


def test_full_credential_reaches_every_option(monkeypatch, tmp_path):
    inputs, injectors = load_type()
    credential = {'host': 'sql1.example.com', 'port': '14330', 'username': 'CORP\\dba', 'password': "p'w;d}",
                  'authentication': 'windows', 'database': 'tempdb', 'odbc_driver': 'FreeTDS', 'encrypt': 'false',
                  'trust_server_certificate': True, 'ca_certificate': PEM, 'connect_timeout': '7'}
    env = inject(inputs, injectors, credential, private_dir=str(tmp_path))
    params = validated(env, monkeypatch)
    assert params == {'login_host': 'sql1.example.com', 'login_port': 14330, 'login_user': 'CORP\\dba',
                      'login_password': "p'w;d}", 'login_authentication': 'windows', 'login_database': 'tempdb',
                      'odbc_driver': 'FreeTDS', 'encrypt': False, 'trust_server_certificate': True,
                      'ca_file': env['MSSQL_CA_FILE'], 'connect_timeout': 7}
    assert os.path.dirname(params['ca_file']) == str(tmp_path)
    with open(params['ca_file']) as handle:
        assert handle.read() == PEM


def test_unticked_boolean_is_false_and_encrypt_choice_false_is_false(monkeypatch, tmp_path):
    inputs, injectors = load_type()
    env = inject(inputs, injectors, {'encrypt': 'false', 'trust_server_certificate': False}, private_dir=str(tmp_path))
    params = validated(env, monkeypatch)
    assert params['encrypt'] is False and params['trust_server_certificate'] is False


def test_ca_certificate_reaches_the_driver_and_is_refused_without_validation(monkeypatch, tmp_path):
    from ansible_collections.mssql.hadr.plugins.module_utils.mssql import MssqlError, connection_settings
    inputs, injectors = load_type()
    credential = {'username': 'sa', 'password': 'x', 'ca_certificate': PEM}
    params = validated(inject(inputs, injectors, credential, private_dir=str(tmp_path)), monkeypatch)
    freetds_conf = connection_settings(params, 'FreeTDS')[2]
    assert '\tca file = %s\n' % params['ca_file'] in freetds_conf and '\tencryption = require\n' in freetds_conf
    env = connection_settings(params, 'ODBC Driver 18 for SQL Server')[1]
    assert env['SSL_CERT_FILE'] == params['ca_file']
    credential['encrypt'] = 'false'
    params = validated(inject(inputs, injectors, credential, private_dir=str(tmp_path)), monkeypatch)
    with pytest.raises(MssqlError, match='ca_file is set but certificate validation is off'):
        connection_settings(params, 'FreeTDS')
