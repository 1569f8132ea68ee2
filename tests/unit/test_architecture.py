"""The collection's architecture, checked on its source (issue 19; docs/dev/architecture.md).

Pure Python over ``ast`` and ``yaml``: nothing of the collection is imported, so a broken import cannot
hide a broken rule. Each check is a function from source text to a list of messages ("path:line: what is
wrong: the rule"), applied to the tree and fed bad sources by the self-tests at the end of this file:

(a) the import rule, "nothing imports upward", on every .py under plugins/ and tests/emulator/, and only
    the two runners (_change.py, _firewall.py) take an AnsibleModule;
(b) the anatomy of a module file (DOCUMENTATION/EXAMPLES/RETURN, argument_spec(), one run(), main(),
    the __main__ guard, no class);
(c) every module of the action group ``mssql.hadr.all`` documents its membership;
(d) no ``version_added`` is newer than the collection (galaxy.yml);
(e) docs/dev/architecture.md gives every module_utils and plugin_utils file its home.
"""
import ast
import os
import re
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTION = 'ansible_collections.mssql.hadr'
PLUGINS = COLLECTION + '.plugins'

# --------------------------------------------------------------------------------------------------
# The rules, as data.
# --------------------------------------------------------------------------------------------------

# Which parts of the collection each layer may import (anything under plugins/ not named here,
# e.g. a future lookup or test plugin, follows the 'filter' row: it is a controller plugin).
MAY_IMPORT = {
    'modules': {'module_utils'},
    'module_utils': {'module_utils'},
    'plugin_utils': {'module_utils', 'plugin_utils'},
    'filter': {'module_utils', 'plugin_utils'},
    'action': {'module_utils', 'plugin_utils'},
    'doc_fragments': set(),
    'emulator': set(),
}
# Layers that run on the module host: of ansible, only ansible.module_utils is there.
TARGET_SIDE = {'modules', 'module_utils'}
# Layers that may not import third-party libraries themselves (module_utils wraps them and reports
# missing_required_lib; a module stays documentation, argument spec and one run()).
NO_THIRD_PARTY = {'modules'}

# Object families: pure read -> plan -> statements. They never import the runner or the connection.
FAMILY_FILES = {'_endpoint', '_principals', '_certificates', '_trust', '_x509', '_tsql', '_catalog'}
FAMILY_MAY_NOT_IMPORT = {'_change': 'the module runner', 'mssql': 'the connection layer'}
# The only exceptions: (module_utils file, name) a family file may import from the files above.
# The test fails when an exception is no longer used by any family file: then delete it here.
FAMILY_EXCEPTIONS = {
    ('mssql', 'MssqlError'),  # families catch the connection layer's error to attach their hints
}

# The only module_utils that take an AnsibleModule (a parameter named `module`).
RUNNERS = {'_change': 'the module runner', '_firewall': 'the firewall command runner'}

ACTION_GROUP_FRAGMENTS = ('mssql.hadr.attributes', 'ansible.builtin.action_common_attributes.actiongroups')
ACTION_GROUP = 'mssql.hadr.all'


# --------------------------------------------------------------------------------------------------
# Where a file sits, and what an import names.
# --------------------------------------------------------------------------------------------------

def layer_of_path(relpath):
    """The layer of a file, from its path relative to the repository root (None: not checked)."""
    parts = relpath.replace(os.sep, '/').split('/')
    if parts[0] == 'plugins' and len(parts) >= 3:
        return parts[1]
    if parts[:2] == ['tests', 'emulator']:
        return 'emulator'
    return None


def package_of_path(relpath):
    """The dotted package a file's relative imports start from."""
    parts = relpath.replace(os.sep, '/')[:-len('.py')].split('/')
    parts = parts[:-1]  # a module's package; an __init__.py's package is its directory, the same
    if parts and parts[0] == 'plugins':
        return '.'.join([COLLECTION] + parts)
    return '.'.join(parts)


def resolve_relative(package, module, level):
    if not level:
        return module or ''
    base = package.split('.') if package else []
    base = base[:len(base) - (level - 1)] if level > 1 else base
    return '.'.join(base + ([module] if module else []))


