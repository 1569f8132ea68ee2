#!/usr/bin/env bash
# Generated module, filter and role documentation (antsibull-docs) in docs/generated/.
#
#   scripts/check_docs.sh           regenerate into a temporary directory; fail if docs/generated differs
#   scripts/check_docs.sh --write   regenerate docs/generated in place (commit the result)
#
# The collection is documented from this checkout (linked into a temporary collections path), so what
# is checked is exactly the plugins as they are now. --fail-on-error: a plugin whose documentation
# antsibull-docs cannot parse fails the check instead of getting an error page.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DEST="$REPO/docs/generated"
VENV_BIN="$REPO/.venv/bin"
[ -x "$VENV_BIN/antsibull-docs" ] && export PATH="$VENV_BIN:$PATH"
command -v antsibull-docs >/dev/null || { echo "antsibull-docs not found: run make venv" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/collections/ansible_collections/mssql" "$work/out"
ln -s "$REPO" "$work/collections/ansible_collections/mssql/hadr"

# Only this collections path, so an installed copy of mssql.hadr elsewhere cannot be documented instead.
ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_HOME="$work/ansible-home" \
    antsibull-docs collection --use-current --squash-hierarchy --output-format simplified-rst \
    --no-add-antsibull-docs-version --fail-on-error --cleanup everything --dest-dir "$work/out" mssql.hadr

if [ "${1:-}" = "--write" ]; then
    rm -rf "$DEST"
    mkdir -p "$DEST"
    cp -a "$work/out/." "$DEST/"
    echo "docs/generated regenerated: $(find "$DEST" -type f | wc -l) files"
    exit 0
fi

if [ ! -d "$DEST" ] || ! diff -ru "$DEST" "$work/out" >"$work/diff" 2>&1; then
    echo "docs/generated is missing or stale: the plugins' documentation changed since it was generated." >&2
    [ -f "$work/diff" ] && sed "s|$work/out|regenerated|g" "$work/diff" | head -n 60 >&2
    echo "Fix: bash scripts/check_docs.sh --write, then commit docs/generated." >&2
    exit 1
fi
echo "docs/generated matches the plugins ($(find "$DEST" -type f | wc -l) files)"
