#!/usr/bin/env bash
# Runs the whole test suite: fetches the real data the tests compare against
# (the NYC flights table from PyPI, the Linux documentation and Fashion-MNIST
# from Debian, once), builds the WebAssembly examples (with Debian's clang and wasi-libc,
# installed once if missing), starts an S3-compatible server for the s3:// tests and a Redis server
# for the task queue tests, then runs every test of the workspace.
# Extra arguments go to `cargo test`, e.g. `scripts/test.sh -p cloudbutton-partition`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v python3 >/dev/null || { echo "error: python3 is needed for the reference counts" >&2; exit 1; }
scripts/fetch-data.sh flights linux-doc fashion-mnist >&2
export CLOUDBUTTON_WASM_EXAMPLES=$PWD/target/wasm
scripts/build-wasm.sh "$CLOUDBUTTON_WASM_EXAMPLES" >&2

# The s3:// tests run against an S3-compatible server on loopback (moto,
# installed from PyPI once) and the task queue tests against a throwaway
# redis-server (Debian's package, installed once if missing); both are
# stopped however the tests end.
unset CLOUDBUTTON_TEST_S3_ENDPOINT CLOUDBUTTON_TEST_REDIS_URL
stop_servers() {
    if [[ -n ${CLOUDBUTTON_TEST_REDIS_URL:-} ]]; then
        scripts/redis-test-server.sh stop "$CLOUDBUTTON_TEST_REDIS_URL" || true
    fi
    if [[ -n ${CLOUDBUTTON_TEST_S3_ENDPOINT:-} ]]; then
        scripts/s3-test-server.sh stop "$CLOUDBUTTON_TEST_S3_ENDPOINT" || true
    fi
}
trap stop_servers EXIT
s3_server=$(scripts/s3-test-server.sh start)
eval "$s3_server"
redis_server=$(scripts/redis-test-server.sh start)
eval "$redis_server"

cargo test --workspace "$@"
