"""End-to-end test of the runtime's main(): runs the fake model executables
(test/runtime/fake_model.cpp) on files written here and checks every number
against numpy and PyTorch, and every bad input's exit status and message;
then issue 14's: outputs that are not regular files or are inputs, FIFO
inputs, BOM CSVs, class labels, checkpoints and --resume (byte for byte),
SIGINT/SIGTERM, validation sets, the progress bar's width and plain lines;
and `bench`'s JSON line and numbers.

usage: test_fake_model.py FAKE_MODEL FAKE_TWO_OUTPUTS SAFETENSORS_ROUNDTRIP [FAKE_NO_SHUFFLE]
(each a path, or a name found on PATH; FAKE_NO_SHUFFLE defaults to
kiln-fake-model-no-shuffle next to FAKE_MODEL)."""
import fcntl
import gzip
import json
import os
import pty
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_util  # noqa: E402

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def run(binary, *args):
    p = subprocess.run([binary, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def expect_error(binary, args, status, *parts):
    rc, out, err = run(binary, *args)
    name = os.path.basename(binary)
    check(rc == status, f"{args}: exit {rc}, wanted {status}; stderr: {err!r}")
    check(err.startswith(f"{name}: error: ") and err.count("\n") == 1,
          f"{args}: not one 'NAME: error:' line: {err!r}")
    for part in parts:
        check(part in err, f"{args}: {part!r} not in {err!r}")


def write_idx(path, array, gz):
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}
    code = codes[array.dtype.type]
    data = struct.pack(">BBBB", 0, 0, code, array.ndim)
    data += struct.pack(">" + "I" * array.ndim, *array.shape)
    data += array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


def reference(x, y, w, b):
    """Logits, mean cross-entropy and accuracy in float64 numpy."""
    logits = x.astype(np.float64) @ w.T.astype(np.float64) + b
    m = logits.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
    loss = np.mean(lse - logits[np.arange(len(y)), y])
    accuracy = np.mean(np.argmax(logits, axis=1) == y)
    return logits, loss, accuracy


def parse_eval(stdout):
    words = stdout.split()
    return {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}


# --- train ------------------------------------------------------------------

NO_SHUFFLE = None
SHUFFLE_STREAM = 0x53485546464C4521  # runtime/train/Train.cpp: shuffling uses Rng(seed ^ this)
M64 = (1 << 64) - 1


class Rng:
    """runtime/weights/Random.cpp: xoshiro256** seeded through splitmix64."""

    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & M64
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64  # noqa: E731
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            v = self.next()
            if v < limit:
                return v % n

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            p[i], p[j] = p[j], p[i]
        return p


def sgd_reference(x, y, w, b, *, lr, epochs, batch, seed=None, momentum=0.9):
    """The fake model's training in float64 numpy: SGD with momentum on the
    mean cross-entropy, batches in the runtime's order (seeded permutation per
    epoch when `seed` is given, else in order). Returns w, b and the loss and
    accuracy of every step (before its update)."""
    n = len(x)
    w, b = w.astype(np.float64), b.astype(np.float64)
    bw, bb = np.zeros_like(w), np.zeros_like(b)
    rng = Rng(seed ^ SHUFFLE_STREAM) if seed is not None else None
    steps = []
    for _ in range(epochs):
        order = rng.permutation(n) if rng else list(range(n))
        for begin in range(0, n, batch):
            idx = order[begin:begin + batch]
            xb, yb = x[idx].astype(np.float64), y[idx]
            logits, loss, acc = reference(xb, yb, w, b)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            d = p / len(yb)
            bw = bw * momentum + d.T @ xb
            bb = bb * momentum + d.sum(axis=0)
            w, b = w - lr * bw, b - lr * bb
            steps.append((loss, acc, len(yb)))
    return w, b, steps


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def check_train(model, two, P, x, y):
    n = len(x)  # 10: batch 4 leaves a last batch of 2, batch 3 one of 1
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(2, 3)).astype(np.float32)
    b0 = rng.normal(size=2).astype(np.float32)
    safetensors_util.save(P("init.safetensors"), {"fc.weight": w0, "fc.bias": b0})
    data = ["--x", P("x.npy"), "--y", P("y.npy")]
    init = ["--init", P("init.safetensors")]

    def train(binary, *args, save="t.safetensors"):
        rc, out, err = run(binary, "train", *data, *args, "--save", P(save))
        check(rc == 0, f"train {args}: exit {rc}: {err}")
        tensors, meta = safetensors_util.load(P(save))
        # A checkpoint: the parameters, the momentum buffers under names no
        # parameter can have, the position in the metadata.
        check(meta.get("format") == "pt" and meta.get("kiln.checkpoint") == "1" and
              sorted(tensors) == ["fc.bias", "fc.weight", "optimizer/fc.bias.momentum_buffer",
                                  "optimizer/fc.weight.momentum_buffer"],
              f"train {args}: saved {list(tensors)} {meta}")
        last = out.splitlines()[-1] if out else ""
        check(re.fullmatch(r"saved the parameters and optimizer state after \d+ epochs? "
                           r"\(\d+ steps?\) to " + re.escape(P(save)), last),
              f"train {args}: last line {last!r}")
        return tensors, "".join(l + "\n" for l in out.splitlines()[:-1])

    def close(tensors, w, b, what):
        check(tensors["fc.weight"].dtype == np.float32 and
              np.allclose(tensors["fc.weight"], w, rtol=1e-4, atol=1e-5) and
              np.allclose(tensors["fc.bias"], b, rtol=1e-4, atol=1e-5),
              f"{what}: {tensors} vs {w} {b}")

    # shuffle = false: the train block's defaults (batch 4, 3 epochs, lr 0.1).
    got, out = train(NO_SHUFFLE, *init, "--metrics", P("m.jsonl"))
    w, b, steps = sgd_reference(x, y, w0, b0, lr=0.1, epochs=3, batch=4)
    close(got, w, b, "train, no shuffle")
    lines = out.splitlines()
    check(len(lines) == 3 and all(l.startswith(f"epoch {e}/3  loss ") for e, l in
                                  zip(range(1, 4), lines)) and
          all("  accuracy " in l and " samples/s  " in l and l.endswith("s") for l in lines),
          f"train stdout: {out!r}")
    log = read_jsonl(P("m.jsonl"))
    step_lines = [r for r in log if "step" in r]
    epoch_lines = [r for r in log if "step" not in r]
    check(len(step_lines) == 9 and len(epoch_lines) == 3 and len(log) == 12,
          f"metrics: {len(step_lines)} step lines, {len(epoch_lines)} epoch lines")
    check([r["step"] for r in step_lines] == list(range(1, 10)) and
          [r["epoch"] for r in step_lines] == [1, 1, 1, 2, 2, 2, 3, 3, 3],
          f"metrics steps: {step_lines}")
    check(all(list(r) == ["epoch", "step", "loss", "accuracy"] for r in step_lines),
          f"metrics step keys: {step_lines[0]}")
    check(all(list(r) == ["epoch", "loss", "accuracy", "lr", "samples_per_second", "seconds"]
              for r in epoch_lines), f"metrics epoch keys: {epoch_lines[0]}")
    for r, (loss, acc, _) in zip(step_lines, steps):
        check(abs(r["loss"] - loss) < 1e-4 and abs(r["accuracy"] - acc) < 1e-6,
              f"metrics step {r} vs loss {loss} accuracy {acc}")
    for e, r in enumerate(epoch_lines):
        chunk = steps[3 * e:3 * e + 3]
        loss = sum(l * k for l, _, k in chunk) / n
        acc = sum(a * k for _, a, k in chunk) / n
        check(r["epoch"] == e + 1 and abs(r["loss"] - loss) < 1e-4 and
              abs(r["accuracy"] - acc) < 1e-6 and r["seconds"] >= 0 and
              r["samples_per_second"] >= 0, f"metrics epoch {r} vs {loss} {acc}")
        shown = float(lines[e].split()[3])
        check(abs(shown - loss) < 1e-3, f"epoch line {lines[e]!r} vs loss {loss}")

    # Flags override the defaults: batch 3 (last batch of 1), lr, epochs.
    got, _ = train(NO_SHUFFLE, *init, "--batch", "3", "--lr=0.05", "--epochs", "2")
    w, b, _ = sgd_reference(x, y, w0, b0, lr=0.05, epochs=2, batch=3)
    close(got, w, b, "train --batch 3 --lr 0.05 --epochs 2")
    # --epochs 0 saves the starting point; one batch of everything.
    got, out = train(NO_SHUFFLE, *init, "--epochs", "0")
    check(np.array_equal(got["fc.weight"], w0) and np.array_equal(got["fc.bias"], b0) and
          out == "", "train --epochs 0")
    got, _ = train(NO_SHUFFLE, *init, "--batch", "100", "--epochs", "4")
    w, b, _ = sgd_reference(x, y, w0, b0, lr=0.1, epochs=4, batch=100)
    close(got, w, b, "train --batch 100")

    # shuffle = true: one seeded permutation per epoch, from --seed.
    got7, _ = train(model, *init, "--seed", "7", save="s7.safetensors")
    w, b, _ = sgd_reference(x, y, w0, b0, lr=0.1, epochs=3, batch=4, seed=7)
    close(got7, w, b, "train --seed 7 (shuffled)")
    got8, _ = train(model, *init, "--seed", "8", save="s8.safetensors")
    w, b, _ = sgd_reference(x, y, w0, b0, lr=0.1, epochs=3, batch=4, seed=8)
    close(got8, w, b, "train --seed 8 (shuffled)")
    check(not np.array_equal(got7["fc.weight"], got8["fc.weight"]),
          "different seeds, same weights: the order did not change")
    check(Rng(7 ^ SHUFFLE_STREAM).permutation(n) != Rng(8 ^ SHUFFLE_STREAM).permutation(n),
          "seeds 7 and 8 give the same order")
    # Without --init the weights come from the seed (default 42: the manifest).
    files = []
    for i, seed in enumerate(["5", "5", "6"]):
        train(model, "--seed", seed, save=f"r{i}.safetensors")
        with open(P(f"r{i}.safetensors"), "rb") as f:
            files.append(f.read())
    check(files[0] == files[1], "same seed and flags: saved weights differ")
    check(files[0] != files[2], "different seeds: the same saved weights")
    got, _ = train(model, save="d.safetensors")
    got42, _ = train(model, "--seed", "42", save="d42.safetensors")
    check(np.array_equal(got["fc.weight"], got42["fc.weight"]), "default seed is not 42")

    # A loss that is not finite: exit 1 naming epoch and step; --save holds
    # the last finished epoch's checkpoint, or is untouched in epoch 1.
    with open(P("keep.safetensors"), "wb") as f:
        f.write(b"not overwritten")
    before = set(os.listdir(P("")))
    for lr, where in [("1e38", r"epoch ([1-3]), step [1-3] of 3 \(step [1-9] of the run\)"),
                      ("1e300", r"epoch (1), step 2 of 3 \(step 2 of the run\)")]:
        shutil.copyfile(P("keep.safetensors"), P("keep2.safetensors"))
        rc, out, err = run(NO_SHUFFLE, "train", *data, *init, "--lr", lr, "--save",
                           P("keep2.safetensors"), "--metrics", P("nan.jsonl"))
        found = re.search(where + ": the loss is not finite", err)
        check(rc == 1 and found and err.count("\n") == 1, f"--lr {lr}: exit {rc}, {err!r}")
        epoch = int(found.group(1)) if found else 1
        if epoch == 1:
            check(err.endswith("keep2.safetensors was not written\n"), f"--lr {lr}: {err!r}")
            with open(P("keep2.safetensors"), "rb") as f:
                check(f.read() == b"not overwritten", f"--lr {lr}: --save file overwritten")
        else:
            check(err.endswith(f"keep2.safetensors holds the checkpoint after epoch {epoch - 1}\n"),
                  f"--lr {lr}: {err!r}")
            _, meta = safetensors_util.load(P("keep2.safetensors"))
            check(meta.get("kiln.epochs_done") == str(epoch - 1), f"--lr {lr}: {meta}")
    check(set(os.listdir(P(""))) == before | {"nan.jsonl", "keep2.safetensors"},
          f"leftover files: {set(os.listdir(P(''))) - before}")
    log = read_jsonl(P("nan.jsonl"))  # the step that failed is not logged
    check(len(log) == 1 and log[0]["epoch"] == 1 and log[0]["step"] == 1,
          f"nan run's metrics: {log}")

    # Bad usage and bad input: exit 2, before any training.
    tr = ["train", *data]
    expect_error(model, [*tr, "--epochs", "-1"], 2, "--epochs")
    expect_error(model, [*tr, "--lr", "fast"], 2, "--lr")
    expect_error(model, [*tr, "--threads", "0"], 2, "--threads")
    expect_error(model, [*tr, "--init", P("nope.safetensors")], 2, P("nope.safetensors"))
    safetensors_util.save(P("bi.safetensors"), {"fc.weight": w0})
    expect_error(model, [*tr, "--init", P("bi.safetensors")], 2, "missing tensor 'fc.bias'")
    expect_error(model, [*tr, "--save", P("no/dir/w.safetensors")], 2, "no/dir")
    expect_error(model, [*tr, "--save", P("")], 2, "is a directory")
    expect_error(model, [*tr, "--metrics", P("no/dir/m.jsonl")], 2, "no/dir/m.jsonl")
    expect_error(model, ["train", "--x", P("x.npy"), "--y", P("y_short.npy")], 2, "has 9")
    expect_error(two, ["train", "--x", P("x.npy")], 2, "no loss to minimize")
    rc, out, err = run(model, "train", *data, "--threads", "3", "--epochs", "1")
    check(rc == 0 and out.startswith("epoch 1/1"), f"--threads 3: {rc} {err}")
    rc, out, _ = run(model, "train", "--help")
    check(rc == 0 and all(f in out for f in ["--metrics FILE", "--init FILE", "--save FILE",
                                            "--seed S", "--threads T"]), f"train help: {out}")

    # On a terminal: a live bar (\r updates), then the same line per epoch.
    master, slave = pty.openpty()
    p = subprocess.Popen([model, "train", *data, "--epochs", "2"], stdout=slave,
                         stderr=subprocess.PIPE, env={**os.environ, "TERM": "xterm"})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    rc = p.wait()
    tty = b"".join(chunks).decode()
    final = re.findall(r"\r([^\r]*)\x1b\[K\r*\n", tty)  # the pty turns \n into \r\n
    check(rc == 0 and "[" in tty and "/3" in tty and "\r" in tty, f"terminal output: {tty!r}")
    check(len(final) == 2 and final[0].startswith("epoch 1/2  loss ") and
          final[1].startswith("epoch 2/2  loss ") and "samples/s" in final[1],
          f"terminal epoch lines: {final} in {tty!r}")


