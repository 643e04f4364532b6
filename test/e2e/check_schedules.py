#!/usr/bin/python3
"""Learning-rate schedules end to end (issue 13): a compiled executable's
`train` against torch.optim.lr_scheduler.

For each train block below, test/e2e/models/mlp.kiln is built with it (batch
8, no shuffling) and trained by the executable on 45 random samples from
the same initial weights (--init) as its PyTorch twin, which steps the
scheduler once per epoch as the executable does. Checked:
- each epoch's lr in the --metrics log equals the scheduler's get_last_lr()
  (to 1e-15 relative: both are f64 recurrences);
- the saved parameters after the run agree with the twin's within 1e-4
  relative (|kiln - torch| <= 1e-4 * |torch| + 1e-6 * max|torch|);
- a run saved after 2 epochs and resumed (--resume) for the rest ends with
  the same bytes as the uninterrupted run: the schedule is derived from the
  checkpoint's position.
The cosine schedule with SGD runs past T_max, where lr_scheduler's
recurrence takes its other branch. The Adam-like optimizers run 4 epochs
only: over more steps they magnify rounding noise in the few weights whose
gradients cancel (check_training.py's docstring says how).

usage: check_schedules.py KILN WORKDIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "runtime"))
import safetensors_util  # noqa: E402
import twins  # noqa: E402
from check_training import mismatch  # noqa: E402  (the trajectories' 1e-4 rule)
from harness import ROOT, draw, run_checks  # noqa: E402

MODEL = "test/e2e/models/mlp.kiln"
SAMPLES, BATCH = 45, 8

# train block settings -> (epochs, the twin's optimizer, its scheduler)
RUNS = {
    "optimizer = SGD(lr=0.1, momentum=0.9); scheduler = StepLR(step_size=2, gamma=0.5)": (
        5, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5)),
    "optimizer = SGD(lr=0.1, momentum=0.9, nesterov=true); "
    "scheduler = CosineAnnealingLR(T_max=2, eta_min=0.001)": (
        6, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=2, eta_min=0.001)),
    "optimizer = AdamW(lr=0.01); scheduler = CosineAnnealingLR(T_max=3, eta_min=0.001)": (
        4, lambda ps: torch.optim.AdamW(ps, lr=0.01),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=0.001)),
    "optimizer = RMSprop(lr=0.01); scheduler = CosineAnnealingLR(4); clip_grad_norm = 1.0": (
        4, lambda ps: torch.optim.RMSprop(ps, lr=0.01),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4)),
}


def run(*args):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))}: exit {done.returncode}: "
                           f"{done.stderr.strip()}")
    return done.stdout


def check(kiln, work, settings):
    epochs, make_optimizer, make_scheduler = RUNS[settings]
    clip = float(settings.split("clip_grad_norm = ")[1]) if "clip_grad_norm" in settings else None
    tag = str(list(RUNS).index(settings))
    source = open(os.path.join(ROOT, MODEL)).read()
    lines = "".join(f"  {s.strip()}\n" for s in settings.split(";"))
    model_file = os.path.join(work, f"sched{tag}.kiln")
    with open(model_file, "w") as f:
        f.write(source + f"\ntrain MLP {{\n{lines}  batch = {BATCH}\n  shuffle = false\n}}\n")
    exe = os.path.join(work, f"sched{tag}")
    run(kiln, "build", model_file, "-o", exe)
    manifest = json.loads(run(exe, "info", "--json"))

    twin, ranges = twins.MODELS[MODEL]
    gen = torch.Generator().manual_seed(5)
    specs = manifest["inputs"] + manifest["targets"]
    data = [draw(s, ranges, gen, SAMPLES) for s in specs]
    initial = [draw(p, ranges, gen) for p in manifest["params"]]
    flags = []
    for spec, array in zip(specs, data):
        path = os.path.join(work, f"sched{tag}.{spec['name']}.npy")
        np.save(path, array)
        flags += [f"--{spec['name']}", path]
    init = os.path.join(work, f"sched{tag}.init.safetensors")
    safetensors_util.save(init, {p["name"]: a for p, a in zip(manifest["params"], initial)})

    # Kiln: the whole run, and the same run stopped after 2 epochs and resumed.
    full, metrics = (os.path.join(work, f"sched{tag}.{n}") for n in ("full.safetensors", "jsonl"))
    run(exe, "train", *flags, "--init", init, "--epochs", epochs, "--save", full,
        "--metrics", metrics)
    part = os.path.join(work, f"sched{tag}.part.safetensors")
    run(exe, "train", *flags, "--init", init, "--epochs", 2, "--save", part)
    run(exe, "train", *flags, "--resume", part, "--epochs", epochs, "--save", part)
    logged = [json.loads(line) for line in open(metrics)]
    lrs = [r["lr"] for r in logged if "step" not in r]  # the epochs' lines

    # PyTorch: the twin, its optimizer and scheduler, the same batches.
    leaves = [torch.from_numpy(a.copy()).requires_grad_() for a in initial]
    opt = make_optimizer(leaves)
    scheduler = make_scheduler(opt)
    names = [s["name"] for s in specs]
    want_lrs = []
    for _ in range(epochs):
        want_lrs.append(scheduler.get_last_lr()[0])
        for start in range(0, SAMPLES, BATCH):
            batch = {n: torch.from_numpy(d[start:start + BATCH]) for n, d in zip(names, data)}
            opt.zero_grad()
            _, scalars = twin({**batch, **{p["name"]: t for p, t in
                                           zip(manifest["params"], leaves)}})
            scalars["loss"].backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(leaves, clip)
            opt.step()
        scheduler.step()

    problems = []
    if len(lrs) != epochs or any(abs(a - b) > 1e-15 * abs(b) for a, b in zip(lrs, want_lrs)):
        problems.append(f"epoch lrs {lrs} vs the scheduler's {want_lrs}")
    saved, _ = safetensors_util.load(full)
    for spec, want in zip(manifest["params"], leaves):
        problem = mismatch(saved[spec["name"]], want.detach().numpy())
        if problem:
            problems.append(f"{spec['name']} after {epochs} epochs {problem}")
    resumed, _ = safetensors_util.load(part)
    for spec in manifest["params"]:
        if resumed[spec["name"]].tobytes() != saved[spec["name"]].tobytes():
            problems.append(f"{spec['name']}: the resumed run differs from the whole run")
    return problems


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kiln, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    run_checks(list(RUNS), lambda settings: check(kiln, work, settings))


if __name__ == "__main__":
    main()
