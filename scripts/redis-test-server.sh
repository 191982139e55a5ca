#!/usr/bin/env bash
# A throwaway Redis server on loopback for the task queue tests: Debian's
# `redis-server`.
#
#   scripts/redis-test-server.sh start        starts one, prints an `export` line
#   scripts/redis-test-server.sh stop [URL]   stops the one at URL (default:
#                                             $CLOUDBUTTON_TEST_REDIS_URL, else
#                                             the last one started)
#
# By hand:
#   eval "$(scripts/redis-test-server.sh start)"
#   cargo test -p cloudbutton-cluster
#   scripts/redis-test-server.sh stop
#
# If `redis-server` is missing and this runs as root, it is installed with
# apt-get. The server listens on 127.0.0.1 only, on a free port, so several
# test runs can each have their own. It keeps everything in memory (no RDB
# snapshots, no append-only file) and its working directory is removed on stop.
# It has no password: tests that need one create an ACL user of their own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

HOME_DIR=target/redis-test-server
START_TIMEOUT=10

# shellcheck source=scripts/lib/test-server.sh
source scripts/lib/test-server.sh

install() {
    if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
        return
    fi
    local how="apt-get install redis-server (Debian/Ubuntu), or put redis-server and redis-cli on PATH"
    [[ $(id -u) == 0 ]] || die "redis-server is needed for the task queue tests: $how"
    command -v apt-get >/dev/null || die "redis-server is needed for the task queue tests: $how"

    echo "installing redis-server with apt-get ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    # The package list may be missing or stale on a fresh machine: on failure,
    # update it and try once more.
    if ! apt-get install -y -q --no-install-recommends redis-server >&2; then
        apt-get update -q >&2 || die "apt-get update failed; then: $how"
        apt-get install -y -q --no-install-recommends redis-server >&2 ||
            die "cannot install redis-server with apt-get; $how"
    fi
    command -v redis-server >/dev/null || die "redis-server is still not on PATH after installing it"
}

launch() {
    redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$2" --daemonize no --logfile "$2/log" </dev/null >/dev/null 2>&1 &
    SERVER_PID=$!
}

answers() {
    local port=${1##*:}
    [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]
}

start() {
    install
    start_server "Redis test server" redis
    echo "export CLOUDBUTTON_TEST_REDIS_URL=$SERVER_URL"
}

stop() {
    stop_server "Redis test server" redis-server "${1:-${CLOUDBUTTON_TEST_REDIS_URL:-}}"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 start | stop [URL]" ;;
esac
