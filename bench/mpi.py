#!/usr/bin/python3
"""Data-parallel training's scaling: steps per second with K = 1 and 2 MPI
processes, and the all-reduce's share of a step (issue 15; not in CI).

For each model: one epoch on the first --samples Fashion-MNIST images with
global batch 64, run as a user runs it: without mpirun at --threads 1 and 2,
and under `mpirun -np K` (K = 1, 2) at --threads 1 per rank. Steps per
second come from the epoch's `seconds` in --metrics (the loop alone, not
start-up); the all-reduce's share from the line rank 0 prints at the end
(its time in kiln_all_reduce_mean over its time in kiln_train_step, which
includes waiting for the slower rank). Each configuration runs --repeat
times; the median is printed.

usage: bench/mpi.py KILN [--samples N] [--repeat R] [--models mlp,cnn]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
MODELS = {"mlp": "examples/fashion_mlp.kiln", "cnn": "examples/fashion_cnn.kiln"}
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]
BATCH = 64


def idx(path):
    import gzip
    with gzip.open(path) as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kiln")
    ap.add_argument("--samples", type=int, default=6400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--models", default="mlp,cnn")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="kiln-mpi-bench-")
    W = lambda n: os.path.join(work, n)  # noqa: E731
    np.save(W("img.npy"), idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))[:a.samples])
    np.save(W("lbl.npy"), idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))[:a.samples]
            .astype(np.int64))
    steps = -(-a.samples // BATCH)
    print(f"one epoch of {a.samples} samples, batch {BATCH} ({steps} steps), "
          f"median of {a.repeat}; {os.cpu_count()} cores")
    for model in a.models.split(","):
        exe = W(model)
        subprocess.run([a.kiln, "build", os.path.join(ROOT, MODELS[model]), "-o", exe], check=True)
        configs = [("1 process, 1 thread", None, 1), ("1 process, 2 threads", None, 2),
                   ("mpirun -np 1, 1 thread", 1, 1), ("mpirun -np 2, 1 thread each", 2, 1)]
        base = None
        for label, k, threads in configs:
            rates, shares = [], []
            for _ in range(a.repeat):
                cmd = ([*MPIRUN, "-np", str(k)] if k else []) + [
                    exe, "train", "--image", W("img.npy"), "--label", W("lbl.npy"),
                    "--epochs", "1", "--batch", str(BATCH), "--threads", str(threads),
                    "--metrics", W("m.jsonl")]
                p = subprocess.run(cmd, capture_output=True, text=True, check=True)
                epoch = [json.loads(l) for l in open(W("m.jsonl")) if '"step"' not in l][-1]
                rates.append(steps / epoch["seconds"])
                m = re.search(r"all-reduce took .* \(([0-9.]+)%\)", p.stdout)
                if m:
                    shares.append(float(m.group(1)))
            rate = statistics.median(rates)
            base = base or rate
            share = f", all-reduce {statistics.median(shares):.1f}% of a step" if shares else ""
            print(f"{model:4} {label:28} {rate:7.1f} steps/s  x{rate / base:.2f}{share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