# --- issue 14: files that are not what they seem ----------------------------

def run_timed(binary, *args, timeout=20, env=None):
    """run(), but a hang (a FIFO opened for reading or writing) fails the check
    instead of the whole test."""
    try:
        p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout,
                           env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", f"hung for {timeout}s"


def check_output_rule(model, P, x, y):
    """Outputs go only to regular files or new names; a symlink's target is
    written in its own directory; anything else is exit 2, left as it was."""
    data = ["--x", P("x.npy"), "--y", P("y.npy")]
    W = ["--weights", P("w.safetensors")]
    os.makedirs(P("out"), exist_ok=True)
    fifo = P("out/fifo")
    os.mkfifo(fifo)
    for args, what in [(["train", *data, "--epochs", "1", "--save", fifo], "--save"),
                       (["train", *data, "--epochs", "1", "--metrics", fifo], "--metrics"),
                       (["predict", *W, "--x", P("x.npy"), "--output", fifo + ".npy"], None)]:
        if what is None:  # predict's --output must end in .npy: a FIFO of that name
            os.mkfifo(fifo + ".npy")
        rc, out, err = run_timed(model, *args)
        check(rc == 2 and "is a FIFO" in err and err.count("\n") == 1,
              f"{args[0]} {what or '--output'} FIFO: exit {rc}, {err!r}")
        check(stat.S_ISFIFO(os.lstat(fifo).st_mode), f"{what}: the FIFO was replaced")
    # A device node (made here, so nothing real is at risk; needs root).
    try:
        os.mknod(P("out/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        rc, _, err = run_timed(model, "train", *data, "--epochs", "1", "--save", P("out/null"))
        check(rc == 2 and "is a character device" in err, f"--save device: {rc} {err!r}")
        check(stat.S_ISCHR(os.lstat(P("out/null")).st_mode), "--save replaced a device node")
    except PermissionError:
        print("note: not root; the device-node case is skipped")
    # A symlink: its target is written (atomically, in the target's
    # directory); the link stays a link.
    os.makedirs(P("elsewhere"), exist_ok=True)
    with open(P("elsewhere/w.safetensors"), "wb") as f:
        f.write(b"old")
    os.symlink("../elsewhere/w.safetensors", P("out/link.safetensors"))
    rc, out, err = run_timed(model, "train", *data, "--epochs", "1", "--save",
                             P("out/link.safetensors"))
    check(rc == 0 and os.path.islink(P("out/link.safetensors")),
          f"--save symlink: exit {rc}, still a link: {os.path.islink(P('out/link.safetensors'))}")
    try:
        tensors, _ = safetensors_util.load(P("elsewhere/w.safetensors"))
    except Exception:
        tensors = {}
    check("fc.weight" in tensors, "--save symlink: the target was not written")
    check(not any(".tmp." in n for n in os.listdir(P("out")) + os.listdir(P("elsewhere"))),
          "--save symlink: a temporary was left")
    # A link to a FIFO is refused like the FIFO.
    if not stat.S_ISFIFO(os.lstat(fifo).st_mode):  # replaced above (a failed check)
        os.remove(fifo)
        os.mkfifo(fifo)
    os.symlink(fifo, P("out/fifolink.jsonl"))
    rc, _, err = run_timed(model, "train", *data, "--epochs", "1", "--metrics",
                           P("out/fifolink.jsonl"))
    check(rc == 2 and "a link to" in err and "is a FIFO" in err, f"--metrics link to FIFO: {err!r}")
    # predict --output into a missing directory: exit 2 before any work, as
    # train --save.
    rc, out, err = run_timed(model, "predict", *W, "--x", P("x.npy"), "--output",
                             P("no/dir/p.npy"))
    check(rc == 2 and P("no/dir/p.npy") in err and "cannot write to its directory" in err and
          ".tmp." not in err, f"predict --output missing dir: exit {rc}, {err!r}")


def check_inputs_are_not_outputs(model, two, P, x, y):
    """No output may be one of the command's inputs (same inode), nor two
    outputs one file: exit 2 before any work, naming both flags."""
    for name in ["sx.npy", "sy.npy", "sinit.safetensors"]:
        shutil.copyfile(P({"sx.npy": "x.npy", "sy.npy": "y.npy",
                           "sinit.safetensors": "init.safetensors"}[name]), P(name))
    os.link(P("sy.npy"), P("sy_hardlink.npy"))
    os.symlink(P("sx.npy"), P("sx_link.npy"))
    data = ["--x", P("sx.npy"), "--y", P("sy.npy")]
    cases = [
        (["train", *data, "--metrics", P("sy.npy")], ["--metrics", "--y"], "sy.npy"),
        (["train", *data, "--metrics", P("sy_hardlink.npy")], ["--metrics", "--y"], "sy.npy"),
        (["train", *data, "--init", P("sinit.safetensors"), "--metrics", P("sinit.safetensors")],
         ["--metrics", "--init"], "sinit.safetensors"),
        (["train", *data, "--save", P("sx.npy")], ["--save", "--x"], "sx.npy"),
        (["train", *data, "--save", P("sx_link.npy")], ["--save", "--x"], "sx.npy"),
        (["train", *data, "--val-x", P("sx.npy"), "--val-y", P("sy.npy"), "--save",
          P("sy.npy")], ["--save", "--y"], "sy.npy"),
        (["train", *data, "--save", P("same.out"), "--metrics", P("same.out")],
         ["--save", "--metrics"], None),
        (["predict", "--weights", P("w.safetensors"), "--x", P("sx.npy"), "--output",
          P("sx.npy")], ["--output", "--x"], "sx.npy"),
        (["predict", "--weights", P("w.safetensors"), "--x", P("sx.npy"), "--output",
          P("w.safetensors.npy")], None, None),
    ]
    for args, flags, victim in cases:
        before = open(P(victim), "rb").read() if victim else None
        rc, out, err = run_timed(model, *args)
        if flags is None:  # not the same file: fine
            check(rc == 0, f"{args}: exit {rc}: {err!r}")
            continue
        check(rc == 2 and all(f + " " in err for f in flags) and "same file" in err and
              out == "", f"{args}: exit {rc}, {err!r}")
        if victim:
            check(open(P(victim), "rb").read() == before, f"{args}: {victim} was changed")
    check(not os.path.exists(P("same.out")), "two outputs, one file: it was written")


def check_nonblocking_inputs(model, P):
    """A FIFO with no writer, /dev/zero, a directory: 'not a regular file',
    exit 2, at once."""
    os.mkfifo(P("in_fifo.npy"))
    W = ["--weights", P("w.safetensors")]
    for args, bad in [(["eval", *W, "--x", P("in_fifo.npy"), "--y", P("y.npy")], P("in_fifo.npy")),
                      (["eval", *W, "--x", "/dev/zero", "--y", P("y.npy")], "/dev/zero"),
                      (["eval", "--weights", P("in_fifo.npy"), "--x", P("x.npy"), "--y",
                        P("y.npy")], P("in_fifo.npy")),
                      (["train", "--x", P("x.npy"), "--y", P("y.npy"), "--init", "/dev/zero"],
                       "/dev/zero"),
                      (["eval", *W, "--x", P("x.npy"), "--y", P("")], P(""))]:
        rc, out, err = run_timed(model, *args, timeout=10)
        check(rc == 2 and f"{bad}: not a regular file" in err, f"{args}: exit {rc}, {err!r}")


def check_csv_bom_and_header(model, P, y):
    """A one-column CSV starting with a UTF-8 byte order mark keeps its
    first row; a header is recognised only when its cells are not numbers."""
    W = ["--weights", P("w.safetensors"), "--x", P("x.npy")]
    rc, ref, _ = run(model, "eval", *W, "--y", P("y.npy"))
    body = "".join(f"{v}\n" for v in y)
    for name, text in [("y_bom.csv", "\ufeff" + body), ("y_bom_header.csv", "\ufefflabel\n" + body),
                       ("y_bom_crlf.csv", "\ufeff" + body.replace("\n", "\r\n"))]:
        with open(P(name), "w", encoding="utf-8", newline="") as f:
            f.write(text)
        rc, out, err = run(model, "eval", *W, "--y", P(name))
        check(rc == 0 and out == ref, f"{name}: exit {rc}, {out!r} vs {ref!r}: {err!r}")
    with open(P("x_bom.csv"), "w", encoding="utf-8") as f:
        f.write("\ufeff1,2,3\n4,5,6\n")
    rc, out, err = run(model, "predict", "--weights", P("w.safetensors"), "--x", P("x_bom.csv"),
                       "--output", P("bom.npy"))
    check(rc == 0 and np.load(P("bom.npy")).shape == (2, 2),
          f"predict x_bom.csv: exit {rc}, {err!r}")


def check_class_labels(model, P, x, y):
    """Out-of-range class labels (the manifest's "classes": 2 for y) are bad
    input: exit 2 naming the file, the sample and the value, before training
    or evaluating starts."""
    data = ["--x", P("x.npy")]
    for value in [255, -1, 2]:
        bad = y.copy()
        bad[7] = value
        np.save(P("y_bad_class.npy"), bad)
        for args in [["train", *data, "--y", P("y_bad_class.npy"), "--metrics", P("cls.jsonl")],
                     ["eval", "--weights", P("w.safetensors"), *data, "--y", P("y_bad_class.npy")],
                     ["train", *data, "--y", P("y.npy"), "--val-x", P("x.npy"), "--val-y",
                      P("y_bad_class.npy")]]:
            rc, out, err = run(model, *args)
            check(rc == 2 and P("y_bad_class.npy") + ": sample 7" in err and
                  f"holds {value}," in err and "0 to 1" in err and "epoch" not in out,
                  f"{args[0]} label {value}: exit {rc}, {out!r} {err!r}")
    with open(P("y_bad_class.csv"), "w") as f:
        f.write("".join(f"{v}\n" for v in list(y[:3]) + [255] + list(y[4:])))
    rc, _, err = run(model, "eval", "--weights", P("w.safetensors"), *data, "--y",
                     P("y_bad_class.csv"))
    check(rc == 2 and "y_bad_class.csv: sample 3 (0-based) holds 255" in err, f"csv label: {err!r}")


def check_weights_not_safetensors(model, P):
    with open(P("notes.txt"), "w") as f:
        f.write("these are not weights, just some text that is long enough\n")
    for args in [["eval", "--weights", P("notes.txt"), "--x", P("x.npy"), "--y", P("y.npy")],
                 ["train", "--init", P("notes.txt"), "--x", P("x.npy"), "--y", P("y.npy")]]:
        rc, _, err = run(model, *args)
        check(rc == 2 and P("notes.txt") + ": not a safetensors file" in err,
              f"{args[0]} text weights: exit {rc}, {err!r}")


# --- issue 14: the training workflow -----------------------------------------

def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def check_resume(model, P, x, y):
    """--save after every epoch holds what --resume needs: a run of 3 epochs
    and a run of 2 resumed for 1 more save byte-identical checkpoints; so does
    a run interrupted by SIGINT mid-epoch and resumed."""
    data = ["--x", P("x.npy"), "--y", P("y.npy"), "--seed", "3"]  # shuffled, 3 steps an epoch
    rc, _, err = run(model, "train", *data, "--save", P("r3.safetensors"), "--metrics",
                     P("r3.jsonl"))
    check(rc == 0, f"3 epochs: {err}")
    rc, _, err = run(model, "train", *data, "--epochs", "2", "--save", P("r2.safetensors"),
                     "--metrics", P("r21.jsonl"))
    check(rc == 0, f"2 epochs: {err}")
    _, meta = safetensors_util.load(P("r2.safetensors"))
    check(meta.get("kiln.epochs_done") == "2" and meta.get("kiln.step") == "6" and
          meta.get("kiln.epoch_steps_done") == "0", f"checkpoint metadata {meta}")
    env = dict(os.environ, FAKE_FIRST_STEP="7")  # the fake traps on any other first step
    p = subprocess.run([model, "train", "--x", P("x.npy"), "--y", P("y.npy"), "--resume",
                        P("r2.safetensors"), "--epochs", "3", "--save", P("r21.safetensors"),
                        "--metrics", P("r21.jsonl")], capture_output=True, text=True, env=env)
    check(p.returncode == 0 and p.stdout.startswith("epoch 3/3  loss "),
          f"resume for 1 more epoch: exit {p.returncode}: {p.stdout!r} {p.stderr!r}")
    check(read_bytes(P("r3.safetensors")) == read_bytes(P("r21.safetensors")),
          "3 epochs and 2 + 1 resumed: the checkpoints differ")
    # The resumed run appends to the same log, which then equals one run's
    # (but for the timings).
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("samples_per_second", "seconds")}
                          for r in rows]  # noqa: E731
    check(strip(read_jsonl(P("r3.jsonl"))) == strip(read_jsonl(P("r21.jsonl"))),
          "the resumed run's --metrics log differs from the uninterrupted run's")
    # Resuming a finished run trains nothing and saves the same checkpoint.
    rc, out, err = run(model, "train", "--x", P("x.npy"), "--y", P("y.npy"), "--resume",
                       P("r3.safetensors"), "--save", P("r3b.safetensors"))
    check(rc == 0 and read_bytes(P("r3.safetensors")) == read_bytes(P("r3b.safetensors")),
          f"resuming a finished run: exit {rc}, {out!r} {err!r}")
    # Resuming in place: --resume W --save W.
    shutil.copyfile(P("r2.safetensors"), P("inplace.safetensors"))
    p = subprocess.run([model, "train", "--x", P("x.npy"), "--y", P("y.npy"), "--resume",
                        P("inplace.safetensors"), "--epochs", "3", "--save",
                        P("inplace.safetensors")], capture_output=True, text=True, env=env)
    check(p.returncode == 0 and read_bytes(P("inplace.safetensors")) == read_bytes(P("r3.safetensors")),
          f"resume in place: exit {p.returncode}: {p.stderr!r}")
    # --init takes a checkpoint's parameters only (a fresh run from them).
    rc, _, err = run(model, "train", "--x", P("x.npy"), "--y", P("y.npy"), "--init",
                     P("r2.safetensors"), "--epochs", "1")
    check(rc == 0, f"--init from a checkpoint: exit {rc}: {err}")

    # Interrupted mid-epoch (SIGINT, slow steps so it lands inside one): exit
    # 130, a checkpoint at that step; resumed, byte-identical to r3.
    for sig, status in [(signal.SIGINT, 130), (signal.SIGTERM, 143)]:
        slow = dict(os.environ, FAKE_STEP_SLEEP_MS="40")
        proc = subprocess.Popen([model, "train", *data, "--save", P("int.safetensors")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=slow)
        time.sleep(0.2)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        check(proc.returncode == status and
              re.search(r": interrupted \(%s\) at (epoch \d, step \d of 3|the end of epoch \d) "
                        r"\(step \d of the run\); checkpoint saved to .*int.safetensors; "
                        r"continue with --resume .*int.safetensors\n$" % sig.name, err),
              f"{sig.name}: exit {proc.returncode}: {err!r}")
        _, meta = safetensors_util.load(P("int.safetensors"))
        done = int(meta.get("kiln.step", 0))
        check(0 < done < 9, f"{sig.name}: stopped at step {done}")
        env = dict(os.environ, FAKE_FIRST_STEP=str(done + 1))
        p = subprocess.run([model, "train", "--x", P("x.npy"), "--y", P("y.npy"), "--resume",
                            P("int.safetensors"), "--save", P("int_done.safetensors")],
                           capture_output=True, text=True, env=env)
        check(p.returncode == 0 and
              read_bytes(P("int_done.safetensors")) == read_bytes(P("r3.safetensors")),
              f"{sig.name} at step {done}, resumed: exit {p.returncode}, {p.stderr!r}; "
              "the checkpoint differs from the uninterrupted run's")
    # Without --save: exit 130, nothing saved.
    proc = subprocess.Popen([model, "train", *data], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, FAKE_STEP_SLEEP_MS="40"))
    time.sleep(0.15)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    check(proc.returncode == 130 and "nothing saved (no --save)" in err, f"no --save: {err!r}")
    # A second Ctrl-C stops at once, writing nothing: the old file stays.
    with open(P("twice.safetensors"), "wb") as f:
        f.write(b"old")
    proc = subprocess.Popen([model, "train", *data, "--save", P("twice.safetensors")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, FAKE_STEP_SLEEP_MS="300"))
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    check(proc.returncode == 130 and read_bytes(P("twice.safetensors")) == b"old" and
          not [n for n in os.listdir(P("")) if "twice.safetensors.tmp" in n],
          f"two SIGINTs: exit {proc.returncode}, {err!r}")

    # Misuse: exit 2 before any work.
    tr = ["train", "--x", P("x.npy"), "--y", P("y.npy")]
    expect_error(model, [*tr, "--resume", P("w.safetensors")], 2, "not a Kiln checkpoint",
                 "use --init")
    expect_error(model, [*tr, "--resume", P("r2.safetensors"), "--init", P("w.safetensors")], 2,
                 "--init and --resume")
    expect_error(model, [*tr, "--resume", P("r2.safetensors"), "--seed", "4"], 2, "--seed 4")
    expect_error(model, [*tr, "--resume", P("r3.safetensors"), "--epochs", "2"], 2,
                 "already trained 3 epochs")
    np.save(P("x9.npy"), x[:9])
    np.save(P("y9.npy"), y[:9])
    expect_error(model, ["train", "--x", P("x9.npy"), "--y", P("y9.npy"), "--resume",
                         P("r2.safetensors")], 2, "run on 10 samples")


