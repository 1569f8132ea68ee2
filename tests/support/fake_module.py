"""The one stand-in for AnsibleModule in unit tests (no Ansible run): parameters, check and diff mode,
warnings, and exit_json/fail_json that end the run by raising ModuleExit with the result kept."""


class ModuleExit(Exception):
    """Raised by exit_json and fail_json, as AnsibleModule's own end the process."""


class FakeModule:
    def __init__(self, argument_spec=None, check_mode=False, diff=False, **params):
        # Parameters as AnsibleModule fills them: every option's default, then what the test gives.
        self.params = {name: option.get('default') for name, option in (argument_spec or {}).items()}
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []
        self.outcome = None          # ('exit' or 'fail', result) once the run ended

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        self.outcome = ('exit', result)
        raise ModuleExit()

    def fail_json(self, **result):
        self.outcome = ('fail', result)
        raise ModuleExit()
