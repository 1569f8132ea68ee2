"""What AWX does with the credential type in docs/awx/ (inputs.yml, injectors.yml): validate the
definition, and inject one credential into a job's environment.

There is no AWX here, so this module restates AWX's rules for custom credential types, written from
its documentation and from reading its validation (awx/main/fields.py: CredentialTypeInputField,
CredentialTypeInjectorField) and injection code (CredentialType.inject_credential); it is not a copy.
The facts it relies on:
- input field types are only `string` and `boolean`; `choices`, `multiline`, `format` and `secret`
  are allowed on strings only; `default` must have the field's type; `id` is a variable name, not `tower`;
- injectors are `env`, `extra_vars` and `file` (`template` or `template.<name>`); env names must not
  start with ANSIBLE_; templates are Jinja2 in an immutable sandbox and must only use defined fields;
- at job time every env entry is set; fields the credential leaves empty are undefined (an unset string
  renders as ''), and booleans that were never set are False; file templates are written to files whose
  paths are `tower.filename` (or `tower.filename.<name>`).
"""
import os
import re
import tempfile
import types

import yaml
from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.support import REPO_ROOT

AWX_DIR = os.path.join(REPO_ROOT, 'docs', 'awx')
NAME = re.compile(r'^[a-zA-Z_]+[a-zA-Z0-9_]*$')
FILE_KEY = re.compile(r'^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$')
FIELD_KEYS = {'id', 'label', 'type', 'help_text', 'default', 'choices', 'multiline', 'secret', 'format',
              'ask_at_runtime'}
STRING_ONLY = ('choices', 'multiline', 'format', 'secret')
PYTHON_TYPE = {'string': str, 'boolean': bool}


def load_type():
    """(inputs, injectors) as AWX would receive them from docs/awx/."""
    with open(os.path.join(AWX_DIR, 'inputs.yml')) as handle:
        inputs = yaml.safe_load(handle)
    with open(os.path.join(AWX_DIR, 'injectors.yml')) as handle:
        injectors = yaml.safe_load(handle)
    return inputs, injectors


def _input_problems(inputs):
    problems = []
    if set(inputs) - {'fields', 'required'}:
        problems.append('inputs: unknown keys %s' % sorted(set(inputs) - {'fields', 'required'}))
    seen = set()
    for field in inputs.get('fields', []):
        where = 'field %r' % field.get('id')
        if set(field) - FIELD_KEYS:
            problems.append('%s: unknown keys %s' % (where, sorted(set(field) - FIELD_KEYS)))
        if 'id' not in field or 'label' not in field:
            problems.append('%s: id and label are required' % where)
            continue
        if not NAME.match(field['id']) or field['id'] == 'tower':
            problems.append('%s: not a valid variable name, or the reserved name tower' % where)
        if field['id'] in seen:
            problems.append('%s: duplicate id' % where)
        seen.add(field['id'])
        kind = field.get('type', 'string')
        if kind not in PYTHON_TYPE:
            problems.append('%s: type must be string or boolean' % where)
            continue
        if 'default' in field and not isinstance(field['default'], PYTHON_TYPE[kind]):
            problems.append('%s: default %r is not a %s' % (where, field['default'], kind))
        for key in STRING_ONLY:
            if key in field and kind != 'string':
                problems.append('%s: %s is only allowed on string fields' % (where, key))
        choices = field.get('choices')
        if choices is not None:
            if not choices or len(set(choices)) != len(choices) or not all(isinstance(c, str) for c in choices):
                problems.append('%s: choices must be unique strings' % where)
            elif 'default' in field and field['default'] not in choices:
                problems.append('%s: default is not one of the choices' % where)
    for name in inputs.get('required', []):
        if name not in seen:
            problems.append('required names an unknown field %r' % name)
    return problems


def _validation_namespace(inputs, injectors):
    names = dict((field['id'], 'EXAMPLE') for field in inputs.get('fields', []))
    files = list(injectors.get('file', {}))
    if 'template' in files:
        filename = 'EXAMPLE_FILENAME'
    else:
        filename = types.SimpleNamespace(**dict((key.split('.', 1)[1], 'EXAMPLE_FILENAME') for key in files))
    names['tower'] = types.SimpleNamespace(filename=filename)
    return names


def definition_problems(inputs, injectors):
    """Everything AWX would refuse in this credential type, as a list of messages (empty: accepted)."""
    problems = _input_problems(inputs)
    if set(injectors) - {'env', 'extra_vars', 'file'}:
        problems.append('injectors: unknown keys %s' % sorted(set(injectors) - {'env', 'extra_vars', 'file'}))
    files = list(injectors.get('file', {}))
    if 'template' in files and len(files) > 1:
        problems.append('file injectors: use template.<name> for every file when there are several')
    for key in files:
        if not FILE_KEY.match(key):
            problems.append('file injector %r: must be template or template.<name>' % key)
    for name, value in injectors.get('env', {}).items():
        if not NAME.match(name) or name.startswith('ANSIBLE_'):
            problems.append('env %s: not an allowed variable name' % name)
        if not isinstance(value, str) or not value.isascii():
            problems.append('env %s: the template must be an ASCII string' % name)
    for name in injectors.get('extra_vars', {}):
        if not NAME.match(name):
            problems.append('extra_vars %s: not a valid variable name' % name)
    namespace = _validation_namespace(inputs, injectors)
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for kind in ('env', 'extra_vars', 'file'):
        for key, template in injectors.get(kind, {}).items():
            try:
                strict.from_string(template).render(namespace)
            except Exception as exc:  # AWX reports undefined names, syntax errors and sandbox violations
                problems.append('%s %s: %s: %s' % (kind, key, type(exc).__name__, exc))
    return problems


def inject(inputs, injectors, credential, private_dir=None):
    """The environment AWX gives a job for ``credential`` (dict of field id -> value), as a dict.

    File injectors are written under ``private_dir`` (a new temporary directory when None).
    """
    namespace = {}
    for name, value in credential.items():
        if isinstance(value, bool) or value:
            namespace[name] = value
    for field in inputs.get('fields', []):
        if field.get('type', 'string') == 'boolean' and field['id'] not in credential:
            namespace[field['id']] = False
    sandbox = ImmutableSandboxedEnvironment(undefined=Undefined)
    private_dir = private_dir or tempfile.mkdtemp(prefix='awx_job_')
    single, named = None, {}
    for key, template in injectors.get('file', {}).items():
        handle, path = tempfile.mkstemp(dir=private_dir)
        with os.fdopen(handle, 'w') as out:
            out.write(sandbox.from_string(template).render(**namespace))
        if '.' in key:
            named[key.split('.', 1)[1]] = path
        else:
            single = path
    tower = types.SimpleNamespace(filename=single or types.SimpleNamespace(**named))
    return dict((name, sandbox.from_string(template).render(tower=tower, **namespace))
                for name, template in injectors.get('env', {}).items())