def check_validation(model, P, x, y):
    """--val-NAME for every input and target: loss and metrics on that set
    after every epoch (and every --val-every steps), beside the training
    figures and in --metrics."""
    rng = np.random.default_rng(5)
    vx = rng.normal(size=(7, 3)).astype(np.float32)
    vy = rng.integers(0, 2, size=7).astype(np.int64)
    np.save(P("vx.npy"), vx)
    np.save(P("vy.npy"), vy)
    rc, out, err = run(model, "train", "--x", P("x.npy"), "--y", P("y.npy"), "--val-x",
                       P("vx.npy"), "--val-y", P("vy.npy"), "--val-every", "2", "--metrics",
                       P("val.jsonl"), "--save", P("val.safetensors"))
    check(rc == 0, f"train with validation: exit {rc}: {err}")
    lines = out.splitlines()
    check(len(lines) == 4 and all(re.match(rf"epoch {e}/3  loss \S+  accuracy \S+  val_loss \S+  "
                                           r"val_accuracy \S+  \d+ samples/s", l)
                                  for e, l in zip((1, 2, 3), lines)), f"validation stdout {out!r}")
    log = read_jsonl(P("val.jsonl"))
    steps = [r for r in log if "step" in r]
    epochs = [r for r in log if "step" not in r]
    check([r["step"] for r in steps if "val_loss" in r] == [2, 4, 6, 8] and
          all(list(r)[-2:] == ["val_loss", "val_accuracy"] for r in steps if "val_loss" in r),
          f"--val-every 2: {steps}")
    check(all(list(r)[:5] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
              for r in epochs) and len(epochs) == 3, f"epoch lines {epochs}")
    rc, ev, err = run(model, "eval", "--weights", P("val.safetensors"), "--x", P("vx.npy"),
                      "--y", P("vy.npy"))
    got = parse_eval(ev) if rc == 0 else {}
    check(rc == 0 and abs(got.get("loss", 0) - epochs[-1]["val_loss"]) < 1e-6 and
          abs(got.get("accuracy", 0) - epochs[-1]["val_accuracy"]) < 1e-7,
          f"the last val_loss {epochs[-1]} vs eval of the saved weights {ev!r}")
    shown = float(lines[2].split()[7])
    check(abs(shown - epochs[-1]["val_loss"]) < 1e-4, f"epoch 3 line {lines[2]!r}")
    tr = ["train", "--x", P("x.npy"), "--y", P("y.npy")]
    expect_error(model, [*tr, "--val-x", P("vx.npy")], 2, "--val-x needs --val-y")
    expect_error(model, [*tr, "--val-every", "3"], 2, "--val-every needs a validation set")
    np.save(P("vx_bad.npy"), np.zeros((7, 4), np.float32))
    expect_error(model, [*tr, "--val-x", P("vx_bad.npy"), "--val-y", P("vy.npy")], 2,
                 P("vx_bad.npy") + ": expected per-sample shape [3]")


