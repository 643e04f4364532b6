"""End-to-end test of the runtime's main(): runs the fake model executables
(test/runtime/fake_model.cpp) on files written here and checks every number
against numpy and PyTorch, and every bad input's exit status and message.

usage: test_fake_model.py FAKE_MODEL FAKE_TWO_OUTPUTS SAFETENSORS_ROUNDTRIP
(each a path, or a name found on PATH)."""
import gzip
import os
import shutil
import struct
import subprocess
import sys
import tempfile

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


def main():
    model, two, roundtrip = [shutil.which(p) or os.path.abspath(p) for p in sys.argv[1:4]]
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

    # train: flags parsed; this build cannot train yet (no train_step).
    tr = ["train", "--x", P("x.npy"), "--y", P("y.npy")]
    expect_error(model, [*tr, "--epochs", "-1"], 2, "--epochs")
    expect_error(model, [*tr, "--lr", "fast"], 2, "--lr")
    expect_error(model, [*tr, "--seed=1", "--threads=2", "--lr=0.5", "--save", P("s.st")], 2,
                 "not supported yet by this build")

    shutil.rmtree(tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all fake-model checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
