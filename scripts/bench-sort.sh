#!/usr/bin/env bash
# The sort benchmark, on this machine, in one run: RECORDS gensort ASCII
# records (100 bytes each; 10 million make 1 GB, written once by
# `cloudbutton gensort -a`) sorted by `cloudbutton sort` on the local backend
# and by GNU sort (`LC_ALL=C sort --parallel=W -S BOUND`) under the same
# memory bound: W workers times MEMORY per worker, W being the cores. Each
# round runs both, alternating, and records wall time and peak RSS
# (/usr/bin/time); every output is checked with `cloudbutton valsort`
# against the input's record count and checksum.
# The report goes to the terminal and to target/bench-sort-report.txt.
#
# Usage: scripts/bench-sort.sh [RECORDS] [MEMORY] [ROUNDS]
#        (default 10000000 records, 256MiB per worker, 3 rounds)
# The data goes to $BENCH_SORT_DIR (default target/bench-sort), which needs
# room for three copies of the input.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

records=${1:-10000000}
memory=${2:-256MiB}
rounds=${3:-3}
target=${CARGO_TARGET_DIR:-$PWD/target}
dir=${BENCH_SORT_DIR:-$target/bench-sort}
report=$target/bench-sort-report.txt
workers=${CLOUDBUTTON_WORKERS:-$(nproc)}

cargo build --release --bin cloudbutton >&2
cloudbutton=$target/release/cloudbutton
export CLOUDBUTTON_PROGRESS=never

# The memory bound of the whole run, in bytes (GNU sort reads a bare -S
# number as KiB, hence the b suffix below).
bytes=$(python3 -c '
import re, sys
text, workers = sys.argv[1], int(sys.argv[2])
number, unit = re.fullmatch(r"(\d+)\s*([KMGT]i?B|B)?", text).groups()
scale = {None: 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit]
print(int(number) * scale * workers)' "$memory" "$workers")

mkdir -p "$dir"
input=$dir/input-$records.dat
if [ ! -f "$input" ]; then
    "$cloudbutton" gensort -a "$records" "$input.partial" --quiet >&2
    mv "$input.partial" "$input"
fi
checksum=$("$cloudbutton" valsort --quiet --checksum-only "$input" | sed -n 's/^Checksum: //p')

# Runs a command under /usr/bin/time; prints "seconds peak_kib".
measure() {
    local times=$dir/time.txt
    /usr/bin/time -f '%e %M' -o "$times" "$@" >/dev/null 2>"$dir/stderr.txt" || {
        cat "$dir/stderr.txt" >&2
        return 1
    }
    cat "$times"
}

# Checks a sorted output: in order, with the input's count and checksum.
check() {
    "$cloudbutton" valsort --quiet --expect-records "$records" --expect-checksum "$checksum" \
        "$@" >/dev/null
}

{
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "rustc:   $(rustc --version)"
    echo "sort:    $(sort --version | head -1)"
    echo "input:   $records gensort ASCII records, $(stat -c %s "$input") bytes, checksum $checksum"
    echo "bound:   $workers workers x $memory = $bytes bytes"
    echo
    for round in $(seq 1 "$rounds"); do
        rm -rf "$dir/cloudbutton-out" "$dir/gnu-out.dat"
        # Each run starts with no dirty pages of the other's output to write back.
        sync
        read -r cb_seconds cb_kib < <(measure "$cloudbutton" sort --quiet --input "$input" \
            --output "$dir/cloudbutton-out" --format gensort --memory-per-worker "$memory")
        check "$dir/cloudbutton-out/"
        rm -rf "$dir/cloudbutton-out"
        sync
        read -r gnu_seconds gnu_kib < <(measure env LC_ALL=C sort --parallel="$workers" \
            -S "${bytes}b" -T "$dir" -o "$dir/gnu-out.dat" "$input")
        check "$dir/gnu-out.dat"
        python3 -c '
import sys
r, cs, ck, gs, gk, bound = sys.argv[1:]
cs, gs = float(cs), float(gs)
ck, gk, bound = int(ck) * 1024, int(gk) * 1024, int(bound)
mib = lambda b: f"{b / 2**20:.0f} MiB"
print(f"  round {r}: cloudbutton sort {cs:.2f} s, peak RSS {mib(ck)}; "
      f"GNU sort {gs:.2f} s, peak RSS {mib(gk)}; bound {mib(bound)}; speed-up {gs / cs:.2f}x")
' "$round" "$cb_seconds" "$cb_kib" "$gnu_seconds" "$gnu_kib" "$bytes"
    done
    rm -rf "$dir/cloudbutton-out" "$dir/gnu-out.dat"
} 2>&1 | tee "$report"
echo "report written to $report" >&2
