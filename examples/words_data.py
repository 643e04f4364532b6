#!/usr/bin/python3
"""Data for examples/text_language.kiln: which language a word is written in.

The words are the Debian word lists that the packages wamerican, wfrench,
wngerman, witalian and wspanish install under /usr/share/dict (scripts/setup
installs them). Each word is lower-cased and kept if it has 2 to 16 UTF-8
bytes, no apostrophe, and appears in exactly one of the five lists (a word
shared by two languages has no single answer). From each language 12,000
words are drawn for training and 2,000 others for testing, with a seeded
generator (numpy's PCG64, seed 0): the files are the same on every machine
with the same lists.

Written to DIR (made if missing):
  words-train.npy u8 [60000, 16]   UTF-8 bytes, zero-padded at the end
  words-train-labels.npy i64 [60000]   0 English, 1 French, 2 German,
                                       3 Italian, 4 Spanish
  words-test.npy, words-test-labels.npy   the same, 10,000 words

usage: words_data.py DIR
"""
import os
import sys

import numpy as np

DICT = "/usr/share/dict"
LANGUAGES = [("english", "american-english"), ("french", "french"), ("german", "ngerman"),
             ("italian", "italian"), ("spanish", "spanish")]
WIDTH, TRAIN, TEST, SEED = 16, 12000, 2000, 0


def words(name):
    with open(os.path.join(DICT, name), encoding="utf-8") as f:
        found = set()
        for line in f:
            w = line.strip().lower()
            if "'" not in w and 2 <= len(w.encode("utf-8")) <= WIDTH:
                found.add(w)
        return found


def encode(ws):
    out = np.zeros((len(ws), WIDTH), np.uint8)
    for i, w in enumerate(ws):
        b = w.encode("utf-8")
        out[i, :len(b)] = np.frombuffer(b, np.uint8)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    lists = [words(f) for _, f in LANGUAGES]
    counts = {}
    for ws in lists:
        for w in ws:
            counts[w] = counts.get(w, 0) + 1
    rng = np.random.Generator(np.random.PCG64(SEED))
    split = {"train": ([], []), "test": ([], [])}
    for label, ws in enumerate(lists):
        unique = sorted(w for w in ws if counts[w] == 1)
        pick = rng.permutation(len(unique))[:TRAIN + TEST]
        for name, part in (("train", pick[:TRAIN]), ("test", pick[TRAIN:])):
            split[name][0].extend(unique[i] for i in part)
            split[name][1].extend([label] * len(part))
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, (ws, labels) in split.items():
        order = rng.permutation(len(ws))
        np.save(os.path.join(sys.argv[1], f"words-{name}.npy"), encode([ws[i] for i in order]))
        np.save(os.path.join(sys.argv[1], f"words-{name}-labels.npy"),
                np.asarray(labels, np.int64)[order])
    print(f"wrote {len(split['train'][0])} training and {len(split['test'][0])} test words "
          f"to {sys.argv[1]}")


if __name__ == "__main__":
    main()
