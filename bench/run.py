"""make bench: what the collection costs, measured on emulated SQL Server instances.

0. The emulator itself: pyodbc + FreeTDS connect + query + close on one instance (target: under 2 ms),
   and across eight instances side by side (target: median under 5 ms). Moved here from make test, where
   an absolute timing would depend on the machine's load.
1. Per SQL module, a no-op run (the object already as asked): connections and round trips after login,
   from the emulator's request log (target: 1 connection, at most 2 round trips).
2. certificate_topology on N = 2, 3, 5, 8 replicas, first (converging) run and no-op rerun: wall time,
   tasks per host, connections per replica, and the ratio to a playbook that runs ansible.builtin.ping as
   many times per host as the topology runs SQL modules, on the same hosts, measured side by side
   (alternating, median of the repeats; every first run on new instances). Targets: ratio at most 1.5;
   tasks per host and connections per replica constant in N. Beside wall time, the CPU seconds of the
   ansible-playbook process tree (controller, workers, modules; not the emulators), which the load of a
   shared machine disturbs less.

Writes bench/results.json and bench/results.md.  python -m bench.run [--sizes 2,3,5,8] [--repeats 5]
"""
import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.support import collection_path  # noqa: E402

# as tests/conftest.py does for pytest: the checkout importable as ansible_collections.mssql.hadr
COLLECTIONS = collection_path()
sys.path.insert(0, COLLECTIONS)
os.environ['ANSIBLE_COLLECTIONS_PATH'] = os.pathsep.join(p for p in (COLLECTIONS, os.environ.get('ANSIBLE_COLLECTIONS_PATH')) if p)

from tests.emulator.fixtures import EmulatorInstance, connections, free_port, round_trips  # noqa: E402
from tests.fuzz.inprocess import run_module  # noqa: E402
from tests.support.topology import run_playbook, start_replicas  # noqa: E402
from tests.support.certificates import pem, rsa_key, self_signed  # noqa: E402

OUT = os.path.join(REPO, 'bench')
SQL_ACTIONS = ('mssql.hadr.endpoint_info', 'mssql.hadr.master_key', 'mssql.hadr.certificate', 'mssql.hadr.endpoint',
               'mssql.hadr.partner_trust')


