#!/usr/bin/python3
"""Writes a long --metrics log to stdout, as an executable would: 40 epochs
of 50 steps, validation every 100 steps and per epoch, a loss, an accuracy,
a metric of order 1e-5 and one near 1e5 (the ticks' formats), a constant."""
import json
import math

step = 0
for epoch in range(1, 41):
    seen = []
    for _ in range(50):
        step += 1
        loss = 2.0 * math.exp(-step / 600) + 0.05 * ((step * 7919) % 100) / 100
        seen.append(loss)
        line = {"epoch": epoch, "step": step, "loss": loss, "accuracy": 1 - loss / 2.2,
                "tiny": 1e-5 * loss, "big": 123456.7 + 1000 * loss, "const": 3.0}
        if step % 100 == 0:
            line.update({"val_loss": 1.1 * loss, "val_accuracy": 1 - loss / 2})
        print(json.dumps(line))
    m = sum(seen) / len(seen)
    print(json.dumps({"epoch": epoch, "loss": m, "accuracy": 1 - m / 2.2, "tiny": 1e-5 * m,
                      "big": 123456.7 + 1000 * m, "const": 3.0, "val_loss": 1.1 * m,
                      "val_accuracy": 1 - m / 2, "seconds": 0.5}))
