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
#   cargo test -p cloudbutton-worker
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

die() {
    echo "error: $*" >&2
    exit 1
}

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

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    install

    # Another process may take the port between our probe and the server's
    # bind; then the server exits and we try another port.
    local attempt port url run pid deadline
    for attempt in 1 2 3; do
        port=$(free_port)
        url=redis://127.0.0.1:$port
        run=$PWD/$HOME_DIR/run/$port
        mkdir -p "$run"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$run" --daemonize no --logfile "$run/log" </dev/null >/dev/null 2>&1 &
        pid=$!
        echo "$pid" >"$run/pid"

        deadline=$((SECONDS + START_TIMEOUT))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            if [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then
                echo "$url" >"$HOME_DIR/url"
                echo "Redis test server (redis-server, pid $pid) at $url" >&2
                echo "export CLOUDBUTTON_TEST_REDIS_URL=$url"
                return
            fi
            sleep 0.05
        done

        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            die "the Redis test server did not answer at $url within ${START_TIMEOUT}s; its log: $run/log"
        fi
        echo "the Redis test server exited at start (attempt $attempt); its log:" >&2
        cat "$run/log" >&2 || true
        rm -rf "$run"
    done
    die "the Redis test server would not start"
}

# Whether process $1 still runs. A server that has exited stays a zombie
# until its parent, long gone, is replaced by an init that reaps it.
running() {
    local state
    state=$(ps -p "$1" -o stat= 2>/dev/null) || return 1
    [[ -n $state && $state != Z* ]]
}

stop() {
    local url=${1:-${CLOUDBUTTON_TEST_REDIS_URL:-}}
    if [[ -z $url && -f $HOME_DIR/url ]]; then
        url=$(cat "$HOME_DIR/url")
    fi
    [[ -n $url ]] || die "no Redis test server to stop: give its URL"
    local port=${url##*:}
    port=${port%%/*}
    local run=$HOME_DIR/run/$port
    [[ -f $run/pid ]] || die "no Redis test server was started at $url"

    # Only ever signal the server this script started, not whatever process
    # has since been given its id.
    local pid
    pid=$(cat "$run/pid")
    if ps -p "$pid" -o command= 2>/dev/null | grep -q redis-server; then
        kill "$pid"
        for _ in $(seq 100); do
            running "$pid" || break
            sleep 0.05
        done
        if running "$pid"; then
            kill -KILL "$pid"
        fi
    fi
    rm -rf "$run"
    if [[ -f $HOME_DIR/url && "$(cat "$HOME_DIR/url")" == "$url" ]]; then
        rm -f "$HOME_DIR/url"
    fi
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 start | stop [URL]" ;;
esac