def collection_part(dotted):
    """(layer, file) for a name inside the collection, (None, None) for the collection's packages
    above the layers, or None when the name is not the collection's. A bare 'plugins.x' (without
    ansible_collections.mssql.hadr) counts as the collection too."""
    parts = dotted.split('.')
    if dotted == COLLECTION or COLLECTION.startswith(dotted + '.') and dotted.startswith('ansible_collections.'):
        return (None, None)
    if dotted.startswith(COLLECTION + '.'):
        parts = parts[3:]
    elif parts[0] != 'plugins':
        return None
    if parts == ['plugins']:
        return (None, None)
    if parts[0] != 'plugins':  # e.g. ansible_collections.mssql.hadr.tests: no layer may import it
        return ('/'.join(parts[:1]), '.'.join(parts[1:]) or None)
    return (parts[1], parts[2] if len(parts) > 2 else None)


class Imported:
    """One import: the module it names, the names taken from it (None: the module itself)."""

    def __init__(self, line, module, names=None):
        self.line, self.module, self.names = line, module, names


def imports(tree, package):
    """Every import of a parsed file, nested ones and importlib.import_module('...') included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(Imported(node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve_relative(package, node.module, node.level)
            names = [alias.name for alias in node.names]
            part = collection_part(base)
            if part is not None and part[1] is None:
                # from <a package> import <its modules>
                found.extend(Imported(node.lineno, base + '.' + name) for name in names)
            else:
                found.append(Imported(node.lineno, base, names))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and not node.args[0].value.startswith('.'):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ''
            if name in ('import_module', '__import__'):
                found.append(Imported(node.lineno, node.args[0].value))
    return found


def kind_of(dotted):
    """What an imported name is: ('collection', layer, file) | ('ansible.module_utils',) | ('ansible',)
    | ('other_collection',) | ('stdlib',) | ('third_party',)."""
    part = collection_part(dotted)
    if part is not None:
        return ('collection',) + part
    top = dotted.split('.')[0]
    if dotted == 'ansible.module_utils' or dotted.startswith('ansible.module_utils.'):
        return ('ansible.module_utils',)
    if top == 'ansible':
        return ('ansible',)
    if top == 'ansible_collections':
        return ('other_collection',)
    if top in sys.stdlib_module_names or top == '__future__':
        return ('stdlib',)
    return ('third_party',)


# --------------------------------------------------------------------------------------------------
# (a) The import rule.
# --------------------------------------------------------------------------------------------------

def import_violations(relpath, source):
    """Messages for every import of the file at relpath (relative to the repository root) that breaks
    the import rule. Files outside plugins/ and tests/emulator/ are not checked."""
    layer = layer_of_path(relpath)
    if layer is None:
        return []
    tree = ast.parse(source, relpath)
    stem = os.path.splitext(os.path.basename(relpath))[0]
    allowed = MAY_IMPORT.get(layer, MAY_IMPORT['filter'])
    out = []

    def report(item, rule):
        names = ' (%s)' % ', '.join(item.names) if item.names else ''
        out.append('%s:%d: imports %s%s: %s' % (relpath, item.line, item.module, names, rule))

    for item in imports(tree, package_of_path(relpath)):
        kind = kind_of(item.module)
        if layer == 'emulator':
            if kind[0] == 'collection':
                report(item, 'tests/emulator never imports the collection (its quoting and parsing are its own, '
                             'so a bug cannot agree with itself)')
            continue
        if kind[0] == 'collection':
            target = kind[1]
            if not item.module.startswith(COLLECTION):
                report(item, 'import the collection as %s.*, never as a bare plugins.*' % PLUGINS)
            elif target is None:
                report(item, 'import a module of a layer (%s.<layer>.<file>), not the collection package' % PLUGINS)
            elif target not in allowed:
                report(item, '%s may import %s of the collection, never %s (nothing imports upward)' % (
                    layer, ', '.join(sorted(allowed)) or 'nothing', target))
            elif layer == 'module_utils' and stem in FAMILY_FILES and kind[2] in FAMILY_MAY_NOT_IMPORT:
                names = item.names or []
                if not names or any((kind[2], name) not in FAMILY_EXCEPTIONS for name in names):
                    report(item, 'object family file %s.py may not import %s.py (%s); only the exceptions in '
                                 'FAMILY_EXCEPTIONS (%s) are allowed' % (
                                     stem, kind[2], FAMILY_MAY_NOT_IMPORT[kind[2]],
                                     ', '.join('%s.%s' % pair for pair in sorted(FAMILY_EXCEPTIONS))))
        elif kind[0] == 'ansible' and layer in TARGET_SIDE:
            report(item, '%s run on the module host: of ansible they may import only ansible.module_utils.*' % layer)
        elif kind[0] == 'other_collection':
            report(item, 'the collection depends on no other collection (galaxy.yml dependencies)')
        elif kind[0] == 'third_party' and layer in NO_THIRD_PARTY:
            report(item, 'modules import only the standard library, ansible.module_utils.* and the collection\'s '
                         'module_utils; third-party libraries are wrapped in module_utils')
    return out


def runner_violations(relpath, source):
    """Outside the two runners, no module_utils function takes `module` (an AnsibleModule) nor names
    AnsibleModule: families get values, a connection, a ChangeRecorder or a Commands runner."""
    if layer_of_path(relpath) != 'module_utils':
        return []
    stem = os.path.splitext(os.path.basename(relpath))[0]
    if stem in RUNNERS:
        return []
    rule = ('only %s may take an AnsibleModule; pass the values it needs instead' %
            ' and '.join('%s.py (%s)' % item for item in sorted(RUNNERS.items())))
    out = []
    for node in ast.walk(ast.parse(source, relpath)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            arguments = node.args
            names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
            names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
            if 'module' in names:
                out.append('%s:%d: %s has a parameter named module: %s' % (
                    relpath, node.lineno, getattr(node, 'name', 'lambda'), rule))
        elif isinstance(node, ast.Name) and node.id == 'AnsibleModule' or \
                isinstance(node, ast.alias) and (node.asname or node.name).split('.')[-1] == 'AnsibleModule':
            out.append('%s:%d: uses AnsibleModule: %s' % (relpath, getattr(node, 'lineno', 0), rule))
    return out


def unused_family_exceptions(sources):
    """The FAMILY_EXCEPTIONS no family file uses any more. sources: {relpath: source}."""
    used = set()
    for relpath, source in sources.items():
        stem = os.path.splitext(os.path.basename(relpath))[0]
        if layer_of_path(relpath) != 'module_utils' or stem not in FAMILY_FILES:
            continue
        for item in imports(ast.parse(source, relpath), package_of_path(relpath)):
            kind = kind_of(item.module)
            if kind[0] == 'collection' and kind[1] == 'module_utils':
                used.update((kind[2], name) for name in item.names or [])
    return sorted(FAMILY_EXCEPTIONS - used)


# --------------------------------------------------------------------------------------------------
# (b) The anatomy of a module file.
# --------------------------------------------------------------------------------------------------

def _is_main_guard(node):
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == '__name__'
            and len(node.test.ops) == 1 and isinstance(node.test.ops[0], ast.Eq)
            and isinstance(node.test.comparators[0], ast.Constant) and node.test.comparators[0].value == '__main__'
            and not node.orelse and len(node.body) == 1 and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Call) and isinstance(node.body[0].value.func, ast.Name)
            and node.body[0].value.func.id == 'main' and not node.body[0].value.args)


def anatomy_violations(relpath, source):
    """A module file is DOCUMENTATION, EXAMPLES, RETURN (strings), argument_spec(), one run(), main()
    using both, a few small helpers, and `if __name__ == '__main__': main()` last. No class."""
    tree = ast.parse(source, relpath)
    out = []
    constants = {}
    functions = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants.setdefault(target.id, []).append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.setdefault(node.name, []).append(node)
    for name in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
        nodes = constants.get(name, [])
        if len(nodes) != 1 or not (isinstance(nodes[0].value, ast.Constant) and isinstance(nodes[0].value.value, str)):
            out.append('%s: needs exactly one module-level string %s' % (relpath, name))
    for name in ('argument_spec', 'main'):
        if len(functions.get(name, [])) != 1:
            out.append('%s: needs exactly one module-level function %s()' % (relpath, name))
    runs = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name == 'run']
    if len(runs) != 1 or runs[0] not in functions.get('run', []):
        out.append('%s: needs exactly one function run(...), at module level (found %d) - the module\'s body: '
                   'reads, plans, applies through module_utils' % (relpath, len(runs)))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == 'run' for a in node.names):
            out.append('%s:%d: imports run from %s: the module defines its own run()' % (
                relpath, node.lineno, node.module))
        if isinstance(node, ast.ClassDef):
            out.append('%s:%d: defines class %s: a module defines no class (put it in module_utils)' % (
                relpath, node.lineno, node.name))
    mains = functions.get('main', [])
    if len(mains) == 1:
        used = set(n.id for n in ast.walk(mains[0]) if isinstance(n, ast.Name))
        called = set(n.func.id for n in ast.walk(mains[0]) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name))
        if runs and 'run' not in used:
            out.append('%s: main() does not use run' % relpath)
        if 'argument_spec' not in called:
            out.append('%s: main() does not call argument_spec()' % relpath)
    if not tree.body or not _is_main_guard(tree.body[-1]):
        out.append("%s: must end with: if __name__ == '__main__': main()" % relpath)
    return out


# --------------------------------------------------------------------------------------------------
# (c) Action group membership and (d) version_added, from the documentation.
# --------------------------------------------------------------------------------------------------

def module_constant(source, name, relpath='<module>'):
    for node in ast.parse(source, relpath).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets) \
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node.value.value
    return None


def fragment_docs(sources):
    """{fragment name: parsed YAML} of this collection's doc fragments. sources: {stem: source}.
    'mssql.hadr.<stem>' is DOCUMENTATION, 'mssql.hadr.<stem>.<var>' is the variable VAR."""
    docs = {}
    for stem, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef) and node.name == 'ModuleDocFragment':
                for item in node.body:
                    if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant) \
                            and isinstance(item.value.value, str):
                        for target in item.targets:
                            name = 'mssql.hadr.%s' % stem
                            if target.id != 'DOCUMENTATION':
                                name += '.' + target.id.lower()
                            docs[name] = yaml.safe_load(item.value.value) or {}
    return docs


def action_group_violations(name, documentation, fragments):
    """The module `name` (in the action group) documents it: an attributes fragment that describes
    action groups, and mssql.hadr.all in the merged attributes.action_group.membership."""
    doc = yaml.safe_load(documentation) or {}
    extends = doc.get('extends_documentation_fragment') or []
    extends = [extends] if isinstance(extends, str) else extends
    out = []
    if not any(f == wanted or f.startswith('mssql.hadr.attributes.') for f in extends
               for wanted in ACTION_GROUP_FRAGMENTS):
        out.append('%s: in action group %s (meta/runtime.yml) but extends_documentation_fragment has none of %s'
                   % (name, ACTION_GROUP, ', '.join(ACTION_GROUP_FRAGMENTS)))
    group = {}
    for fragment in extends:
        group.update(((fragments.get(fragment) or {}).get('attributes') or {}).get('action_group') or {})
    group.update((doc.get('attributes') or {}).get('action_group') or {})
    if ACTION_GROUP not in (group.get('membership') or []):
        out.append('%s: attributes.action_group.membership (merged with its fragments) does not list %s'
                   % (name, ACTION_GROUP))
    return out


def version_tuple(text):
    return tuple(int(part) for part in re.findall(r'\d+', str(text))[:3])


def version_added_violations(where, doc, collection_version):
    """Every version_added in a documentation tree at or below the collection's version."""
    out = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == 'version_added' and version_tuple(value) > version_tuple(collection_version):
                    out.append('%s: %s version_added %s is newer than the collection (galaxy.yml version %s)' % (
                        where, path or 'the plugin', value, collection_version))
                else:
                    walk(value, '%s.%s' % (path, key) if path else str(key))
        elif isinstance(node, list):
            for value in node:
                walk(value, path)

    walk(doc, '')
    return out


