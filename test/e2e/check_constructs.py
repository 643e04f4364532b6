#!/usr/bin/python3
"""Every construct of the language, built (issue 14, defect 3): nothing
`kiln check` accepts may fail later with anything but a located diagnostic.

The functions, layers, optimizers and initializers come from
frontend/Builtins.def, read at run time, so a row added there is swept
without touching this file. For each function and layer it writes small
model files that apply it to operands of every rank DSL.md allows (a scalar;
rank 1 to 3 without the batch; rank 1 to 4 with it), in every dtype the row
takes (f32, f64, i32, i64, u8), on the gradient path (the operand depends on
a parameter) and off it (straight from an input), used as a loss term, as an
output, as both, and as a metric, with each of its arguments varied in turn
(negative dims, keepdim, ...). Operators (+ - * / @ ** unary minus,
indexing, literals) with broadcasting shapes, Sequential, the train block's
optimizers and the param initializers are swept the same way.

Each file goes through `kiln check`; the ones it accepts are built (merged a
few dozen to a model, to save time: a failing model is split in halves until
the failing case is alone) into executables whose `info`, `predict`, `eval`
and `train` then run on random data. A failure is anything that crashes or
aborts (a signal, LLVM ERROR, an assertion, a sanitizer report) or exits
with an error that is not located in the model file (`file:line:col:
error:`); located errors at build time are listed but pass. Each failure
prints its model file. Known failures (KNOWN below, each with its reason)
are listed and do not fail the run.

usage: check_constructs.py KILN WORKDIR [--sample FRACTION] [--jobs J]
                           [--only REGEX] [--list]
  --sample F  keep about F of the cases (deterministically; CI's sanitized
              run uses a small F), always keeping each row's first cases
  --only RE   only cases whose label matches RE
  --list      print the cases' labels and stop
  --times     print the builds' CPU time per row
"""
import argparse
import concurrent.futures
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "runtime"))
import safetensors_util  # noqa: E402

# Known failures: a regular expression over a case's label, and why. A case
# whose label matches is reported as known, not as a failure. Keep each one
# until the fix lands; then delete it (the run says when one passes).
KNOWN = [
]

FLOATS = ["f32", "f64"]
INTS = ["i64", "i32", "u8"]
DTYPES = FLOATS + INTS
NP = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64, "u8": np.uint8}

#===------------------------------------------------------------------------===#
# The table
#===------------------------------------------------------------------------===#


class Param:
    def __init__(self, name, tensor, default, aliases):
        self.name, self.tensor, self.default, self.aliases = name, tensor, default, aliases

    @property
    def required(self):
        return self.default is None and not self.tensor


class Row:
    """A row of Builtins.def: kind (FUNCTION, LAYER, CONTAINER, OPTIMIZER,
    SCHEDULER, INITIALIZER), name, needs (a dtype requirement, or None) and params."""

    def __init__(self, kind, name, needs, params, rule):
        self.kind, self.name, self.needs, self.params, self.rule = kind, name, needs, params, rule

    @property
    def tensors(self):
        return [p for p in self.params if p.tensor]


def split_top(text):
    """Splits at commas outside brackets and strings."""
    parts, depth, cur, quote = [], 0, "", False
    for i, c in enumerate(text):
        if quote:
            cur += c
            if c == '"' and text[i - 1] != "\\":
                quote = False
            continue
        if c == '"':
            quote = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += c
    if cur.strip():
        parts.append(cur.strip())
    return parts


def parse_param(text):
    m = re.match(r'(tensor|arg)\("([^"]*)"(?:\s*,\s*"([^"]*)")?\)', text)
    if not m:
        raise ValueError(f"Builtins.def: cannot read the parameter {text!r}")
    aliases = re.findall(r'\.alias\("([^"]*)"\)', text)
    return Param(m.group(2), m.group(1) == "tensor", m.group(3), aliases)


def parse_builtins(path):
    with open(path) as f:
        text = re.sub(r"//[^\n]*", "", f.read())
    rows = []
    for m in re.finditer(r"^KILN_(FUNCTION|LAYER|CONTAINER|OPTIMIZER|SCHEDULER|INITIALIZER)\(", text, re.M):
        depth, j, quote = 0, m.end() - 1, False
        while True:
            c = text[j]
            if quote:
                quote = not (c == '"' and text[j - 1] != "\\")
            elif c == '"':
                quote = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        args = split_top(text[m.end():j])
        kind = m.group(1)
        name = args[0].strip('"')
        if kind == "FUNCTION":   # name, op, rule, needs, params...
            rows.append(Row(kind, name, args[3], [parse_param(a) for a in args[4:]], args[2]))
        elif kind == "LAYER":    # name, op, build, apply, needs, params...
            rows.append(Row(kind, name, args[4], [parse_param(a) for a in args[5:]], args[2]))
        elif kind == "CONTAINER":
            rows.append(Row(kind, name, None, [], args[1]))
        elif kind in ("OPTIMIZER", "SCHEDULER"):  # name, enum, params...
            rows.append(Row(kind, name, None, [parse_param(a) for a in args[2:]], args[1]))
        else:                      # INITIALIZER: name, rule, params...
            rows.append(Row(kind, name, None, [parse_param(a) for a in args[2:]], args[1]))
    return rows


def dtypes_for(needs):
    if needs in ("FloatTensor", "FloatPredictions", "FloatLogits"):
        return FLOATS
    if needs == "IndexTensor":
        return INTS
    return DTYPES  # AnyDType, or a kind this file does not know yet: try all

#===------------------------------------------------------------------------===#
# Cases: model fragments that merge
#===------------------------------------------------------------------------===#


class Case:
    """One construct in one setting. Names local to the case start with `$`,
    which rendering replaces by a prefix unique in the model; inputs,
    targets and params are shared by name (the name spells the type)."""

    def __init__(self, row, label):
        self.row, self.label = row, label
        self.decls = {}      # name -> declaration
        self.lines = []
        self.outputs = []    # (name, expr)
        self.metrics = []    # (name, expr)
        self.loss = []       # terms
        self.train = None    # train block lines (optimizer cases)
        self.group = None    # what it may be merged with

    def copy(self, label):
        c = Case(self.row, label)
        c.decls, c.lines = dict(self.decls), list(self.lines)
        c.outputs, c.metrics, c.loss = list(self.outputs), list(self.metrics), list(self.loss)
        c.train = self.train
        return c


