#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md in one go, on this machine, and
# writes the figures to target/bench-report.txt as well as to the terminal:
#   (a) 10,000 no-op tasks through the executor;
#   (b) word count over the ~1 GB corpus, executor against a one-thread loop;
#   (c) the same word count with Lithops 3.8 on its localhost backend;
#   (d) Monte Carlo pi, 100 tasks of 10 million samples;
#   (g) 10,000 tasks of a trivial WebAssembly module;
#   (h) the word count as a WebAssembly module against the native one;
#   (i) command tasks running `cat`, against a plain spawn loop.
# Fetches the data it needs first (scripts/fetch-data.sh corpus-1g) and builds
# the WebAssembly examples (scripts/build-wasm.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target=${CARGO_TARGET_DIR:-$PWD/target}
report=$target/bench-report.txt
mkdir -p "$target"
scripts/fetch-data.sh corpus-1g >&2
scripts/build-wasm.sh "$target/wasm" >&2
cargo bench --no-run >&2
cargo build --release --example wordcount >&2
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is needed: apt-get install time" >&2; exit 1; }

{
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "rustc:   $(rustc --version)"
    echo
    echo "== (a) no-op tasks"
    cargo bench -q --bench noop
    echo
    echo "== (b) word count, executor against a one-thread loop"
    cargo bench -q --bench wordcount -- data/fetched/corpus-1g/ 64MiB 5
    echo
    echo "== (b) peak memory of the wordcount example on the same corpus"
    /usr/bin/time -f "wordcount example: peak RSS %M KiB, %e s wall" \
        "$target"/release/examples/wordcount data/fetched/corpus-1g/ \
        --output "$target"/bench-wordcount.tsv 2>&1 | tail -1
    echo
    echo "== (c) word count with Lithops (localhost backend, 64 MiB chunks)"
    bench/lithops/run.sh data/fetched/corpus-1g --chunk-size 67108864 --top 3
    echo
    echo "== (d) Monte Carlo pi"
    cargo bench -q --bench pi
    echo
    echo "== (g) WebAssembly task overhead"
    cargo bench -q --bench wasm_overhead
    echo
    echo "== (h) word count, WebAssembly module against native"
    cargo bench -q --bench wasm_wordcount -- data/fetched/corpus-1g/ 64MiB 3 "$target/wasm"
    echo
    echo "== (i) command task overhead"
    cargo bench -q --bench command
} 2>&1 | tee "$report"
echo "report written to $report" >&2
