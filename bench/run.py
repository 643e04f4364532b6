#!/usr/bin/python3
"""Kiln next to PyTorch, timed in one run on this machine.

Each benchmark times the same work both ways and prints one line:
  NAME  kiln X ms  torch(1 thread) Y ms  torch(all threads) Z ms  speed-up Y/X
Kiln's side calls the compiled entry point through ctypes (test/e2e/kilnlib.py),
so neither side pays for data loading; PyTorch is Debian's python3-torch.
The median of the repeats is reported, after warm-up calls.

usage: bench/run.py [--kiln build/bin/kiln] [--repeat N] [NAME ...]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
import kilnlib  # noqa: E402


def median_ms(fn, repeat, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def torch_ms(fn, repeat, threads):
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return median_ms(fn, repeat)
    finally:
        torch.set_num_threads(old)


def mlp_net():
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, 10))


def fashion_mlp(kiln, workdir, repeat):
    """DSL.md's Fashion-MNIST MLP: one SGD training step at batch 64, and a
    forward pass (predict) over 1000 images."""
    lib = kilnlib.Model(kiln, os.path.join(ROOT, "examples", "fashion_mlp.kiln"), workdir)
    m = lib.manifest
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 64).astype(np.int64)
    net = mlp_net()
    params = [p.detach().numpy().copy() for p in net.parameters()]
    spare = [np.zeros_like(p) for p in params]
    scalars = [np.zeros((), np.float32) for _ in range(1 + len(m["metrics"]))]
    hyper = [np.array(0.1), np.array(1.0)]

    def kiln_step():
        lib.call("train_step", [images, labels] + params + hyper, spare + scalars)

    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)

    def torch_step():
        opt.zero_grad()
        loss = F.cross_entropy(net(torch.flatten(x.float() / 255.0, 1)), y)
        loss.backward()
        opt.step()

    yield "fashion_mlp train step, batch 64", median_ms(kiln_step, repeat), \
        torch_ms(torch_step, repeat, 1), torch_ms(torch_step, repeat, os.cpu_count())

    many = rng.integers(0, 256, (1000, 28, 28), dtype=np.uint8)
    logits = np.zeros((1000, 10), np.float32)

    def kiln_predict():
        lib.call("forward", [many] + params, [logits])

    xs = torch.from_numpy(many)

    def torch_predict():
        with torch.no_grad():
            net(torch.flatten(xs.float() / 255.0, 1))

    yield "fashion_mlp predict, 1000 images", median_ms(kiln_predict, repeat), \
        torch_ms(torch_predict, repeat, 1), torch_ms(torch_predict, repeat, os.cpu_count())


class LeNet(torch.nn.Module):
    """examples/fashion_cnn.kiln as a PyTorch user writes it."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(800, 120), torch.nn.ReLU(),
            torch.nn.Linear(120, 84), torch.nn.ReLU(),
            torch.nn.Linear(84, 10))

    def forward(self, image):
        return self.net(((image.float() / 255.0 - 0.286) / 0.353).reshape(-1, 1, 28, 28))


def adam_train_step(kiln, workdir, repeat, example, net, lr):
    """One training step at batch 64 of examples/EXAMPLE.kiln with Adam(lr),
    next to `net`, its PyTorch twin, starting from the twin's weights."""
    lib = kilnlib.Model(kiln, os.path.join(ROOT, "examples", example + ".kiln"), workdir)
    m = lib.manifest
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 64).astype(np.int64)
    params = [p.detach().numpy().copy() for p in net.parameters()]
    state = [np.zeros(s["shape"], np.float32) for s in m["state"]]
    spare = [np.zeros_like(p) for p in params] + [np.zeros_like(s) for s in state]
    scalars = [np.zeros((), np.float32) for _ in range(1 + len(m["metrics"]))]
    values = {"lr": np.array(lr), "step": np.array(1.0), "seed": np.array(1.0)}
    hyper = [values[h] for h in m["hyper"]]

    def kiln_step():
        lib.call("train_step", [images, labels] + params + state + hyper, spare + scalars)

    opt = torch.optim.Adam(net.parameters(), lr=lr)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)

    def torch_step():
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    yield f"{example} train step, batch 64", median_ms(kiln_step, repeat), \
        torch_ms(torch_step, repeat, 1), torch_ms(torch_step, repeat, os.cpu_count())


def fashion_cnn(kiln, workdir, repeat):
    """examples/fashion_cnn.kiln with its optimizer, Adam(lr=0.002)."""
    return adam_train_step(kiln, workdir, repeat, "fashion_cnn", LeNet(), 0.002)


class FashionRNN(torch.nn.Module):
    """examples/fashion_rnn.kiln as a PyTorch user writes it."""

    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.RNN(28, 128, batch_first=True)
        self.head = torch.nn.Linear(128, 10)

    def forward(self, image):
        states, _ = self.rnn((image.float() / 255.0 - 0.286) / 0.353)
        return self.head(states.mean(dim=1))


def fashion_rnn(kiln, workdir, repeat):
    """examples/fashion_rnn.kiln with its optimizer, Adam(lr=0.001)."""
    return adam_train_step(kiln, workdir, repeat, "fashion_rnn", FashionRNN(), 0.001)


BENCHMARKS = {"fashion_mlp": fashion_mlp, "fashion_cnn": fashion_cnn, "fashion_rnn": fashion_rnn}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kiln", default=os.path.join(ROOT, "build", "bin", "kiln"))
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("names", nargs="*", default=list(BENCHMARKS))
    args = parser.parse_args()
    workdir = os.path.join(ROOT, "build", "bench")
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    for name in args.names:
        for label, kiln_ms, torch1, torchn in BENCHMARKS[name](args.kiln, workdir, args.repeat):
            print(f"{label:40s} kiln {kiln_ms:8.3f} ms   torch(1 thread) {torch1:8.3f} ms   "
                  f"torch({os.cpu_count()} threads) {torchn:8.3f} ms   speed-up {torch1 / kiln_ms:5.1f}x")


if __name__ == "__main__":
    main()