def render(cases, owners=None):
    """The model file holding `cases` (one case: its names unprefixed).
    `owners`, a list, receives each line's case index (None: shared)."""
    decls, lines, outputs, metrics, loss, train = {}, [], [], [], [], None
    for k, c in enumerate(cases):
        prefix = "" if len(cases) == 1 else f"c{k}_"
        sub = lambda s: s.replace("$", prefix)  # noqa: E731
        decls.update(c.decls)
        lines += [(k, sub(s)) for s in c.lines]
        outputs += [(k, sub(n), sub(e)) for n, e in c.outputs]
        metrics += [(k, sub(n), sub(e)) for n, e in c.metrics]
        loss += [sub(t) for t in c.loss]
        train = train or c.train
    order = {"input": 0, "target": 1, "param": 2}
    text = [(None, "model M {")]
    text += [(None, "  " + d) for _, d in
             sorted(decls.items(), key=lambda kv: (order[kv[1].split()[0]], kv[0]))]
    text += [(k, "  " + s) for k, s in lines]
    if not outputs:  # a model needs an output: its first input, through relu
        first = min((n for n, d in decls.items() if d.startswith("input")), default=None)
        outputs.append((None, "keep", f"relu({first})"))
    text += [(k, f"  output {n} = {e}") for k, n, e in outputs]
    text += [(k, f"  metric {n} = {e}") for k, n, e in metrics]
    if loss:
        text.append((None, "  loss = " + " + ".join(loss)))
    text.append((None, "}"))
    if train:
        text += [(None, s) for s in ["train M {"] + ["  " + s for s in train] + ["}"]]
    if owners is not None:
        owners[:] = [k for k, _ in text]
    return "\n".join(s for _, s in text) + "\n"


def dims_text(shape):
    return ", ".join(str(d) for d in shape)


def tag(shape):
    return "_".join(str(d) for d in shape) or "s"


def declare_input(case, role, dtype, R, slot):
    name = f"{'in' if role == 'input' else 'tg'}{slot}_{dtype}_{tag(R)}"
    case.decls[name] = f"{role} {name}: {dtype}[{dims_text(['N', *R])}]"
    return name


def declare_param(case, dtype, R, slot):
    name = f"w{slot}_{dtype}_{tag(R)}"
    case.decls[name] = f"param {name}: {dtype}[{dims_text(list(R) or [1])}] = uniform(-1, 1)"
    return name


class Operand:
    """A tensor of `dtype` and shape [N, *R] (batched) or R (R = (): a
    scalar), made on the gradient path ("grad": it depends on a parameter),
    off it ("nograd": from an input or target only), or a parameter itself
    ("param")."""

    def __init__(self, dtype, batched, R, path):
        self.dtype, self.batched, self.R, self.path = dtype, batched, tuple(R), path

    @property
    def shape(self):
        return (["N"] if self.batched else []) + list(self.R)

    @property
    def rank(self):
        return len(self.shape)

    def text(self):
        return f"{self.dtype}[{dims_text(self.shape)}] {self.path}"

    def make(self, case, slot="a", role="input"):
        """Adds what defines it to `case`; returns its name there."""
        v = f"$x{slot}"
        fdt = self.dtype if self.dtype in FLOATS else "f32"
        if self.path == "param":
            e = declare_param(case, self.dtype, self.R, slot)
        else:
            src_dt = self.dtype if self.path == "nograd" else fdt
            R = self.R if self.batched or self.R else (5,)
            e = declare_input(case, role, src_dt, R, slot)
            if self.path == "grad":
                e = f"{e} * {declare_param(case, fdt, R, slot)}"
            if not self.batched:
                reduce = "mean" if src_dt in FLOATS else "sum"
                e = f"{reduce}({e}, dim=0)" if self.R else f"{reduce}({e})"
            if self.path == "grad" and self.dtype != fdt:
                e = f"{self.dtype}({e})"
        case.lines.append(f"{v} = {e}")
        return v


# Per-sample shapes by rank: distinct sizes, so a swapped dim shows; big
# enough for a 2x2 kernel, an RNN's time steps, a 3-wide slice.
SHAPES = [(True, ()), (True, (5,)), (True, (3, 5)), (True, (2, 4, 5)),
          (False, ()), (False, (5,)), (False, (3, 5)), (False, (2, 4, 5))]


def operands(dtypes):
    """The operand settings of a row: every shape in f32, on and off the
    gradient path and as a parameter; every shape in f64 on the path and in
    i64 off it; a few shapes in the other dtypes (what differs by dtype is
    the element code, which the shape does not change)."""
    out = []
    few = [(True, (3, 5)), (False, (5,)), (True, ())]
    for batched, R in SHAPES:
        for dt in dtypes:
            if dt == "f32" or (dt == dtypes[0] and dt != "f64"):
                paths = ["grad", "nograd"] + (["param"] if not batched and R else [])
            elif dt == "f64":
                paths = ["grad"] + (["nograd"] if (batched, R) in few else [])
            elif dt == "i64":
                paths = ["nograd"]
            else:
                paths = ["nograd"] if (batched, R) in few else []
            if dt in INTS and (batched, R) == (True, (5,)):
                paths.append("grad")  # a cast of a value on the path
            if dt in INTS:
                paths = [p for p in paths if p != "param"]
            out += [Operand(dt, batched, R, p) for p in paths]
    return out


def representative(x):
    """The settings every use is tried in (the others: as both, else as a
    loss term, else as a metric)."""
    return x.batched and x.R == (5,) and x.dtype in ("f32", "i64")


#===------------------------------------------------------------------------===#
# Argument values, by parameter name
#===------------------------------------------------------------------------===#

DIM_NAMES = {"dim", "d0", "d1", "dim0", "dim1", "start_dim", "end_dim"}
FEATURE_NAMES = {"in", "in_features", "in_channels", "input_size", "size", "normalized_shape",
                 "features", "num_features", "channels"}
SIZE_NAMES = {"out", "out_features", "out_channels", "hidden", "hidden_size", "embedding_dim"}
NAMED = {
    "keepdim": ["true", "false"], "bias": ["true", "false"],
    "kernel": ["2", "[2, 3]", "1"], "kernel_size": ["2", "[2, 3]", "1"],
    "stride": ["1", "2", "[1, 2]"], "padding": ["0", "1", "[1, 0]"],
    "p": ["0.5", "0.0"], "num_layers": ["1", "2"], "eps": ["1e-5", "0.1"],
    "num": ["10"], "num_embeddings": ["10"], "value": ["2.5", "3", "-1"],
    "fill_value": ["2.5", "3"], "negative_slope": ["0.01", "0.2"], "min": ["-0.5", "0"],
    "max": ["0.5", "2"], "lr": ["0.1", "0.001"], "momentum": ["0.9", "0"],
    "weight_decay": ["0.01", "0"], "beta1": ["0.5"], "beta2": ["0.9"], "eps_": ["1e-6"],
    "nesterov": ["true", "false"], "alpha": ["0.9"], "lo": ["-0.5", "0"], "hi": ["0.5", "2"],
    "step_size": ["1", "3"], "gamma": ["0.1", "0.5"], "T_max": ["1", "5"],
    "eta_min": ["0", "0.001"],
    "mean": ["0", "1"], "std": ["0.1", "0"], "a": ["-0.5"], "b": ["0.5"],
}
GENERIC = ["1", "2", "4", "-1", "0", "0.5", "true", "false"]


