#!/usr/bin/python3
"""Each test model against its PyTorch twin, end to end.

For every model in twins.MODELS (or those named on the command line): build
it with kiln, draw random inputs, targets and weights (seeded), run the
executable's `predict` and `eval` over 150 samples in batches of 64 (so the
last batch is smaller), and compare with the twin run by PyTorch on the same
weights and data. Floats must agree within rtol 1e-5 (atol 1e-6), integers
exactly. Prints one line per model and `N passed, M failed` at the end.

usage: check_models.py KILN WORKDIR [MODEL ...]
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "runtime"))
sys.path.insert(0, HERE)
import safetensors_util  # noqa: E402
import twins  # noqa: E402
from harness import ROOT, draw, run_checks  # noqa: E402

SAMPLES = 150
RTOL, ATOL = 1e-5, 1e-6
def close(got, want):
    if got.shape != want.shape:
        return f"shape {got.shape} vs {want.shape}"
    if got.dtype.kind in "iu":
        bad = np.count_nonzero(got != want)
        return f"{bad} integers differ" if bad else None
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    tol = ATOL + RTOL * np.abs(want.astype(np.float64))
    # NaN matches NaN only (an embedding index out of range gives NaN rows).
    both_nan = np.isnan(got) & np.isnan(want)
    err[both_nan], tol[both_nan] = 0, 1
    if np.all(err <= tol):
        return None
    i = np.unravel_index(np.argmax(err - tol), err.shape)
    return f"at {tuple(int(k) for k in i)}: {got[i]} vs {want[i]} (error {err[i]:.3g})"


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def check(kiln, workdir, model):
    twin, ranges = twins.MODELS[model]
    stem = os.path.splitext(os.path.basename(model))[0]
    exe = os.path.join(workdir, stem)
    run([kiln, "build", os.path.join(ROOT, model), "-o", exe])
    manifest = json.loads(run([exe, "info", "--json"]))

    gen = torch.Generator().manual_seed(0)
    data = {s["name"]: draw(s, ranges, gen, SAMPLES)
            for s in manifest["inputs"] + manifest["targets"]}
    weights = {p["name"]: draw(p, ranges, gen) for p in manifest["params"]}
    flags = []
    for name, array in data.items():
        path = os.path.join(workdir, f"{stem}.{name}.npy")
        np.save(path, array)
        flags += [f"--{name}", path]
    weights_path = os.path.join(workdir, f"{stem}.safetensors")
    safetensors_util.save(weights_path, weights)

    tensors = {k: torch.from_numpy(v) for k, v in {**data, **weights}.items()}
    want_outputs, want_scalars = twin(tensors)

    problems = []
    input_flags = [f for spec in manifest["inputs"]
                   for f in (f"--{spec['name']}", os.path.join(workdir, f"{stem}.{spec['name']}.npy"))]
    out = os.path.join(workdir, f"{stem}.out.npy")
    run([exe, "predict", "--weights", weights_path, *input_flags, "--output", out])
    names = [o["name"] for o in manifest["outputs"]]
    for name in names:
        path = out if len(names) == 1 else out.replace(".out.npy", f".out.{name}.npy")
        problem = close(np.load(path), want_outputs[name].numpy())
        if problem:
            problems.append(f"output {name}: {problem}")

    if want_scalars:
        line = run([exe, "eval", "--weights", weights_path, *flags]).split()
        got = dict(zip(line[0::2], (float(v) for v in line[1::2])))
        for name, value in want_scalars.items():
            want = float(value)
            if name not in got or abs(got[name] - want) > ATOL + RTOL * abs(want):
                problems.append(f"{name}: {got.get(name)} vs {want}")
    return problems


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    kiln, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    run_checks(sys.argv[3:] or list(twins.MODELS), lambda model: check(kiln, workdir, model))

if __name__ == "__main__":
    main()
