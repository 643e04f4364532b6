#!/usr/bin/env python3
"""Kiln's cuda executables beside PyTorch on the same GPU (issue 12's bench).

Rows: the train step of the MLP at batch 64 and 1024, of the CNN and the RNN
at batch 64, MLP inference at batch 1000, and one Fashion-MNIST MLP epoch as
a user runs it. Contenders:
  kiln           ./NAME bench (the executable's own entry point; it waits for
                 each call's kernels, so a step is timed whole), built with
                 --target cuda;
  torch          PyTorch eager on the GPU;
  torch-compile  torch.compile of the model and loss, and of the optimizer
                 step (as peers.py does on the CPU);
  torch-graph    the whole step (forward, loss, backward, update) captured
                 once in a CUDA graph and replayed (torch.cuda.graph, static
                 input tensors, capturable optimizers).
Every PyTorch step ends with torch.cuda.synchronize(), as Kiln's bench waits
for its kernels. Each row prints one JSON line as soon as it is measured (so
a run cut short keeps what it had), then a table: medians with the
quartiles, and Kiln's time over each peer's. Goals (issue 12): the MLP step
at batch 64 at least 3x faster than eager, and no row slower than
torch.compile.

The twins are bench/peers.py's (the same layers, preprocessing, loss and
optimizers as examples/*.kiln). `--device cpu --target cpu` runs the same
code on the CPU, to check this script where there is no GPU (its numbers
are not the GPU's).

usage: bench/gpu.py --kiln build/bin/kiln [--work DIR] [--steps S] [--warmup W]
                    [--data DIR] [--only ROW,...] [--no-compile]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import peers  # noqa: E402

# name: (workload, example, what, batch)
ROWS = {
    "mlp-b64": ("mlp", "fashion_mlp", "train", 64),
    "mlp-b1024": ("mlp", "fashion_mlp", "train", 1024),
    "cnn-b64": ("cnn", "fashion_cnn", "train", 64),
    "rnn-b64": ("rnn", "fashion_rnn", "train", 64),
    "mlp-infer-b1000": ("mlp", "fashion_mlp", "predict", 1000),
}


def spread(times):
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    return {"median_us": statistics.median(times), "q1_us": q[0], "q3_us": q[2], "n": len(times)}


def kiln_step(exe, what, batch, steps, warmup):
    p = subprocess.run([exe, "bench", "--what", what, "--batch", str(batch), "--steps",
                        str(steps), "--warmup", str(warmup), "--times"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{exe} bench: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    line = json.loads([x for x in p.stdout.splitlines() if x.startswith("{")][-1])
    return spread(line["times_us"])


def torch_step(kind, workload, what, batch, device):
    """A callable running one step (synchronized), as `kind` runs it."""
    import torch
    F = torch.nn.functional
    torch.manual_seed(0)
    model = peers.torch_models()[workload]().to(device)
    images, labels = peers.random_batch(batch)
    x = torch.from_numpy(images).to(device)
    y = torch.from_numpy(labels).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if what == "predict":
        forward = torch.compile(model, dynamic=False) if kind == "torch-compile" else model
        if kind == "torch-graph":
            graph = torch.cuda.CUDAGraph()
            with torch.no_grad():
                forward(x)  # warm up outside the capture
                sync()
                with torch.cuda.graph(graph):
                    forward(x)
            return lambda: (graph.replay(), sync())

        def infer():
            with torch.no_grad():
                forward(x)
            sync()
        return infer
    opt_kind, lr = peers.WORKLOADS[workload]
    extra = {"capturable": True} if kind == "torch-graph" and opt_kind == "Adam" else {}
    opt = (torch.optim.SGD if opt_kind == "SGD" else torch.optim.Adam)(
        model.parameters(), lr=lr, **extra)

    def loss_of(x, y):
        return F.cross_entropy(model(x), y)
    update = opt.step
    if kind == "torch-compile":
        loss_of = torch.compile(loss_of, dynamic=False)

        @torch.compile(fullgraph=False)
        def update():
            opt.step()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_of(x, y).backward()
        update()
    if kind != "torch-graph":
        return lambda: (step(), sync())
    # PyTorch's whole-network capture recipe: warm up on a side stream, then
    # capture one step; replays reuse x and y's memory.
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    # Gradients set to None here are allocated inside the capture, from the
    # graph's pool: each replay writes them anew (no accumulation).
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss_of(x, y).backward()
        opt.step()
    return lambda: (graph.replay(), sync())


def timed(run, steps, warmup):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e6)
    return spread(times)


def kiln_epoch(exe, data):
    t0 = time.perf_counter()
    p = subprocess.run([exe, "train", "--epochs", "1", "--batch", "64", "--image",
                        f"{data}/train-images-idx3-ubyte.gz", "--label",
                        f"{data}/train-labels-idx1-ubyte.gz"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{exe} train: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    line = [x for x in p.stdout.splitlines() if x.startswith("epoch 1/1")][-1]
    return {"seconds": time.perf_counter() - t0, "line": line.strip()}


def torch_epoch(kind, data, device):
    import torch
    import torch.nn.functional as F
    t0 = time.perf_counter()
    images = peers.load_idx(f"{data}/train-images-idx3-ubyte.gz")
    labels = peers.load_idx(f"{data}/train-labels-idx1-ubyte.gz").astype("int64")
    torch.manual_seed(42)
    model = peers.torch_models()["mlp"]().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    forward = torch.compile(model) if kind == "torch-compile" else model
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(images.copy()), torch.from_numpy(labels)),
        batch_size=64, shuffle=True, pin_memory=device == "cuda")
    total = correct = 0.0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        opt.zero_grad()
        logits = forward(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        total += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
    n = len(images)
    return {"seconds": time.perf_counter() - t0, "loss": total / n, "accuracy": correct / n}


def kiln_build(args, example):
    exe = os.path.join(args.work, f"{example}-{args.target}")
    p = subprocess.run([args.kiln, "build", os.path.join(ROOT, "examples", example + ".kiln"),
                        "--target", args.target, "-o", exe]
                       + (["--gpu-arch", args.gpu_arch] if args.gpu_arch and args.target == "cuda" else []),
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"kiln build {example}: {p.stderr.strip()[-300:]}")
    return exe


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "bin", "kiln"))
    ap.add_argument("--work", default="/tmp/kiln-bench-gpu")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--only", default="", help="rows to run, comma-separated (also: epoch)")
    ap.add_argument("--no-compile", action="store_true", help="leave torch.compile out")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--target", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--gpu-arch", help="--target cuda: kiln build's --gpu-arch (default: kiln's)")
    ap.add_argument("--build-only", action="store_true",
                    help="build the executables and stop (scripts/test-gpu --prepare)")
    args = ap.parse_args()
    if args.build_only:
        os.makedirs(args.work, exist_ok=True)
        for example in sorted({example for _, example, _, _ in ROWS.values()} | {"fashion_mlp"}):
            kiln_build(args, example)
        return
    import torch
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench/gpu.py: PyTorch sees no GPU (--device cpu --target cpu checks this "
                 "script on a CPU)")
    os.makedirs(args.work, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    kinds = ["torch", "torch-graph"] + ([] if args.no_compile else ["torch-compile"])
    if args.device == "cpu":
        kinds.remove("torch-graph")  # CUDA graphs need a GPU
    print(json.dumps({"gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
                      "torch": torch.__version__}), flush=True)
    exes, results = {}, {}

    def kiln_exe(example):
        if example not in exes:
            exes[example] = kiln_build(args, example)
        return exes[example]

    def record(row, who, measure):
        try:
            r = measure()
        except Exception as e:  # a contender that fails is reported, the rest go on
            r = {"error": f"{type(e).__name__}: {e}"[:300]}
        results.setdefault(row, {})[who] = r
        print(json.dumps({"row": row, "who": who, **r}), flush=True)

    for row, (workload, example, what, batch) in ROWS.items():
        if only and row not in only:
            continue
        record(row, "kiln", lambda: kiln_step(kiln_exe(example), what, batch, args.steps,
                                              args.warmup))
        for kind in kinds:
            record(row, kind, lambda: timed(torch_step(kind, workload, what, batch, args.device),
                                            args.steps, args.warmup))
    if not only or "epoch" in only:
        record("mlp-epoch", "kiln", lambda: kiln_epoch(kiln_exe("fashion_mlp"), args.data))
        for kind in [k for k in kinds if k != "torch-graph"]:
            record("mlp-epoch", kind, lambda: torch_epoch(kind, args.data, args.device))

    print("\n| row | " + " | ".join(["kiln"] + kinds) + " | kiln/torch | kiln/torch-compile |")
    print("| --- " * (len(kinds) + 4) + "|")
    for row, got in results.items():
        def value(who):
            r = got.get(who, {})
            return r.get("median_us", r["seconds"] * 1e6 if "seconds" in r else None)

        def cell(who):
            r = got.get(who)
            if not r or "error" in r:
                return "failed" if r else "-"
            if "median_us" in r:
                return f"{r['median_us']:.0f} us ({r['q1_us']:.0f}-{r['q3_us']:.0f})"
            return f"{r['seconds']:.2f} s"

        def ratio(peer):
            k, p = value("kiln"), value(peer)
            return f"{k / p:.2f}" if k and p else "-"
        print(f"| {row} | " + " | ".join(cell(w) for w in ["kiln"] + kinds) +
              f" | {ratio('torch')} | {ratio('torch-compile')} |")
    if args.device != "cuda":
        print("\n(a check of this script on the CPU: the goals are the GPU's)")
        return
    b64 = results.get("mlp-b64", {})
    if "median_us" in b64.get("kiln", {}) and "median_us" in b64.get("torch", {}):
        speedup = b64["torch"]["median_us"] / b64["kiln"]["median_us"]
        print(f"\ngoal: MLP step at batch 64 at least 3x faster than eager: {speedup:.2f}x "
              f"({'met' if speedup >= 3 else 'not met'})")
    compared = [row for row, got in results.items()
                if "median_us" in got.get("torch-compile", {}) and "median_us" in got.get("kiln", {})]
    slower = [row for row in compared
              if results[row]["kiln"]["median_us"] > results[row]["torch-compile"]["median_us"]]
    print("goal: no row slower than torch.compile: " +
          ("not measured" if not compared else "met" if not slower else
           "not met (" + ", ".join(slower) + ")"))


if __name__ == "__main__":
    main()
