#!/usr/bin/python3
"""Kiln beside PyTorch, JAX and onnxruntime, timed in one interleaved run.

Peers (each skipped, with a note, when it is not installed; bench/setup
installs the PyPI ones into bench/.venv):
  kiln           the executables Kiln builds, timed by their own `bench`
                 command (runtime/Bench.cpp): the entry point alone, no wrapper
  torch-debian   Debian's python3-torch, eager, run by /usr/bin/python3, with
                 Debian's OpenBLAS (bench/setup) where libblas.so.3 is netlib's
  torch          PyTorch from PyPI, eager          } bench/.venv/bin/python
  torch-compile  PyTorch from PyPI, torch.compile  }
  jax            JAX, a jax.jit of the whole step  }
  onnxruntime    onnxruntime, MLP inference only   }
Every peer runs in a process of its own (bench/peers.py), pinned with taskset
to the first T cores, its thread pools sized to T before it starts
(OMP_NUM_THREADS, MKL_NUM_THREADS, torch.set_num_threads(T) with one interop
thread; JAX's XLA_FLAGS; onnxruntime's intra_op_num_threads=T, inter_op 1).

Workloads: train steps of the MLP (batch 1, 64, 1024), of fashion_cnn, LeNet-5
and fashion_rnn (batch 64); MLP inference at batch 1000; the runtime's GEMM
next to OpenBLAS on the MLP's matrix shapes; `kiln build` of the examples; a
whole Fashion-MNIST epoch of the MLP as a user runs it (process wall time,
the epoch's own time, peak RSS). Each at 1 and 2 threads (--threads).

Interleaving: for each workload and thread count, every peer is first
calibrated (its steps per measurement fill --budget seconds; the calibration
also warms it up: torch.compile and jax.jit compile there), then measured in
--repeat rounds, each round visiting every peer once in a rotated order, so
drift and other processes' load fall on all of them alike. Printed per
workload and thread count: each peer's median over all timed steps, the
interquartile range, min..max, the range of the rounds' medians, its CPU time
over wall time (the cores it kept busy), the best peer and Kiln's ratio to it
(at T threads each contender, Kiln included, counts with its best median at
T or fewer threads: on a loaded machine OpenMP and OpenBLAS pools can take
many times their one-thread time, which would flatter Kiln),
and the noise: /proc/loadavg before and after, and the CPU time other
processes took meanwhile (/proc/stat's busy time minus this run's own).
docs/bench.md says more.

usage: bench/run.py [--repeat R] [--threads 1,2] [--budget S] [--only NAME ...]
                    [--peers NAME,...] [--json OUT.json] [--kiln build/bin/kiln]
"""
import argparse
import datetime
import gzip
import json
import math
import os
import platform
import resource
import selectors
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS_PY = os.path.join(HERE, "peers.py")
VENV_PY = os.path.join(HERE, ".venv", "bin", "python")
DEBIAN_PY = "/usr/bin/python3"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# key: (title, twin in peers.py, Kiln model file, what, batch)
STEP_WORKLOADS = {
    "mlp-b1": ("MLP 784-256-128-10 train step, batch 1", "mlp",
               "examples/fashion_mlp.kiln", "train", 1),
    "mlp-b64": ("MLP 784-256-128-10 train step, batch 64", "mlp",
                "examples/fashion_mlp.kiln", "train", 64),
    "mlp-b1024": ("MLP 784-256-128-10 train step, batch 1024", "mlp",
                  "examples/fashion_mlp.kiln", "train", 1024),
    "mlp-predict-b1000": ("MLP inference, batch 1000", "mlp",
                          "examples/fashion_mlp.kiln", "predict", 1000),
    "cnn-b64": ("fashion_cnn train step, batch 64", "cnn",
                "examples/fashion_cnn.kiln", "train", 64),
    "lenet5-b64": ("LeNet-5 (6/16 channels) train step, batch 64", "lenet5",
                   "bench/models/lenet5.kiln", "train", 64),
    "rnn-b64": ("fashion_rnn train step, batch 64", "rnn",
                "examples/fashion_rnn.kiln", "train", 64),
}
OTHER_WORKLOADS = ["gemm", "build", "epoch"]
ALL_WORKLOADS = list(STEP_WORKLOADS) + OTHER_WORKLOADS


def mlp_gemm_shapes(batches=(1, 64)):
    """The matrix products of the MLP's train step, MxNxK with C[M, N] +=
    A[M, K] B[K, N] (the runtime gets weights already transposed): forward
    X W^T, the input gradients dY W (not for the first layer), the weight
    gradients dY^T X."""
    layers = [(784, 256), (256, 128), (128, 10)]
    shapes = []
    for b in batches:
        for i, (n_in, n_out) in enumerate(layers):
            shapes.append(f"{b}x{n_out}x{n_in}")       # forward
            if i > 0:
                shapes.append(f"{b}x{n_in}x{n_out}")   # input gradient
            shapes.append(f"{n_out}x{n_in}x{b}")       # weight gradient
    return shapes


