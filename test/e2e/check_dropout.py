#!/usr/bin/python3
"""Dropout in training, through the compiled train step of models/dropout.kiln.

Kiln's mask cannot match torch's random stream, so these check what must hold
whatever the stream: with x = w = 1 the first dropout's output y is 0 or
1/(1-p), and the loss mean(y), the metrics mean(y*y) and mean(y*z) and the
SGD(lr=1) update of w expose the masks:
- forward (predict) is the identity; the train step is not;
- one seed gives the same numbers twice, another seed others;
- kept elements are scaled by exactly 1/(1-p) (mean(y*y) / mean(y));
- the kept fraction is 1 - p within 5 standard deviations, as torch's;
- the two dropouts draw independent masks (mean(y*z) near (1-p)^2 s^2);
- the gradient replays the forward mask: each column of w's update counts
  its kept elements (an integer times s / numel), summing to the loss.

usage: check_dropout.py KILN WORKDIR
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kilnlib  # noqa: E402
from harness import ROOT, run_checks  # noqa: E402

P, ROWS, COLS = 0.5, 64, 1000  # p = 0.5: y is 0 or 2, so f32 sums stay exact
SCALE = 1 / (1 - P)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kiln, workdir = sys.argv[1], sys.argv[2]
    lib = kilnlib.Model(kiln, os.path.join(ROOT, "test/e2e/models/dropout.kiln"),
                        os.path.join(workdir, "lib"))
    m = lib.manifest
    x = np.ones((ROWS, COLS), np.float32)
    w = np.ones(COLS, np.float32)

    def step(seed):
        hyper = {"lr": np.array(1.0), "step": np.array(1.0), "seed": np.array(float(seed)),
                 "share": np.array(1.0), "offset": np.array(0.0)}
        new_w = w.copy()  # updated in place
        scalars = [np.zeros((), np.float32) for _ in range(3)]
        lib.call("train_step", [x, new_w] + [hyper[h] for h in m["hyper"]], scalars)
        return new_w, [float(s) for s in scalars]

    def check(label):
        problems = []
        if label == "predict is the identity":
            y = np.zeros_like(x)
            lib.call("forward", [x, w], [y])
            if not np.array_equal(y, x):
                problems.append(f"forward changed {np.count_nonzero(y != x)} elements")
        elif label == "seeded and repeatable":
            a, b, c = step(12345), step(12345), step(777)
            if a[1] != b[1] or not np.array_equal(a[0], b[0]):
                problems.append(f"seed 12345 twice: {a[1]} vs {b[1]}")
            if a[1] == c[1]:
                problems.append(f"seeds 12345 and 777 give the same loss {a[1]}")
        elif label == "mask rate and scale as torch's":
            torch.manual_seed(0)
            ty = torch.nn.functional.dropout(torch.ones(ROWS, COLS), P, training=True)
            want_kept = float((ty != 0).float().mean())
            sigma = (P * (1 - P) / (ROWS * COLS)) ** 0.5
            for seed in (1, 2, 3):
                _, (loss, square, both) = step(seed)
                kept = loss / SCALE
                if abs(square / loss - SCALE) > 1e-5 * SCALE:
                    problems.append(f"seed {seed}: kept elements scaled by {square / loss}, not {SCALE}")
                if abs(kept - (1 - P)) > 5 * sigma:
                    problems.append(f"seed {seed}: kept fraction {kept} (torch's {want_kept}, "
                                    f"expected {1 - P} +- {5 * sigma:.4f})")
                # Independent masks: E[y z] = (1-p)^2 s^2 = 1; one shared mask would give s.
                if abs(both - 1.0) > 0.02:
                    problems.append(f"seed {seed}: mean(y*z) = {both}: the masks are not independent")
            if abs(want_kept - (1 - P)) > 5 * sigma:
                problems.append(f"torch's kept fraction {want_kept} is off: the check is wrong")
        elif label == "the gradient replays the mask":
            new_w, (loss, _, _) = step(99)
            counts = (w - new_w) * (ROWS * COLS) / SCALE
            if np.abs(counts - np.round(counts)).max() > 1e-2:
                problems.append("w's update is not a whole number of kept elements per column")
            if abs(float(np.round(counts).sum()) * SCALE / (ROWS * COLS) - loss) > 1e-5:
                problems.append(f"kept elements in the gradient {np.round(counts).sum()} vs "
                                f"the forward's {loss * ROWS * COLS / SCALE}")
        return problems

    run_checks(["predict is the identity", "seeded and repeatable",
                "mask rate and scale as torch's", "the gradient replays the mask"], check)


if __name__ == "__main__":
    main()