# --------------------------------------------------------------------------------------------------
# (e) docs/dev/architecture.md gives every module_utils and plugin_utils file its home.
# --------------------------------------------------------------------------------------------------

HOME_SECTION = '## One home per piece of logic'


def doc_home_violations(doc, existing):
    """The page's 'One home' section names every file of module_utils and plugin_utils, and every
    file it names exists. doc: the page's text; existing: paths under plugins/ ('module_utils/x.py').
    In the section, `name.py` is a module_utils file, `dir/name.py` is plugins/dir/name.py."""
    if HOME_SECTION not in doc:
        return ['docs/dev/architecture.md: no section %r' % HOME_SECTION]
    section = doc.split(HOME_SECTION, 1)[1].split('\n## ', 1)[0]
    named = set(token if '/' in token else 'module_utils/' + token
                for token in re.findall(r'`([a-z0-9_/]+\.py)`', section))
    out = ['docs/dev/architecture.md names %s, which does not exist' % ('plugins/' + path)
           for path in sorted(named - set(existing))]
    out += ['plugins/%s has no home in docs/dev/architecture.md (%s): say what lives there' % (path, HOME_SECTION)
            for path in sorted(existing) if path.split('/')[0] in ('module_utils', 'plugin_utils')
            and not path.endswith('__init__.py') and path not in named]
    return out


