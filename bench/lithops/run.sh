#!/usr/bin/env bash
# Runs the Lithops word count (wordcount.py) on one machine, creating its
# Python environment in .venv/ on first use.
#
# Usage: bench/lithops/run.sh INPUT_DIR... [--chunk-size BYTES] [--workers N]
#                                          [--top N] [--output FILE]
#
# Example, after scripts/fetch-data.sh linux-doc corpus-1g:
#   bench/lithops/run.sh data/fetched/linux-doc
#   bench/lithops/run.sh data/fetched/corpus-1g --chunk-size 67108864
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
lithops_spec="${LITHOPS_SPEC:-lithops==3.8.*}"

if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import lithops' 2>/dev/null; then
    echo "creating $venv with $lithops_spec" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "$lithops_spec" \
        || { echo "error: pip could not install $lithops_spec; is PyPI reachable?" >&2; exit 1; }
fi

[[ $# -gt 0 ]] || { sed -n '5,6p' "${BASH_SOURCE[0]}" | sed 's/^# //'; exit 2; }
exec "$venv/bin/python" "$here/wordcount.py" "$@"
