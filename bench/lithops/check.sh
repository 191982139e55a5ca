#!/usr/bin/env bash
# Compares the Lithops word count with scripts/reference-wordcount.py on
# small inputs, and prints every difference.
#
# Usage: bench/lithops/check.sh
#
# The inputs: data/text/moby-dick.txt in 100 kB chunks; the 1981 State of the
# Union address, one line of 217 kB, in 50 kB chunks (a line longer than a
# chunk plus Lithops' 128 KiB read-ahead); and two generated files in 100 kB
# chunks, one that does not end in a newline and one with a 497 kB line.
# Exits non-zero if any count differs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Deterministic text: five words, one newline every ten words, or none.
python3 - "$tmp" <<'PY'
import random
import sys

random.seed(1)
words = [b"alpha", b"beta", b"gamma", b"delta", b"omega42"]


def text(n, words_per_line):
    out = []
    for i in range(n):
        out.append(random.choice(words))
        out.append(b"\n" if i % words_per_line == words_per_line - 1 else b" ")
    return b"".join(out)


with open(f"{sys.argv[1]}/no-final-newline.txt", "wb") as f:
    f.write(text(60000, 10).rstrip(b"\n ") + b" lastword")
with open(f"{sys.argv[1]}/long-line.txt", "wb") as f:
    f.write(text(80000, 10**9).rstrip() + b"\n" + text(2000, 10))
PY

status=0
while read -r input chunk; do
    name="$(basename "$input") in $chunk-byte chunks"
    "$root/scripts/reference-wordcount.py" "$input" >"$tmp/expected"
    "$here/run.sh" "$input" --chunk-size "$chunk" --top 0 --output "$tmp/actual" >/dev/null
    if cmp -s "$tmp/expected" "$tmp/actual"; then
        echo "$name: same counts"
    else
        status=1
        echo "$name: counts differ (< reference, > lithops):"
        diff "$tmp/expected" "$tmp/actual" | head -n 20 || true
        awk -F '\t' '{ n += $2 } END { printf "words: reference %d, ", n }' "$tmp/expected"
        awk -F '\t' '{ n += $2 } END { printf "lithops %d\n", n }' "$tmp/actual"
    fi
done <<EOF
$root/data/text/moby-dick.txt 100000
$root/data/text/sotu/1981-jimmy-carter.txt 50000
$tmp/no-final-newline.txt 100000
$tmp/long-line.txt 100000
EOF
exit $status
