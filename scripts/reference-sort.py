#!/usr/bin/env python3
"""Sort a CSV file by one column, independently of CloudButton.

Usage: scripts/reference-sort.py CSV COLUMN TYPE > SORTED

TYPE is string, int or float. Writes the header, then every row as it is in
the file (its bytes unchanged, quoted newlines and CRLF ends too; a last row
without a newline gets one), ordered by the column's value: ints and floats
numerically (-0.0 equal to 0.0), strings by their UTF-8 bytes. Rows whose
value is empty, lacks, or does not parse (NaN included) come after all
others, ordered among themselves by the field's text. Rows with equal keys
keep their input order (the sort is stable). Only the standard library is
used.
"""

import csv
import math
import sys


def parse(text, kind):
    """The key of a field that is there: (0, value), or None if it does not parse."""
    if kind == "string":
        return (0, text.encode()) if text else None
    stripped = text.strip(" \t\r\n\f\v")
    if not stripped or "_" in stripped:
        return None
    try:
        value = int(stripped) if kind == "int" else float(stripped)
    except ValueError:
        return None
    if kind == "int" and not -(2**63) <= value < 2**63:
        return None
    if kind == "float" and math.isnan(value):
        return None
    return (0, value)


def records(f):
    """Each row's fields and its raw text, by watching which lines csv consumes."""
    consumed = []

    def lines():
        for line in f:
            consumed.append(line)
            yield line

    for row in csv.reader(lines()):
        raw = "".join(consumed)
        consumed.clear()
        yield row, raw


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("string", "int", "float"):
        sys.exit(__doc__.strip().splitlines()[2])
    path, column, kind = sys.argv[1:]

    with open(path, newline="", encoding="utf-8") as f:
        rows = records(f)
        header, header_raw = next(rows, (None, ""))
        if header is None:
            return
        if column not in header:
            sys.exit(f"error: {path} has no column {column}")
        index = header.index(column)
        keyed = []
        for row, raw in rows:
            text = row[index] if index < len(row) else None
            key = parse(text, kind) if text is not None else None
            if key is None:
                key = (1, (text or "").encode())
            keyed.append((key, raw))

    keyed.sort(key=lambda pair: pair[0])
    out = sys.stdout
    for raw in [header_raw] + [raw for _, raw in keyed]:
        out.write(raw if raw.endswith("\n") else raw + "\n")


if __name__ == "__main__":
    sys.stdout.reconfigure(newline="")
    main()