# --------------------------------------------------------------------------------------------------
# The tree.
# --------------------------------------------------------------------------------------------------

def read(relpath):
    with open(os.path.join(ROOT, relpath), encoding='utf-8') as handle:
        return handle.read()


def python_files():
    found = []
    for top in ('plugins', os.path.join('tests', 'emulator')):
        for directory, subdirs, names in os.walk(os.path.join(ROOT, top)):
            subdirs[:] = sorted(d for d in subdirs if d != '__pycache__')
            found += [os.path.relpath(os.path.join(directory, n), ROOT) for n in sorted(names) if n.endswith('.py')]
    return found


def module_files():
    directory = os.path.join(ROOT, 'plugins', 'modules')
    return sorted(os.path.join('plugins', 'modules', n) for n in os.listdir(directory)
                  if n.endswith('.py') and n != '__init__.py')


def runtime_action_group():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        return (yaml.safe_load(handle).get('action_groups') or {}).get('all') or []


def collection_version():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        return str(yaml.safe_load(handle)['version'])


def tree_fragments():
    directory = os.path.join(ROOT, 'plugins', 'doc_fragments')
    return fragment_docs(dict((n[:-3], read(os.path.join('plugins', 'doc_fragments', n)))
                              for n in os.listdir(directory) if n.endswith('.py') and n != '__init__.py'))


