#!/usr/bin/python3
"""Training trajectories of compiled train steps against torch.optim.

For each model and optimizer below: compile the model with that optimizer in
its train block, then run 24 steps (45 samples in batches of 8, so every
epoch ends with a batch of 5; no shuffling; 4 epochs) twice from the same
initial weights: calling the compiled kiln_train_step, and running the
PyTorch twin with torch.optim. Every parameter after training must agree
within 1e-4 relative (|kiln - torch| <= 1e-4 * |torch| + 1e-6 * max|torch|).

Adam, AdamW and RMSprop run on the small MLP, not on the 200k-weight
Fashion-MNIST one: among
that many weights a few have gradients that cancel to rounding noise
(1e-8 against 1e-3 in the same row), and Adam's first steps move a weight by
about lr * g / (|g| + eps) whatever g's size, so noise-level differences in
summation order (ours or another BLAS's) become 1e-3 relative differences.

usage: check_training.py KILN WORKDIR
With KILN_E2E_QUICK=1 in the environment (the sanitized run), only the
first four train blocks (SGD and Adam) run.
"""
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kilnlib  # noqa: E402
import twins  # noqa: E402
from harness import ROOT, draw, run_checks  # noqa: E402

SAMPLES, BATCH, EPOCHS = 45, 8, 4
MODELS = ["test/e2e/models/mlp.kiln", "test/e2e/models/regression.kiln",
          "test/e2e/models/two_inputs.kiln", "examples/fashion_mlp.kiln",
          "test/e2e/models/cnn.kiln", "test/e2e/models/rnn.kiln",
          "test/e2e/models/batchnorm.kiln", "test/e2e/models/sequence.kiln"]
# Each key is the train block's text (one or more settings, ";"-separated);
# each value builds the twin's torch.optim optimizer and says whether
# torch.nn.utils.clip_grad_norm_ runs before each step (its max_norm, or None).
OPTIMIZERS = {
    "optimizer = SGD(lr=0.05)": (lambda ps: torch.optim.SGD(ps, lr=0.05), None),
    "optimizer = SGD(lr=0.05, momentum=0.9, weight_decay=0.01)":
        (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01), None),
    "optimizer = Adam(lr=0.01)": (lambda ps: torch.optim.Adam(ps, lr=0.01), None),
    "optimizer = Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.01)":
        (lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
         None),
    "optimizer = SGD(lr=0.05, momentum=0.9, nesterov=true)":
        (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), None),
    "optimizer = AdamW(lr=0.01)": (lambda ps: torch.optim.AdamW(ps, lr=0.01), None),
    "optimizer = AdamW(lr=0.01, beta1=0.8, eps=1e-6, weight_decay=0.1)":
        (lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.999), eps=1e-6,
                                      weight_decay=0.1), None),
    "optimizer = RMSprop(lr=0.01)": (lambda ps: torch.optim.RMSprop(ps, lr=0.01), None),
    "optimizer = RMSprop(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.8, weight_decay=0.01)":
        (lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-6, momentum=0.8,
                                        weight_decay=0.01), None),
    "optimizer = SGD(lr=0.05, momentum=0.9); clip_grad_norm = 0.5":
        (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9), 0.5),
}
# Adam-like updates move each weight by about lr whatever its gradient, so on
# the 200k-weight Fashion-MNIST MLP they magnify rounding noise (docstring).
SCALE_FREE = ("Adam", "AdamW", "RMSprop")
# The first four (SGD, Adam) run on every model; the rest, whose gradients
# are the same, on three models that between them have every kind of layer
# but convolution, to keep the check's time down.
FEW_MODELS = ["test/e2e/models/mlp.kiln", "test/e2e/models/two_inputs.kiln",
              "test/e2e/models/rnn.kiln"]


def optimizer_name(settings):
    return re.search(r"optimizer = (\w+)", settings).group(1)


def optimizer_lr(settings):
    return float(re.search(r"\blr=([0-9.e-]+)", settings).group(1))