def check_progress(model, P):
    """The live bar fits the terminal's width; without a terminal, a plain
    line every KILN_PROGRESS_SECONDS (default 5) besides each epoch's."""
    data = ["--x", P("x.npy"), "--y", P("y.npy")]
    for cols in (40, 60):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
        p = subprocess.Popen([model, "train", *data, "--epochs", "2"], stdout=slave,
                             stderr=subprocess.PIPE, env={**os.environ, "TERM": "xterm",
                                                          "FAKE_STEP_SLEEP_MS": "30"})
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        p.wait()
        tty = b"".join(chunks).decode().replace("\x1b[K", "")
        bars = [seg for seg in re.split(r"[\r\n]", tty) if seg.startswith("epoch") and "[" in seg]
        check(bars and all(len(seg) < cols for seg in bars),
              f"{cols} columns: bar lines {[len(b) for b in bars]}: {bars}")
    p = subprocess.run([model, "train", *data, "--epochs", "2"], capture_output=True, text=True,
                       env={**os.environ, "KILN_PROGRESS_SECONDS": "0"})
    plain = [l for l in p.stdout.splitlines() if re.match(r"epoch \d/2  step \d/3  loss ", l)]
    check(p.returncode == 0 and len(plain) == 4 and all("ETA" in l for l in plain),
          f"plain progress lines: {p.stdout!r}")
    rc, out, err = run(model, "predict", "--weights", P("w.safetensors"), "--x", P("x.npy"),
                       "--output", P("said.npy"))
    check(rc == 0 and out == f"predicted 10 samples; wrote logits f32[10, 2] to {P('said.npy')}\n",
          f"predict's line: {out!r}")