PYTHON_FILES = python_files()
MODULE_FILES = module_files()


@pytest.mark.parametrize('relpath', PYTHON_FILES)
def test_import_rule(relpath):
    found = import_violations(relpath, read(relpath))
    assert not found, '\n'.join(found)


@pytest.mark.parametrize('relpath', [p for p in PYTHON_FILES if layer_of_path(p) == 'module_utils'])
def test_only_the_runners_take_an_ansible_module(relpath):
    found = runner_violations(relpath, read(relpath))
    assert not found, '\n'.join(found)


def test_family_exceptions_are_still_needed():
    sources = dict((p, read(p)) for p in PYTHON_FILES if layer_of_path(p) == 'module_utils')
    unused = unused_family_exceptions(sources)
    assert not unused, 'no family file imports %s any more: delete it from FAMILY_EXCEPTIONS' % ', '.join(
        '%s.%s' % pair for pair in unused)


def test_architecture_page_gives_every_file_a_home():
    existing = [os.path.relpath(p, 'plugins').replace(os.sep, '/') for p in PYTHON_FILES if p.startswith('plugins')]
    found = doc_home_violations(read(os.path.join('docs', 'dev', 'architecture.md')), existing)
    assert not found, '\n'.join(found)


@pytest.mark.parametrize('relpath', MODULE_FILES)
def test_module_anatomy(relpath):
    found = anatomy_violations(relpath, read(relpath))
    assert not found, '\n'.join(found)


@pytest.mark.parametrize('name', runtime_action_group())
def test_action_group_modules_document_it(name):
    relpath = os.path.join('plugins', 'modules', name + '.py')
    assert os.path.exists(os.path.join(ROOT, relpath)), 'meta/runtime.yml lists %s, which is no module' % name
    documentation = module_constant(read(relpath), 'DOCUMENTATION', relpath)
    found = action_group_violations(name, documentation or '', tree_fragments())
    assert not found, '\n'.join(found)


def test_every_sql_module_is_in_the_action_group():
    """A module with the connection options must be reachable through module_defaults group/mssql.hadr.all."""
    group = set(runtime_action_group())
    missing = []
    for relpath in MODULE_FILES:
        doc = yaml.safe_load(module_constant(read(relpath), 'DOCUMENTATION', relpath) or '') or {}
        extends = doc.get('extends_documentation_fragment') or []
        extends = [extends] if isinstance(extends, str) else extends
        name = os.path.basename(relpath)[:-3]
        if 'mssql.hadr.connection' in extends and name not in group:
            missing.append(name)
    assert not missing, '%s extend mssql.hadr.connection: add them to action_groups.all in meta/runtime.yml' % (
        ', '.join(missing))