def shape_values(x):
    """Target shapes for reshape and the creation functions, from x."""
    vals = ["[" + dims_text(x.shape) + "]"] if x.shape else ["[]"]
    if x.batched:
        rest = 1
        for d in x.R:
            rest *= d
        vals += ["[N, -1]", f"[-1, {rest}]", f"[N, {rest}, 1]", f"[{dims_text(['N', *reversed(x.R)])}]"]
        if x.R:
            vals.append(f"[{dims_text([1, 'N', *x.R])}]")
    else:
        n = 1
        for d in x.R:
            n *= d
        vals += ["[-1]", f"[1, {n}]", f"[{n}, 1]"] if x.R else ["[1]", "[1, 1]"]
        vals.append("3")
    return vals


def values_for(row, p, x):
    """Candidate values (text, setup, description) of parameter p for
    operand x: setup(case) adds what the text names, or is None."""
    name = p.name
    plain = lambda vals: [(v, None, v) for v in vals]  # noqa: E731
    if name in DIM_NAMES and not (row.kind == "LAYER" and name == "dim" and p.required):
        r = max(x.rank, 1)
        vals = [str(d) for d in range(-r, r)]
        if name == "dim" and p.default is not None and x.rank >= 2:
            vals += ["[0, -1]", "[]"]
        if row.kind == "LAYER":
            vals.append("4")
        return plain(vals)
    if name in FEATURE_NAMES:
        dims = [d for d in reversed(x.shape) if d != "N"]
        if x.rank >= 2 and x.shape[1] != "N":
            dims.insert(1, x.shape[1])
        return plain(dict.fromkeys(str(d) for d in dims)) or plain(["1"])
    if name in SIZE_NAMES:
        return plain(["4", "1"])
    if name == "shape":
        return plain(shape_values(x))
    if name == "tensors":
        def second(case):
            Operand(x.dtype, x.batched, x.R, "nograd").make(case, "b", "target")
        return [("[$xa, $xa]", None, "[x, x]"), ("[$xa, $xb]", second, "[x, a target like x]"),
                ("[$xa]", None, "[x]")]
    if name == "dim" and row.kind == "LAYER":  # a size (Embedding's)
        return plain(["4", "-1"])
    return plain(NAMED.get(name, GENERIC))


def tensor_values(x):
    """Candidates for a second tensor operand (a loss's target)."""
    def like(path, role):
        def setup(case):
            Operand(x.dtype, x.batched, x.R, path).make(case, "b", role)
        return ("$xb", setup, f"{'a target' if role == 'target' else 'an input'} like x, {path}")

    def classes(dt):
        def setup(case):
            name = f"lbl_{dt}"
            case.decls[name] = f"target {name}: {dt}[N]"
            case.lines.append(f"$xb = {name}")
        return ("$xb", setup, f"class indices {dt}[N]")
    def matrix(path):  # x's last dim by 4: a right operand of matmul
        def setup(case):
            Operand(x.dtype, False, (x.R[-1], 4), path).make(case, "b", "input")
        return ("$xb", setup, f"{x.dtype}[{x.R[-1]}, 4] {path}")
    return ([like("nograd", "target"), like("grad", "input")] + [classes(dt) for dt in INTS] +
            [("$xa", None, "x itself")] +
            ([matrix("param"), matrix("nograd")] if x.R else []))

#===------------------------------------------------------------------------===#
# Uses of a result
#===------------------------------------------------------------------------===#


def use(case, y, how, scalar_dtype):
    """Uses the value y: "loss" (a loss term), "output", "both", "metric"."""
    term = f"mean({scalar_dtype}({y}))"
    if how in ("loss", "both"):
        case.loss.append(term)
    if how in ("output", "both"):
        case.outputs.append(("$y_out", y))
    if how == "metric":
        case.metrics.append(("$m", term))


def scalar_of(x):
    return "f64" if x.dtype == "f64" else "f32"


USES = ["both", "loss", "output", "metric"]

#===------------------------------------------------------------------------===#
# Case generation
#===------------------------------------------------------------------------===#


def call_text(name, values):
    """NAME(tensors..., key=value...): tensors positionally, the rest by keyword."""
    parts = [v if p.tensor else f"{p.name}={v}" for p, v in values if v is not None]
    return f"{name}({', '.join(parts)})"


def apply_row(row, x, values, how, variant=""):
    """A case applying `row` with `values` [(param, (text, setup) or None)]."""
    args = ", ".join(f"{p.name}={v[2]}" for p, v in values
                     if v is not None and v[0] != "$xa")
    label = f"{row.name}({x.text()}{', ' + args if args else ''}){variant} as {how}"
    case = Case(row.name, label)
    xa = x.make(case, "a")
    texts = []
    for p, v in values:
        if v is None:
            texts.append((p, None))
            continue
        text, setup, _ = v
        if setup:
            setup(case)
        texts.append((p, text))
    scalar = scalar_of(x)
    if row.kind == "FUNCTION":
        expr = call_text(row.name, texts)
        uses_x = any(t and "$xa" in t for _, t in texts)
        case.lines.append(f"$y = {expr}")
        y = "$y"
        if not uses_x and x.path == "grad":  # a creation function: onto the path
            case.lines.append(f"$z = $y * {xa}")
            y = "$z"
    else:
        case.lines.append(f"$l = {call_text(row.name, [(p, t) for p, t in texts if not p.tensor])}")
        if variant == " in Sequential":
            case.lines[-1] = case.lines[-1].replace("$l = ", "$l = Sequential(") + ")"
        inner = f"$l({xa})"
        if variant == " applied twice":
            inner = f"$l({inner})"
        case.lines.append(f"$y = {inner}")
        y = "$y"
    use(case, y, how, scalar)
    case.group = (row.name, scalar, how)
    return case