# --- bench ------------------------------------------------------------------

BENCH_STREAM = 0x42454E4348212121  # runtime/Bench.cpp: the data's Rng(seed ^ this)
BENCH_KEYS = ["model", "what", "batch", "threads", "warmup", "steps", "median_us", "q1_us",
              "q3_us", "min_us", "max_us", "mean_us", "samples_per_second"]


def run_bench(model, *args):
    rc, out, err = run(model, "bench", *args)
    check(rc == 0 and err == "" and out.count("\n") == 1,
          f"bench {args}: exit {rc}, stdout {out!r}, stderr {err!r}")
    try:
        return json.loads(out)
    except ValueError:
        check(False, f"bench {args}: not one JSON line: {out!r}")
        return {}


def check_bench(model, two):
    """`bench` (runtime/Bench.cpp): its JSON line, the statistics of --times,
    and that its train steps are train's (the fake traps on a step count out
    of order or results that alias arguments): the loss after W + S steps on
    the bench's random data is the numpy reference's."""
    for what in ["train", "predict", "eval"]:
        got = run_bench(model, "--what", what, "--steps", "7", "--warmup", "2", "--threads",
                        "2", "--batch", "5", "--times")
        check(list(got)[:len(BENCH_KEYS)] == BENCH_KEYS, f"bench {what}: keys {list(got)}")
        check(got.get("model") == "FakeLinear" and got.get("what") == what
              and got.get("batch") == 5 and got.get("threads") == 2
              and got.get("steps") == 7 and got.get("warmup") == 2, f"bench {what}: {got}")
        times = got.get("times_us", [])
        check(len(times) == 7 and all(t >= 0 for t in times), f"bench {what}: times {times}")
        if len(times) == 7:
            q1, med, q3 = np.percentile(times, [25, 50, 75])
            for key, want in [("median_us", med), ("q1_us", q1), ("q3_us", q3),
                              ("min_us", min(times)), ("max_us", max(times)),
                              ("mean_us", float(np.mean(times)))]:
                check(abs(got.get(key, -1) - want) <= 0.0015,
                      f"bench {what}: {key} {got.get(key)} vs {want} from {times}")
            check(abs(got["samples_per_second"] - 5e6 / got["median_us"])
                  <= 1e-5 * got["samples_per_second"], f"bench {what}: samples/s {got}")
        check(("loss" in got) == (what != "predict"), f"bench {what}: loss key {list(got)}")
        check(got.get("max_rss_kib", 0) > 0, f"bench {what}: max_rss_kib {got}")

    # The numbers: train from the manifest's initializers (seed 42), random x
    # uniform in [0, 1) and y in {0, 1} from the bench's stream.
    seed, batch, warmup, steps = 42, 6, 3, 4
    rng = Rng(seed ^ BENCH_STREAM)
    x = np.array([(rng.next() >> 11) * 2.0 ** -53 for _ in range(batch * 3)],
                 np.float32).reshape(batch, 3)
    y = np.array([rng.below(2) for _ in range(batch)], np.int64)
    init = Rng(seed)
    w = np.array([-0.577 + 1.154 * ((init.next() >> 11) * 2.0 ** -53) for _ in range(6)],
                 np.float32).reshape(2, 3)
    b = np.zeros(2, np.float32)
    _, _, ref = sgd_reference(x, y, w, b, lr=0.1, epochs=warmup + steps, batch=batch)
    got = run_bench(model, "--steps", str(steps), "--warmup", str(warmup), "--batch", str(batch))
    check(got.get("what") == "train" and got.get("threads", 0) >= 1, f"bench defaults: {got}")
    check(abs(got.get("loss", 0) - ref[-1][0]) < 1e-5,
          f"bench train: last loss {got.get('loss')} vs the reference's {ref[-1][0]}")
    got = run_bench(model, "--what", "eval", "--steps", "2", "--warmup", "0", "--batch",
                    str(batch))
    check(abs(got.get("loss", 0) - ref[0][0]) < 1e-5,
          f"bench eval: loss {got.get('loss')} vs the reference's {ref[0][0]}")
    check("times_us" not in got, "bench: times_us without --times")

    # A model without a loss benches its forward by default; eval and train
    # are refused, as are bad flags (exit 2, pointing at bench --help).
    got = run_bench(two, "--steps", "3")
    check(got.get("what") == "predict" and got.get("batch") == 64 and "loss" not in got,
          f"bench two outputs: {got}")
    expect_error(two, ["bench", "--what", "eval"], 2, "no loss and no metrics",
                 "bench --help")
    expect_error(two, ["bench", "--what", "train"], 2, "no loss to minimize")
    expect_error(model, ["bench", "--what", "fit"], 2, "'fit' is not train, predict or eval")
    expect_error(model, ["bench", "--steps", "0"], 2, "--steps")
    expect_error(model, ["bench", "--x", "x.npy"], 2, "unknown flag --x")
    rc, out, _ = run(model, "bench", "--help")
    check(rc == 0 and "usage:" in out and "--warmup W" in out, f"bench --help: {rc} {out!r}")
    rc, out, _ = run(model, "--help")
    check(rc == 0 and "bench" in out, f"--help does not list bench: {out!r}")


