#!/usr/bin/env python3
"""Counts words in files, independently of CloudButton, to check its results.

Usage: scripts/reference-wordcount.py [--top N] FILE_OR_DIR...

A word is a maximal run of ASCII letters and digits, lowercased; every other
byte separates words. Files are read as bytes, so any encoding works, and each
file is counted on its own: no word joins the end of one file to the start of
the next. Folders are walked recursively, symbolic links not followed.

Prints one `word<TAB>count` line per word, by count descending then word
ascending. Only the standard library is used.
"""

import argparse
import collections
import os
import re
import signal
import sys

WORD = re.compile(rb"[A-Za-z0-9]+")

# Files are read in blocks cut at a separator byte, so memory stays small on
# big inputs and no word is split between two blocks.
BLOCK = 16 * 1024 * 1024


def files_under(path):
    if not os.path.isdir(path):
        yield path
        return
    for folder, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                yield full


def count_file(path, counts):
    with open(path, "rb") as f:
        carry = b""
        while True:
            block = f.read(BLOCK)
            if not block:
                break
            block = carry + block
            # Keep a trailing run of word bytes for the next block: it may go on.
            tail = len(block)
            while tail > 0 and block[tail - 1 : tail].isalnum():  # ASCII only for bytes
                tail -= 1
            carry = block[tail:]
            counts.update(w.lower() for w in WORD.findall(block, 0, tail))
        counts.update(w.lower() for w in WORD.findall(carry))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    parser.add_argument("--top", type=int, help="print only the N most frequent words")
    args = parser.parse_args()
    # Let `| head` end the output quietly.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    counts = collections.Counter()
    for path in args.paths:
        if not os.path.exists(path):
            sys.exit(f"error: {path} does not exist")
        for file in files_under(path):
            count_file(file, counts)

    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if args.top is not None:
        ranked = ranked[: args.top]
    out = sys.stdout.buffer
    for word, count in ranked:
        out.write(word + b"\t" + str(count).encode() + b"\n")


if __name__ == "__main__":
    main()