class Checker:
    """Runs `kiln check` on the model texts of cases, many files to a
    process, memoized; a case is accepted when its file has no errors. A
    file that kiln check neither accepts nor rejects with a located error
    (or that crashes it) is a failure."""

    def __init__(self, kiln, work, jobs):
        self.kiln, self.dir, self.jobs = kiln, os.path.join(work, "check"), jobs
        os.makedirs(self.dir, exist_ok=True)
        self.cache, self.count, self.lock = {}, 0, threading.Lock()
        self.failures = []  # (label, text, why)

    def __call__(self, cases):
        """Whether each case passes kiln check."""
        todo = {}
        for c in cases:
            text = render([c])
            with self.lock:
                if text in self.cache or text in todo:
                    continue
                self.count += 1
                path = os.path.join(self.dir, f"m{self.count}.kiln")
            with open(path, "w") as f:
                f.write(text)
            todo[text] = (path, c.label)
        items = list(todo.items())
        for i in range(0, len(items), 200):
            got = self.run(items[i:i + 200])
            with self.lock:
                self.cache.update(got)
        with self.lock:
            return [self.cache[render([c])] for c in cases]

    def run(self, items):
        paths = [path for _, (path, _) in items]
        p = subprocess.run([self.kiln, "check", *paths], capture_output=True, text=True)
        bad = crash_reason(p)
        if bad:
            if len(items) == 1:
                text, (path, label) = items[0]
                with self.lock:
                    self.failures.append((label, text, "kiln check: " + bad))
                return {text: False}
            half = len(items) // 2
            return {**self.run(items[:half]), **self.run(items[half:])}
        ok = {m.group(1) for m in re.finditer(r"^(.*): model '\w+' has no errors", p.stdout, re.M)}
        errors = {m.group(1) for m in re.finditer(r"^(.*?):\d+:\d+: error: ", p.stderr, re.M)}
        out = {}
        for text, (path, label) in items:
            out[text] = path in ok
            if path not in ok and path not in errors:
                lines = [s for s in p.stderr.splitlines() if path in s]
                with self.lock:
                    self.failures.append((label, text, "kiln check: rejected without a located "
                                          "error: " + (lines[0] if lines else first_line(p.stderr))))
        return out


def first_line(text):
    lines = [s for s in text.splitlines() if s.strip()]
    return lines[0] if lines else "(no message)"


def crash_reason(p, path=None):
    """Why a finished process counts as a crash, or None."""
    if p.returncode < 0:
        return f"killed by signal {-p.returncode}: {first_line(p.stderr)}"
    for marker in ("LLVM ERROR", "Assertion", "Stack dump", "AddressSanitizer", "runtime error:",
                   "LeakSanitizer", "UNREACHABLE", "terminate called", "PLEASE submit"):
        if marker in p.stderr:
            line = next(s for s in p.stderr.splitlines() if marker in s)
            return f"exit {p.returncode}: {line.strip()}"
    return None


def first_error(stderr):
    errors = [s for s in stderr.splitlines() if "error" in s]
    return errors[0] if errors else first_line(stderr)


def raw_ir(stderr):
    """The first line of an error that shows MLIR's own text (types such as
    tensor<1x?x4xf32>, a verifier's wording) instead of the model's, or
    None: DESIGN.md's errors name the operation and the shapes in the
    model's terms."""
    for line in stderr.splitlines():
        if re.search(r"\b(tensor|memref|vector)<|!llvm\.|rank-reduced|'(linalg|tensor|arith|"
                     r"scf|func|memref|builtin)\.\w+' op", line):
            return line.strip()
    return None


def located(stderr, path):
    """Whether the first error names a place in the model file."""
    return re.match(re.escape(path) + r":\d+:\d+: error: ", first_error(stderr)) is not None


def row_cases(row, check, sample):
    """The cases of one function or layer row that kiln check accepts, and
    the number of files it checked for them."""
    # A row without tensor operands (zeros, concat) takes its operand's shape
    # (and concat its dtype) only; a layer of indices (Embedding) integers.
    xs = operands(dtypes_for(row.needs) if row.tensors or row.needs == "IndexTensor" or any(
        p.name == "tensors" for p in row.params) else ["f32"])
    others = [p for p in row.params if not p.tensor]
    required = [p for p in others if p.required]
    tensors = row.tensors
    rng = random.Random(f"{row.kind}:{row.name}")

    # Required arguments and further tensors: per operand shape, the first
    # combination of candidates that kiln check accepts in some use (on the
    # gradient path where there is one).
    keys = list(dict.fromkeys((x.batched, x.R) for x in xs))
    probes = []
    for key in keys:
        same = [o for o in xs if (o.batched, o.R) == key]
        probe = next((o for o in same if o.path == "grad"), same[0])
        lists = [values_for(row, p, probe) for p in required] + \
            [tensor_values(probe) for _ in tensors[1:]]
        for i, combo in enumerate(itertools.islice(itertools.product(*lists), 48)):
            req = dict(zip([p.name for p in required], combo))
            tvals = combo[len(required):]
            for how in ("both", "loss", "metric", "output"):
                probes.append((key, i, (req, tvals),
                               apply_row(row, probe, make_values(row, req, tvals), how)))
    bases = {}
    for (key, i, base, _), ok in zip(probes, check([c for *_, c in probes])):
        if ok and (key not in bases or bases[key][0] > i):
            bases[key] = (i, base)
    # A row whose optional arguments may not all be left out (clamp needs a
    # min or a max): for the shapes without a base, each optional argument
    # in turn at its first value.
    optional = [p for p in others if not p.required]
    retry = []
    for key in keys:
        if key in bases or not optional:
            continue
        same = [o for o in xs if (o.batched, o.R) == key]
        probe = next((o for o in same if o.path == "grad"), same[0])
        for j, p in enumerate(optional):
            extra = {p.name: values_for(row, p, probe)[0]}
            lists = [values_for(row, q, probe) for q in required] + \
                [tensor_values(probe) for _ in tensors[1:]]
            for i, combo in enumerate(itertools.islice(itertools.product(*lists), 12)):
                req = {**dict(zip([q.name for q in required], combo)), **extra}
                tvals = combo[len(required):]
                for how in ("both", "loss"):
                    retry.append((key, (j, i), (req, tvals),
                                  apply_row(row, probe, make_values(row, req, tvals), how)))
    for (key, i, base, _), ok in zip(retry, check([c for *_, c in retry])):
        if ok and (key not in bases or bases[key][0] > i):
            bases[key] = (i, base)
    bases = {k: v[1] for k, v in bases.items()}

    # Alternatives: of each list, the first case kiln check accepts is kept.
    alternatives = []
    # A sample keeps the representative operands, and at least one operand
    # of each row (a pooling layer or an RNN takes no [N, 5]).
    based = [x for x in xs if (x.batched, x.R) in bases]
    kept = [x for x in based if sample >= 1 or representative(x) or rng.random() <= sample]
    if based and not kept:
        kept = based[:1]
    for x in kept:
        req, tvals = bases[(x.batched, x.R)]
        values = make_values(row, req, tvals)
        if representative(x):  # as an output, a metric, both (else a loss term)
            alternatives.append([apply_row(row, x, values, how) for how in ("both", "loss")])
            alternatives += [[apply_row(row, x, values, how)] for how in ("output", "metric")]
            if row.kind == "LAYER" and x.path == "grad":
                alternatives.append([apply_row(row, x, values, "both", " in Sequential")])
                alternatives.append([apply_row(row, x, values, "both", " applied twice")])
        else:
            alternatives.append([apply_row(row, x, values, how) for how in ("both", "loss", "metric")])

    # Each argument varied alone (or both together, for two arguments with
    # few values: dim and keepdim), on the gradient path, in the row's first
    # dtype: dims and shapes (which mean something else in each rank) in
    # every shape, the other arguments in the highest batched and the lowest
    # unbatched rank the row takes.
    first_dt = dtypes_for(row.needs)[0]
    ranked = {"shape", "tensors"} | DIM_NAMES
    batched_keys = [k for k in keys if k[0] and k in bases]
    unbatched_keys = [k for k in keys if not k[0] and k in bases]
    arg_keys = batched_keys[-1:] + unbatched_keys[:1]
    for x in xs:
        key = (x.batched, x.R)
        if x.dtype != first_dt or x.path != "grad" or key not in bases:
            continue
        if sample < 1 and rng.random() > sample:
            continue
        req, tvals = bases[key]
        varied = [p for p in others if key in arg_keys or p.name in ranked]
        lists = {p.name: values_for(row, p, x) for p in varied}
        optional = [p for p in varied if not p.required]
        variants = []
        if len(optional) == 2 and np.prod([len(lists[p.name]) for p in optional]) <= 24:
            for combo in itertools.product(*[lists[p.name] for p in optional]):
                variants.append((dict(zip([p.name for p in optional], combo)), tvals))
        else:
            variants += [({p.name: v}, tvals) for p in optional for v in lists[p.name]]
        variants += [({p.name: v}, tvals) for p in varied if p.required
                     for v in lists[p.name] if v != req[p.name]]
        for k in range(len(tensors) - 1 if key in arg_keys else 0):
            for tv in tensor_values(x):
                if tv[2] != tvals[k][2]:
                    variants.append(({}, tvals[:k] + (tv,) + tvals[k + 1:]))
        for chosen, tv in variants:
            values = make_values(row, {**req, **chosen}, tv)
            alternatives.append([apply_row(row, x, values, how) for how in ("both", "loss", "metric")])

    flat = [c for alts in alternatives for c in alts]
    ok = dict(zip(map(id, flat), check(flat)))
    accepted = [next((c for c in alts if ok[id(c)]), None) for alts in alternatives]
    return [c for c in accepted if c], len(probes) + len(flat)