def main():
    model, two, roundtrip = [shutil.which(p) or os.path.abspath(p) for p in sys.argv[1:4]]
    global NO_SHUFFLE
    NO_SHUFFLE = (shutil.which(sys.argv[4]) or os.path.abspath(sys.argv[4]) if len(sys.argv) > 4
                  else os.path.join(os.path.dirname(model), "kiln-fake-model-no-shuffle"))
    tmp = tempfile.mkdtemp(prefix="kiln-fake-model-")
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    rng = np.random.default_rng(0)
    n = 10
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=n).astype(np.int64)
    w = rng.normal(size=(2, 3)).astype(np.float32)
    b = rng.normal(size=2).astype(np.float32)
    safetensors_util.save(P("w.safetensors"), {"fc.weight": w, "fc.bias": b},
                          {"format": "pt"})
    logits_ref, loss_ref, acc_ref = reference(x, y, w, b)

    # The same data in every format.
    np.save(P("x.npy"), x)
    np.save(P("y.npy"), y)
    np.savetxt(P("x.csv"), x, delimiter=",", fmt="%.9g", header="a,b,c", comments="")
    np.savetxt(P("y.csv"), y, fmt="%d")
    write_idx(P("x.idx"), x, gz=False)
    write_idx(P("x.idx.gz"), x, gz=True)
    write_idx(P("y-idx1-ubyte.gz"), y.astype(np.uint8), gz=True)
    write_idx(P("y.idx"), y.astype(np.int32), gz=False)
    np.save(P("y_u8.npy"), y.astype(np.uint8))

    # predict, every input format, batch sizes that leave a smaller last batch.
    for xf in ["x.npy", "x.csv", "x.idx", "x.idx.gz"]:
        for batch in ["4", "64", "1"]:
            rc, out, err = run(model, "predict", "--weights", P("w.safetensors"),
                               "--x", P(xf), f"--output={P('out.npy')}", "--batch", batch)
            check(rc == 0, f"predict {xf} batch {batch}: exit {rc}: {err}")
            got = np.load(P("out.npy"))
            check(got.dtype == np.float32 and got.shape == (n, 2), f"predict shape {got.shape}")
            check(np.allclose(got, logits_ref, rtol=1e-5, atol=1e-5),
                  f"predict {xf} batch {batch}: {got} vs {logits_ref}")
    rc, _, err = run(model, "predict", "--weights", P("w.safetensors"), "--x", P("x.npy"),
                     "--output", P("out.csv"))
    check(rc == 0, f"predict csv: {err}")
    check(np.allclose(np.loadtxt(P("out.csv"), delimiter=",", ndmin=2), logits_ref,
                      rtol=1e-5, atol=1e-5), "predict csv values")

    # eval: sample-weighted means over batches, every target format.
    for yf in ["y.npy", "y.csv", "y-idx1-ubyte.gz", "y.idx", "y_u8.npy"]:
        for batch in ["3", "10", "100"]:
            rc, out, err = run(model, "eval", "--weights", P("w.safetensors"),
                               "--x", P("x.npy"), "--y", P(yf), "--batch", batch)
            check(rc == 0, f"eval {yf}: exit {rc}: {err}")
            got = parse_eval(out)
            check(list(got) == ["loss", "accuracy"], f"eval output {out!r}")
            check(abs(got["loss"] - loss_ref) < 1e-5 * max(1, loss_ref),
                  f"eval loss {got['loss']} vs {loss_ref}")
            check(abs(got["accuracy"] - acc_ref) < 1e-6, f"accuracy {got['accuracy']} vs {acc_ref}")

    # The same numbers from PyTorch, on weights loaded from our own writer.
    rc, _, err = run(roundtrip, P("w.safetensors"), P("w2.safetensors"))
    check(rc == 0, f"roundtrip: {err}")
    tensors, meta = safetensors_util.load(P("w2.safetensors"))
    check(meta == {"format": "pt"}, f"metadata {meta}")
    try:
        import torch
        net = torch.nn.Module()
        net.fc = torch.nn.Linear(3, 2)  # state_dict names fc.weight, fc.bias
        net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
        with torch.no_grad():
            t_logits = net.fc(torch.from_numpy(x))
            t_loss = torch.nn.functional.cross_entropy(t_logits, torch.from_numpy(y)).item()
        check(np.allclose(t_logits.numpy(), logits_ref, rtol=1e-5, atol=1e-5), "torch logits")
        check(abs(t_loss - loss_ref) < 1e-5, f"torch loss {t_loss} vs {loss_ref}")
    except ImportError:
        print("note: torch not importable; PyTorch comparison skipped")
    try:
        import safetensors.torch  # optional: the real package, where installed
        st = safetensors.torch.load_file(P("w2.safetensors"))
        check(np.array_equal(st["fc.weight"].numpy(), w), "safetensors package read")
    except ImportError:
        pass

    # A non-finite loss fails the run (exit 1) after printing it.
    safetensors_util.save(P("nan.safetensors"),
                          {"fc.weight": np.full((2, 3), np.nan, np.float32), "fc.bias": b})
    rc, out, err = run(model, "eval", "--weights", P("nan.safetensors"), "--x", P("x.npy"),
                       "--y", P("y.npy"))
    check(rc == 1 and "not finite" in err and out.startswith("loss nan"),
          f"nan loss: {rc} {out!r} {err!r}")

    # info and help.
    rc, out, err = run(model, "info")
    check(rc == 0, f"info: {err}")
    out = " ".join(out.split())  # column widths are not part of the contract
    for part in ["model FakeLinear", "x f32[N, 3]", "logits f32[N, 2]",
                 "fc.weight f32[2, 3] 6 uniform(-0.577, 0.577)", "fc.bias f32[2] 2 zeros",
                 "total parameters: 8 (32 bytes)", "FLOPs per sample: 12",
                 "batch 4, epochs 3, seed 42"]:
        check(part in out, f"info lacks {part!r}:\n{out}")
    rc, out, _ = run(model, "info", "--json")
    check(rc == 0 and '"model": "FakeLinear"' in out, "info --json")
    for args in [["--help"], ["eval", "--help"], ["predict", "-h"], ["train", "--help"]]:
        rc, out, _ = run(model, *args)
        check(rc == 0 and "usage:" in out, f"{args}: {rc} {out!r}")
    rc, out, _ = run(model, "eval", "--help")
    check("--x FILE" in out and "target i64[N]" in out, f"eval help: {out}")

    # Two outputs: OUT.NAME.EXT; no loss, so eval is a usage error.
    safetensors_util.save(P("w_two.safetensors"), {"fc.weight": w, "fc.bias": b})
    rc, _, err = run(two, "predict", "--weights", P("w_two.safetensors"), "--x", P("x.npy"),
                     "--output", P("preds.npy"), "--batch", "3")
    check(rc == 0, f"two outputs: {err}")
    logits = np.load(P("preds.logits.npy"))
    probs = np.load(P("preds.probs.npy"))
    e = np.exp(logits_ref - logits_ref.max(axis=1, keepdims=True))
    check(np.allclose(logits, logits_ref, atol=1e-5), "two outputs: logits")
    check(np.allclose(probs, e / e.sum(axis=1, keepdims=True), atol=1e-6), "two outputs: probs")
    expect_error(two, ["eval", "--weights", P("w_two.safetensors"), "--x", P("x.npy")], 2,
                 "no loss and no metrics")

    # Bad usage and bad input: exit 2, one line naming the file.
    W = ["--weights", P("w.safetensors")]
    ev = ["eval", *W, "--x", P("x.npy"), "--y"]
    expect_error(model, [], 2, "missing command")
    expect_error(model, ["fly"], 2, "unknown command 'fly'")
    expect_error(model, ["eval", *W, "--x", P("x.npy")], 2, "missing --y FILE", "--help")
    expect_error(model, [*ev, P("y.npy"), "--bogus", "1"], 2, "unknown flag --bogus")
    expect_error(model, [*ev, P("y.npy"), "--batch", "0"], 2, "--batch: '0'")
    expect_error(model, [*ev, P("y.npy"), "--batch", "many"], 2, "--batch: 'many'")
    expect_error(model, [*ev, P("nope.npy")], 2, P("nope.npy") + ": cannot open")
    np.save(P("y_short.npy"), y[:9])
    expect_error(model, [*ev, P("y_short.npy")], 2, P("x.npy") + " has 10 samples",
                 P("y_short.npy") + " has 9")
    np.save(P("y_f.npy"), y.astype(np.float64))
    expect_error(model, [*ev, P("y_f.npy")], 2, P("y_f.npy"), "cannot convert f64")
    np.save(P("x_64.npy"), x.astype(np.float64))
    expect_error(model, ["eval", *W, "--x", P("x_64.npy"), "--y", P("y.npy")], 2,
                 P("x_64.npy"), "f64")
    np.save(P("x_wide.npy"), np.zeros((n, 4), np.float32))
    expect_error(model, ["eval", *W, "--x", P("x_wide.npy"), "--y", P("y.npy")], 2,
                 P("x_wide.npy") + ": expected per-sample shape [3], file has [4]")
    with open(P("y_bad.csv"), "w") as f:
        f.write("1\n0\nzero\n")
    expect_error(model, [*ev, P("y_bad.csv")], 2, P("y_bad.csv") + ": line 3, column 1")
    with open(P("y_frac.csv"), "w") as f:
        f.write("1\n0.5\n")
    expect_error(model, [*ev, P("y_frac.csv")], 2, "line 2, column 1: 0.5 does not fit i64")
    with open(P("x.idx"), "rb") as f:
        data = f.read()
    with open(P("x_trunc.idx"), "wb") as f:
        f.write(data[:-1])
    expect_error(model, ["eval", *W, "--x", P("x_trunc.idx"), "--y", P("y.npy")], 2,
                 P("x_trunc.idx") + ": truncated")
    with open(P("bad.npy"), "wb") as f:
        f.write(b"hello")
    expect_error(model, ["eval", *W, "--x", P("bad.npy"), "--y", P("y.npy")], 2,
                 P("bad.npy") + ": wrong magic")
    np.save(P("empty.npy"), np.zeros((0, 3), np.float32))
    expect_error(model, ["eval", *W, "--x", P("empty.npy"), "--y", P("y.npy")], 2,
                 P("empty.npy") + ": holds no samples")

    # Bad weights.
    def bad_weights(tensors, *parts):
        safetensors_util.save(P("bw.safetensors"), tensors)
        expect_error(model, ["eval", "--weights", P("bw.safetensors"), "--x", P("x.npy"),
                             "--y", P("y.npy")], 2, P("bw.safetensors"), *parts)
    bad_weights({"fc.weight": w}, "missing tensor 'fc.bias'")
    bad_weights({"fc.weight": w, "fc.bias": b[:1]}, "'fc.bias' has shape [1]")
    bad_weights({"fc.weight": w, "fc.bias": b.astype(np.float64)}, "dtype F64")
    bad_weights({"fc.weight": w, "fc.bias": b, "extra": b}, "unexpected tensor 'extra'")
    with open(P("w.safetensors"), "rb") as f:
        good = f.read()
    with open(P("bw.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 1 << 40) + good[8:])
    expect_error(model, ["eval", "--weights", P("bw.safetensors"), "--x", P("x.npy"),
                         "--y", P("y.npy")], 2, "past the end of the file")
    with open(P("bw.safetensors"), "wb") as f:
        f.write(good[:-4])
    expect_error(model, ["eval", "--weights", P("bw.safetensors"), "--x", P("x.npy"),
                         "--y", P("y.npy")], 2, P("bw.safetensors"))
    expect_error(model, ["predict", *W, "--x", P("x.npy"), "--output", P("o.txt")], 2,
                 "must end in .npy or .csv")
    expect_error(model, ["predict", *W, "--x", P("x.npy"), "--y", P("y.npy"),
                         "--output", P("o.npy")], 2, "unknown flag --y")

    check_train(model, two, P, x, y)
    check_output_rule(model, P, x, y)
    check_inputs_are_not_outputs(model, two, P, x, y)
    check_nonblocking_inputs(model, P)
    check_csv_bom_and_header(model, P, y)
    check_class_labels(model, P, x, y)
    check_weights_not_safetensors(model, P)
    check_resume(model, P, x, y)
    check_validation(model, P, x, y)
    check_progress(model, P)
    check_bench(model, two)

    shutil.rmtree(tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all fake-model checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
