#!/usr/bin/python3
"""Large reductions against PyTorch (issue 14): sums, means, the losses and
accuracy over 20M elements (20,000 samples of 1,000) must agree with
PyTorch's float32 results to 1e-6 relative. Summed one element at a time in
float32, mse over 20M ones gave 0.8389 (a float32 sum stops growing at
2^24); PyTorch's cascade sum gives 1.0.

usage: check_reductions.py KILN WORKDIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kilnlib  # noqa: E402
from harness import ROOT, run_checks  # noqa: E402

SAMPLES, FEATURES = 20000, 1000
RTOL = 1e-6


def twin(x, y, c, w):
    h = x * w
    outputs = {"rows": h.sum(dim=1),
               "columns": h.mean(dim=0, keepdim=True) + torch.zeros(x.shape[0], FEATURES)}
    scalars = [F.mse_loss(h, y), h.sum() / 20000000.0,
               F.binary_cross_entropy_with_logits(h, y), F.cross_entropy(h, c),
               (h.argmax(dim=1) == c).float().mean()]
    return outputs, scalars


def check(label):
    kiln, workdir = sys.argv[1], sys.argv[2]
    model = kilnlib.Model(kiln, os.path.join(ROOT, "test/e2e/models/big_sums.kiln"), workdir)
    gen = torch.Generator().manual_seed(7)
    if label == "ones":  # the case: every term is exactly one
        x = np.ones((SAMPLES, FEATURES), np.float32)
        y = np.zeros((SAMPLES, FEATURES), np.float32)
    else:  # values of both signs and magnitudes, to see rounding
        x = (torch.randn(SAMPLES, FEATURES, generator=gen) * 3 + 0.5).numpy()
        y = torch.rand(SAMPLES, FEATURES, generator=gen).numpy()
    c = torch.randint(0, FEATURES, (SAMPLES,), generator=gen).numpy()
    w = np.ones(FEATURES, np.float32)
    rows = np.zeros(SAMPLES, np.float32)
    columns = np.zeros((SAMPLES, FEATURES), np.float32)
    model.call("forward", [x, w], [rows, columns])
    scalars = [np.zeros((), np.float32) for _ in range(5)]
    model.call("loss", [x, y, c, w], scalars)
    want_out, want_scalars = twin(torch.from_numpy(x), torch.from_numpy(y),
                                  torch.from_numpy(c), torch.from_numpy(w))
    problems = []
    for name, got in (("rows", rows), ("columns", columns)):
        want = want_out[name].numpy()
        err = np.max(np.abs(got.astype(np.float64) - want) / (np.abs(want) + 1e-30))
        if err > RTOL:
            problems.append(f"{name}: max relative error {err:.3g}")
    names = ["mse", "sum / 2e7", "bce_with_logits", "cross_entropy", "accuracy"]
    for name, got, want in zip(names, scalars, want_scalars):
        got, want = float(got), float(want)
        if abs(got - want) > RTOL * abs(want):
            problems.append(f"{name}: kiln {got!r}, torch {want!r}")
    return problems


if __name__ == "__main__":
    run_checks(["ones", "random"], check)