def make_values(row, chosen, tvals):
    """[(param, (text, setup) or None)] in the row's order."""
    out, t = [], 0
    for p in row.params:
        if p.tensor:
            if t == 0:
                out.append((p, ("$xa", None, "x")))
            else:
                out.append((p, tvals[t - 1]))
            t += 1
        else:
            out.append((p, chosen.get(p.name)))
    return out

#===------------------------------------------------------------------------===#
# What the table does not list: operators, Sequential, optimizers, inits
#===------------------------------------------------------------------------===#


def operator_cases(sample):
    """+ - * / @ ** unary minus, indexing and literals, with broadcasting."""
    cases = []
    rng = random.Random("operators")

    def case(label, group, a, b, expr, how, scalar):
        c = Case(group, label)
        xa = a.make(c, "a")
        xb = b.make(c, "b") if b else None
        c.lines.append("$y = " + expr.replace("A", xa).replace("B", xb or ""))
        use(c, "$y", how, scalar)
        c.group = (group, scalar, how)
        return c

    # Broadcasting pairs: (batched, R) of each side.
    pairs = [((True, (3, 5)), (True, (3, 5))), ((True, (3, 5)), (False, (5,))),
             ((True, (3, 5)), (False, (3, 1))), ((True, (3, 1)), (False, (1, 5))),
             ((False, (5,)), (True, (3, 5))), ((True, (3, 5)), (False, ())),
             ((False, ()), (True, (2, 4, 5))), ((True, (2, 4, 5)), (False, (4, 1))),
             ((False, (3, 5)), (False, (5,))), ((True, ()), (True, ())),
             ((True, (5,)), (False, (1,))), ((False, ()), (False, ()))]
    for op in "+-*/":
        for dt in DTYPES:
            if op == "/" and dt not in FLOATS:
                continue
            for (ba, ra), (bb, rb) in pairs:
                for pa, pb in (("grad", "nograd"), ("nograd", "grad"), ("grad", "grad")):
                    if dt != "f32" and (pa, pb) != ("grad", "nograd"):
                        continue
                    if dt in ("i32", "u8") and ((ba, ra), (bb, rb)) != pairs[2]:
                        continue
                    if sample < 1 and rng.random() > sample:
                        continue
                    a, b = Operand(dt, ba, ra, pa), Operand(dt, bb, rb, pb)
                    cases.append(case(f"({a.text()}) {op} ({b.text()})", f"op{op}", a, b,
                                      f"A {op} B", "both", scalar_of(a)))
            # a number on either side
            for number in (["2.5"] if dt in FLOATS else []) + ["3"]:
                a = Operand(dt, True, (3, 5), "grad" if dt in FLOATS else "nograd")
                cases.append(case(f"({a.text()}) {op} {number}", f"op{op}", a, None,
                                  f"A {op} {number}", "both", scalar_of(a)))
                cases.append(case(f"{number} {op} ({a.text()})", f"op{op}", a, None,
                                  f"{number} {op} A", "both", scalar_of(a)))
    # Matrix products (2-D, batched, broadcast leading dims).
    mm = [((True, (3, 5)), (False, (5, 4))), ((False, (4, 3)), (True, (3, 5))),
          ((True, (2, 3, 5)), (False, (5, 4))), ((True, (2, 3, 5)), (True, (2, 5, 3))),
          ((False, (2, 3)), (False, (3, 4))), ((True, (2, 3, 5)), (False, (2, 5, 4))),
          ((False, (2, 3, 5)), (True, (1, 5, 4))), ((True, (3, 5)), (True, (5, 3)))]
    for dt in DTYPES:
        for (ba, ra), (bb, rb) in mm:
            for pa, pb in (("grad", "nograd"), ("nograd", "grad"), ("grad", "grad")):
                if dt != "f32" and (pa, pb) != ("grad", "nograd"):
                    continue
                if dt in ("i32", "u8") and ((ba, ra), (bb, rb)) != mm[0]:
                    continue
                if sample < 1 and rng.random() > sample:
                    continue
                a, b = Operand(dt, ba, ra, pa), Operand(dt, bb, rb, pb)
                for form in ("A @ B", "matmul(A, B)"):
                    cases.append(case(f"{form.replace('A', '(' + a.text() + ')').replace('B', '(' + b.text() + ')')}",
                                      "op@", a, b, form, "both", scalar_of(a)))
    # Powers, negation, indexing, literals.
    unary = ["A ** 2", "A ** 0.5", "A ** -1", "A ** 0", "A ** 3.5", "-A", "-A ** 2", "--A"]
    index = ["A[:, 0]", "A[:, -1]", "A[:, 1:3]", "A[:, ::2]", "A[:, -2:]", "A[:, :, -1]",
             "A[:, 1, 2:4]", "A[:, :, ::3]", "A[:, 0:1]", "A[:]", "A[:, :-1, 1]",
             "A[0]", "A[-1]", "A[1:]", "A[:, 4]", "A[..., 0]"]
    literal = ["A + [1.0, 2.0, 3.0, 4.0, 5.0]", "A * [[2], [3], [4]]", "[[1, 2, 3, 4, 5]] - A",
               "A + 1e-3", "A * (2 + 3)", "A / (1 / 255)", "A + [[0.5]]"]
    for dt in DTYPES:
        for batched, R in SHAPES:
            for path in ("grad", "nograd"):
                if dt not in FLOATS and path == "grad":
                    continue
                x = Operand(dt, batched, R, path)
                keep = representative(x) or (dt == "f32" and path == "grad") or \
                    (batched, R, path) in ((True, (3, 5), "nograd"), (True, (3, 5), "grad"))
                if not keep or (sample < 1 and not representative(x) and rng.random() > sample):
                    continue
                for e in unary + index + literal:
                    group = "op**" if "**" in e else "op[]" if "[" in e and "A[" in e else \
                        "literal" if "[" in e or "e-3" in e or "(" in e else "op-"
                    cases.append(case(e.replace("A", f"({x.text()})"), group, x, None, e, "both",
                                      scalar_of(x)))
                    if representative(x):
                        for how in ("loss", "output", "metric"):
                            cases.append(case(e.replace("A", f"({x.text()})") + " as " + how,
                                              group, x, None, e, how, scalar_of(x)))
    for c in cases:
        if " as " not in c.label:
            c.label += " as both"
    return cases


