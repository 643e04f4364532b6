#!/usr/bin/python3
"""The training workflow end to end on real compiled examples (issue 14):
checkpoints and --resume, validation sets, interrupts, TensorBoard files.

On the first 2000 Fashion-MNIST training images (and 500 test images as the
validation set), so every run takes a fraction of a second:
- fashion_mlp (SGD) and the same model with Adam (its checkpoint holds the
  moments): 3 epochs, and 2 epochs resumed for 1 more, save byte-identical
  checkpoints;
- fashion_mlp with --val-image/--val-label, --val-every, --metrics and
  --tensorboard: validation figures beside the training ones, equal to eval
  of the saved weights; the event files read back by the tensorboard
  package's EventAccumulator hold every logged step and epoch, train and
  validation, with the --metrics values (the package comes from PyPI into a
  virtual environment, tensorboard_venv.py; without PyPI those checks are
  skipped, saying so);
- fashion_mlp interrupted by SIGINT mid-run: exit 130 and a checkpoint that,
  resumed, ends byte-identical to an uninterrupted run.

usage: check_workflow.py KILN WORKDIR
"""
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "runtime"))
import harness  # noqa: E402
import safetensors_util  # noqa: E402
import tensorboard_venv  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndims).reshape(shape)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kiln, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    W = lambda name: os.path.join(work, name)  # noqa: E731
    np.save(W("img.npy"), idx(os.path.join(DATA, "train-images-idx3-ubyte.gz"))[:2000])
    np.save(W("lbl.npy"), idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz"))[:2000]
            .astype(np.int64))
    np.save(W("vimg.npy"), idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"))[:500])
    np.save(W("vlbl.npy"), idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz"))[:500]
            .astype(np.int64))
    train = ["--image", W("img.npy"), "--label", W("lbl.npy")]
    val = ["--val-image", W("vimg.npy"), "--val-label", W("vlbl.npy")]
    exes = {}

    def build(example):
        if example not in exes:
            exes[example] = W(example)
            source = os.path.join(ROOT, "examples", example + ".kiln")
            if example == "fashion_mlp_adam":  # DSL.md's example, with Adam
                with open(os.path.join(ROOT, "examples", "fashion_mlp.kiln")) as f:
                    text = f.read().replace("SGD(lr=0.1)", "Adam(lr=0.001)")
                source = W("fashion_mlp_adam.kiln")
                with open(source, "w") as f:
                    f.write(text)
            subprocess.run([kiln, "build", source, "-o", exes[example]], check=True)
        return exes[example]

    def run(exe, *args, check=True):
        p = subprocess.run([exe, *args], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"{os.path.basename(exe)} {' '.join(args)}: exit "
                               f"{p.returncode}: {p.stderr.strip()}")
        return p

    def resume_check(example):
        exe = build(example)
        problems = []
        run(exe, "train", *train, "--save", W(f"{example}-3.safetensors"))
        run(exe, "train", *train, "--epochs", "2", "--save", W(f"{example}-2.safetensors"))
        p = run(exe, "train", *train, "--resume", W(f"{example}-2.safetensors"), "--epochs", "3",
                "--save", W(f"{example}-21.safetensors"))
        if not p.stdout.startswith("epoch 3/3  loss "):
            problems.append(f"the resumed run printed {p.stdout!r}")
        if read(W(f"{example}-3.safetensors")) != read(W(f"{example}-21.safetensors")):
            problems.append("3 epochs and 2 + 1 resumed saved different checkpoints")
        tensors, meta = safetensors_util.load(W(f"{example}-3.safetensors"))
        state = [k for k in tensors if k.startswith("optimizer/")]
        if example == "fashion_mlp_adam" and not any(k.endswith("exp_avg_sq") for k in state):
            problems.append(f"no Adam moments in the checkpoint: {sorted(tensors)}")
        if meta.get("kiln.epochs_done") != "3":
            problems.append(f"checkpoint metadata {meta}")
        # The checkpoint is a weights file too.
        run(exe, "eval", "--weights", W(f"{example}-3.safetensors"), "--image", W("vimg.npy"),
            "--label", W("vlbl.npy"))
        return problems

    def validation_check(_):
        exe = build("fashion_mlp")
        problems = []
        tb = W("tb")
        if os.path.exists(tb):
            subprocess.run(["rm", "-rf", tb], check=True)
        p = run(exe, "train", *train, *val, "--val-every", "10", "--metrics", W("m.jsonl"),
                "--tensorboard", tb, "--save", W("v.safetensors"))
        lines = p.stdout.splitlines()
        if not (len(lines) == 4 and all(re.match(r"epoch \d/3  loss \S+  accuracy \S+  "
                                                 r"val_loss \S+  val_accuracy \S+  ", l)
                                        for l in lines[:3])):
            problems.append(f"stdout {p.stdout!r}")
        log = [json.loads(l) for l in open(W("m.jsonl"))]
        steps = [r for r in log if "step" in r]
        epochs = [r for r in log if "step" not in r]
        val_steps = [r["step"] for r in steps if "val_loss" in r]
        if len(steps) != 96 or val_steps != list(range(10, 97, 10)):
            problems.append(f"{len(steps)} step lines, validation at {val_steps}")
        e = run(exe, "eval", "--weights", W("v.safetensors"), "--image", W("vimg.npy"),
                "--label", W("vlbl.npy")).stdout.split()
        if abs(float(e[1]) - epochs[-1]["val_loss"]) > 1e-6 * max(1, abs(float(e[1]))):
            problems.append(f"val_loss {epochs[-1]['val_loss']} vs eval {e}")
        python = tensorboard_venv.ensure(W("../tensorboard-venv"))
        if python is None:
            print(f"SKIP the TensorBoard read-back: {tensorboard_venv.reason}")
            return problems
        got = tensorboard_venv.read_scalars(python, tb)
        f32 = lambda v: float(np.float32(v))  # noqa: E731  (TensorBoard keeps float32)
        want = {
            "train": {
                "step/loss": [[r["step"], f32(r["loss"])] for r in steps],
                "step/accuracy": [[r["step"], f32(r["accuracy"])] for r in steps],
                "epoch/loss": [[r["epoch"], f32(r["loss"])] for r in epochs],
                "epoch/accuracy": [[r["epoch"], f32(r["accuracy"])] for r in epochs],
            },
            "validation": {
                "step/loss": [[r["step"], f32(r["val_loss"])] for r in steps if "val_loss" in r],
                "step/accuracy": [[r["step"], f32(r["val_accuracy"])] for r in steps
                                  if "val_loss" in r],
                "epoch/loss": [[r["epoch"], f32(r["val_loss"])] for r in epochs],
                "epoch/accuracy": [[r["epoch"], f32(r["val_accuracy"])] for r in epochs],
            },
        }
        if sorted(got) != ["train", "validation"]:
            problems.append(f"runs {sorted(got)}")
        for run_name, tags in want.items():
            for tag, points in tags.items():
                if got.get(run_name, {}).get(tag) != points:
                    problems.append(f"{run_name} {tag}: {got.get(run_name, {}).get(tag, [])[:3]}"
                                    f"... vs {points[:3]}...")
        if len(got.get("train", {}).get("epoch/samples_per_second", [])) != 3:
            problems.append("no epoch/samples_per_second")
        print(f"TensorBoard read back {sum(len(v) for r in got.values() for v in r.values())} "
              f"scalars in {sum(len(r) for r in got.values())} tags")
        return problems

    def interrupt_check(_):
        exe = build("fashion_mlp")
        problems = []
        args = ["train", *train, "--epochs", "12"]
        run(exe, *args, "--save", W("full.safetensors"))
        proc = subprocess.Popen([exe, *args, "--save", W("int.safetensors")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            print("note: the run ended before the signal; nothing was interrupted")
            return problems
        if proc.returncode != 130 or "checkpoint saved to" not in err:
            problems.append(f"SIGINT: exit {proc.returncode}: {err!r}")
            return problems
        _, meta = safetensors_util.load(W("int.safetensors"))
        run(exe, "train", *train, "--resume", W("int.safetensors"), "--save", W("int.safetensors"))
        if read(W("int.safetensors")) != read(W("full.safetensors")):
            problems.append(f"interrupted at step {meta.get('kiln.step')} and resumed: "
                            "the checkpoint differs from the uninterrupted run's")
        print(f"interrupted at epoch {int(meta['kiln.epochs_done']) + 1}, step "
              f"{meta['kiln.epoch_steps_done']}; resumed to the same bytes")
        return problems

    checks = {"resume fashion_mlp": lambda _: resume_check("fashion_mlp"),
              "resume fashion_mlp with Adam": lambda _: resume_check("fashion_mlp_adam"),
              "validation, --metrics and TensorBoard": validation_check,
              "SIGINT and resume": interrupt_check}
    harness.run_checks(list(checks), lambda label: checks[label](label))


if __name__ == "__main__":
    main()
