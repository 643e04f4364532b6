#!/usr/bin/python3
"""DSL.md's Fashion-MNIST example with weights from its PyTorch twin.

Trains the twin (nn.Sequential, PyTorch's default initialization, SGD lr 0.1,
batch 64, seeded) for 300 steps, exports its state_dict as safetensors, and
runs the compiled executable's `predict` and `eval` on the 10,000 test images.
Kiln must predict the same class as PyTorch for every image whose top two
logits PyTorch separates by more than 1e-4 (closer ones may flip on rounding;
their count is printed), logits must agree within 1e-4 absolute, and eval's
accuracy must equal PyTorch's within one image's worth (1e-4).

usage: check_fashion.py KILN WORKDIR
"""
import gzip
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "runtime"))
import safetensors_util  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
# KILN_FASHION_DATA: another copy (scripts/test-gpu --prebuilt, on a GPU machine).
DATA = os.environ.get("KILN_FASHION_DATA", "/usr/share/datasets/fashion-mnist")


def idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kiln, workdir = sys.argv[1:]
    os.makedirs(workdir, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    images = torch.from_numpy(idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28).copy())
    labels = torch.from_numpy(idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(300):
        batch = torch.randint(0, len(images), (64,))
        x = torch.flatten(images[batch].float() / 255.0, 1)
        loss = torch.nn.functional.cross_entropy(net(x), labels[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    weights = {"net." + k: v.detach().numpy() for k, v in net.state_dict().items()}
    weights_path = os.path.join(workdir, "twin.safetensors")
    safetensors_util.save(weights_path, weights)

    exe = os.path.join(workdir, "fashion_mlp")
    subprocess.run([kiln, "build", os.path.join(ROOT, "examples", "fashion_mlp.kiln"), "-o", exe],
                   check=True)
    test_images = os.path.join(DATA, "t10k-images-idx3-ubyte.gz")
    test_labels = os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")
    out = os.path.join(workdir, "logits.npy")
    subprocess.run([exe, "predict", "--weights", weights_path, "--image", test_images,
                    "--output", out], check=True)
    line = subprocess.run([exe, "eval", "--weights", weights_path, "--image", test_images,
                           "--label", test_labels], check=True, capture_output=True,
                          text=True).stdout.split()
    kiln_accuracy = float(line[line.index("accuracy") + 1])

    x = torch.flatten(torch.from_numpy(idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28).copy()).float() / 255.0, 1)
    with torch.no_grad():
        want = net(x).numpy()
    got = np.load(out)
    top2 = np.sort(want, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 1e-4
    differ = got.argmax(1) != want.argmax(1)
    torch_accuracy = float((want.argmax(1) == idx("t10k-labels-idx1-ubyte.gz", 8)).mean())
    error = float(np.abs(got - want).max())
    print(f"images {len(want)}, classes differing {int(differ.sum())} "
          f"(near ties: {int((~clear).sum())}), max logit error {error:.2e}, "
          f"accuracy kiln {kiln_accuracy:.4f} torch {torch_accuracy:.4f}")
    ok = not (differ & clear).any() and error <= 1e-4 and abs(kiln_accuracy - torch_accuracy) <= 1e-4
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
