#!/usr/bin/python3
"""Checks a `kiln plot` SVG against its log, as a person looking at it would:
every series point lies in its panel's plot area and, read back through the
axis ticks (linear or log), gives the log's value at that step or epoch;
x grows along each series; no two texts overlap (the legend's entries, a
panel's title and summary, ticks, epoch labels), estimating a text's width
from its font size. Prints what it checked; exit 1 on the first problem.

usage: plot_geometry.py CURVES.svg LOG.jsonl
"""
import json
import math
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("plot_geometry: " + msg)
    sys.exit(1)


def read_log(path):
    steps, epochs = {}, []
    for line in open(path):
        if line.strip():
            d = json.loads(line)
            if "step" in d:
                steps[d["step"]] = d
            else:
                epochs.append(d)
    return steps, epochs


def text_box(t, font_size):
    """(x0, y0, x1, y1) of a text element, estimated; None when rotated."""
    if t.get("transform"):
        return None
    s = "".join(t.itertext())
    if not s:
        return None
    fs = float(t.get("font-size", font_size))
    w = len(s) * fs * (0.66 if t.get("font-weight") == "bold" else 0.6)
    x, y = float(t.get("x")), float(t.get("y"))
    anchor = t.get("text-anchor", "start")
    x0 = x - (w / 2 if anchor == "middle" else w if anchor == "end" else 0)
    return (x0, y - fs * 0.75, x0 + w, y + fs * 0.2, s)


def overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def texts(elem, font_size=12.0):
    """Every text under elem with its estimated box."""
    fs = float(elem.get("font-size", font_size))
    out = []
    for child in elem:
        if child.tag == NS + "text":
            box = text_box(child, fs)
            if box:
                out.append(box)
        else:
            out += texts(child, fs)
    return out


def check_no_overlap(boxes, where):
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if overlaps(a, b):
                fail(f"{where}: '{a[4]}' and '{b[4]}' overlap")


def axis_map(ticks, log):
    """value(pixel) from [(value, pixel)] of an axis's ticks."""
    (v0, p0), (v1, p1) = ticks[0], ticks[-1]
    if log:
        v0, v1 = math.log10(v0), math.log10(v1)
        return lambda p: 10 ** (v0 + (p - p0) * (v1 - v0) / (p1 - p0))
    return lambda p: v0 + (p - p0) * (v1 - v0) / (p1 - p0)


def main():
    svg, log = sys.argv[1], sys.argv[2]
    root = ET.parse(svg).getroot()
    steps, epoch_lines = read_log(log)
    check_no_overlap(texts(root.find(f"{NS}g[@class='legend']")), "legend")
    checked = 0
    panels = root.findall(f"{NS}g[@class='panel']")
    if not panels:
        fail("no panels")
    for panel in panels:
        name = panel.get("id")[len("panel-"):]
        check_no_overlap(texts(panel), f"panel {name}")
        area = panel.find(f"{NS}rect[@class='plot-area']")
        x0, y0 = float(area.get("x")), float(area.get("y"))
        x1, y1 = x0 + float(area.get("width")), y0 + float(area.get("height"))
        yaxis = panel.find(f"{NS}g[@class='axis y']")
        log_scale = any("(log scale)" in "".join(t.itertext()) for t in yaxis)
        yt = [(float("".join(t.itertext())), float(t.get("y")) - 4)
              for t in yaxis.findall(f"{NS}text[@class='tick']")]
        xt = [(float("".join(t.itertext())), float(t.get("x")))
              for t in panel.find(f"{NS}g[@class='axis x']").findall(f"{NS}text[@class='tick']")]
        if len(yt) < 2 or len(xt) < 2:
            fail(f"panel {name}: fewer than two ticks on an axis")
        for (a, pa), (b, pb) in zip(yt, yt[1:]):
            if not (b > a and pb < pa):
                fail(f"panel {name}: y ticks {a} at {pa} and {b} at {pb} out of order")
        yv, xv = axis_map(yt, log_scale), axis_map(xt, False)
        span = (yt[-1][0] - yt[0][0]) if not log_scale else None
        for path in panel.findall(f"{NS}path"):
            cls = path.get("class").split()[1]  # train-step, validation-epoch, ...
            who, per = cls.split("-")
            key = name if who == "train" else "val_" + name
            pts = [(float(a), float(b)) for a, b in re.findall(r"[ML]([-0-9.]+) ([-0-9.]+)",
                                                                path.get("d"))]
            if not pts:
                fail(f"panel {name}: {cls} has no points")
            for (px, py), (qx, _) in zip(pts, pts[1:]):
                if qx < px - 1e-6:
                    fail(f"panel {name}: {cls} goes back along x ({px} then {qx})")
            if per == "epoch":
                want = [d[key] for d in epoch_lines if d.get(key) is not None]
            # (a long log is thinned to a few points per pixel column)
            thinned = len(pts) < sum(1 for d in steps.values() if d.get(key) is not None)
            for k, (px, py) in enumerate(pts):
                if not (x0 - 0.5 <= px <= x1 + 0.5 and y0 - 0.5 <= py <= y1 + 0.5):
                    fail(f"panel {name}: {cls} point ({px}, {py}) outside the plot area "
                         f"({x0}, {y0})-({x1}, {y1})")
                got = yv(py)
                if per == "step":
                    if thinned:
                        continue
                    d = steps.get(round(xv(px)))
                    if d is None or d.get(key) is None:
                        fail(f"panel {name}: {cls} point at step {xv(px):.2f} has no value "
                             "in the log")
                    expect = d[key]
                else:
                    expect = want[k]
                tol = 0.01 * abs(expect) if log_scale else 0.005 * span
                if abs(got - expect) > tol + 1e-12:
                    fail(f"panel {name}: {cls} point {k} reads {got:.6g} on the axis, the log "
                         f"says {expect:.6g}")
                checked += 1
    print(f"plot_geometry: {len(panels)} panels, {checked} points at their values, "
          "no texts overlap")


if __name__ == "__main__":
    main()
