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

# shellcheck source=scripts/lib/test-server.sh
source scripts/lib/test-server.sh

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

launch() {
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$1" </dev/null >"$2/log" 2>&1 &
    SERVER_PID=$!
}

# Whether the server at $1 answers an S3 request (listing the buckets).
answers() {
    "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$1" 2>/dev/null
}

start() {
    install
    start_server "moto S3 test server" http
    echo "export CLOUDBUTTON_TEST_S3_ENDPOINT=$SERVER_URL"
    echo "export AWS_ACCESS_KEY_ID=cloudbutton-test"
    echo "export AWS_SECRET_ACCESS_KEY=cloudbutton-test"
    echo "export AWS_REGION=us-east-1"
    echo "unset AWS_SESSION_TOKEN AWS_ENDPOINT AWS_ENDPOINT_URL"
}

stop() {
    stop_server "moto S3 test server" moto_server "${1:-${CLOUDBUTTON_TEST_S3_ENDPOINT:-}}"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 start | stop [URL]" ;;
esac
