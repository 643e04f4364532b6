"""What the end-to-end checks share: where the repository is, drawing random
data and weights for a manifest's tensors, and running named checks with one
line each and a closing `N passed, M failed`."""
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NP = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64, "u8": np.uint8}


def draw(spec, ranges, gen, samples=None):
    shape = [samples if d == -1 else d for d in spec["shape"]]
    dtype, name = spec["dtype"], spec["name"]
    init = spec.get("init", {})
    if init.get("kind") in ("uniform", "normal"):
        # Parameters start as the model says, at a realistic scale.
        a, b = init["a"], init["b"]
        if init["kind"] == "uniform":
            t = a + (b - a) * torch.rand(shape, generator=gen, dtype=torch.float64)
        else:
            t = a + b * torch.randn(shape, generator=gen, dtype=torch.float64)
        return t.numpy().astype(NP[dtype])
    if dtype in ("f32", "f64"):
        if ranges.get(name) == "unit":
            a = torch.rand(shape, generator=gen, dtype=torch.float64)
        else:
            a = torch.randn(shape, generator=gen, dtype=torch.float64)
        return a.numpy().astype(NP[dtype])
    low, high = ranges.get(name, (0, 256) if dtype == "u8" else (0, 10))
    return torch.randint(low, high, shape, generator=gen).numpy().astype(NP[dtype])



def run_checks(labels, check):
    """Runs check(label) -> list of problems (None: skipped) for each label,
    prints `ok`/`FAIL` lines and the totals, and exits 1 on any failure or
    when nothing ran (a check that skips everything proves nothing)."""
    passed = failed = 0
    for label in labels:
        try:
            problems = check(label)
        except Exception as e:  # a failed build or run is a failed check
            problems = [str(e)]
        if problems is None:
            continue
        if problems:
            failed += 1
            print(f"FAIL {label}")
            for p in problems:
                print(f"  {p}")
        else:
            passed += 1
            print(f"ok   {label}")
    print(f"{passed} passed, {failed} failed")
    if passed + failed == 0:
        print("FAIL no check ran: every label was skipped")
        sys.exit(1)
    sys.exit(1 if failed else 0)
