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
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "runtime"))
sys.path.insert(0, HERE)
import safetensors_util  # noqa: E402
import twins  # noqa: E402

SAMPLES = 150
RTOL, ATOL = 1e-5, 1e-6
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


def close(got, want):
    if got.shape != want.shape:
        return f"shape {got.shape} vs {want.shape}"
    if got.dtype.kind in "iu":
        bad = np.count_nonzero(got != want)
        return f"{bad} integers differ" if bad else None
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    tol = ATOL + RTOL * np.abs(want.astype(np.float64))
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
    models = sys.argv[3:] or list(twins.MODELS)
    passed = failed = 0
    for model in models:
        try:
            problems = check(kiln, workdir, model)
        except Exception as e:  # a failed build or run is a failed check
            problems = [str(e)]
        if problems:
            failed += 1
            print(f"FAIL {model}")
            for p in problems:
                print(f"  {p}")
        else:
            passed += 1
            print(f"ok   {model}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
