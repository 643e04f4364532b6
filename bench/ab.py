#!/usr/bin/env python3
"""Interleaved A/B of two Kiln executables' own `bench` entry point.

usage: bench/ab.py ROUNDS EXE_A EXE_B -- BENCH_ARGS...
e.g.   bench/ab.py 7 ./old_cnn ./new_cnn -- --batch 64 --steps 30 --threads 1

Each round runs both executables once (alternating which goes first, so a
slow phase of a noisy machine hits both), and takes each run's median step
time; the minimum, first quartile and median of those medians are printed.
On a machine shared with other tenants, compare minima first.
"""
import json
import statistics
import subprocess
import sys


def main() -> int:
    if len(sys.argv) < 5 or sys.argv[4] != "--":
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rounds, a, b, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[5:]
    medians = {a: [], b: []}
    for r in range(rounds):
        for exe in (a, b) if r % 2 == 0 else (b, a):
            out = subprocess.run([exe, "bench"] + args, capture_output=True, text=True, check=True)
            medians[exe].append(json.loads(out.stdout.splitlines()[0])["median_us"])
    for exe in (a, b):
        v = sorted(medians[exe])
        print(f"{exe}: min {v[0]:.1f} us, q1 {v[len(v) // 4]:.1f} us, "
              f"median {statistics.median(v):.1f} us ({rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