@pytest.mark.parametrize('relpath', MODULE_FILES + sorted(
    os.path.join('plugins', 'filter', n) for n in os.listdir(os.path.join(ROOT, 'plugins', 'filter'))
    if n.endswith('.yml')))
def test_version_added_not_after_the_collection(relpath):
    if relpath.endswith('.py'):
        doc = yaml.safe_load(module_constant(read(relpath), 'DOCUMENTATION', relpath) or '') or {}
    else:
        doc = yaml.safe_load(read(relpath)) or {}
    assert doc, '%s: no documentation' % relpath
    found = version_added_violations(relpath, doc, collection_version())
    assert not found, '\n'.join(found)


# --------------------------------------------------------------------------------------------------
# Self-tests: every checker reports a synthetic bad source, and passes a good one.
# --------------------------------------------------------------------------------------------------

MU = 'plugins/module_utils/'


@pytest.mark.parametrize('relpath, source, expected', [
    (MU + '_endpoint.py', 'from ansible_collections.mssql.hadr.plugins.plugin_utils.topology import x\n',
     'module_utils may import module_utils of the collection, never plugin_utils'),
    (MU + '_endpoint.py', 'from ..plugin_utils import topology\n', 'never plugin_utils'),
    (MU + 'mssql.py', 'import ansible_collections.mssql.hadr.plugins.modules.login\n', 'never modules'),
    (MU + 'mssql.py', 'from ansible.plugins.action import ActionBase\n', 'only ansible.module_utils'),
    (MU + 'mssql.py', 'from plugins.module_utils import _tsql\n', 'never as a bare plugins'),
    (MU + '_tsql.py', 'import importlib\nimportlib.import_module("ansible_collections.mssql.hadr.plugins.filter.topology")\n',
     'never filter'),
    (MU + '_principals.py', 'from ansible_collections.mssql.hadr.plugins.module_utils._change import ChangeRecorder\n',
     'may not import _change.py (the module runner)'),
    (MU + '_trust.py', 'from ansible_collections.mssql.hadr.plugins.module_utils import mssql\n',
     'may not import mssql.py (the connection layer)'),
    (MU + '_certificates.py', 'from .mssql import MssqlError, connect\n', 'may not import mssql.py'),
    (MU + '_x509.py', 'from ansible_collections.community.crypto.plugins.module_utils import x\n', 'no other collection'),
    ('plugins/modules/login.py', 'from ansible_collections.mssql.hadr.plugins.modules import user\n', 'never modules'),
    ('plugins/modules/login.py', 'from ansible_collections.mssql.hadr.plugins.plugin_utils.topology import f\n',
     'never plugin_utils'),
    ('plugins/modules/login.py', 'import pyodbc\n', 'third-party libraries are wrapped in module_utils'),
    ('plugins/modules/login.py', 'from ansible.errors import AnsibleError\n', 'only ansible.module_utils'),
    ('plugins/plugin_utils/topology.py', 'from ansible_collections.mssql.hadr.plugins.filter.topology import f\n',
     'never filter'),
    ('plugins/filter/topology.py', 'from ansible_collections.mssql.hadr.plugins.modules.endpoint_info import x\n',
     'never modules'),
    ('plugins/action/firewall.py', 'from ..modules import firewall\n', 'never modules'),
    ('plugins/doc_fragments/connection.py', 'from ansible_collections.mssql.hadr.plugins.module_utils import mssql\n',
     'doc_fragments may import nothing'),
    ('tests/emulator/engine/parser.py', 'from ansible_collections.mssql.hadr.plugins.module_utils._tsql import q\n',
     'tests/emulator never imports the collection'),
    ('tests/emulator/server.py', 'def f():\n    import plugins.module_utils._tsql\n',
     'tests/emulator never imports the collection'),
])
def test_import_checker_reports(relpath, source, expected):
    found = import_violations(relpath, source)
    assert len(found) == 1 and expected in found[0], found
    assert found[0].startswith(relpath + ':'), found