def container_cases(rows):
    """Sequential and nesting, and a layer named twice."""
    out = []
    forms = [
        ("Sequential()", (True, (5,))),
        ("Sequential(ReLU())", (True, (3, 5))),
        ("Sequential(Linear(5, 4), ReLU(), Linear(4, 2))", (True, (5,))),
        ("Sequential(Sequential(Linear(5, 4), Tanh()), Sequential(Linear(4, 3)), Flatten())",
         (True, (3, 5))),
        ("Sequential(Linear(5, 4))", (False, (5,))),
        ("Sequential(Linear(5, 4), Sigmoid())", (False, ())),
        ("Sequential(Conv2d(2, 3, 2), ReLU(), MaxPool2d(1), Flatten(), Linear(27, 2))",
         (True, (2, 4, 5))),
    ]
    names = {r.name for r in rows}
    for form, (batched, R) in forms:
        used = set(re.findall(r"([A-Z][A-Za-z0-9]*)\(", form))
        if not used <= names:
            continue
        for path in ("grad", "nograd"):
            for how in ("both", "loss", "output"):
                x = Operand("f32", batched, R, path)
                c = Case("Sequential", f"{form} on ({x.text()}) as {how}")
                xa = x.make(c, "a")
                c.lines += [f"$net = {form}", f"$y = $net({xa})"]
                use(c, "$y", how, "f32")
                c.group = ("Sequential", "f32", how)
                out.append(c)
    # The same layer under two names: shared parameters.
    if "Linear" in names:
        for how in ("both", "loss"):
            x = Operand("f32", True, (5,), "grad")
            c = Case("Sequential", f"net2 = net (Linear(5, 5)) on ({x.text()}) as {how}")
            xa = x.make(c, "a")
            c.lines += ["$net = Linear(5, 5)", "$net2 = $net", f"$y = $net2($net({xa}))"]
            use(c, "$y", how, "f32")
            c.group = ("Sequential", "f32", how)
            out.append(c)
    return out


def optimizer_cases(row):
    """The train block's optimizer with each argument varied, on a model
    with an f32 linear layer and an f64 parameter."""
    out = []
    base = {p.name: values_for(row, p, Operand("f32", True, (5,), "grad"))[0][0]
            for p in row.params if p.required}
    variants = [{}]
    for p in row.params:
        for v, _, _ in values_for(row, p, Operand("f32", True, (5,), "grad")):
            variants.append({p.name: v})
    for v in variants:
        args = dict(base)
        args.update(v)
        opt = f"{row.name}({', '.join(f'{k}={a}' for k, a in args.items())})"
        for dt in FLOATS:
            c = Case(row.name, f"optimizer = {opt} on {dt} parameters")
            x = Operand(dt, True, (5,), "grad")
            xa = x.make(c, "a")
            if dt == "f32":
                c.lines += ["$fc = Linear(5, 3)", f"$y = $fc({xa})"]
            else:
                c.lines.append(f"$y = {xa}")
            use(c, "$y", "both", dt)
            c.train = [f"optimizer = {opt}", "batch = 4", "epochs = 2", "shuffle = false"]
            c.group = None  # a train block each
            out.append(c)
            if not v:  # and with the gradients clipped
                clipped = c.copy(c.label + ", clip_grad_norm = 0.5")
                clipped.train = c.train + ["clip_grad_norm = 0.5"]
                clipped.group = None
                out.append(clipped)
    return out


