#!/usr/bin/python3
"""Trains an example's PyTorch twin on its data as its train block does.

The twin is the nn.Module a PyTorch user writes for the example, with
PyTorch's default initialization, the same optimizer, batch size, epochs
and input standardization, shuffled each epoch by torch's seeded
generator (torch.manual_seed(SEED)). It prints the test accuracy after each
epoch: the figure the example's Kiln accuracy is compared with in
check_fashion_training.py's docstring. Not a ctest (minutes of CPU); run by
hand when an example changes.

Fashion-MNIST from dataset-fashion-mnist; text_language's words from
examples/words_data.py (run here into a temporary folder).

usage: train_twin.py EXAMPLE [SEED]   (EXAMPLE: fashion_lstm, text_language, fashion_cnn_bn)
"""
import gzip
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


class FashionLSTM(nn.Module):
    """examples/fashion_lstm.kiln: head(lstm(rows)[0][:, -1])."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, image):
        rows = (image.float() / 255.0 - 0.286) / 0.353
        out, _ = self.lstm(rows)
        return self.head(out[:, -1])


class FashionCNNBN(nn.Module):
    """examples/fashion_cnn_bn.kiln: conv + BatchNorm + ReLU blocks."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(1568, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
            nn.Linear(128, 10))

    def forward(self, image):
        x = ((image.float() / 255.0 - 0.286) / 0.353).reshape(-1, 1, 28, 28)
        return self.net(x)


class WordLanguage(nn.Module):
    """examples/text_language.kiln: head(norm(gru(bytes(word))[0][:, -1]))."""

    def __init__(self):
        super().__init__()
        self.bytes = nn.Embedding(256, 16)
        self.gru = nn.GRU(16, 64, batch_first=True)
        self.norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, 5)

    def forward(self, word):
        out, _ = self.gru(self.bytes(word.long()))
        return self.head(self.norm(out[:, -1]))


def fashion():
    return [torch.from_numpy(a) for a in (
        idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28).copy(),
        idx("train-labels-idx1-ubyte.gz", 8).astype(np.int64),
        idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28).copy(),
        idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))]


def words():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, os.path.join(ROOT, "examples", "words_data.py"), d],
                       check=True, stdout=subprocess.DEVNULL)
        return [torch.from_numpy(np.load(os.path.join(d, f"words-{n}.npy")))
                for n in ("train", "train-labels", "test", "test-labels")]


# example: (model, data, optimizer, scheduler or None, batch, epochs)
EXAMPLES = {
    "fashion_lstm": (FashionLSTM, fashion, lambda p: torch.optim.Adam(p, lr=0.002), None, 64, 3),
    "text_language": (WordLanguage, words, lambda p: torch.optim.Adam(p, lr=0.003), None, 64, 3),
    "fashion_cnn_bn": (FashionCNNBN, fashion,
                       lambda p: torch.optim.AdamW(p, lr=0.003, weight_decay=0.01),
                       lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5), 128, 5),
}


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in EXAMPLES:
        sys.exit(__doc__)
    seed = int(sys.argv[2]) if len(sys.argv) == 3 else 0
    make, data, optimizer, scheduler, batch, epochs = EXAMPLES[sys.argv[1]]
    train_x, train_y, test_x, test_y = data()
    torch.manual_seed(seed)
    model = make()
    opt = optimizer(model.parameters())
    schedule = scheduler(opt) if scheduler else None
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_x))
        for i in range(0, len(order), batch):
            b = order[i:i + batch]
            loss = F.cross_entropy(model(train_x[b]), train_y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if schedule:
            schedule.step()
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum())
                          for i in range(0, len(test_x), 1000))
        print(f"{sys.argv[1]} twin, seed {seed}, epoch {epoch + 1}: test accuracy "
              f"{correct / len(test_x):.4f} ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
