#!/usr/bin/env bash
# Benchmarks of shared state, on this machine, in one run:
#   (j) counter increments per second and barrier round-trip latency for 2 to
#       64 tasks, on the in-memory store (next to std's AtomicI64 and Barrier)
#       and on the Redis store (next to redis-benchmark's INCR with as many
#       clients), against a throwaway redis-server on loopback;
#   (k) k-means on the 60,000 Fashion-MNIST training images: time per
#       iteration with tasks in shared state (in-memory store, one task per
#       core) against the one-thread reference, in alternating rounds of the
#       same number of iterations.
# The report goes to the terminal and to target/bench-state-report.txt.
#
# Usage: scripts/bench-state.sh [ROUNDS] [ITERATIONS]   (default 5 rounds of 30)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${1:-5}
iterations=${2:-30}
target=${CARGO_TARGET_DIR:-$PWD/target}
report=$target/bench-state-report.txt

scripts/fetch-data.sh fashion-mnist >&2
cargo build --release --example kmeans >&2
cargo bench --no-run --bench state >&2
eval "$(scripts/redis-test-server.sh start)"
trap 'scripts/redis-test-server.sh stop >/dev/null 2>&1 || true' EXIT

# Seconds per iteration from a --json run.
per_iteration() {
    python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds_per_iteration"])'
}

{
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "rustc:   $(rustc --version)"
    echo "redis:   $(redis-server --version | cut -d' ' -f3)"
    echo
    echo "== (j) shared objects: counter increments and barrier round trips"
    cargo bench -q --bench state -- "$CLOUDBUTTON_TEST_REDIS_URL"
    echo
    echo "== (k) k-means, $iterations iterations: shared state against the one-thread reference"
    kmeans=$target/release/examples/kmeans
    for round in $(seq 1 "$rounds"); do
        reference=$(CLOUDBUTTON_PROGRESS=never "$kmeans" --reference --max-iterations "$iterations" --json | per_iteration)
        shared=$(CLOUDBUTTON_PROGRESS=never "$kmeans" --max-iterations "$iterations" --json 2>/dev/null | per_iteration)
        python3 -c "import sys; r, s = float(sys.argv[1]), float(sys.argv[2]); print(f'  round {sys.argv[3]}: reference {r*1e3:.1f} ms/iteration, shared state {s*1e3:.1f} ms/iteration, speed-up {r/s:.2f}x')" "$reference" "$shared" "$round"
    done
} 2>&1 | tee "$report"
echo "report written to $report" >&2
