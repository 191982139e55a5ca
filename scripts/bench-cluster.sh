#!/usr/bin/env bash
# Benchmarks of cluster mode, on this machine over loopback, in one run:
#   (e) no-op tasks through the Redis queue with 1, 2 and 4 worker
#       processes: tasks per second and the time per task;
#   (f) the word count of the ~1 GB corpus on 2 worker processes of one slot
#       each, against the local backend with 2 threads, alternating rounds.
# A throwaway redis-server (scripts/redis-test-server.sh) and a shared
# directory under target/ are made for it and removed at the end. The report
# goes to the terminal and to target/bench-cluster-report.txt.
#
# Usage: scripts/bench-cluster.sh [ROUNDS]     (default 3 rounds of each)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${1:-3}
target=${CARGO_TARGET_DIR:-$PWD/target}
report=$target/bench-cluster-report.txt
shared=$target/bench-cluster-shared
workers_log=$target/bench-cluster-workers.log
corpus=data/fetched/corpus-1g

scripts/fetch-data.sh corpus-1g >&2
cargo build --release --bin cloudbutton --example wordcount >&2
cargo bench --no-run --bench noop >&2
noop=$(cargo bench --no-run --bench noop --message-format=json 2>/dev/null |
    python3 -c 'import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("executable") and message["target"]["name"] == "noop":
        print(message["executable"])')

workers=()
stop_workers() {
    for pid in "${workers[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${workers[@]}"; do wait "$pid" 2>/dev/null || true; done
    workers=()
}
cleanup() {
    stop_workers
    [[ -n ${CLOUDBUTTON_TEST_REDIS_URL:-} ]] && scripts/redis-test-server.sh stop >/dev/null 2>&1
    rm -rf "$shared"
}
trap cleanup EXIT
eval "$(scripts/redis-test-server.sh start)"
redis=$CLOUDBUTTON_TEST_REDIS_URL

# start_workers N SLOTS NAMESPACE: N worker processes of SLOTS slots each.
start_workers() {
    local i
    for ((i = 1; i <= $1; i++)); do
        "$target"/release/cloudbutton worker --redis "$redis" --storage "$shared" \
            --allow-program any --concurrency "$2" --namespace "$3" --name "w$i" \
            2>>"$workers_log" &
        workers+=($!)
    done
    # Wait until every worker has said it is alive.
    local deadline=$((SECONDS + 30))
    until (($(redis-cli -u "$redis" hlen "$3:workers") >= $1)); do
        ((SECONDS < deadline)) || { echo "error: the workers did not start" >&2; exit 1; }
        sleep 0.1
    done
}

cluster_env() {
    echo CLOUDBUTTON_BACKEND=redis CLOUDBUTTON_REDIS_URL="$redis" \
        CLOUDBUTTON_STORAGE="$shared" CLOUDBUTTON_NAMESPACE="$1" CLOUDBUTTON_PROGRESS=never
}

mkdir -p "$shared"
: >"$workers_log"
{
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "redis:   $(redis-server --version | cut -d' ' -f3), on loopback"
    echo
    echo "== (e) no-op tasks through the queue, 10,000 a round, $rounds rounds"
    for n in 1 2 4; do
        start_workers "$n" 2 "bench-noop-$n"
        echo "-- $n worker process(es) of 2 slots"
        env $(cluster_env "bench-noop-$n") "$noop" 10000 "$rounds" | sed 's/^/   /'
        stop_workers
    done
    echo
    echo "== (f) word count of $corpus: 2 workers of 1 slot against 2 local threads"
    start_workers 2 1 bench-wordcount
    rm -f "$target/bench-cluster-rounds.txt"
    # Once untimed, so that the workers have fetched and started the program.
    env $(cluster_env bench-wordcount) "$target"/release/examples/wordcount data/text/ \
        --output "$target"/bench-cluster.tsv >/dev/null 2>&1
    for ((round = 1; round <= rounds; round++)); do
        start=$(date +%s.%N)
        CLOUDBUTTON_PROGRESS=never CLOUDBUTTON_WORKERS=2 "$target"/release/examples/wordcount \
            "$corpus" --output "$target"/bench-local.tsv >/dev/null 2>&1
        local_s=$(echo "$(date +%s.%N) - $start" | bc)
        start=$(date +%s.%N)
        env $(cluster_env bench-wordcount) "$target"/release/examples/wordcount \
            "$corpus" --output "$target"/bench-cluster.tsv >/dev/null 2>&1
        cluster_s=$(echo "$(date +%s.%N) - $start" | bc)
        cmp -s "$target"/bench-local.tsv "$target"/bench-cluster.tsv ||
            { echo "error: the counts differ between the local run and the workers" >&2; exit 1; }
        printf '   round %d: local %.3f s, 2 workers %.3f s (%.2fx local)\n' \
            "$round" "$local_s" "$cluster_s" "$(echo "$cluster_s / $local_s" | bc -l)"
        echo "$local_s $cluster_s" >>"$target/bench-cluster-rounds.txt"
    done
    stop_workers
    # The machine's noise only ever slows a run down: compare the best of
    # each, and the median of the rounds' own ratios.
    python3 - "$target/bench-cluster-rounds.txt" <<'PY'
import statistics, sys
rounds = [tuple(map(float, line.split())) for line in open(sys.argv[1])]
best_local, best_cluster = min(r[0] for r in rounds), min(r[1] for r in rounds)
median = statistics.median(r[1] / r[0] for r in rounds)
print(f"   best local {best_local:.3f} s, best on 2 workers {best_cluster:.3f} s: "
      f"{best_cluster / best_local:.2f}x local (median of the rounds {median:.2f}x)")
PY
} 2>&1 | tee "$report"
echo "report written to $report" >&2
