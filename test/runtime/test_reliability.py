"""Reliability checks of the runtime through real processes (ctest
kiln-runtime-reliability):

1. Absurd sizes: data and weights files whose headers claim terabytes, or
   gigabytes a tiny file does not hold, fail with exit 2 and a message naming
   the file, and nothing is allocated for the claim: the runs happen under an
   address-space limit (RLIMIT_AS, 512 MiB), where an attempted allocation
   would fail as "out of memory" (exit 1) instead. Under AddressSanitizer,
   which reserves terabytes of shadow address space, RLIMIT_AS cannot be
   used; ASan's own allocation limit (max_allocation_size_mb=512, returning
   null) plays its part.
2. Interrupted checkpoints: a process writing weights is SIGKILLed at random
   points, again and again; the target file is always either the old file,
   intact, or the new one, complete (byte-identical to an uninterrupted
   run's). Checked with kiln-safetensors-roundtrip writing a 24 MiB file
   (killed while its temporary grows, or at a random time) and with the fake
   model's real `train --save`.

usage: test_reliability.py FAKE_MODEL SAFETENSORS_ROUNDTRIP
"""
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_util  # noqa: E402

FAILURES = []
LIMIT = 512 << 20


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


# --- 1. absurd sizes -------------------------------------------------------

def check_absurd_sizes(model, tmp):
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    use_limit = not sanitized(model)
    rng = np.random.default_rng(1)
    n = 8
    np.save(P("x.npy"), rng.standard_normal((n, 3)).astype(np.float32))
    np.save(P("y.npy"), rng.integers(0, 2, n).astype(np.int64))
    safetensors_util.save(P("w.safetensors"), {
        "fc.weight": np.ones((2, 3), np.float32), "fc.bias": np.zeros(2, np.float32)})

    # The data limit (KILN_MAX_DATA_BYTES) would refuse these claims by
    # itself under the address-space limit; set high, the claims reach the
    # readers' own checks, which must refuse them without allocating.
    env = dict(os.environ, KILN_MAX_DATA_BYTES="16G")
    if not use_limit:
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
            f":allocator_may_return_null=1:max_allocation_size_mb={LIMIT >> 20}"

    def run(args):
        return subprocess.run([model, *args], capture_output=True, text=True, env=env,
                              preexec_fn=limited if use_limit else None)

    p = run(["eval", "--weights", P("w.safetensors"), "--x", P("x.npy"), "--y", P("y.npy")])
    check(p.returncode == 0, f"a good eval under the limit: exit {p.returncode}: {p.stderr!r}")

    def npy(name, shape):
        header = ("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (shape,))
        header = header.ljust(117) + "\n"
        with open(P(name), "wb") as f:
            f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
            f.write(b"\0" * 48)

    def idx(name, dims, gz=False):
        import gzip
        data = struct.pack(">BBBB", 0, 0, 0x0D, len(dims)) + struct.pack(">" + "I" * len(dims), *dims)
        data += b"\0" * 48
        with (gzip.open if gz else open)(P(name), "wb") as f:
            f.write(data)

    def safetensors(name, header_text, data=b"\0" * 32, length=None):
        text = header_text.encode()
        text += b" " * (-len(text) % 8)
        with open(P(name), "wb") as f:
            f.write(struct.pack("<Q", len(text) if length is None else length) + text + data)

    npy("x_tb.npy", (1 << 40, 3))              # 12 TiB of f32
    npy("x_gb.npy", (500_000_000, 3))          # 6 GB: under the cap, not in the file
    idx("x_tb.idx", [0xFFFFFFFF, 3])           # 48 GiB
    idx("x_gb.idx", [400_000_000, 3])          # 4.8 GB
    idx("x_gb.gz", [400_000_000, 3], gz=True)  # 4.8 GB in a gzip stream
    cases = [
        ("x", "x_tb.npy", "data limit of 16 GiB"),
        ("x", "x_gb.npy", "truncated: header says 500000000 items"),
        ("x", "x_tb.idx", "data limit of 16 GiB"),
        ("x", "x_gb.idx", "truncated: header says 400000000 items"),
        ("x", "x_gb.gz", "truncated: header says 400000000 items"),
    ]
    for flag, name, part in cases:
        args = ["eval", "--weights", P("w.safetensors"), "--x", P("x.npy"), "--y", P("y.npy")]
        args[args.index("--" + flag) + 1] = P(name)
        p = run(args)
        check(p.returncode == 2 and P(name) in p.stderr and part in p.stderr,
              f"{name}: exit {p.returncode}, wanted 2 and {part!r}: {p.stderr!r}")

    # Weights: 4 TiB claimed by data_offsets, a 2^40-byte header, a 99 MB
    # header in a small file; for eval --weights and train --init.
    big = 1 << 20
    safetensors("w_tb.safetensors",
                '{"fc.weight":{"dtype":"F32","shape":[%d,%d],"data_offsets":[0,%d]},'
                '"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[%d,%d]}}'
                % (big, big, 4 * big * big, 4 * big * big, 4 * big * big + 8))
    safetensors("w_hdr.safetensors", "{}", length=1 << 40)
    safetensors("w_99mb.safetensors", "{}", length=99_000_000)
    for name, part in [("w_tb.safetensors", "out of range"),
                       ("w_hdr.safetensors", "past the end of the file"),
                       ("w_99mb.safetensors", "past the end of the file")]:
        for args in (["eval", "--weights", P(name), "--x", P("x.npy"), "--y", P("y.npy")],
                     ["train", "--init", P(name), "--x", P("x.npy"), "--y", P("y.npy"),
                      "--epochs", "1"]):
            p = run(args)
            check(p.returncode == 2 and P(name) in p.stderr and part in p.stderr,
                  f"{args[0]} {name}: exit {p.returncode}, wanted 2 and {part!r}: {p.stderr!r}")
    print(f"absurd sizes: {len(cases) + 6} claims refused with exit 2"
          + (f" under RLIMIT_AS {LIMIT >> 20} MiB" if use_limit
             else f" (ASan, allocations over {LIMIT >> 20} MiB fail)"))


# --- 2. interrupted checkpoints --------------------------------------------

def kill_and_check(argv, out, old, new, tmp_name, mode, duration, rng, valid=None):
    """Runs argv (which writes `out`), SIGKILLs it, and checks `out`: the old
    file, the new one, or (when `valid` is given) a file valid(bytes) accepts,
    such as an earlier epoch's checkpoint. Returns whether a partial temporary
    was seen when it was killed, and which of them `out` was."""
    shutil.copyfile(old, out)
    with open(old, "rb") as f:
        old_bytes = f.read()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp = tmp_name(proc.pid)
    partial = False
    if mode == "grow":
        # Kill once the temporary holds a random fraction of the new file.
        want = int(rng.uniform(0.0, 1.0) * len(new))
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if os.stat(tmp).st_size >= want:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.0002)
    else:  # mostly near the end of the run, where the save happens
        time.sleep(rng.uniform(0.3, 1.2) * duration)
    if proc.poll() is None:
        try:
            partial = os.path.exists(tmp) and os.stat(tmp).st_size < len(new)
        except FileNotFoundError:
            pass
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open(out, "rb") as f:
        got = f.read()
    state = ("old" if got == old_bytes else "new" if got == new else
             "earlier" if valid and valid(got) else None)
    check(state is not None,
          f"{os.path.basename(argv[0])} killed ({mode}): {out} is neither the old file "
          f"nor the new one ({len(got)} bytes; old {len(old_bytes)}, new {len(new)})")
    if state in ("new", "earlier"):
        tensors, _ = safetensors_util.load(out)  # and it loads
        check(len(tensors) > 0, f"{out}: the new file holds no tensors")
    if os.path.exists(tmp):  # a SIGKILL leaves the temporary behind; that is all
        os.remove(tmp)
    return partial, state