def scheduler_cases(row):
    """The train block's scheduler with each argument varied, under each
    optimizer's defaults (SGD's lr), with and without clip_grad_norm."""
    out = []
    x = Operand("f32", True, (5,), "grad")
    base = {p.name: values_for(row, p, x)[0][0] for p in row.params if p.required}
    variants = [{}] + [{p.name: v} for p in row.params for v, _, _ in values_for(row, p, x)]
    for k, v in enumerate(variants):
        args = {**base, **v}
        sched = f"{row.name}({', '.join(f'{n}={a}' for n, a in args.items())})"
        for opt in ("SGD(lr=0.1)", "Adam()"):
            for clip in ([None, "1.0", "0.01"] if k == 0 else [None]):
                c = Case(row.name, f"scheduler = {sched}, optimizer = {opt}"
                         f"{', clip_grad_norm = ' + clip if clip else ''}")
                xa = x.make(c, "a")
                c.lines += ["$fc = Linear(5, 3)", f"$y = $fc({xa})"]
                use(c, "$y", "both", "f32")
                c.train = [f"optimizer = {opt}", f"scheduler = {sched}", "batch = 4",
                           "epochs = 2", "shuffle = false"] + \
                    ([f"clip_grad_norm = {clip}"] if clip else [])
                c.group = None
                out.append(c)
    return out


def initializer_cases(row):
    out = []
    variants = [None] + [{p.name: v} for p in row.params for v, _, _ in
                         values_for(row, p, Operand("f32", True, (5,), "grad"))]
    for k, v in enumerate(variants):
        init = row.name if v is None else \
            f"{row.name}({', '.join(f'{k}={a}' for k, a in v.items())})"
        for dt in FLOATS:
            for R in ((5,), (3, 5), ()):
                c = Case(row.name, f"param p: {dt}[{dims_text(R)}] = {init}")
                name = f"p_{dt}_{tag(R)}_{row.name}{k}"
                c.decls[name] = f"param {name}: {dt}[{dims_text(R)}] = {init}"
                x = Operand(dt, True, (3, 5), "nograd")
                xa = x.make(c, "a")
                c.lines.append(f"$y = {xa} * {name}")
                use(c, "$y", "both", dt)
                c.group = (row.name, dt, "both")
                out.append(c)
    return out

#===------------------------------------------------------------------------===#
# Building and running
#===------------------------------------------------------------------------===#


class Runner:
    def __init__(self, kiln, work):
        self.kiln, self.dir = kiln, os.path.join(work, "build")
        os.makedirs(self.dir, exist_ok=True)
        self.lock, self.count = threading.Lock(), 0
        self.builds = self.runs = 0
        self.cpu = {}  # row -> CPU seconds of its builds

    def new_dir(self):
        with self.lock:
            self.count += 1
            d = os.path.join(self.dir, f"b{self.count}")
        os.makedirs(d, exist_ok=True)
        return d

    def try_cases(self, cases, rng_seed):
        """Builds and runs `cases` as one model; None when fine, else
        (why, located): located when kiln build failed with a located error."""
        d = self.new_dir()
        path = os.path.join(d, "m.kiln")
        owners = []
        with open(path, "w") as f:
            f.write(render(cases, owners))
        exe = os.path.join(d, "m")
        p, cpu = run_timed([self.kiln, "build", path, "-o", exe])
        with self.lock:
            for c in cases:  # the build's CPU time, shared out
                key = c.group[0] if c.group else c.row
                self.cpu[key] = self.cpu.get(key, 0) + cpu / len(cases)
        with self.lock:
            self.builds += 1
        bad = crash_reason(p, path)
        if bad:
            return "kiln build: " + bad, False
        if p.returncode != 0:
            if raw_ir(p.stderr):
                return "kiln build: MLIR's own text in an error: " + raw_ir(p.stderr), False
            if located(p.stderr, path):
                m = re.match(re.escape(path) + r":(\d+):\d+: error: (.*)", first_error(p.stderr))
                line = int(m.group(1))
                owner = owners[line - 1] if 0 < line <= len(owners) else None
                return "kiln build: error: " + m.group(2), True if owner is None else owner
            return f"kiln build: exit {p.returncode} without a located error: " + \
                first_error(p.stderr), False
        why = run_executable(exe, d, rng_seed)
        with self.lock:
            self.runs += 1
        shutil.rmtree(d, ignore_errors=True)
        return (why, False) if why else None


