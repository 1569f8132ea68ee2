"""Run a collection module's main() in this process, the way ansible-test units do.

    result = run_module('login', dict(instance.module_params(), name='x', password='...'))

The arguments reach AnsibleModule through ansible.module_utils.testing.patch_module_args (which sets
basic._ANSIBLE_ARGS); the module's JSON result is read from stdout after the SystemExit that
exit_json/fail_json raise. Hundreds of runs take seconds instead of one ansible-playbook each.
"""
import contextlib
import importlib
import io
import json

from ansible.module_utils.testing import patch_module_args

SQL_MODULES = ('login', 'user', 'master_key', 'certificate', 'endpoint', 'endpoint_permission', 'endpoint_info',
               'partner_trust')


class ModuleRunError(AssertionError):
    """The module did not end with a JSON result (a crash, a traceback, or no exit)."""


def run_module(name, args, check_mode=False, diff=False):
    """main() of plugins/modules/<name>.py with ``args``; returns its result dict (with 'failed' when it failed)."""
    module = importlib.import_module('ansible_collections.mssql.hadr.plugins.modules.%s' % name)
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    code = None
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit as exc:
            code = exc.code
    text = out.getvalue().strip()
    if code is None:
        raise ModuleRunError('%s.main() returned without exit_json/fail_json; output: %r' % (name, text[-2000:]))
    try:
        result = json.loads(text.splitlines()[-1])
    except (ValueError, IndexError):
        raise ModuleRunError('%s exited %s without a JSON result: %r' % (name, code, text[-2000:]))
    if (code != 0) != bool(result.get('failed')):
        raise ModuleRunError('%s exit code %s disagrees with its result %r' % (name, code, result))
    return result
