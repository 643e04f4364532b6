#!/usr/bin/python3
"""Data-parallel training with MPI (issue 15) against one process.

For the MLP, the CNN and an MLP with dropout, each with SGD (momentum) and
Adam: train 24 steps (45 samples, global batch 8, so each epoch ends with a
batch of 5 that 2, 3 and 4 processes split unevenly; shuffled; 4 epochs)
once without mpirun and once under `mpirun -np K` for K = 1, 2, 3, 4. The
saved weights and optimizer state must agree within 1e-5 relative: each
tensor's ||k - one|| <= 1e-5 ||one|| (about 6e-7 is what the other order of
additions gives), and every element within e2e-training's rule against
PyTorch (|k - one| <= 1e-4 |one| + 1e-6 max|one|: an element that is a sum
of terms cancelling to 1e-5 of the tensor's largest carries their f32
rounding, which the ranks' partial sums change); with K = 1 they must be
byte-identical (the all-reduce leaves one process's buffer alone). So must
the losses rank 0 logs with --metrics. eval and predict under mpirun shard
the batches and must give one process's numbers; a rank that fails on a bad
file must end every rank with a non-zero status and its message, without
hanging.

usage: check_mpi.py KILN WORKDIR
Skipped (exit 0, saying why) when mpirun is not installed.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import ROOT, run_checks  # noqa: E402

SAMPLES, BATCH, EPOCHS = 45, 8, 4
PROCESSES = [1, 2, 3, 4]
MODELS = {"mlp": ("test/e2e/models/mlp.kiln", [20]),
          "cnn": ("test/e2e/models/cnn.kiln", [1, 8, 8]),
          "dropout": ("test/e2e/models/mlp_dropout.kiln", [20])}
OPTIMIZERS = {"sgd": "SGD(lr=0.05, momentum=0.9)", "adam": "Adam(lr=0.01)"}
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
TIMEOUT = 120  # seconds: a hang is a failure, not a stuck CI job


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    types = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], types[t["dtype"]]).reshape(t["shape"])
    return out


def mismatch(got, want):
    """How got is further from want than 1e-5 relative (see above), or None."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if not want.size:
        return None
    norm = np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)
    excess = np.abs(got - want) / (1e-4 * np.abs(want) + 1e-6 * np.abs(want).max())
    worst = int(np.argmax(excess))
    if norm > 1e-5 or excess.flat[worst] > 1:
        return (f"relative error {norm:.2e}; worst element {got.flat[worst]!r} vs "
                f"{want.flat[worst]!r} (index {worst})")
    return None


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    if not shutil.which("mpirun"):
        print("skipped: mpirun is not installed (apt-get install openmpi-bin)")
        return 0
    os.makedirs(work, exist_ok=True)
    W = lambda name: os.path.join(work, name)  # noqa: E731
    rng = np.random.default_rng(15)
    exes = {}

    def run(args, processes=None, **kw):
        cmd = ([*MPIRUN, "-np", str(processes)] if processes else []) + args
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kw)

    def train(exe, model, tag, processes):
        prefix = W(f"{tag}-{processes or 0}")
        p = run([exe, "train", "--x", W(f"{model}-x.npy"), "--label", W(f"{model}-y.npy"),
                 "--epochs", str(EPOCHS), "--batch", str(BATCH), "--threads", "1",
                 "--save", prefix + ".safetensors", "--metrics", prefix + ".jsonl"], processes)
        if p.returncode != 0:
            raise RuntimeError(f"train under {processes or 'no'} mpirun: exit {p.returncode}: "
                               f"{p.stderr.strip()[-600:]}")
        losses = [json.loads(l)["loss"] for l in open(prefix + ".jsonl") if '"step"' in l]
        return read_safetensors(prefix + ".safetensors"), losses

    def check_training(label):
        model, opt = label.split("-")
        source, shape = MODELS[model]
        if not os.path.exists(W(f"{model}-x.npy")):
            np.save(W(f"{model}-x.npy"), rng.standard_normal((SAMPLES, *shape), np.float32))
            np.save(W(f"{model}-y.npy"), rng.integers(0, 3, SAMPLES).astype(np.int64))
        text = open(os.path.join(ROOT, source)).read()
        name = text.split("model ", 1)[1].split()[0]
        src = W(f"{label}.kiln")
        with open(src, "w") as f:
            f.write(text + f"\ntrain {name} {{\n  optimizer = {OPTIMIZERS[opt]}\n  seed = 7\n}}\n")
        exe = W(label)
        subprocess.run([kiln, "build", src, "-o", exe], check=True)
        exes[label] = exe
        want, want_losses = train(exe, model, label, None)
        if len(want_losses) != 24:
            return [f"one process logged {len(want_losses)} steps, not 24"]
        problems = []
        for k in PROCESSES:
            got, losses = train(exe, model, label, k)
            for name in want:
                if k == 1 and not np.array_equal(got[name], want[name]):
                    problems.append(f"-np 1: {name} is not byte-identical to one process's")
                elif (bad := mismatch(got[name], want[name])):
                    problems.append(f"-np {k}: {name}: {bad}")
            if (bad := mismatch(losses, want_losses)):
                problems.append(f"-np {k}: logged losses: {bad}")
        return problems

    def check_eval_predict(label):
        exe = exes.get("mlp-sgd")
        if not exe:
            return ["needs mlp-sgd's executable"]
        data = ["--x", W("mlp-x.npy"), "--label", W("mlp-y.npy")]
        weights = ["--weights", W("mlp-sgd-0.safetensors"), "--batch", "7"]
        one = run([exe, "eval", *weights, *data])
        run([exe, "predict", *weights, "--x", W("mlp-x.npy"), "--output", W("pred-1.npy")])
        problems = []
        for k in (2, 3):
            p = run([exe, "eval", *weights, *data], k)
            if p.returncode != 0:
                problems.append(f"eval -np {k}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
                continue
            a, b = one.stdout.split(), p.stdout.split()
            if len(a) != len(b) or mismatch([float(v) for v in b[1::2]], [float(v) for v in a[1::2]]):
                problems.append(f"eval -np {k}: {p.stdout.strip()!r} vs {one.stdout.strip()!r}")
            out = W(f"pred-{k}.npy")
            p = run([exe, "predict", *weights, "--x", W("mlp-x.npy"), "--output", out], k)
            if p.returncode != 0:
                problems.append(f"predict -np {k}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
                continue
            if not np.array_equal(np.load(out), np.load(W("pred-1.npy"))):
                problems.append(f"predict -np {k}: outputs differ from one process's")
        return problems

    def check_failure(label):
        exe = exes.get("mlp-sgd")
        if not exe:
            return ["needs mlp-sgd's executable"]
        with open(W("bad.npy"), "wb") as f:
            f.write(b"not a numpy file")
        # Rank 1 reads the bad file; rank 0 starts training and would wait
        # for it in the first all-reduce forever without MPI_Abort.
        script = (f'x={W("mlp-x.npy")}; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && x={W("bad.npy")}; '
                  f'exec {exe} train --x $x --label {W("mlp-y.npy")} --epochs 50 --batch 8')
        try:
            p = run(["sh", "-c", script], 2)
        except subprocess.TimeoutExpired:
            return [f"mpirun -np 2 did not end within {TIMEOUT} s"]
        problems = []
        if p.returncode == 0:
            problems.append("exit status 0")
        if "rank 1 of 2" not in p.stderr or "bad.npy" not in p.stderr:
            problems.append(f"rank 1's message is missing: {p.stderr.strip()[-600:]!r}")
        return problems

    checks = {f"{m}-{o}": check_training for m in MODELS for o in OPTIMIZERS}
    checks["eval-predict"] = check_eval_predict
    checks["failing-rank"] = check_failure
    run_checks(list(checks), lambda label: checks[label](label))


if __name__ == "__main__":
    sys.exit(main())