@pytest.mark.parametrize('relpath, source', [
    ('plugins/modules/login.py', 'import re\nfrom ansible.module_utils.basic import AnsibleModule\n'
                                 'from ansible_collections.mssql.hadr.plugins.module_utils._change import run_module\n'
                                 'from ..module_utils import _principals\n'),
    (MU + 'mssql.py', 'import pyodbc\nfrom ansible.module_utils.basic import env_fallback\nfrom ._tsql import q\n'),
    (MU + '_x509.py', 'from cryptography import x509\n'),
    (MU + '_principals.py', 'from ansible_collections.mssql.hadr.plugins.module_utils.mssql import MssqlError\n'
                            'from ._catalog import Statement\n'),
    (MU + '_change.py', 'from .mssql import connect\n'),
    ('plugins/plugin_utils/topology_report.py', 'from ansible_collections.mssql.hadr.plugins.plugin_utils import topology\n'
                                                'from ansible.errors import AnsibleError\n'),
    ('plugins/filter/topology.py', 'from ansible_collections.mssql.hadr.plugins.plugin_utils.topology import f\n'
                                   'from ansible.errors import AnsibleFilterError\n'),
    ('tests/emulator/server.py', 'import ssl\nfrom tests.emulator import tds\nfrom .engine import parser\n'),
])
def test_import_checker_accepts(relpath, source):
    assert import_violations(relpath, source) == []


def test_runner_checker():
    bad = 'def plan(module, conn):\n    pass\n\nf = lambda *, module=None: module\n'
    assert [m.split(': ')[1] for m in runner_violations(MU + '_endpoint.py', bad)] == [
        'plan has a parameter named module', 'lambda has a parameter named module']
    assert 'uses AnsibleModule' in runner_violations(
        MU + '_firewall_linux.py', 'from ansible.module_utils.basic import AnsibleModule\n')[0]
    assert runner_violations(MU + '_change.py', bad) == []
    assert runner_violations(MU + '_firewall.py', bad) == []
    assert runner_violations(MU + '_endpoint.py', 'def plan(state, desired, conn):\n    pass\n') == []


def test_unused_family_exception_is_reported():
    used = {MU + '_certificates.py': 'from .mssql import MssqlError\n'}
    unused = {MU + '_certificates.py': 'from ._catalog import Statement\n',
              MU + '_change.py': 'from .mssql import MssqlError\n'}  # the runner is no family
    assert unused_family_exceptions(used) == []
    assert unused_family_exceptions(unused) == [('mssql', 'MssqlError')]


GOOD_MODULE = '''
DOCUMENTATION = r"""
module: thing
"""
EXAMPLES = r""" """
RETURN = r""" """

from ansible.module_utils.basic import AnsibleModule


def argument_spec():
    return {}


def _helper(value):
    return value


def run(module, conn, changes):
    return _helper({})


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, run)


if __name__ == '__main__':
    main()
'''


def test_anatomy_accepts_a_good_module():
    assert anatomy_violations('plugins/modules/thing.py', GOOD_MODULE) == []


@pytest.mark.parametrize('change, expected', [
    (('def run(module', 'class Plan:\n    pass\n\n\ndef run(module'), 'defines class Plan'),
    (('RETURN = r""" """', ''), 'exactly one module-level string RETURN'),
    (('EXAMPLES = r""" """', 'EXAMPLES = None'), 'exactly one module-level string EXAMPLES'),
    (('def argument_spec():', 'def spec():'), 'exactly one module-level function argument_spec()'),
    (('def _helper(value):', 'def run(value):'), 'exactly one function run(...)'),
    (('def _helper(value):\n    return value', 'def _helper(value):\n    def run():\n        pass\n    return value'),
     'exactly one function run(...)'),
    (('if __name__ == \'__main__\':\n    main()', 'main()'), "must end with: if __name__ == '__main__': main()"),
    (('run_module(module, run)', 'run_module(module, None)'), 'main() does not use run'),
])
def test_anatomy_reports(change, expected):
    source = GOOD_MODULE.replace(*change)
    assert source != GOOD_MODULE
    found = anatomy_violations('plugins/modules/thing.py', source)
    assert any(expected in message for message in found), found


def test_anatomy_reports_an_imported_run():
    source = GOOD_MODULE.replace('def run(module, conn, changes):\n    return _helper({})\n', '').replace(
        'from ansible.module_utils.basic import AnsibleModule',
        'from ansible_collections.mssql.hadr.plugins.module_utils._firewall_linux import run')
    found = anatomy_violations('plugins/modules/firewall.py', source)
    assert any('imports run from' in message for message in found), found
    assert any('found 0' in message for message in found), found


