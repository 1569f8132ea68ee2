"""Job-template surveys in docs/awx/surveys/: AWX would accept each one (its survey_spec rules, restated
from its API's validation: name/description/spec, each question's type, variable, required, defaults
of the question's type, choices for choice questions), and each asks exactly the variables its playbook
documents for a survey, with the playbook's defaults."""
import json
import os
import re

import pytest

from tests.support import REPO_ROOT

SURVEYS = os.path.join(REPO_ROOT, 'docs', 'awx', 'surveys')
PLAYBOOKS = os.path.join(REPO_ROOT, 'playbooks')
TYPES = {'text': str, 'textarea': str, 'password': str, 'multiplechoice': str, 'multiselect': str,
         'integer': int, 'float': float}
# Documented for a survey but deliberately not asked: a survey answer is an extra var, which overrides
# every host's inventory value, and these are per host or per controller.
NOT_ASKED = {'hadr_endpoint_port': 'per host when instances share a computer: set it in the inventory',
             'hadr_report_path': 'AWX job files are ephemeral: the printed matrix is the record'}
PLAYBOOK_NAMES = sorted(name[:-4] for name in os.listdir(PLAYBOOKS) if name.endswith('.yml'))


def survey_problems(survey):
    problems = []
    for field, kind in (('name', str), ('description', str), ('spec', list)):
        if not isinstance(survey.get(field), kind):
            problems.append('%s must be a %s' % (field, kind.__name__))
    if not survey.get('spec'):
        return problems + ['spec has no questions']
    seen = set()
    for index, item in enumerate(survey['spec']):
        where = 'question %d (%s)' % (index, item.get('variable'))
        for field, kind in (('type', str), ('question_name', str), ('variable', str), ('required', bool)):
            if not isinstance(item.get(field), kind):
                problems.append('%s: %s must be a %s' % (where, field, kind.__name__))
        if item.get('variable') in seen:
            problems.append('%s: variable asked twice' % where)
        seen.add(item.get('variable'))
        kind = TYPES.get(item.get('type'))
        if kind is None:
            problems.append('%s: type %r is not an AWX question type' % (where, item.get('type')))
            continue
        if item.get('default', '') != '' and not isinstance(item['default'], kind):
            problems.append('%s: default %r is not a %s' % (where, item['default'], item['type']))
        for key in ('min', 'max'):
            if key in item and not isinstance(item[key], int):
                problems.append('%s: %s must be an integer' % (where, key))
        if item['type'] in ('multiplechoice', 'multiselect'):
            choices = item.get('choices')
            if not choices:
                problems.append('%s: choice questions need choices' % where)
            elif 'default' in item and item['default'] not in choices:
                problems.append('%s: default is not one of the choices' % where)
    return problems


def documented(playbook):
    """{variable: default text or None} from the playbook's 'Variables for an AWX survey' comment."""
    with open(os.path.join(PLAYBOOKS, playbook + '.yml')) as handle:
        text = handle.read()
    block = re.search(r'# Variables for an AWX survey[^\n]*\n((?:#   [^\n]*\n)+)', text)
    assert block, '%s has no "Variables for an AWX survey" comment' % playbook
    found = {}
    for line in block.group(1).splitlines():
        match = re.match(r'#   (hadr_\w+)\s+(.*)', line)
        if match:
            default = re.search(r'\(default: ([^;),]+)', match.group(2))
            found[match.group(1)] = default.group(1).strip() if default else None
    return found


def load(playbook):
    with open(os.path.join(SURVEYS, playbook + '.json')) as handle:
        return json.load(handle)


def test_every_playbook_has_a_survey_and_nothing_else_does():
    assert sorted(name[:-5] for name in os.listdir(SURVEYS)) == PLAYBOOK_NAMES


@pytest.mark.parametrize('playbook', PLAYBOOK_NAMES)
def test_survey_is_valid_and_matches_the_playbook(playbook):
    survey = load(playbook)
    assert survey_problems(survey) == []
    asked = dict((item['variable'], item) for item in survey['spec'])
    wanted = documented(playbook)
    assert sorted(asked) == sorted(set(wanted) - set(NOT_ASKED))
    for variable, default in wanted.items():
        if variable in asked and default is not None and 'default' in asked[variable]:
            assert str(asked[variable]['default']) == default.split()[0], variable
    secrets = [v for v in asked if 'password' in v]
    assert all(asked[v]['type'] == 'password' and 'default' not in asked[v] for v in secrets)


@pytest.mark.parametrize('survey, expected', [
    ({'name': 'x', 'description': '', 'spec': []}, 'spec has no questions'),
    ({'name': 'x', 'description': '', 'spec': [{'question_name': 'q', 'variable': 'v', 'type': 'boolean',
                                                'required': True}]}, "type 'boolean' is not an AWX question type"),
    ({'name': 'x', 'description': '', 'spec': [{'question_name': 'q', 'variable': 'v', 'type': 'integer',
                                                'required': True, 'default': '5'}]}, "default '5' is not a integer"),
    ({'name': 'x', 'description': '', 'spec': [{'question_name': 'q', 'variable': 'v', 'type': 'multiplechoice',
                                                'required': True, 'choices': ['a'], 'default': 'b'}]},
     'default is not one of the choices'),
])
def test_the_checker_refuses_what_awx_refuses(survey, expected):
    assert any(expected in problem for problem in survey_problems(survey)), survey_problems(survey)