class Instances:
    """Emulators started for the benchmark, all stopped at the end."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix='mssql-hadr-bench-')
        self.started = []

    def __call__(self, **options):
        instance = EmulatorInstance(os.path.join(self.base, str(len(self.started))), **options)
        self.started.append(instance)
        return instance.start()

    def stop(self, instances=None):
        for instance in (self.started if instances is None else instances):
            instance.stop()


SPEED_RUNS = 200


def timed_connect_query_close(instance, sql, params=()):
    started = time.perf_counter()
    conn = instance.connect()
    conn.cursor().execute(sql, params).fetchall()
    conn.close()
    return (time.perf_counter() - started) * 1000


def emulator_speed(instances):
    """Milliseconds per connect + query + close: median and p90, one instance, then eight side by side."""
    one = instances()
    timed_connect_query_close(one, 'SELECT 1')   # first connection per string: type probe, driver load
    rows = []
    for label, sql, params in (('SELECT 1', 'SELECT 1', ()),
                               ('parameterised catalog query', 'SELECT name FROM sys.endpoints WHERE endpoint_id = ?',
                                (1,))):
        samples = sorted(timed_connect_query_close(one, sql, params) for _run in range(SPEED_RUNS))
        rows.append({'what': '1 instance, %s' % label, 'median_ms': round(statistics.median(samples), 2),
                     'p90_ms': round(samples[int(SPEED_RUNS * 0.9)], 2), 'target_ms': 2.0})
    started = time.perf_counter()
    eight = [instances() for _number in range(8)]
    start_seconds = time.perf_counter() - started
    samples = sorted(timed_connect_query_close(instance, 'SELECT @@SERVERNAME')
                     for _round in range(20) for instance in eight)
    rows.append({'what': '8 instances side by side (started in %.2f s), SELECT @@SERVERNAME' % start_seconds,
                 'median_ms': round(statistics.median(samples), 2), 'p90_ms': round(samples[int(len(samples) * 0.9)], 2),
                 'target_ms': 5.0})
    instances.stop([one] + eight)
    return rows


def module_noops(instances):
    """Each module twice with the same arguments; the second run is the no-op that is measured."""
    instance = instances()
    partner = pem(self_signed(rsa_key(2048, slot=90), common_name='bench-partner'))
    plan = [
        ('login', dict(name='bench_login', password='Bench-Passw0rd!', check_policy=False)),
        ('user', dict(name='bench_user', login='bench_login')),
        ('master_key', dict(password='Bench-Master-K3y!')),
        ('certificate', dict(name='bench_cert', subject='mssql.hadr bench')),
        ('endpoint', dict(name='Hadr_endpoint', port=free_port(), authentication='certificate',
                          certificate='bench_cert')),
        ('endpoint_permission', dict(logins=['bench_login'])),
        ('partner_trust', dict(partners=[{'name': 'partner', 'public_certificate': partner}])),
        ('endpoint_info', dict()),
    ]
    rows = []
    for module, args in plan:
        args = dict(instance.module_params(), **args)
        first = run_module(module, args)
        assert not first.get('failed'), (module, first)
        mark = instance.mark_log()
        started = time.perf_counter()
        again = run_module(module, args)
        seconds = time.perf_counter() - started
        assert not again.get('failed') and not again['changed'], (module, again)
        entries = instance.log_entries(since=mark)
        trips = round_trips(entries)
        rows.append({'module': module, 'connections': len(connections(entries)), 'round_trips': len(trips),
                     'seconds': round(seconds, 3), 'statements': [t['sql'][:60] for t in trips]})
    return rows


def ping_playbook(tasks_per_host):
    handle, path = tempfile.mkstemp(prefix='bench-ping-', suffix='.yml')
    with os.fdopen(handle, 'w') as out:
        out.write('- name: ping as many times as the topology runs SQL modules\n  hosts: all\n'
                  '  gather_facts: false\n  tasks:\n')
        for i in range(tasks_per_host):
            out.write('    - name: ping %d\n      ansible.builtin.ping:\n' % i)
    return path


# The recorder writes only each result's outcome: the benchmark measures the collection, not the copying
# and encoding of whole results that the tests need (tests/support/callback/record_results.py).
RECORD_OUTCOMES_ONLY = {'MSSQL_HADR_RESULTS_SUMMARY': '1'}


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# The same five SQL modules as the role runs, in a flat play without the role: splits the no-op rerun's
# cost into what the modules cost (flat vs ping) and what the role adds (topology vs flat).
FLAT_PLAYBOOK = """- name: the role's five SQL modules in a flat play (no role, no controller-side tasks)
  hosts: all
  gather_facts: false
  module_defaults:
    group/mssql.hadr.all:
      login_host: "{{ hadr_sql_host }}"
      login_port: "{{ hadr_sql_port }}"
      login_user: "{{ hadr_sql_user }}"
      login_password: "{{ hadr_sql_password }}"
      odbc_driver: "{{ hadr_sql_odbc_driver }}"
      encrypt: "{{ hadr_sql_encrypt }}"
  tasks:
    - name: endpoint_info
      mssql.hadr.endpoint_info:
    - name: master_key
      mssql.hadr.master_key:
        password: "{{ hadr_master_key_password }}"
    - name: certificate
      mssql.hadr.certificate:
        name: "{{ inventory_hostname }}_hadr"
        subject: mssql.hadr {{ inventory_hostname }}
      register: flat_certificate
    - name: endpoint
      mssql.hadr.endpoint:
        name: Hadr_endpoint
        port: "{{ hadr_endpoint_port }}"
        fqdn: "{{ hadr_endpoint_fqdn }}"
        authentication: certificate
        certificate: "{{ inventory_hostname }}_hadr"
        encryption: required
    - name: partner_trust
      mssql.hadr.partner_trust:
        partners: "{{ dict(others | zip(pems)) | dict2items(key_name='name', value_name='public_certificate') }}"
      vars:
        others: "{{ ansible_play_hosts | difference([inventory_hostname]) }}"
        pems: "{{ others | map('extract', hostvars, ['flat_certificate', 'certificate', 'pem']) | list }}"