def with_optimizer(source, settings, path):
    """The model file with its train block replaced by one with `settings`."""
    text = open(source).read()
    name = re.search(r"^model\s+(\w+)", text, re.M).group(1)
    text = re.sub(r"^train\s+\w+\s*\{.*?^\}", "", text, flags=re.S | re.M)
    lines = "".join(f"  {line.strip()}\n" for line in settings.split(";"))
    text += f"\ntrain {name} {{\n{lines}  batch = {BATCH}\n  shuffle = false\n}}\n"
    with open(path, "w") as f:
        f.write(text)
    return path


def mismatch(got, want):
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    tol = 1e-4 * np.abs(want) + 1e-6 * max(np.abs(want).max(initial=0.0), 1e-30)
    if np.all(err <= tol):
        return None
    i = np.unravel_index(np.argmax(err - tol), err.shape)
    return f"at {tuple(int(k) for k in i)}: {got[i]} vs {want[i]}"


def check(kiln, workdir, model, optimizer):
    twin, ranges = twins.MODELS[model]
    tag = re.sub(r"\W+", "_", optimizer)
    stem = os.path.splitext(os.path.basename(model))[0] + "_" + tag
    source = with_optimizer(os.path.join(ROOT, model), optimizer, os.path.join(workdir, stem + ".kiln"))
    lib = kilnlib.Model(kiln, source, os.path.join(workdir, "lib"))
    m = lib.manifest
    gen = torch.Generator().manual_seed(3)
    data_specs = m["inputs"] + m["targets"]
    data = [draw(s, ranges, gen, SAMPLES) for s in data_specs]
    initial = [draw(p, ranges, gen) for p in m["params"]]
    lr = optimizer_lr(optimizer)

    # Kiln: the compiled train step, which updates params and state in place.
    params = [p.copy() for p in initial]
    state = [np.zeros(s["shape"], np.float32 if s["dtype"] == "f32" else np.float64) for s in m["state"]]
    scalars = int(m["loss"]) + len(m["metrics"])
    step = 0
    for _ in range(EPOCHS):
        for start in range(0, SAMPLES, BATCH):
            step += 1
            batch = [np.ascontiguousarray(d[start:start + BATCH]) for d in data]
            hyper = {"lr": np.array(lr), "step": np.array(float(step)), "share": np.array(1.0)}
            outs = [np.zeros((), np.float32) for _ in range(scalars)]
            lib.call("train_step", batch + params + state + [hyper[h] for h in m["hyper"]], outs)

    # PyTorch: the twin with torch.optim, from the same weights and batches.
    # Buffers (BatchNorm's running statistics) are plain tensors the twin
    # updates in place in train mode; the rest are what torch.optim trains.
    leaves = [torch.from_numpy(p.copy()) if s.get("buffer") else
              torch.from_numpy(p.copy()).requires_grad_() for s, p in zip(m["params"], initial)]
    trained = [t for s, t in zip(m["params"], leaves) if not s.get("buffer")]
    make, clip = OPTIMIZERS[optimizer]
    opt = make(trained)
    names = [s["name"] for s in data_specs]
    for _ in range(EPOCHS):
        for start in range(0, SAMPLES, BATCH):
            batch = {n: torch.from_numpy(d[start:start + BATCH]) for n, d in zip(names, data)}
            opt.zero_grad()
            _, scalars_ref = twin({**batch, **{p["name"]: t for p, t in zip(m["params"], leaves)},
                                   "__training__": True})
            scalars_ref["loss"].backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(trained, clip)
            opt.step()

    problems = []
    for spec, got, want in zip(m["params"], params, leaves):
        problem = mismatch(got, want.detach().numpy())
        if problem:
            problems.append(f"{spec['name']} after {step} steps {problem}")
    return problems


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kiln, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    # Adam, AdamW and RMSprop skip the Fashion-MNIST MLP: see the docstring.
    runs = [f"{model} with {optimizer}" for model in MODELS
            for k, optimizer in enumerate(OPTIMIZERS)
            if (k < 4 or (model in FEW_MODELS and not os.environ.get("KILN_E2E_QUICK")))
            and not ("fashion" in model and optimizer_name(optimizer) in SCALE_FREE)]
    run_checks(runs, lambda run: check(kiln, workdir, *run.split(" with ", 1)))

if __name__ == "__main__":
    main()