def run_timed(cmd):
    """subprocess.run's result (text) and the child's CPU seconds."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            open(os.devnull, "rb") as null:
        p = subprocess.Popen(cmd, stdin=null, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(cmd, p.returncode,
                                             out.read().decode(errors="replace"),
                                             err.read().decode(errors="replace"))
    return result, usage.ru_utime + usage.ru_stime


def run_executable(exe, d, seed):
    """info, then predict, eval and train on random data; the first problem."""
    def run(*args):
        p = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
        return p

    p = run("info")
    if p.returncode != 0 or crash_reason(p):
        return f"info: exit {p.returncode}: {first_line(p.stderr)}"
    p = run("info", "--json")
    if p.returncode != 0:
        return f"info --json: exit {p.returncode}: {first_line(p.stderr)}"
    try:
        manifest = json.loads(p.stdout)
    except ValueError as e:
        return f"info --json: not JSON: {e}"
    rng = np.random.default_rng(seed)
    samples = 6

    def data(spec):
        shape = [samples] + spec["shape"][1:]
        dt = NP[spec["dtype"]]
        if spec["dtype"] in FLOATS:
            a = rng.uniform(0.1, 1.0, shape)
        else:
            a = rng.integers(0, min(spec.get("classes", 4), 4), shape)
        path = os.path.join(d, spec["name"] + ".npy")
        np.save(path, a.astype(dt))
        return ["--" + spec["name"], path]

    weights = {}
    for prm in manifest["params"]:
        init = prm.get("init", {})
        a = np.zeros(prm["shape"])
        if init.get("kind") == "uniform":
            a = rng.uniform(init["a"], init["b"], prm["shape"])
        elif init.get("kind") == "normal":
            a = rng.normal(init["a"], init["b"], prm["shape"])
        elif init.get("kind") == "ones":
            a = np.ones(prm["shape"])
        weights[prm["name"]] = a.astype(NP[prm["dtype"]])
    wpath = os.path.join(d, "w.safetensors")
    safetensors_util.save(wpath, weights)
    inputs = [a for s in manifest["inputs"] for a in data(s)]
    targets = [a for s in manifest["targets"] for a in data(s)]
    p = run("predict", "--weights", wpath, *inputs, "--output", os.path.join(d, "out.npy"),
            "--batch", "4")
    if p.returncode != 0 or crash_reason(p):
        return f"predict: exit {p.returncode}: {first_line(p.stderr)}"
    entries = manifest.get("entry_points", [])
    if "loss" in entries:
        p = run("eval", "--weights", wpath, *inputs, *targets, "--batch", "4")
        if crash_reason(p) or p.returncode not in (0, 1) or \
                (p.returncode == 1 and "not finite" not in p.stderr):
            return f"eval: exit {p.returncode}: {first_line(p.stderr)}"
    if "train_step" in entries:
        p = run("train", *inputs, *targets, "--epochs", "2", "--batch", "4", "--save",
                os.path.join(d, "t.safetensors"))
        if crash_reason(p) or p.returncode not in (0, 1) or \
                (p.returncode == 1 and "not finite" not in p.stderr):
            return f"train: exit {p.returncode}: {first_line(p.stderr)}"
    return None


def bisect(runner, cases, seed, pool, results):
    """Builds `cases` together; on a problem, splits in halves until each
    problem has its case. Appends (cases, why, located) to results."""
    outcome = runner.try_cases(cases, seed)
    if outcome is None:
        return
    why, where = outcome
    if where is not True and where is not False:  # a located error in one case's line
        results.append(([cases[where]], why.replace(f"c{where}_", ""), True))
        rest = cases[:where] + cases[where + 1:]
        if rest:
            bisect(runner, rest, seed, pool, results)
        return
    if len(cases) == 1:
        results.append((cases, why, bool(where)))
        return
    half = len(cases) // 2
    before = len(results)
    bisect(runner, cases[:half], seed, pool, results)
    bisect(runner, cases[half:], seed + 1, pool, results)
    if len(results) == before:  # only together
        results.append((cases, outcome[0] + " (only when these cases are in one model)",
                        outcome[1]))


def known_reason(label):
    for pattern, reason in KNOWN:
        if re.search(pattern, label):
            return reason
    return None

#===------------------------------------------------------------------------===#


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("kiln")
    ap.add_argument("work")
    ap.add_argument("--sample", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--times", action="store_true", help="CPU time of the builds per row")
    ap.add_argument("--group", type=int, default=40, help="cases per built model")
    args = ap.parse_args()
    start = time.time()
    if os.path.isdir(args.work):
        shutil.rmtree(args.work)
    os.makedirs(args.work)
    rows = parse_builtins(os.path.join(ROOT, "frontend", "Builtins.def"))
    check = Checker(args.kiln, args.work, args.jobs)
    only = re.compile(args.only) if args.only else None

    # 1. Cases, filtered by kiln check (rows in parallel).
    def check_filtered(cases):
        """kiln check's verdicts; cases --only leaves out are not accepted."""
        keep = [c for c in cases if not only or only.search(c.label)]
        verdict = dict(zip(map(id, keep), check(keep)))
        return [verdict.get(id(c), False) for c in cases]

    def for_row(row):
        if row == "operators":
            cs = operator_cases(args.sample)
        elif row.kind in ("FUNCTION", "LAYER"):
            return row_cases(row, check_filtered, args.sample)
        elif row.kind == "OPTIMIZER":
            cs = optimizer_cases(row)
        elif row.kind == "SCHEDULER":
            cs = scheduler_cases(row)
        elif row.kind == "INITIALIZER":
            cs = initializer_cases(row)
        else:
            cs = container_cases(rows)
        if args.sample < 1 and not isinstance(row, str) and \
                row.kind in ("OPTIMIZER", "SCHEDULER"):
            # a model each: the defaults (with clipping) and a sample of the rest
            rng = random.Random(row.name)
            cs = cs[:3] + [c for c in cs[3:] if rng.random() <= args.sample]
        return [c for c, ok in zip(cs, check_filtered(cs)) if ok], len(cs)

    accepted, tried, empty_rows = [], 0, []
    work = list(rows) + ["operators"]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {}
        for r in work:
            futures[pool.submit(for_row, r)] = r
        for f in concurrent.futures.as_completed(futures):
            r = futures[f]
            got, n = f.result()
            accepted += got
            tried += n
            name = r if isinstance(r, str) else f"{r.kind.lower()} {r.name}"
            if not got and not only:
                empty_rows.append(name)
    unique = {}
    for c in accepted:  # a text tried twice (under two labels) counts once
        unique.setdefault(render([c]), c)
    accepted = list(unique.values())
    if args.list:
        for c in sorted(accepted, key=lambda c: c.label):
            print(c.label)
        return 0
    t_check = time.time() - start
    print(f"{tried} cases written, {check.count} checked, {len(accepted)} accepted by kiln check "
          f"({t_check:.0f}s)", flush=True)

    # 2. Build the accepted cases, a few dozen to a model, and run them.
    groups = {}
    for c in sorted(accepted, key=lambda c: c.label):
        groups.setdefault(c.group or ("single", c.label), []).append(c)
    chunks = []
    for key, cs in sorted(groups.items(), key=lambda kv: str(kv[0])):
        size = args.group if key[0] != "single" else 1
        chunks += [cs[i:i + size] for i in range(0, len(cs), size)]
    runner = Runner(args.kiln, args.work)
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(bisect, runner, chunk, k, None, results)
                   for k, chunk in enumerate(chunks)]
        for f in futures:
            f.result()
    t_all = time.time() - start
    print(f"{runner.builds} builds of {len(chunks)} models, {runner.runs} executables run "
          f"(info, predict, eval, train) ({t_all - t_check:.0f}s, "
          f"{sum(runner.cpu.values()):.0f} CPU seconds in kiln build)", flush=True)
    if args.times:
        counts = {}
        for c in accepted:
            key = c.group[0] if c.group else c.row
            counts[key] = counts.get(key, 0) + 1
        for key, cpu in sorted(runner.cpu.items(), key=lambda kv: -kv[1]):
            print(f"  {cpu:6.1f} CPU s  {counts.get(key, 0):4} cases  {key}")

    # 3. Report.
    failures, known, located_list = [], [], []
    for label, text, why in check.failures:
        (known if known_reason(label) else failures).append(([Case(None, label)], why, text))
    for cs, why, is_located in results:
        text = render(cs)
        if is_located:
            located_list.append((cs, why))
        elif len(cs) == 1 and known_reason(cs[0].label):
            known.append((cs, why, text))
        else:
            failures.append((cs, why, text))
    for cs, why in located_list:
        print(f"located build error (allowed): {cs[0].label}: {why}")
    for cs, why, _ in known:
        print(f"known failure: {cs[0].label}: {why}\n  reason: {known_reason(cs[0].label)}")
    for cs, why, text in failures:
        print(f"FAIL {' + '.join(c.label for c in cs)}\n  {why}\n  model file:")
        print("    " + text.rstrip().replace("\n", "\n    "))
    for name in empty_rows:
        print(f"FAIL {name}: no case of it passes kiln check; teach check_constructs.py "
              "its arguments (values_for)")
    failed = len(failures) + len(empty_rows)
    print(f"{len(accepted) - len(failures) - len(known)} passed, {failed} failed, "
          f"{len(known)} known failures, {len(located_list)} located build errors "
          f"({time.time() - start:.0f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