def timed(argv):
    start = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True)
    return p, time.monotonic() - start


def check_interrupted_saves(model, roundtrip, tmp):
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    rng = random.Random(20240601)
    gen = np.random.default_rng(2)

    # (a) kiln-safetensors-roundtrip IN OUT: reads IN, writes it to OUT with
    # the runtime's writer (24 MiB, so the write takes a while).
    safetensors_util.save(P("in.safetensors"), {
        "big": gen.standard_normal((3 << 20, 2)).astype(np.float32),
        "small": np.arange(10, dtype=np.int64)})
    safetensors_util.save(P("old.safetensors"), {"old": np.ones(4, np.float32)},
                          {"format": "pt"})
    argv = [roundtrip, P("in.safetensors"), P("out.safetensors")]
    p, duration = timed([roundtrip, P("in.safetensors"), P("ref.safetensors")])
    check(p.returncode == 0, f"roundtrip: exit {p.returncode}: {p.stderr!r}")
    with open(P("ref.safetensors"), "rb") as f:
        new = f.read()
    outcomes = {"old": 0, "new": 0, "earlier": 0, None: 0}
    partials = 0
    for i in range(30):
        partial, state = kill_and_check(
            argv, P("out.safetensors"), P("old.safetensors"), new,
            lambda pid: P("out.safetensors") + f".tmp.{pid}",
            "grow" if i % 2 == 0 else "time", duration, rng)
        partials += partial
        outcomes[state] += 1
    check(partials > 0, "no kill landed while the temporary was partly written")
    print(f"roundtrip ({len(new) >> 20} MiB, {duration:.2f}s uninterrupted), 30 kills: "
          f"{outcomes['old']} old intact, {outcomes['new']} new complete, "
          f"{partials} killed mid-write")

    # (b) the fake model's train --save, killed anywhere in the run.
    n = 200_000
    np.save(P("tx.npy"), gen.standard_normal((n, 3)).astype(np.float32))
    np.save(P("ty.npy"), gen.integers(0, 2, n).astype(np.int64))
    base = [model, "train", "--x", P("tx.npy"), "--y", P("ty.npy"), "--epochs", "3",
            "--batch", "64"]
    p, duration = timed(base + ["--seed", "1", "--save", P("train_old.safetensors")])
    check(p.returncode == 0, f"train: exit {p.returncode}: {p.stderr!r}")
    p, duration = timed(base + ["--seed", "2", "--save", P("train_ref.safetensors")])
    check(p.returncode == 0, f"train: exit {p.returncode}: {p.stderr!r}")
    with open(P("train_ref.safetensors"), "rb") as f:
        new = f.read()
    # --save is written after every epoch too: a kill may leave epoch 1's or
    # 2's checkpoint, complete, with the tensors of a run of that many epochs.
    refs = {}
    for k in (1, 2):
        p, _ = timed([model, "train", "--x", P("tx.npy"), "--y", P("ty.npy"), "--epochs",
                      str(k), "--batch", "64", "--seed", "2",
                      "--save", P(f"train_ref{k}.safetensors")])
        check(p.returncode == 0, f"train --epochs {k}: exit {p.returncode}: {p.stderr!r}")
        refs[str(k)] = safetensors_util.load(P(f"train_ref{k}.safetensors"))[0]

    def earlier_epoch(data):
        with open(P("probe.safetensors"), "wb") as f:
            f.write(data)
        try:
            tensors, meta = safetensors_util.load(P("probe.safetensors"))
        except Exception:
            return False
        ref = refs.get(meta.get("kiln.epochs_done"))
        return ref is not None and sorted(ref) == sorted(tensors) and all(
            np.array_equal(ref[k], tensors[k]) for k in ref)

    argv = base + ["--seed", "2", "--save", P("train_out.safetensors")]
    outcomes = {"old": 0, "new": 0, "earlier": 0, None: 0}
    for i in range(12):
        _, state = kill_and_check(
            argv, P("train_out.safetensors"), P("train_old.safetensors"), new,
            lambda pid: P("train_out.safetensors") + f".tmp.{pid}", "time", duration, rng,
            valid=earlier_epoch)
        outcomes[state] += 1
        if state is not None:
            e = subprocess.run([model, "eval", "--weights", P("train_out.safetensors"),
                                "--x", P("x.npy"), "--y", P("y.npy")],
                               capture_output=True, text=True)
            check(e.returncode == 0, f"eval of a killed train's --save: {e.stderr!r}")
    print(f"train --save ({duration:.2f}s uninterrupted), 12 kills: "
          f"{outcomes['old']} old intact, {outcomes['earlier']} an earlier epoch's "
          f"checkpoint, {outcomes['new']} new complete")