"""


def flat_playbook():
    handle, path = tempfile.mkstemp(prefix='bench-flat-', suffix='.yml')
    with os.fdopen(handle, 'w') as out:
        out.write(FLAT_PLAYBOOK)
    return path


def timed(playbook, replicas):
    """(run, wall seconds, CPU seconds of the ansible-playbook process tree, connections per replica)."""
    marks = [r.instance.mark_log() for r in replicas]
    cpu = _children_cpu()
    started = time.perf_counter()
    run = run_playbook(playbook, replicas, env=RECORD_OUTCOMES_ONLY)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    assert run.rc == 0, str(run)
    conns = [len(connections(r.instance.log_entries(since=m))) for r, m in zip(replicas, marks)]
    return run, seconds, cpu, conns


def per_host(run, replicas):
    # a run_once task is recorded for one host and applies to all of them
    tasks = [len([r for r in run.records if r['host'] == rep.name or r.get('run_once')]) for rep in replicas]
    modules = [len([r for r in run.records if r['host'] == rep.name and r.get('action') in SQL_ACTIONS
                    and not r.get('skipped')]) for rep in replicas]
    return tasks, modules


def summary(topology_runs, ping_runs):
    """Medians of alternating (run, seconds, cpu, connections, per-host) and ping (seconds, cpu) samples."""
    seconds = statistics.median(t[1] for t in topology_runs)
    cpu = statistics.median(t[2] for t in topology_runs)
    ping_seconds = statistics.median(p[0] for p in ping_runs)
    ping_cpu = statistics.median(p[1] for p in ping_runs)
    return {'seconds': round(seconds, 2), 'ping_seconds': round(ping_seconds, 2),
            'ratio': round(seconds / ping_seconds, 2),
            'ratios': sorted(round(t[1] / p[0], 2) for t, p in zip(topology_runs, ping_runs)),
            'cpu_seconds': round(cpu, 2), 'ping_cpu_seconds': round(ping_cpu, 2), 'cpu_ratio': round(cpu / ping_cpu, 2),
            'tasks_per_host': sorted(set(n for t in topology_runs for n in t[4][0])),
            'sql_modules_per_host': sorted(set(n for t in topology_runs for n in t[4][1])),
            'connections_per_replica': sorted(set(c for t in topology_runs for c in t[3])),
            'repeats': len(topology_runs)}


def topology(instances, size, repeats):
    names = ['sql%d' % i for i in range(1, size + 1)]
    first, ping_first, ping = [], [], None
    for dummy in range(repeats):                    # a converging run needs new instances each time
        replicas = start_replicas(instances, names)
        run, seconds, cpu, conns = timed('certificate_topology.yml', replicas)
        first.append((run, seconds, cpu, conns, per_host(run, replicas)))
        ping = ping or ping_playbook(max(first[0][4][1]))
        ping_first.append(timed(ping, replicas)[1:3])
        instances.stop(r.instance for r in replicas)
    replicas = start_replicas(instances, names)
    timed('certificate_topology.yml', replicas)
    rerun, ping_rerun, flat_rerun = [], [], []
    flat = flat_playbook()
    for dummy in range(repeats):                    # alternate, so all three see the same machine load
        run, seconds, cpu, conns = timed('certificate_topology.yml', replicas)
        assert not any(r.get('changed') for r in run.records), 'the rerun changed something'
        rerun.append((run, seconds, cpu, conns, per_host(run, replicas)))
        ping_rerun.append(timed(ping, replicas)[1:3])
        run, seconds, cpu, dummy2 = timed(flat, replicas)
        assert not any(r.get('changed') for r in run.records), 'the flat play changed something'
        flat_rerun.append((seconds, cpu))
    os.unlink(ping)
    os.unlink(flat)
    instances.stop(r.instance for r in replicas)
    noop = summary(rerun, ping_rerun)
    noop.update(flat_seconds=round(statistics.median(f[0] for f in flat_rerun), 2),
                flat_cpu_seconds=round(statistics.median(f[1] for f in flat_rerun), 2))
    noop.update(flat_ratio=round(noop['flat_seconds'] / noop['ping_seconds'], 2),
                flat_cpu_ratio=round(noop['flat_cpu_seconds'] / noop['ping_cpu_seconds'], 2))
    return {'replicas': size, 'first_run': summary(first, ping_first), 'noop_rerun': noop}


def markdown(results):
    lines = ['# Benchmark results', '',
             'Written by `make bench` (bench/run.py) on %s; machine: %s, %d CPUs, load average at start %s. '
             'Emulated instances (tests/emulator), real ansible-playbook, FreeTDS.' % (
                 results['when'], results['machine'], results['cpus'], results['load']), '',
             '## The emulator: connect + query + close, milliseconds (target: median under the target)', '',
             '| what | median | p90 | target | met |', '|---|---|---|---|---|']
    for row in results.get('emulator', []):
        met = 'yes' if row['median_ms'] < row['target_ms'] else '**no**'
        cells = (row['what'], row['median_ms'], row['p90_ms'], row['target_ms'], met)
        lines.append('| %s | %.2f | %.2f | %.1f | %s |' % cells)
    lines += ['', '## No-op run per module (target: 1 connection, at most 2 round trips)', '',
              '| module | connections | round trips | seconds | target met |', '|---|---|---|---|---|']
    for row in results['modules']:
        ok = row['connections'] == 1 and row['round_trips'] <= 2
        cells = (row['module'], row['connections'], row['round_trips'], row['seconds'], 'yes' if ok else '**no**')
        lines.append('| %s | %d | %d | %.3f | %s |' % cells)
    for key, title in (('first_run', 'First (converging) run'), ('noop_rerun', 'No-op rerun')):
        lines += ['', '## certificate_topology: %s (ratio target: at most 1.5)' % title, '',
                  '| replicas | seconds | ping playbook seconds | ratio (median) | ratios of the pairs | CPU seconds | '
                  'ping CPU seconds | CPU ratio | tasks per host | SQL modules per host | connections per replica |',
                  '|---|---|---|---|---|---|---|---|---|---|---|']
        for row in results['topology']:
            r = row[key]
            mark = '' if r['ratio'] <= 1.5 else '**'
            lines.append('| %d | %.2f | %.2f | %s%.2f%s | %s | %.2f | %.2f | %.2f | %s | %s | %s |' % (
                row['replicas'], r['seconds'], r['ping_seconds'], mark, r['ratio'], mark,
                ' '.join('%.2f' % x for x in r['ratios']), r['cpu_seconds'], r['ping_cpu_seconds'], r['cpu_ratio'],
                r['tasks_per_host'], r['sql_modules_per_host'], r['connections_per_replica']))
    lines += ['', '## Where the no-op rerun\'s cost goes', '',
              'The same five SQL modules in a flat play without the role (bench/run.py FLAT_PLAYBOOK), measured in '
              'the same alternation: flat vs ping is what the modules cost, topology vs flat what the role adds '
              '(argument validation, input checks, publishing and collecting the certificates, templating of its '
              'variables).', '',
              '| replicas | ping seconds | flat seconds | topology seconds | flat / ping | topology / ping | '
              'ping CPU | flat CPU | topology CPU | flat / ping CPU | topology / ping CPU |',
              '|---|---|---|---|---|---|---|---|---|---|---|']
    for row in results['topology']:
        r = row['noop_rerun']
        lines.append('| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |' % (
            row['replicas'], r['ping_seconds'], r['flat_seconds'], r['seconds'], r['flat_ratio'], r['ratio'],
            r['ping_cpu_seconds'], r['flat_cpu_seconds'], r['cpu_seconds'], r['flat_cpu_ratio'], r['cpu_ratio']))
    lines += ['', 'The ping playbook runs `ansible.builtin.ping` as many times per host as the topology run executed '
              'SQL modules per host, on the same inventory (local connection), alternating with the topology '
              'runs; figures are medians of %d pairs (every first run on new instances). CPU seconds: user + system '
              'time of the ansible-playbook process tree (controller, workers, modules), not of the emulators.'
              % results['repeats'], '']
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='2,3,5,8')
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args(argv)
    instances = Instances()
    try:
        results = {'when': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                   'machine': '%s %s' % (platform.system(), platform.machine()), 'cpus': os.cpu_count(),
                   'load': ' '.join('%.1f' % v for v in os.getloadavg()), 'repeats': args.repeats}
        results['emulator'] = emulator_speed(instances)
        results['modules'] = module_noops(instances)
        results['topology'] = []
        for size in [int(s) for s in args.sizes.split(',')]:
            results['topology'].append(topology(instances, size, args.repeats))
            print('N=%d: %s' % (size, json.dumps(results['topology'][-1])), flush=True)
    finally:
        instances.stop()
    with open(os.path.join(OUT, 'results.json'), 'w') as out:
        json.dump(results, out, indent=2)
    text = markdown(results)
    with open(os.path.join(OUT, 'results.md'), 'w') as out:
        out.write(text)
    print(text)


if __name__ == '__main__':
    main()
