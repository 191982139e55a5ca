#!/usr/bin/env bash
# An S3-compatible server on loopback for the `s3://` tests: moto, from PyPI.
#
#   scripts/s3-test-server.sh start        starts one, prints `export` lines
#   scripts/s3-test-server.sh stop [URL]   stops the one at URL (default:
#                                          $CLOUDBUTTON_TEST_S3_ENDPOINT, else
#                                          the last one started)
#
# By hand:
#   eval "$(scripts/s3-test-server.sh start)"
#   cargo test -p cloudbutton-storage --test s3
#   scripts/s3-test-server.sh stop
#
# The server is installed once into a virtual environment under
# target/s3-test-server/venv. It listens on 127.0.0.1 only, on a free port, so
# several test runs can each have their own. It keeps everything in memory and
# accepts any credentials.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned so that every run tests against the same server.
REQUIREMENTS=("moto[s3]==5.2.5" "flask==3.1.3" "flask-cors==6.0.5")
HOME_DIR=target/s3-test-server
VENV=$HOME_DIR/venv
START_TIMEOUT=30

die() {
    echo "error: $*" >&2
    exit 1
}

# Creates the virtual environment and installs the server, unless a previous
# run did so with the same requirements. Concurrent runs wait for each other.
install() {
    mkdir -p "$HOME_DIR"
    (
        command -v flock >/dev/null && flock 9
        install_locked
    ) 9>"$HOME_DIR/install.lock"
}

install_locked() {
    local marker=$VENV/.installed
    if [[ -x $VENV/bin/moto_server && -f $marker && "$(cat "$marker")" == "${REQUIREMENTS[*]}" ]]; then
        return
    fi

    command -v python3 >/dev/null || die "python3 is needed to run the S3 test server"
    local how
    how="python3 -m venv $VENV && $VENV/bin/pip install $(printf '%q ' "${REQUIREMENTS[@]}")"
    echo "installing the S3 test server (moto) into $VENV ..." >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2 ||
        die "cannot create a Python virtual environment (on Debian: apt-get install python3-venv); then: $how"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}" >&2 ||
        die "cannot install the S3 test server from PyPI; check access to PyPI, then: $how"
    echo "${REQUIREMENTS[*]}" >"$marker"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether the server at $1 answers an S3 request (listing the buckets).
answers() {
    "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$1" 2>/dev/null
}

start() {
    install

    # Another process may take the port between our probe and the server's
    # bind; then the server exits and we try another port.
    local attempt port endpoint run pid deadline
    for attempt in 1 2 3; do
        port=$(free_port)
        endpoint=http://127.0.0.1:$port
        run=$HOME_DIR/run/$port
        mkdir -p "$run"
        "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$run/log" 2>&1 &
        pid=$!
        echo "$pid" >"$run/pid"

        deadline=$((SECONDS + START_TIMEOUT))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            if answers "$endpoint"; then
                echo "$endpoint" >"$HOME_DIR/endpoint"
                echo "S3 test server (moto, pid $pid) at $endpoint" >&2
                echo "export CLOUDBUTTON_TEST_S3_ENDPOINT=$endpoint"
                echo "export AWS_ACCESS_KEY_ID=cloudbutton-test"
                echo "export AWS_SECRET_ACCESS_KEY=cloudbutton-test"
                echo "export AWS_REGION=us-east-1"
                echo "unset AWS_SESSION_TOKEN AWS_ENDPOINT AWS_ENDPOINT_URL"
                return
            fi
            sleep 0.1
        done

        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            die "the S3 test server did not answer at $endpoint within ${START_TIMEOUT}s; its log: $run/log"
        fi
        echo "the S3 test server exited at start (attempt $attempt); its log:" >&2
        cat "$run/log" >&2
        rm -rf "$run"
    done
    die "the S3 test server would not start"
}

stop() {
    local endpoint=${1:-${CLOUDBUTTON_TEST_S3_ENDPOINT:-}}
    if [[ -z $endpoint && -f $HOME_DIR/endpoint ]]; then
        endpoint=$(cat "$HOME_DIR/endpoint")
    fi
    [[ -n $endpoint ]] || die "no S3 test server to stop: give its URL"
    local port=${endpoint##*:}
    local run=$HOME_DIR/run/$port
    [[ -f $run/pid ]] || die "no S3 test server was started at $endpoint"

    # Only ever signal the server this script started, not whatever process
    # has since been given its id.
    local pid
    pid=$(cat "$run/pid")
    if ps -p "$pid" -o command= 2>/dev/null | grep -q moto_server; then
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid"
        fi
    fi
    rm -rf "$run"
    if [[ -f $HOME_DIR/endpoint && "$(cat "$HOME_DIR/endpoint")" == "$endpoint" ]]; then
        rm -f "$HOME_DIR/endpoint"
    fi
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 start | stop [URL]" ;;
esac
