# shellcheck shell=bash
# Starting and stopping a throwaway server on a free loopback port, for the
# test servers in scripts/ (sourced, not run). The sourcing script sets
# HOME_DIR (where the servers' folders go) and START_TIMEOUT (seconds), and
# defines two functions:
#
#   launch PORT DIR   starts the server in the background on 127.0.0.1:PORT,
#                     with DIR as its own folder, and sets SERVER_PID
#   answers URL       succeeds once the server at URL answers a request
#
# Each server's folder is $HOME_DIR/run/PORT; $HOME_DIR/url names the last one
# started.

die() {
    echo "error: $*" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether process $1 still runs. A server that has exited stays a zombie
# until its parent, long gone, is replaced by an init that reaps it.
running() {
    local state
    state=$(ps -p "$1" -o stat= 2>/dev/null) || return 1
    [[ -n $state && $state != Z* ]]
}

# start_server LABEL SCHEME: starts a server whose URL is SCHEME://127.0.0.1:PORT
# and sets SERVER_URL. Another process may take the port between the probe and
# the server's bind; then the server exits and another port is tried.
start_server() {
    local label=$1 scheme=$2
    local attempt port run deadline
    for attempt in 1 2 3; do
        port=$(free_port)
        SERVER_URL=$scheme://127.0.0.1:$port
        run=$PWD/$HOME_DIR/run/$port
        mkdir -p "$run"
        launch "$port" "$run"
        echo "$SERVER_PID" >"$run/pid"

        deadline=$((SECONDS + START_TIMEOUT))
        while running "$SERVER_PID" && ((SECONDS < deadline)); do
            if answers "$SERVER_URL"; then
                echo "$SERVER_URL" >"$HOME_DIR/url"
                echo "$label (pid $SERVER_PID) at $SERVER_URL" >&2
                return
            fi
            sleep 0.05
        done

        if running "$SERVER_PID"; then
            kill "$SERVER_PID"
            die "the $label did not answer at $SERVER_URL within ${START_TIMEOUT}s; its log: $run/log"
        fi
        echo "the $label exited at start (attempt $attempt); its log:" >&2
        cat "$run/log" >&2 || true
        rm -rf "$run"
    done
    die "the $label would not start"
}

# stop_server LABEL COMMAND [URL]: stops the server at URL (default: the last
# one started), but only if its process is still COMMAND, never whatever
# process has since been given its id; then removes its folder.
stop_server() {
    local label=$1 command=$2 url=${3:-}
    if [[ -z $url && -f $HOME_DIR/url ]]; then
        url=$(cat "$HOME_DIR/url")
    fi
    [[ -n $url ]] || die "no $label to stop: give its URL"
    local port=${url##*:}
    port=${port%%/*}
    local run=$HOME_DIR/run/$port
    [[ -f $run/pid ]] || die "no $label was started at $url"

    local pid
    pid=$(cat "$run/pid")
    if ps -p "$pid" -o command= 2>/dev/null | grep -q -- "$command"; then
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