# Debian's OpenBLAS, unpacked by bench/setup where Debian's libblas.so.3 is
# the reference BLAS: torch-debian's best configuration (docs/bench.md).
DEBIAN_OPENBLAS = os.path.join(HERE, ".venv", "debian-openblas")


class Peer:
    def __init__(self, name, python, kind, note, predict_only=False, epoch=True,
                 lib_path=None):
        self.name, self.python, self.kind, self.note = name, python, kind, note
        self.predict_only, self.epoch = predict_only, epoch
        self.lib_path = lib_path
        self.label = name

    def env(self, threads):
        env = thread_env(threads, self.python == VENV_PY)
        if self.lib_path and os.path.exists(os.path.join(self.lib_path, "libblas.so.3")):
            env["LD_LIBRARY_PATH"] = ":".join(
                p for p in (self.lib_path, env.get("LD_LIBRARY_PATH")) if p)
        return env

    def runs(self, what):
        return what == "predict" or not self.predict_only


PEERS = [
    Peer("torch-debian", DEBIAN_PY, "torch", "Debian's python3-torch",
         lib_path=DEBIAN_OPENBLAS),
    Peer("torch", VENV_PY, "torch", "PyPI, eager"),
    Peer("torch-compile", VENV_PY, "torch-compile", "PyPI"),
    Peer("jax", VENV_PY, "jax", "PyPI, jit of the whole step"),
    Peer("onnxruntime", VENV_PY, "onnxruntime", "PyPI, inference", predict_only=True,
         epoch=False),
]


#===------------------------------------------------------------------------===#
# Statistics and formatting
#===------------------------------------------------------------------------===#

def percentile(values, q):
    """Linear interpolation between order statistics (numpy's default)."""
    v = sorted(values)
    pos = q / 100 * (len(v) - 1)
    lo = int(pos)
    return v[lo] + (v[lo + 1] - v[lo]) * (pos - lo) if lo + 1 < len(v) else v[lo]


def summarize(times):
    return {"median": percentile(times, 50), "q1": percentile(times, 25),
            "q3": percentile(times, 75), "min": min(times), "max": max(times), "n": len(times)}


def unit_for(us):
    return (1e3, "ms") if us >= 1000 else (1.0, "us")


def fmt(us, unit):
    scale, name = unit
    v = us / scale
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def fmt_time(us):
    return f"{fmt(us, unit_for(us))} {unit_for(us)[1]}"


def fmt_seconds(s):
    return f"{s:.2f} s" if s < 100 else f"{s:.0f} s"


#===------------------------------------------------------------------------===#
# The machine's load from other processes
#===------------------------------------------------------------------------===#

def proc_stat_busy():
    """Busy clock ticks per CPU (user nice system irq softirq steal) and all."""
    busy = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            words = line.split()
            v = [int(x) for x in words[1:9]]
            busy[words[0]] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return busy


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def process_cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0.0


WORKERS = []  # every worker started, for Noise


class Noise:
    """CPU time other processes took while a block ran: /proc/stat's busy
    time on all CPUs minus this run's own (this process, its finished
    children, its live workers), and the 1-minute load average."""

    def __init__(self):
        self.workers = [w for w in WORKERS if w.alive()]
        self.load0 = loadavg()
        self.busy0 = proc_stat_busy()
        self.ours0 = self.ours()
        self.t0 = time.perf_counter()

    def ours(self):
        t = os.times()
        return (t.user + t.system + t.children_user + t.children_system
                + sum(process_cpu_seconds(w.proc.pid) for w in self.workers if w.alive()))

    def end(self):
        wall = time.perf_counter() - self.t0
        busy = proc_stat_busy()
        cpus = [k for k in busy if k != "cpu"]
        total = (busy["cpu"] - self.busy0["cpu"]) / CLK_TCK
        ours = self.ours() - self.ours0
        others = max(0.0, total - ours)
        return {"wall_s": wall, "loadavg_before": self.load0, "loadavg_after": loadavg(),
                "cpus": len(cpus), "busy_cpu_s": total, "ours_cpu_s": ours,
                "others_cpu_s": others,
                "others_share": others / (wall * len(cpus)) if wall > 0 else 0.0}


def noise_line(n):
    return (f"noise: loadavg {n['loadavg_before']:.2f} -> {n['loadavg_after']:.2f}; "
            f"other processes used {n['others_cpu_s']:.1f} CPU-s over {n['wall_s']:.1f} s "
            f"({100 * n['others_share']:.0f}% of {n['cpus']} cores; this run "
            f"{n['ours_cpu_s']:.1f} CPU-s)")


#===------------------------------------------------------------------------===#
# Running the peers
#===------------------------------------------------------------------------===#

def pinned(cpus, cmd):
    return (["taskset", "-c", cpus] if shutil.which("taskset") else []) + cmd


