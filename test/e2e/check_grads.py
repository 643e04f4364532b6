#!/usr/bin/python3
"""Gradients of compiled models against torch.autograd and finite differences.

For every model with a loss (twins.MODELS and twins.GRAD_MODELS): compile it
to a shared library, call kiln_loss_grad on one batch of 13 random samples,
and compare the loss and every parameter's gradient with what torch.autograd
computes on the twin: |kiln - torch| <= 1e-5 * |torch| + 4e-6 * max|torch|
element-wise (float32 reassociates sums, so a tiny absolute slack scaled to
the tensor is allowed). For f64 models, also central differences of
kiln_loss (step 1e-6) at a few elements of each parameter must agree with
kiln's gradient within 1e-6 relative. A model named "MODEL in f64" is MODEL's
Kiln IR with every f32 made f64 (so layers, whose parameters the language
makes f32, get the finite-difference check too).

usage: check_grads.py KILN WORKDIR [MODEL ...]
"""
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kilnlib  # noqa: E402
import twins  # noqa: E402
from harness import NP, ROOT, draw, run_checks  # noqa: E402

SAMPLES = 13


def scalar_results(manifest):
    dtype = NP[manifest.get("scalar_dtype", "f32")]
    count = int(manifest["loss"]) + len(manifest["metrics"])
    return [np.zeros((), dtype) for _ in range(count)]


def mismatch(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return f"shape {got.shape} vs {want.shape}"
    err = np.abs(got - want)
    # 1e-5 relative, and a floor of 4e-6 of the tensor's largest value for
    # elements that cancel to about zero: BatchNorm makes bn2.bias's gradient
    # in batchnorm.kiln a sum whose exact value is 0, and PyTorch's own f32
    # result for it was 1.16e-8 on one machine and -1.86e-8 on another
    # (1.8e-6 of the tensor's largest, 0.0169).
    tol = 1e-5 * np.abs(want) + 4e-6 * max(np.abs(want).max(initial=0.0), 1e-30)
    if np.all(err <= tol):
        return None
    i = np.unravel_index(np.argmax(err - tol), err.shape)
    return f"at {tuple(int(k) for k in i)}: {got[i]} vs {want[i]}"


F64 = " in f64"


def source_of(kiln, workdir, model):
    """The model file, or for "MODEL in f64" its Kiln IR (--emit=kiln) with
    every f32 made f64: the language gives layers f32 parameters, the IR's
    ops take either, and `kiln build` starts from a .mlir file's IR."""
    path = os.path.join(ROOT, model.removesuffix(F64))
    if not model.endswith(F64):
        return path
    text = subprocess.run([kiln, "build", path, "--emit=kiln"], check=True,
                          capture_output=True, text=True, env=kilnlib.tools_env()).stdout
    stem = os.path.splitext(os.path.basename(path))[0]
    out = os.path.join(workdir, stem + "64.mlir")
    os.makedirs(workdir, exist_ok=True)
    with open(out, "w") as f:
        f.write(text.replace("f32", "f64"))
    return out


def check(kiln, workdir, model, twin, ranges):
    lib = kilnlib.Model(kiln, source_of(kiln, workdir, model), os.path.join(workdir, "lib"))
    m = lib.manifest
    if not m["loss"]:
        return None  # nothing to differentiate
    gen = torch.Generator().manual_seed(1)
    data = [draw(s, ranges, gen, SAMPLES) for s in m["inputs"] + m["targets"]]
    params = [draw(p, ranges, gen) for p in m["params"]]
    scalars = scalar_results(m)
    # Gradients of the trained parameters; buffers (BatchNorm's running
    # statistics) are arguments only.
    trained = [p for p in m["params"] if not p.get("buffer")]
    grads = [np.zeros(p["shape"], NP[p["dtype"]]) for p in trained]
    lib.call("loss_grad", data + params, scalars + grads)

    names = [s["name"] for s in m["inputs"] + m["targets"]]
    tensors = {n: torch.from_numpy(a) for n, a in zip(names, data)}
    leaves = {p["name"]: torch.from_numpy(a.copy()) if p.get("buffer")
              else torch.from_numpy(a.copy()).requires_grad_() for p, a in zip(m["params"], params)}
    # The gradient is the training one: BatchNorm in train mode.
    _, want = twin({**tensors, **leaves, "__training__": True})
    want["loss"].backward()

    problems = []
    if mismatch(scalars[0], want["loss"].detach().numpy()):
        problems.append(f"loss: {scalars[0]} vs {float(want['loss'])}")
    for p, g in zip(trained, grads):
        ref = leaves[p["name"]].grad
        ref = np.zeros_like(g) if ref is None else ref.numpy()
        problem = mismatch(g, ref)
        if problem:
            problems.append(f"{p['name']}.grad {problem}")

    if all(p["dtype"] == "f64" for p in m["params"]):
        problems += finite_differences(lib, data, params, grads)
    return problems


def finite_differences(lib, data, params, grads, step=1e-6, per_param=6):
    m = lib.manifest
    rng = np.random.default_rng(2)

    def loss_at(values):
        scalars = scalar_results(m)
        lib.call("loss", data + values, scalars)
        return float(scalars[0])

    problems = []
    for k, (spec, g) in enumerate(zip(m["params"], grads)):
        for flat in rng.choice(g.size, size=min(per_param, g.size), replace=False):
            index = np.unravel_index(flat, g.shape)
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[k][index] += step
            minus[k][index] -= step
            numeric = (loss_at(plus) - loss_at(minus)) / (2 * step)
            if abs(numeric - g[index]) > 1e-6 * max(1.0, abs(numeric)):
                problems.append(f"{spec['name']}{list(index)}: gradient {g[index]} vs "
                                f"finite difference {numeric}")
    return problems


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    kiln, workdir = sys.argv[1], sys.argv[2]
    models = {**twins.MODELS, **twins.GRAD_MODELS}
    run_checks(sys.argv[3:] or list(models),
               lambda model: check(kiln, workdir, model, *models[model]))

if __name__ == "__main__":
    main()