FRAGMENT_SOURCE = '''
class ModuleDocFragment(object):
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/mssql.hadr.all) in module_defaults.
    support: full
    membership: [mssql.hadr.all]
"""
    CHECK_MODE = r"""
attributes:
  check_mode:
    support: full
"""
'''


def test_fragment_docs_names():
    assert sorted(fragment_docs({'attributes': FRAGMENT_SOURCE})) == ['mssql.hadr.attributes',
                                                                      'mssql.hadr.attributes.check_mode']


@pytest.mark.parametrize('documentation, expected', [
    ('extends_documentation_fragment: [mssql.hadr.attributes]\n', []),
    ('extends_documentation_fragment: [mssql.hadr.connection, ansible.builtin.action_common_attributes.actiongroups]\n'
     'attributes: {action_group: {support: full, membership: [mssql.hadr.all]}}\n', []),
    ('extends_documentation_fragment: [mssql.hadr.connection, ansible.builtin.action_common_attributes]\n'
     'attributes: {action_group: {support: full, membership: [mssql.hadr.all]}}\n', ['extends_documentation_fragment']),
    ('extends_documentation_fragment: [ansible.builtin.action_common_attributes.actiongroups]\n',
     ['does not list mssql.hadr.all']),
    ('extends_documentation_fragment: mssql.hadr.attributes.check_mode\n', ['does not list mssql.hadr.all']),
    ('module: login\n', ['extends_documentation_fragment', 'does not list mssql.hadr.all']),
])
def test_action_group_checker(documentation, expected):
    found = action_group_violations('login', documentation, fragment_docs({'attributes': FRAGMENT_SOURCE}))
    assert len(found) == len(expected) and all(e in m for e, m in zip(expected, found)), found


def test_version_added_checker():
    doc = {'version_added': '0.1.0', 'options': {'name': {'version_added': '1.0.0'},
                                                 'port': {'version_added': '0.1.0'}}}
    assert version_added_violations('m', doc, '0.1.0') == [
        'm: options.name version_added 1.0.0 is newer than the collection (galaxy.yml version 0.1.0)']
    assert version_added_violations('m', {'version_added': '1.0.0'}, '0.1.0') == [
        'm: the plugin version_added 1.0.0 is newer than the collection (galaxy.yml version 0.1.0)']
    assert version_added_violations('m', {'version_added': '0.1.0'}, '0.10.0') == []
    assert version_added_violations('m', {'version_added': '0.9.0'}, '0.10.0') == []


def test_collection_part():
    assert collection_part('ansible_collections.mssql.hadr.plugins.module_utils._tsql') == ('module_utils', '_tsql')
    assert collection_part('ansible_collections.mssql.hadr.plugins.module_utils') == ('module_utils', None)
    assert collection_part('ansible_collections.mssql.hadr.plugins') == (None, None)
    assert collection_part('ansible_collections.mssql') == (None, None)
    assert collection_part('plugins.filter.topology') == ('filter', 'topology')
    assert collection_part('ansible_collections.community.crypto.plugins.module_utils') is None
    assert collection_part('ansible.module_utils.basic') is None
    assert package_of_path('plugins/module_utils/_endpoint.py') == COLLECTION + '.plugins.module_utils'
    assert resolve_relative(COLLECTION + '.plugins.module_utils', 'plugin_utils.topology', 2) == \
        COLLECTION + '.plugins.plugin_utils.topology'


def test_doc_home_checker():
    doc = ('# A\n\n## One home per piece of logic\n\n| `_tsql.py` | quoting |\n| `plugin_utils/topology.py` | matrix |\n'
           '\n## Anatomy\n\n`_ghost.py` is outside the section\n')
    assert doc_home_violations(doc, ['module_utils/_tsql.py', 'plugin_utils/topology.py', 'filter/topology.py',
                                     'module_utils/__init__.py']) == []
    assert doc_home_violations(doc, ['module_utils/_tsql.py', 'plugin_utils/topology.py',
                                     'module_utils/_catalog.py']) == [
        'plugins/module_utils/_catalog.py has no home in docs/dev/architecture.md (## One home per piece of logic): '
        'say what lives there']
    assert doc_home_violations(doc, ['module_utils/_tsql.py']) == [
        'docs/dev/architecture.md names plugins/plugin_utils/topology.py, which does not exist']
    assert doc_home_violations('# nothing\n', []) == [
        "docs/dev/architecture.md: no section '## One home per piece of logic'"]