def thread_env(threads, venv):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    if venv:
        # docs/bench.md: set on some machines for old OpenBLAS builds; they
        # slow a current one, so the PyPI peers run without them.
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    # JAX: one thread, or an intra-op pool of T (the process is pinned to T
    # cores, whose count XLA's pool takes).
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=1"
                        + (" --xla_cpu_multi_thread_eigen=false" if threads == 1 else "")).strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Worker:
    """One peer at one thread count: a process of bench/peers.py."""

    def __init__(self, peer, threads, cpus, logdir):
        self.peer, self.threads = peer, threads
        self.proc, self.version, self.why = None, None, None
        if not os.path.exists(peer.python):
            self.why = (f"{peer.python} is missing (run bench/setup)" if peer.python == VENV_PY
                        else f"{peer.python} is missing")
            return
        self.log = open(os.path.join(logdir, f"{peer.name}-{threads}t.log"), "w")
        self.proc = subprocess.Popen(
            pinned(cpus, [peer.python, PEERS_PY, "--peer", peer.kind, "--threads",
                          str(threads)]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=peer.env(threads), cwd=logdir)
        WORKERS.append(self)
        ready = self.read(timeout=300)
        if ready is None or not ready.get("ready"):
            self.why = (ready or {}).get("why", "did not start (see " + self.log.name + ")")
            self.close()
        else:
            self.version = ready["version"]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return None
        line = self.proc.stdout.readline()
        try:
            return json.loads(line) if line else None
        except ValueError:
            return {"error": f"not JSON: {line[:200]!r}"}

    def request(self, req, timeout=1800):
        if not self.alive():
            return {"error": "the worker has exited (see " + self.log.name + ")"}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        res = self.read(timeout)
        return res if res is not None else {"error": f"no answer in {timeout} s"}

    def close(self):
        if self.alive():
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Kiln:
    """Kiln's side: the executables' own `bench` command, pinned."""

    def __init__(self, args):
        self.kiln, self.workdir = args.kiln, args.workdir
        self.exes = {}
        out = subprocess.run([self.kiln, "--version"], capture_output=True, text=True)
        self.version = out.stdout.strip().splitlines()[0] if out.returncode == 0 else "kiln"

    def exe(self, model):
        """builds (once, or again when kiln or the model changed) bench/NAME."""
        if model not in self.exes:
            src = os.path.join(ROOT, model)
            out = os.path.join(self.workdir, os.path.splitext(os.path.basename(model))[0])
            if (not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src)
                    or os.path.getmtime(out) < os.path.getmtime(self.kiln)):
                print(f"  (building {model})", flush=True)
                subprocess.run([self.kiln, "build", src, "-o", out], check=True)
            self.exes[model] = out
        return self.exes[model]

    def measure(self, model, what, batch, steps, warmup, threads, cpus):
        cmd = pinned(cpus, [self.exe(model), "bench", "--what", what, "--batch", str(batch),
                            "--steps", str(steps), "--warmup", str(warmup),
                            "--threads", str(threads), "--times"])
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            return {"error": f"exit {p.returncode}: {p.stderr.strip()}"}
        return json.loads(p.stdout)


#===------------------------------------------------------------------------===#
# Workloads
#===------------------------------------------------------------------------===#

