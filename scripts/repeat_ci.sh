#!/usr/bin/env bash
# The repeat check of issue 14: `CI=true bash .ci/run` N times in a row (default 3), each in a fresh clone
# of the committed HEAD, with one core kept busy by a busy loop the whole time. Prints every run's gate
# summary and exits non-zero if any run failed. Logs stay in the printed directory.
#
#   bash scripts/repeat_ci.sh [N]
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-3}
OUT=$(mktemp -d /tmp/mssql-hadr-repeat-XXXXXX)
COMMIT=$(git -C "$REPO" rev-parse HEAD)   # every run tests this commit, whatever is committed meanwhile
echo "repeat check: $RUNS runs of .ci/run from clean clones of ${COMMIT:0:7}; logs in $OUT"

# the other core: a busy loop for as long as this script runs
( trap 'exit 0' TERM; while :; do :; done ) &
BUSY=$!
trap 'kill "$BUSY" 2>/dev/null || true' EXIT

failed=0
for n in $(seq 1 "$RUNS"); do
    clone="$OUT/clone-$n"
    git clone --quiet "$REPO" "$clone"
    git -C "$clone" checkout --quiet "$COMMIT"
    t0=$(date +%s)
    rc=0
    (cd "$clone" && env -u ANSIBLE_COLLECTIONS_PATH CI=true bash .ci/run) >"$OUT/run-$n.log" 2>&1 || rc=$?
    echo "=== run $n: exit $rc after $(( $(date +%s) - t0 ))s"
    sed -n '/make test summary/,$p' "$OUT/run-$n.log"
    grep -A9 -- '--- matrix summary' "$OUT/run-$n.log" | sed -n '2,8p' || true
    [ "$rc" -eq 0 ] || failed=1
    # the clone's build/ and .venv are large; its log stays. $clone is under the mktemp directory above.
    case "$clone" in "$OUT"/clone-*) rm -rf "$clone" ;; esac
done
exit "$failed"