# --- 3. memory while reading, the data limit ---------------------------------

PEAK = """import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(f"{p.returncode}\\n{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n{p.stderr}")
"""


def peak_run(argv, env=None):
    """Runs argv in a fresh Python whose only child it is: (exit status,
    peak resident memory in MiB, stderr)."""
    p = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True, text=True,
                       env=env)
    rc, kib, err = p.stdout.split("\n", 2)
    return int(rc), int(kib) / 1024, err


def check_memory(model, tmp):
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    measure = not sanitized(model)  # ASan's shadow memory makes RSS meaningless
    np.save(P("y8.npy"), np.zeros(8, np.int64))
    np.save(P("x8.npy"), np.zeros((8, 3), np.float32))
    safetensors_util.save(P("w.safetensors"), {
        "fc.weight": np.ones((2, 3), np.float32), "fc.bias": np.zeros(2, np.float32)})
    ev = [model, "eval", "--weights", P("w.safetensors")]

    # A 30 MB CSV on one line: its value count is wrong for [3] samples. The
    # reader streams: it never holds the line, let alone a cell table of it.
    with open(P("line.csv"), "w") as f:
        f.write(",".join(["0.123456789"] * 2_500_000) + "\n")
    size = os.path.getsize(P("line.csv")) / 2**20
    rc, peak, err = peak_run(ev + ["--x", P("line.csv"), "--y", P("y8.npy")])
    check(rc == 2 and "line 1 has 2500000 values, expected 3" in err,
          f"one-line CSV: exit {rc}: {err!r}")
    if measure:
        check(peak < 40, f"one-line CSV of {size:.0f} MiB: peak {peak:.0f} MiB")
    print(f"one-line CSV of {size:.0f} MiB refused; peak {peak:.0f} MiB")

    # A gzip stream of 96 MiB of f32 (about 100 KB of file) that holds what
    # its header says: read into the tensor with no second copy, so the peak
    # is the tensor (not the stored bytes plus the tensor).
    import gzip
    n = 8 << 20
    with gzip.open(P("bomb.idx.gz"), "wb", compresslevel=9) as f:
        f.write(struct.pack(">BBBBII", 0, 0, 0x0D, 2, n, 3))
        chunk = b"\0" * (12 << 20)
        for _ in range(8):
            f.write(chunk)
    decoded = n * 3 * 4 / 2**20
    rc, peak, err = peak_run(ev + ["--x", P("bomb.idx.gz"), "--y", P("y8.npy")])
    check(rc == 2 and f"has {n} samples" in err, f"gzip of {decoded:.0f} MiB: exit {rc}: {err!r}")
    if measure:
        check(peak < decoded * 1.25 + 24,
              f"gzip of {decoded:.0f} MiB decoded: peak {peak:.0f} MiB, more than the data")
    print(f"gzip stream of {decoded:.0f} MiB ({os.path.getsize(P('bomb.idx.gz')) >> 10} KiB): "
          f"peak {peak:.0f} MiB")
    # With a lower data limit it is refused from its header, before reading.
    env = dict(os.environ, KILN_MAX_DATA_BYTES="64M")
    rc, peak, err = peak_run(ev + ["--x", P("bomb.idx.gz"), "--y", P("y8.npy")], env=env)
    check(rc == 2 and P("bomb.idx.gz") in err and "data limit of 64 MiB" in err and
          "KILN_MAX_DATA_BYTES" in err, f"gzip over the limit: exit {rc}: {err!r}")
    if measure:
        check(peak < 24, f"gzip over the limit: peak {peak:.0f} MiB")
    # The same for a CSV whose rows are fine but too many.
    with open(P("rows.csv"), "w") as f:
        f.write("1,2,3\n" * 200_000)
    env = dict(os.environ, KILN_MAX_DATA_BYTES="1M")
    rc, _, err = peak_run(ev + ["--x", P("rows.csv"), "--y", P("y8.npy")], env=env)
    check(rc == 2 and "data limit of 1 MiB" in err, f"CSV over the limit: exit {rc}: {err!r}")
    env = dict(os.environ, KILN_MAX_DATA_BYTES="lots")
    rc, _, err = peak_run(ev + ["--x", P("x8.npy"), "--y", P("y8.npy")], env=env)
    check(rc == 2 and "KILN_MAX_DATA_BYTES: 'lots' is not a byte count" in err,
          f"a bad KILN_MAX_DATA_BYTES: exit {rc}: {err!r}")