def calibrate(measure, budget, min_steps=5, max_steps=2000):
    """A first, untimed measurement (also the warm-up: compilers compile
    here); returns the steps and warm-up steps that fill `budget` seconds."""
    res = measure(3, 2)
    if "error" in res:
        return res
    per_step = max(percentile(res["times_us"], 50), 1e-3) / 1e6
    steps = int(min(max_steps, max(min_steps, math.ceil(budget / per_step))))
    return {"steps": steps, "warmup": max(2, steps // 10)}


def step_block(key, threads, cpus, kiln, workers, args, fewer=()):
    """One workload at one thread count. fewer: this workload's blocks at
    fewer threads, already run: a contender (Kiln or a peer) whose median
    there is lower counts with that one (its best configuration with at most
    `threads` threads), with a note."""
    title, twin, model, what, batch = STEP_WORKLOADS[key]
    print(f"\n== {title} -- {threads} thread{'s' if threads > 1 else ''} "
          f"(CPU {cpus}) ==", flush=True)
    runners = {"kiln": lambda s, w: kiln.measure(model, what, batch, s, w, threads, cpus)}
    notes = []
    for peer in PEERS:
        if args.peers and peer.name not in args.peers:
            continue
        worker = workers.get((peer.name, threads))
        if not peer.runs(what):
            continue
        if worker is None or worker.version is None:
            continue
        runners[peer.name] = (lambda wk: lambda s, w: wk.request(
            {"workload": twin, "what": what, "batch": batch, "steps": s, "warmup": w}))(worker)
    noise = Noise()
    plan = {}
    for name, run in runners.items():
        c = calibrate(run, args.budget)
        if "error" in c:
            notes.append(f"{name}: {c['error']}")
        else:
            plan[name] = c
    pooled = {n: [] for n in plan}
    rounds = {n: [] for n in plan}
    cpu = {n: [0.0, 0.0] for n in plan}
    last = {}
    names = list(plan)
    for r in range(args.repeat if names else 0):
        for name in names[r % len(names):] + names[:r % len(names)]:
            res = runners[name](plan[name]["steps"], plan[name]["warmup"])
            if "error" in res:
                notes.append(f"{name}, round {r + 1}: {res['error']}")
                continue
            pooled[name].extend(res["times_us"])
            rounds[name].append(percentile(res["times_us"], 50))
            cpu[name][0] += res.get("cpu_us", 0)
            cpu[name][1] += res.get("wall_us", 0)
            last[name] = res
            time.sleep(args.pause)
    n = noise.end()
    results = {}
    for name in names:
        if not pooled[name]:
            continue
        s = summarize(pooled[name])
        s["round_medians"] = rounds[name]
        s["cpu_per_wall"] = cpu[name][0] / cpu[name][1] if cpu[name][1] else None
        s["steps"] = plan[name]["steps"]
        s["loss"] = last[name].get("loss")
        results[name] = s
    print_step_table(results, workers, threads, kiln)
    # Best configuration with at most `threads` threads: on a loaded machine
    # a pool whose threads wait for each other at every parallel region (an
    # OpenMP barrier) can take many times its one-thread time; counting that
    # would flatter whoever degrades least.
    best_config = {}
    for name, s in results.items():
        cfg = {"median": s["median"], "threads": threads}
        for b in fewer:
            o = (b or {}).get("results", {}).get(name)
            if o and o["median"] < cfg["median"]:
                cfg = {"median": o["median"], "threads": b["threads"]}
        if cfg["threads"] != threads:
            notes.append(f"{name}: {threads} threads took {s['median'] / cfg['median']:.1f}x "
                         f"its {cfg['threads']}-thread median ({fmt_time(cfg['median'])}); "
                         f"the comparison counts that one")
        best_config[name] = cfg
    best = best_peer(best_config)

    def shown(name):
        c = best_config[name]
        return fmt_time(c["median"]) + (f" (at {c['threads']} thread"
                                        f"{'s' if c['threads'] > 1 else ''})"
                                        if c["threads"] != threads else "")
    if "kiln" in results and best:
        ratio = best_config["kiln"]["median"] / best_config[best]["median"]
        print(f"  best peer: {label(best, workers, threads, kiln)} {shown(best)}; Kiln "
              f"{shown('kiln')} takes {ratio:.2f}x its time "
              f"({'slower' if ratio > 1 else 'faster'})")
    for name, s in results.items():
        if s["loss"] is not None and not math.isfinite(s["loss"]):
            notes.append(f"{name}: the loss went {s['loss']} on the random batch")
    for note in notes:
        print(f"  note: {note}")
    print("  " + noise_line(n), flush=True)
    return {"workload": key, "title": title, "threads": threads, "cpus": cpus,
            "results": results, "best_config": best_config, "best_peer": best, "noise": n,
            "notes": notes}


def best_peer(results):
    peers = [n for n in results if n != "kiln"]
    return min(peers, key=lambda n: results[n]["median"]) if peers else None


def label(name, workers, threads, kiln):
    if name == "kiln":
        return kiln.version
    w = workers.get((name, threads))
    version = w.version if w and w.version else name
    return f"{name} ({version})" if name == "torch-debian" else version


def print_step_table(results, workers, threads, kiln):
    if not results:
        print("  (nothing measured)")
        return
    unit = unit_for(results.get("kiln", next(iter(results.values())))["median"])
    u = unit[1]
    rows = [("peer", f"median {u}", f"q1..q3 {u}", f"min..max {u}", f"rounds {u}",
             "cpu/wall", "steps")]
    for name, s in results.items():
        rm = s["round_medians"]
        rows.append((label(name, workers, threads, kiln), fmt(s["median"], unit),
                     f"{fmt(s['q1'], unit)}..{fmt(s['q3'], unit)}",
                     f"{fmt(s['min'], unit)}..{fmt(s['max'], unit)}",
                     f"{fmt(min(rm), unit)}..{fmt(max(rm), unit)}",
                     f"{s['cpu_per_wall']:.2f}" if s["cpu_per_wall"] is not None else "-",
                     f"{len(rm)}x{s['steps']}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + r[0].ljust(widths[0]) + "".join(
            "  " + c.rjust(w) for c, w in zip(r[1:], widths[1:])))


def gemm_block(threads, cpus, args, blas, fewer=()):
    print(f"\n== runtime GEMM vs {'OpenBLAS' if blas else '(no BLAS library)'}, the MLP's "
          f"shapes -- {threads} thread{'s' if threads > 1 else ''} (CPU {cpus}) ==",
          flush=True)
    tool = os.path.join(os.path.dirname(args.kiln), "kiln-gemm-bench")
    notes = []
    if not os.path.exists(tool):
        print(f"  note: {tool} is missing (ninja -C build kiln-gemm-bench)")
        return None
    shapes = mlp_gemm_shapes()
    fewer_note = False
    cmd = pinned(cpus, [tool, "--shapes", ",".join(shapes), "--threads", str(threads),
                        "--budget-ms", str(1000 * args.budget), "--times"]
                 + (["--blas", blas] if blas else []))
    env = thread_env(threads, venv=True)
    noise = Noise()
    per = {s: {"kiln": [], "blas": [], "rounds": []} for s in shapes}
    header = {}
    for r in range(args.repeat):
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        if p.returncode != 0:
            notes.append(f"round {r + 1}: exit {p.returncode}: {p.stderr.strip()}")
        lines = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        if not lines:
            continue
        header = lines[0]
        for res in lines[1:]:
            d = per[res["shape"]]
            d["kiln"].extend(res["kiln_times_us"])
            d["blas"].extend(res.get("blas_times_us", []))
        time.sleep(args.pause)
    n = noise.end()
    if header.get("blas_core"):
        print(f"  OpenBLAS: {header.get('blas')} (core {header['blas_core']}; "
              f"{header.get('blas_config', '')})")
    rows = [("MxNxK", "Kiln us", "GFLOP/s", "q1..q3 us", "OpenBLAS us", "GFLOP/s",
             "Kiln/OpenBLAS speed")]
    results = {}
    for shape in shapes:
        d = per[shape]
        if not d["kiln"]:
            continue
        m, nn, k = (int(x) for x in shape.split("x"))
        flops = 2 * m * nn * k
        ks = summarize(d["kiln"])
        row = [shape, f"{ks['median']:.2f}", f"{flops / ks['median'] / 1e3:.1f}",
               f"{ks['q1']:.2f}..{ks['q3']:.2f}"]
        res = {"kiln": ks}
        if d["blas"]:
            bs = summarize(d["blas"])
            res["openblas"] = bs
            # As in the step blocks: each side's best configuration with at
            # most `threads` threads (OpenBLAS's spinning threads can take
            # 100x their one-thread time on a loaded machine).
            kb, bb, mark = ks["median"], bs["median"], ""
            for b in fewer:
                o = (b or {}).get("results", {}).get(shape, {})
                if "openblas" in o and o["openblas"]["median"] < bb:
                    bb, mark = o["openblas"]["median"], mark + "b"
                if o.get("kiln") and o["kiln"]["median"] < kb:
                    kb, mark = o["kiln"]["median"], mark + "k"
            res["kiln_speed_vs_openblas"] = bb / kb
            if mark:
                res["fewer_threads"] = mark
                fewer_note = True
            row += [f"{bs['median']:.2f}", f"{flops / bs['median'] / 1e3:.1f}",
                    f"{100 * bb / kb:.0f}%" + ("*" if mark else "")]
        else:
            row += ["-", "-", "-"]
        rows.append(tuple(row))
        results[shape] = res
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + r[0].ljust(widths[0]) + "".join(
            "  " + c.rjust(w) for c, w in zip(r[1:], widths[1:])))
    if fewer_note:
        notes.append("*: Kiln or OpenBLAS was faster at fewer threads (its threads waiting "
                     "for each other while other processes hold the cores); the speed "
                     "counts each side's best with at most this many threads")
    for note in notes:
        print(f"  note: {note}")
    print("  " + noise_line(n), flush=True)
    return {"workload": "gemm", "threads": threads, "cpus": cpus, "blas": header,
            "results": results, "noise": n, "notes": notes}


def build_block(cpus, kiln, args):
    examples = sorted(f for f in os.listdir(os.path.join(ROOT, "examples"))
                      if f.endswith(".kiln"))
    print(f"\n== kiln build, the examples (CPU {cpus}) ==", flush=True)
    noise = Noise()
    times = {e: [] for e in examples}
    notes = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-build-") as tmp:
        for r in range(args.build_repeat):
            for e in examples[r % len(examples):] + examples[:r % len(examples)]:
                t0 = time.perf_counter()
                p = subprocess.run(pinned(cpus, [args.kiln, "build",
                                                 os.path.join(ROOT, "examples", e),
                                                 "-o", os.path.join(tmp, e[:-5])]),
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    notes.append(f"{e}: exit {p.returncode}: {p.stderr.strip()[:200]}")
                    continue
                times[e].append(time.perf_counter() - t0)
    n = noise.end()
    results = {}
    for e in examples:
        if times[e]:
            results[e] = {"median": statistics.median(times[e]), "min": min(times[e]),
                          "max": max(times[e]), "n": len(times[e])}
            print(f"  {e:20s} {fmt_seconds(results[e]['median']):>8}  "
                  f"min..max {results[e]['min']:.2f}..{results[e]['max']:.2f} s  "
                  f"({len(times[e])} builds)")
    for note in notes:
        print(f"  note: {note}")
    print("  " + noise_line(n), flush=True)
    return {"workload": "build", "cpus": cpus, "results": results, "noise": n, "notes": notes}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return shape, data[4 + 4 * ndim:]


def write_npy_u8(path, shape, data):
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }" % (
        "".join(f"{d}, " for d in shape))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(data)


