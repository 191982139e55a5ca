"""Word count with Lithops on one machine, the peer that CloudButton is timed against.

Usage: python wordcount.py INPUT_DIR... [--chunk-size BYTES] [--workers N]
                                       [--top N] [--output FILE]

Runs Lithops' map_reduce with the localhost compute backend and localhost
storage: every file under the inputs (walked recursively) is split by Lithops
into chunks of --chunk-size bytes aligned to newlines (obj_chunk_size), one map
task a chunk counts its words, and a single reducer adds the counts up.

A word is a maximal run of ASCII letters and digits, lowercased, exactly as in
scripts/reference-wordcount.py, so that --output can be compared with that
script's output byte for byte.

Prints the wall time of the job (from submission to the reduced result, not
counting interpreter start-up) and the most frequent words.
"""

import argparse
import collections
import os
import re
import sys
import time

import lithops

WORD = re.compile(rb"[A-Za-z0-9]+")


def count_words(obj):
    """Map task: the counts of one chunk, as a plain dict."""
    data = obj.data_stream.read()
    counts = collections.Counter(w.lower() for w in WORD.findall(data))
    return {w.decode("ascii"): n for w, n in counts.items()}


def add_counts(results):
    """Reduce task: the sum of the counts of every chunk."""
    total = collections.Counter()
    for counts in results:
        total.update(counts)
    return dict(total)


def input_files(paths):
    """Absolute paths of every file under the inputs, in a stable order."""
    files = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.isfile(path):
            files.append(path)
            continue
        if not os.path.isdir(path):
            sys.exit(f"error: {path} does not exist")
        for folder, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(folder, name)
                # Lithops cannot split an empty object, and follows no links.
                if os.path.isfile(full) and not os.path.islink(full) and os.path.getsize(full):
                    files.append(full)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", metavar="INPUT_DIR")
    parser.add_argument("--chunk-size", type=int, default=64 * 1024 * 1024, metavar="BYTES")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: one per core)")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--output", metavar="FILE",
                        help="also write every count as word<TAB>count lines, "
                             "ordered as scripts/reference-wordcount.py orders them")
    args = parser.parse_args()

    files = input_files(args.inputs)
    if not files:
        sys.exit("error: no non-empty file under the inputs")
    size = sum(os.path.getsize(f) for f in files)

    # The whole configuration is here, so that no ~/.lithops/config is read.
    # The workers must run this interpreter (the venv's, where Lithops is),
    # not whatever "python" the PATH finds first, which is Lithops' default.
    config = {
        "lithops": {"backend": "localhost", "storage": "localhost", "log_level": "WARNING"},
        "localhost": {"runtime": sys.executable, "worker_processes": args.workers},
    }

    start = time.perf_counter()
    executor = lithops.FunctionExecutor(config=config, backend="localhost", storage="localhost")
    executor.map_reduce(
        count_words,
        [{"obj": f} for f in files],
        add_counts,
        obj_chunk_size=args.chunk_size,
    )
    counts = executor.get_result()
    wall = time.perf_counter() - start
    tasks = len(executor.futures) - 1
    executor.clean()

    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    print(
        f"lithops {lithops.__version__}: {len(files)} files, {size} bytes, "
        f"chunk size {args.chunk_size}, {tasks} map tasks, {args.workers} workers"
    )
    print(f"wall time: {wall:.2f} s ({size / wall / 1e6:.1f} MB/s)")
    print(f"words: {sum(counts.values())} ({len(counts)} distinct)")
    for word, n in ranked[: args.top]:
        print(f"{word}\t{n}")

    if args.output:
        with open(args.output, "w", encoding="ascii") as out:
            for word, n in ranked:
                out.write(f"{word}\t{n}\n")


if __name__ == "__main__":
    main()