# --- 4. signals during an atomic write ---------------------------------------

def check_signal_cleanup(roundtrip, tmp):
    """SIGINT or SIGTERM while the temporary is being written: the process
    exits 130 / 143, removes PATH.tmp.<pid>, and PATH is the old file."""
    P = lambda name: os.path.join(tmp, name)  # noqa: E731
    gen = np.random.default_rng(3)
    safetensors_util.save(P("sin.safetensors"), {
        "big": gen.standard_normal((3 << 20, 2)).astype(np.float32)})
    safetensors_util.save(P("sold.safetensors"), {"old": np.ones(4, np.float32)})
    with open(P("sold.safetensors"), "rb") as f:
        old = f.read()
    landed = 0
    for i in range(8):
        sig = signal.SIGINT if i % 2 == 0 else signal.SIGTERM
        shutil.copyfile(P("sold.safetensors"), P("sout.safetensors"))
        proc = subprocess.Popen([roundtrip, P("sin.safetensors"), P("sout.safetensors")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tmp_path = P("sout.safetensors") + f".tmp.{proc.pid}"
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if os.path.exists(tmp_path) and os.path.getsize(tmp_path) > (1 << 20):
                break
            time.sleep(0.0002)
        if proc.poll() is None:
            proc.send_signal(sig)
            landed += 1
        rc = proc.wait()
        if rc != 0:
            check(rc == 128 + sig, f"{sig.name} during a write: exit {rc}, wanted {128 + sig}")
            with open(P("sout.safetensors"), "rb") as f:
                check(f.read() == old, f"{sig.name} during a write: the target changed")
        check(not os.path.exists(tmp_path), f"{sig.name} during a write left {tmp_path}")
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
    check(landed > 0, "no signal landed during a write")
    print(f"signals during an atomic write: {landed} of 8 landed; no temporary left")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    model = shutil.which(sys.argv[1]) or sys.argv[1]
    roundtrip = shutil.which(sys.argv[2]) or sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="kiln-reliability-")
    try:
        check_absurd_sizes(model, tmp)
        check_interrupted_saves(model, roundtrip, tmp)
        check_memory(model, tmp)
        check_signal_cleanup(roundtrip, tmp)
    finally:
        shutil.rmtree(tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all reliability checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