def epoch_data(args):
    """The training files: Fashion-MNIST's as they are, or (--epoch-samples N)
    the first N samples as .npy files."""
    images = os.path.join(args.data, "train-images-idx3-ubyte.gz")
    labels = os.path.join(args.data, "train-labels-idx1-ubyte.gz")
    if not args.epoch_samples:
        return images, labels
    n = args.epoch_samples
    out = []
    for path, name in ((images, "images"), (labels, "labels")):
        shape, data = read_idx(path)
        per = len(data) // shape[0]
        dst = os.path.join(args.workdir, f"epoch-{name}-{n}.npy")
        write_npy_u8(dst, [n] + shape[1:], data[:n * per])
        out.append(dst)
    return tuple(out)


def run_measured(cmd, env=None, cwd=None):
    """Runs cmd; returns (exit status, stdout, stderr, wall seconds, peak RSS in KiB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read(), wall, usage.ru_maxrss


def epoch_block(threads, cpus, kiln, workers, args):
    images, labels = epoch_data(args)
    print(f"\n== Fashion-MNIST MLP, one epoch as a user runs it -- {threads} thread"
          f"{'s' if threads > 1 else ''} (CPU {cpus}) ==", flush=True)
    exe = kiln.exe("examples/fashion_mlp.kiln")
    runners = {}
    metrics = os.path.join(args.workdir, "epoch-metrics.jsonl")
    save = os.path.join(args.workdir, "epoch-weights.safetensors")

    def kiln_epoch():
        rc, out, err, wall, rss = run_measured(pinned(cpus, [
            exe, "train", "--image", images, "--label", labels, "--epochs", "1",
            "--threads", str(threads), "--metrics", metrics, "--save", save]))
        if rc != 0:
            return {"error": f"exit {rc}: {err.strip()[:300]}"}
        last = [json.loads(line) for line in open(metrics) if '"seconds"' in line][-1]
        return {"wall_s": wall, "rss_kib": rss, "epoch_s": last["seconds"],
                "loss": last["loss"], "accuracy": last.get("accuracy")}
    runners["kiln"] = kiln_epoch
    for peer in PEERS:
        if not peer.epoch or (args.peers and peer.name not in args.peers):
            continue
        w = workers.get((peer.name, threads))
        if w is None or w.version is None:
            continue

        def peer_epoch(peer=peer):
            rc, out, err, wall, rss = run_measured(
                pinned(cpus, [peer.python, PEERS_PY, "--epoch", "--peer", peer.kind,
                              "--threads", str(threads), "--images", images,
                              "--labels", labels]),
                env=peer.env(threads), cwd=args.workdir)
            if rc != 0:
                return {"error": f"exit {rc}: {err.strip()[-300:]}"}
            res = json.loads(out.strip().splitlines()[-1])
            return {"wall_s": wall, "rss_kib": rss, "epoch_s": res["epoch_seconds"],
                    "loss": res["loss"], "accuracy": res["accuracy"]}
        runners[peer.name] = peer_epoch
    noise = Noise()
    got = {n: [] for n in runners}
    notes = []
    names = list(runners)
    for r in range(args.epoch_repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            res = runners[name]()
            if "error" in res:
                notes.append(f"{name}, round {r + 1}: {res['error']}")
            else:
                got[name].append(res)
    n = noise.end()
    rows = [("peer", "process s", "min..max s", "epoch loop s", "peak RSS MB", "loss",
             "accuracy")]
    results = {}
    for name in names:
        runs = got[name]
        if not runs:
            continue
        walls = [x["wall_s"] for x in runs]
        s = {"wall_s": statistics.median(walls), "wall_min": min(walls), "wall_max": max(walls),
             "epoch_s": statistics.median(x["epoch_s"] for x in runs),
             "rss_mb": statistics.median(x["rss_kib"] for x in runs) / 1024,
             "loss": runs[-1]["loss"], "accuracy": runs[-1]["accuracy"], "n": len(runs)}
        results[name] = s
        rows.append((label(name, workers, threads, kiln), f"{s['wall_s']:.2f}",
                     f"{s['wall_min']:.2f}..{s['wall_max']:.2f}", f"{s['epoch_s']:.2f}",
                     f"{s['rss_mb']:.0f}", f"{s['loss']:.4f}",
                     f"{s['accuracy']:.4f}" if s["accuracy"] is not None else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + r[0].ljust(widths[0]) + "".join(
            "  " + c.rjust(w) for c, w in zip(r[1:], widths[1:])))
    for note in notes:
        print(f"  note: {note}")
    print("  " + noise_line(n), flush=True)
    return {"workload": "epoch", "threads": threads, "cpus": cpus, "samples_file": images,
            "results": results, "noise": n, "notes": notes}


#===------------------------------------------------------------------------===#
# The run
#===------------------------------------------------------------------------===#

def find_openblas():
    """OpenBLAS from bench/.venv (scipy-openblas32), or None."""
    if not os.path.exists(VENV_PY):
        return None
    p = subprocess.run([VENV_PY, "-c", "import scipy_openblas32 as s; print(s.get_lib_dir())"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None
    lib_dir = p.stdout.strip()
    libs = sorted(f for f in os.listdir(lib_dir) if f.startswith("lib") and ".so" in f)
    return os.path.join(lib_dir, libs[0]) if libs else None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def summary_table(blocks, thread_counts):
    print("\n== Summary (medians; Kiln/best: Kiln's time over the best peer's; "
          "at 1t: that contender's 1-thread time was lower, so it counts at T threads too; "
          "noise: other processes' largest share of the CPUs in the row's blocks) ==")
    head = ["workload"]
    for t in thread_counts:
        head += [f"Kiln, {t}t", f"best peer, {t}t", f"Kiln/best, {t}t"]
    head += ["noise"]
    rows = [head]
    by = {}
    for b in blocks:
        if b:
            by.setdefault(b["workload"], {})[b.get("threads")] = b
    for key, (title, *_rest) in STEP_WORKLOADS.items():
        if key not in by:
            continue
        row, noise = [title], 0.0
        for t in thread_counts:
            b = by[key].get(t)
            if not b:
                row += ["-", "-", "-"]
                continue
            noise = max(noise, b["noise"]["others_share"])
            cfg = b.get("best_config", {})
            k = cfg.get("kiln")
            best = b["best_peer"]

            def at(c):  # a configuration with fewer threads than the column's
                return f" at {c['threads']}t" if c["threads"] != t else ""
            row.append(fmt_time(k["median"]) + at(k) if k else "-")
            row.append(f"{fmt_time(cfg[best]['median'])} ({best}{at(cfg[best])})"
                       if best else "-")
            row.append(f"{k['median'] / cfg[best]['median']:.2f}" if k and best else "-")
        rows.append(row + [f"{100 * noise:.0f}%"])
    if "gemm" in by:
        row, noise = ["runtime GEMM vs OpenBLAS, MLP shapes (Kiln's speed)"], 0.0
        for t in thread_counts:
            b = by["gemm"].get(t)
            ratios = [r["kiln_speed_vs_openblas"] for r in (b or {}).get("results", {}).values()
                      if "kiln_speed_vs_openblas" in r]
            noise = max(noise, b["noise"]["others_share"]) if b else noise
            row += [f"{100 * min(ratios):.0f}-{100 * max(ratios):.0f}%" if ratios else "-",
                    "100%" if ratios else "-", "-"]
        rows.append(row + [f"{100 * noise:.0f}%"])
    if "build" in by:
        b = next(iter(by["build"].values()))
        meds = [r["median"] for r in b["results"].values()]
        if meds:
            rows.append(["kiln build, the examples", f"{min(meds):.1f}-{max(meds):.1f} s", "",
                         ""] + [""] * (3 * len(thread_counts) - 3)
                        + [f"{100 * b['noise']['others_share']:.0f}%"])
    if "epoch" in by:
        # Two rows: the process's wall time (imports, data, the epoch: what a
        # user waits for) and the epoch loop alone (no interpreter start-up).
        for key, what in (("wall_s", "MLP epoch, process wall (peak RSS)"),
                          ("epoch_s", "MLP epoch, the loop alone")):
            row, noise = [what], 0.0
            for t in thread_counts:
                b = by["epoch"].get(t)
                if not b or not b["results"]:
                    row += ["-", "-", "-"]
                    continue
                noise = max(noise, b["noise"]["others_share"])
                # each contender's best run with at most t threads, as in the steps
                res = {}
                for tt, bb in sorted(by["epoch"].items()):
                    if tt is None or tt > t or not bb:
                        continue
                    for name, r in bb["results"].items():
                        if name not in res or r[key] < res[name][key]:
                            res[name] = dict(r, threads=tt)
                k = res.get("kiln")
                peers = [n for n in res if n != "kiln"]
                best = min(peers, key=lambda n: res[n][key]) if peers else None

                def at(r):
                    return f" at {r['threads']}t" if r["threads"] != t else ""

                def cell(r, name=None):
                    extra = ([name] if name else []) + (
                        [f"{r['rss_mb']:.0f} MB"] if key == "wall_s" else [])
                    inside = ", ".join(extra) + at(r)
                    return f"{r[key]:.2f} s" + (f" ({inside})" if inside else "")
                row.append(cell(k) if k else "-")
                row.append(cell(res[best], best) if best else "-")
                row.append(f"{k[key] / res[best][key]:.2f}" if k and best else "-")
            rows.append(row + [f"{100 * noise:.0f}%"])
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + " --- |" * len(rows[0]))
    for r in rows[1:]:
        print("| " + " | ".join(r) + " |")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="workloads: " + ", ".join(ALL_WORKLOADS) + " (or 'steps': all the step ones)")
    parser.add_argument("--kiln", default=os.path.join(ROOT, "build", "bin", "kiln"))
    parser.add_argument("--workdir", default=None,
                        help="executables, logs, files (default: bench-run/ in the kiln binary's "
                             "build folder's bench/)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="rounds per workload and thread count (default 5)")
    parser.add_argument("--epoch-repeat", type=int, default=None,
                        help="rounds of the epoch (default: min(--repeat, 3))")
    parser.add_argument("--build-repeat", type=int, default=None,
                        help="builds of each example (default: min(--repeat, 3))")
    parser.add_argument("--budget", type=float, default=0.5,
                        help="seconds of timed steps per measurement (default 0.5)")
    parser.add_argument("--pause", type=float, default=0.05,
                        help="seconds between two measurements (idle thread pools settle)")
    parser.add_argument("--threads", default="1,2",
                        help="thread counts (default 1,2); T threads run on the first T "
                             "CPUs this process may use")
    parser.add_argument("--peers", default="",
                        help="comma-separated subset of: " + ", ".join(p.name for p in PEERS))
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epoch-samples", type=int, default=0,
                        help="train the epoch on the first N samples only (a quick check)")
    parser.add_argument("--blas", default=None,
                        help="the BLAS library for the GEMM comparison (default: "
                             "bench/.venv's OpenBLAS)")
    parser.add_argument("--json", default=None, help="also write every number here")
    parser.add_argument("only", nargs="*", help="workloads (default: all)")
    parser.add_argument("--only", nargs="+", default=[], dest="only_flag", metavar="NAME",
                        help="workloads, as the positional arguments")
    args = parser.parse_args()
    args.peers = [p for p in args.peers.split(",") if p]
    for p in args.peers:
        if p not in [q.name for q in PEERS]:
            parser.error(f"unknown peer {p}")
    only = []
    for name in (args.only + args.only_flag) or ALL_WORKLOADS:
        if name == "steps":
            only += list(STEP_WORKLOADS)
        elif name in ALL_WORKLOADS:
            only.append(name)
        else:
            parser.error(f"unknown workload {name}; one of {', '.join(ALL_WORKLOADS)}, steps")
    args.epoch_repeat = args.epoch_repeat or min(args.repeat, 3)
    args.build_repeat = args.build_repeat or min(args.repeat, 3)
    args.kiln = os.path.abspath(args.kiln)
    if not os.path.exists(args.kiln):
        parser.error(f"{args.kiln} is missing: build Kiln first (scripts/build)")
    args.workdir = os.path.abspath(args.workdir or os.path.join(
        os.path.dirname(os.path.dirname(args.kiln)), "bench-run"))
    os.makedirs(args.workdir, exist_ok=True)
    allowed = sorted(os.sched_getaffinity(0))
    thread_counts = [int(t) for t in args.threads.split(",")]
    if max(thread_counts) > len(allowed):
        parser.error(f"--threads {args.threads}: this process may use {len(allowed)} CPUs")
    cpus = {t: ",".join(str(c) for c in allowed[:t]) for t in thread_counts}

    kiln = Kiln(args)
    print(f"Kiln benchmark, {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs (this run may use {len(allowed)}); "
          f"Linux {platform.release()}")
    print(f"kiln: {kiln.version} ({args.kiln})")
    print(f"rounds {args.repeat} (epoch {args.epoch_repeat}, build {args.build_repeat}), "
          f"{args.budget} s of timed steps per measurement, threads {thread_counts}"
          + ("" if shutil.which("taskset") else "; taskset missing: NOT PINNED"))
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"(unset for the PyPI peers and the GEMM comparison)")
    print("command: " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]), flush=True)

    step_keys = [k for k in only if k in STEP_WORKLOADS]
    needs_workers = bool(step_keys) or "epoch" in only
    workers = {}
    if needs_workers:
        for peer in PEERS:
            if args.peers and peer.name not in args.peers:
                continue
            for t in thread_counts:
                workers[(peer.name, t)] = Worker(peer, t, cpus[t], args.workdir)
        print("peers:")
        for peer in PEERS:
            ws = [workers[(peer.name, t)] for t in thread_counts if (peer.name, t) in workers]
            if not ws:
                continue
            if ws[0].version:
                print(f"  {peer.name:14s} {ws[0].version} ({peer.note})")
            else:
                print(f"  {peer.name:14s} skipped: {ws[0].why}")
    blocks = []
    try:
        for key in step_keys:
            model = STEP_WORKLOADS[key][2]
            kiln.exe(model)
            done = []
            for t in thread_counts:
                done.append(step_block(key, t, cpus[t], kiln, workers, args,
                                       fewer=[b for b in done if b and b["threads"] < t]))
            blocks.extend(done)
        if "gemm" in only:
            blas = args.blas or find_openblas()
            if not blas:
                print("\nnote: no OpenBLAS (run bench/setup, or pass --blas): the GEMM "
                      "block times Kiln alone")
            done = []
            for t in thread_counts:
                done.append(gemm_block(t, cpus[t], args, blas,
                                       fewer=[b for b in done if b and b["threads"] < t]))
            blocks.extend(done)
        if "build" in only:
            blocks.append(build_block(cpus[max(thread_counts)], kiln, args))
        if "epoch" in only:
            for t in thread_counts:
                blocks.append(epoch_block(t, cpus[t], kiln, workers, args))
    finally:
        for w in workers.values():
            w.close()
    summary_table(blocks, thread_counts)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"kiln": kiln.version, "machine": cpu_model(), "argv": sys.argv,
                       "peers": {f"{n}-{t}t": (w.version or f"skipped: {w.why}")
                                 for (n, t), w in workers.items()},
                       "blocks": [b for b in blocks if b]}, f, indent=1)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
