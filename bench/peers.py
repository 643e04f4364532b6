"""The benchmark's peers: PyTorch (eager, and torch.compile), JAX and
onnxruntime running the workloads of bench/run.py, written as their users
write them. bench/run.py starts one process of this file per peer and thread
count, pinned (taskset) and with its thread pools sized before the import
(OMP_NUM_THREADS, MKL_NUM_THREADS, XLA_FLAGS), so no two peers share a pool.

Two modes:
  peers.py --peer NAME --threads T
      a worker: prints one JSON line ({"ready": true, "version": ...} or
      {"ready": false, "why": ...}), then answers requests, one JSON line
      each on stdin, {"workload": "mlp", "what": "train"|"predict",
      "batch": B, "steps": S, "warmup": W}, with one JSON line
      {"times_us": [...], "loss": X, "cpu_us": C, "wall_us": W}
      (or {"error": ...}): each step timed alone with perf_counter, after W
      steps not counted; cpu_us is the process's CPU time over the timed steps.
  peers.py --epoch --peer NAME --threads T --images F --labels F
      one epoch of Fashion-MNIST's MLP (SGD, lr 0.1, batch 64, shuffled), as a
      user's script runs it: load the files, build the model, train; prints
      {"load_seconds": ..., "epoch_seconds": ..., "loss": ..., "accuracy": ...}.

NAME: torch (whichever torch this interpreter has: Debian's with
/usr/bin/python3, PyPI's with bench/.venv/bin/python), torch-compile, jax,
onnxruntime (predict only).

The workloads are twins of the Kiln models (examples/*.kiln,
bench/models/lenet5.kiln): the same layers, the same preprocessing inside the
model (u8 pixels in), cross-entropy loss and the accuracy metric, the train
block's optimizer (MLP: SGD lr 0.1; CNN, LeNet-5: Adam lr 0.002; RNN: Adam lr
0.001), one step = forward, loss, backward, update.
"""
import argparse
import functools
import gzip
import json
import os
import resource
import sys
import time

WORKLOADS = {
    # name: (optimizer, lr)
    "mlp": ("SGD", 0.1),
    "cnn": ("Adam", 0.002),
    "lenet5": ("Adam", 0.002),
    "rnn": ("Adam", 0.001),
}


def blas_libraries():
    """The BLAS and MKL libraries this process has loaded (its /proc/self/maps):
    Debian's torch calls libblas.so.3, the reference BLAS unless bench/setup
    gave it Debian's OpenBLAS."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            words = line.split()
            base = os.path.basename(words[-1]) if len(words) >= 6 else ""
            if any(k in base for k in ("blas", "mkl_", "libmkl")):
                libs.add(base)
    return sorted(libs)


def cpu_us():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1e6


def random_batch(batch, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (batch, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, batch).astype(np.int64))


def timed(step, sync, warmup, steps):
    """Runs step() warmup + steps times; returns the timed steps' durations (us),
    the last result, and the CPU and wall time of the timed steps."""
    out = None
    for _ in range(warmup):
        out = sync(step())
    times = []
    cpu0, wall0 = cpu_us(), time.perf_counter()
    for _ in range(steps):
        t0 = time.perf_counter()
        out = sync(step())
        times.append((time.perf_counter() - t0) * 1e6)
    return times, out, cpu_us() - cpu0, (time.perf_counter() - wall0) * 1e6


#===------------------------------------------------------------------------===#
# PyTorch
#===------------------------------------------------------------------------===#

def torch_models():
    import torch
    from torch import nn

    class MLP(nn.Module):
        """examples/fashion_mlp.kiln."""

        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                                     nn.ReLU(), nn.Linear(128, 10))

        def forward(self, image):
            return self.net(torch.flatten(image.float() / 255.0, 1))

    class CNN(nn.Module):
        """examples/fashion_cnn.kiln (16, 32 channels); LeNet-5 with 6, 16."""

        def __init__(self, c1=16, c2=32):
            super().__init__()
            self.net = nn.Sequential(
                nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(c2 * 25, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10))

        def forward(self, image):
            x = (image.float() / 255.0 - 0.286) / 0.353
            return self.net(x.reshape(-1, 1, 28, 28))

    class RNN(nn.Module):
        """examples/fashion_rnn.kiln."""

        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(28, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, image):
            states, _ = self.rnn((image.float() / 255.0 - 0.286) / 0.353)
            return self.head(states.mean(dim=1))

    return {"mlp": MLP, "cnn": CNN, "lenet5": lambda: CNN(6, 16), "rnn": RNN}


class TorchPeer:
    def __init__(self, threads, compiled):
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        self.torch = torch
        self.compiled = compiled
        if compiled and not hasattr(torch, "compile"):
            raise ImportError(f"torch {torch.__version__} has no torch.compile")
        self.models = torch_models()
        self.cache = {}
        self.notes = []

    def version(self):
        # Debian's torch calls libblas.so.3 (reference BLAS unless bench/setup
        # gave it OpenBLAS); PyPI's links MKL in, so no BLAS library shows.
        blas = ""
        if self.torch.__file__.startswith("/usr/"):
            libs = blas_libraries()
            ob = [x for x in libs if "openblas" in x]
            blas = (f", {ob[0]}" if ob else ", reference BLAS" if any(
                x.startswith("libblas") for x in libs) else "")
        return (f"torch {self.torch.__version__}" + (" (torch.compile)" if self.compiled else "")
                + blas)

    def make_optimizer(self, name, model):
        kind, lr = WORKLOADS[name]
        return (self.torch.optim.SGD if kind == "SGD" else self.torch.optim.Adam)(
            model.parameters(), lr=lr)

    def prepare(self, name, what, batch):
        torch = self.torch
        F = torch.nn.functional
        torch.manual_seed(0)
        model = self.models[name]()
        images, labels = random_batch(batch)
        x, y = torch.from_numpy(images), torch.from_numpy(labels)
        if what == "predict":
            forward = torch.compile(model, dynamic=False) if self.compiled else model

            def step():
                with torch.no_grad():
                    return forward(x)
            return step

        def loss_and_accuracy(x, y):
            logits = model(x)
            return F.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()

        opt = self.make_optimizer(name, model)
        if not self.compiled:
            def step():
                opt.zero_grad(set_to_none=True)
                loss, accuracy = loss_and_accuracy(x, y)
                loss.backward()
                opt.step()
                return loss
            return step
        # torch.compile as its tutorials say: the model and loss compiled (the
        # backward is compiled with them), and the optimizer's step.
        forward = torch.compile(loss_and_accuracy, dynamic=False)

        @torch.compile(fullgraph=False)
        def update():
            opt.step()

        def step():
            opt.zero_grad(set_to_none=True)
            loss, accuracy = forward(x, y)
            loss.backward()
            update()
            return loss
        return step

    def measure(self, req):
        key = (req["workload"], req["what"], req["batch"])
        if key not in self.cache:
            self.cache[key] = self.prepare(*key)
        times, out, cpu, wall = timed(self.cache[key], lambda v: v, req["warmup"], req["steps"])
        loss = float(out.detach()) if req["what"] == "train" else None
        return {"times_us": times, "loss": loss, "cpu_us": cpu, "wall_us": wall}


#===------------------------------------------------------------------------===#
# JAX: the whole step (forward, loss, gradient, update) under one jax.jit
#===------------------------------------------------------------------------===#

class JaxPeer:
    def __init__(self, threads):
        import jax
        import jax.numpy as jnp
        self.jax, self.jnp = jax, jnp
        self.cache = {}

    def version(self):
        import jaxlib
        return f"jax {self.jax.__version__} (jaxlib {jaxlib.__version__})"

    # Parameters as a user of plain JAX keeps them: a dict of arrays,
    # PyTorch's default initialization ranges, dense kernels [in, out], NHWC
    # convolutions (HWIO kernels), as Flax lays them out.
    def init(self, name):
        import numpy as np
        rng = np.random.default_rng(0)

        def uniform(shape, fan_in):
            bound = 1 / np.sqrt(fan_in)
            return self.jnp.asarray(rng.uniform(-bound, bound, shape).astype(np.float32))

        def dense(p, prefix, n_in, n_out):
            p[prefix + "w"] = uniform((n_in, n_out), n_in)
            p[prefix + "b"] = uniform((n_out,), n_in)

        p = {}
        if name == "mlp":
            for i, (a, b) in enumerate([(784, 256), (256, 128), (128, 10)]):
                dense(p, f"fc{i}.", a, b)
        elif name in ("cnn", "lenet5"):
            c1, c2 = (16, 32) if name == "cnn" else (6, 16)
            p["conv0.w"] = uniform((5, 5, 1, c1), 25)
            p["conv0.b"] = uniform((c1,), 25)
            p["conv1.w"] = uniform((5, 5, c1, c2), 25 * c1)
            p["conv1.b"] = uniform((c2,), 25 * c1)
            for i, (a, b) in enumerate([(c2 * 25, 120), (120, 84), (84, 10)]):
                dense(p, f"fc{i}.", a, b)
        else:  # rnn
            p["rnn.w_ih"] = uniform((28, 128), 128)
            p["rnn.w_hh"] = uniform((128, 128), 128)
            p["rnn.b_ih"] = uniform((128,), 128)
            p["rnn.b_hh"] = uniform((128,), 128)
            dense(p, "head.", 128, 10)
        return p

    def apply(self, name, p, image):
        jax, jnp = self.jax, self.jnp
        relu = jax.nn.relu
        if name == "mlp":
            x = image.reshape(image.shape[0], -1).astype(jnp.float32) / 255.0
            x = relu(x @ p["fc0.w"] + p["fc0.b"])
            x = relu(x @ p["fc1.w"] + p["fc1.b"])
            return x @ p["fc2.w"] + p["fc2.b"]
        x = (image.astype(jnp.float32) / 255.0 - 0.286) / 0.353
        if name in ("cnn", "lenet5"):
            x = x[..., None]  # NHWC

            def conv(x, w, b, pad):
                y = jax.lax.conv_general_dilated(x, w, (1, 1), [(pad, pad), (pad, pad)],
                                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
                return y + b

            def pool(x):
                return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1),
                                             (1, 2, 2, 1), "VALID")
            x = pool(relu(conv(x, p["conv0.w"], p["conv0.b"], 2)))
            x = pool(relu(conv(x, p["conv1.w"], p["conv1.b"], 0)))
            x = x.reshape(x.shape[0], -1)
            x = relu(x @ p["fc0.w"] + p["fc0.b"])
            x = relu(x @ p["fc1.w"] + p["fc1.b"])
            return x @ p["fc2.w"] + p["fc2.b"]
        # rnn: h_t = tanh(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh), a scan over the rows
        xs = jnp.swapaxes(x, 0, 1) @ p["rnn.w_ih"] + p["rnn.b_ih"] + p["rnn.b_hh"]

        def cell(h, xw):
            h = jnp.tanh(xw + h @ p["rnn.w_hh"])
            return h, h
        h0 = jnp.zeros((image.shape[0], 128), jnp.float32)
        _, states = jax.lax.scan(cell, h0, xs)
        return states.mean(axis=0) @ p["head.w"] + p["head.b"]

    def loss_fn(self, name):
        jax, jnp = self.jax, self.jnp

        def loss(p, image, label):
            logits = self.apply(name, p, image)
            logp = jax.nn.log_softmax(logits)
            nll = -jnp.take_along_axis(logp, label[:, None], axis=1).mean()
            return nll, (jnp.argmax(logits, axis=1) == label).mean()
        return loss

    def make_step(self, name):
        jax, jnp = self.jax, self.jnp
        kind, lr = WORKLOADS[name]
        grad = jax.value_and_grad(self.loss_fn(name), has_aux=True)
        tree_map = jax.tree_util.tree_map
        # Parameters and optimizer state are donated: updated in place.
        jit = functools.partial(jax.jit, donate_argnums=(0, 1))
        if kind == "SGD":
            @jit
            def sgd_step(p, state, image, label):
                (loss, accuracy), g = grad(p, image, label)
                return tree_map(lambda w, d: w - lr * d, p, g), state, loss, accuracy
            return sgd_step

        b1, b2, eps = 0.9, 0.999, 1e-8

        @jit
        def adam_step(p, state, image, label):  # torch.optim.Adam's rule
            m, v, t = state
            (loss, accuracy), g = grad(p, image, label)
            t = t + 1
            m = tree_map(lambda m, d: b1 * m + (1 - b1) * d, m, g)
            v = tree_map(lambda v, d: b2 * v + (1 - b2) * d * d, v, g)
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            p = tree_map(lambda w, m, v: w - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v)
            return p, (m, v, t), loss, accuracy
        return adam_step

    def init_state(self, name, p):
        jnp, tree_map = self.jnp, self.jax.tree_util.tree_map
        if WORKLOADS[name][0] == "SGD":
            return ()
        zeros = tree_map(jnp.zeros_like, p)
        return (zeros, tree_map(jnp.zeros_like, p), jnp.zeros((), jnp.float32))

    def prepare(self, name, what, batch):
        jax, jnp = self.jax, self.jnp
        images, labels = random_batch(batch)
        x, y = jnp.asarray(images), jnp.asarray(labels.astype("int32"))
        params = self.init(name)
        if what == "predict":
            forward = jax.jit(lambda p, image: self.apply(name, p, image))
            return lambda: forward(params, x)
        step_fn = self.make_step(name)
        box = [params, self.init_state(name, params)]

        def step():
            p, state, loss, accuracy = step_fn(box[0], box[1], x, y)
            box[0], box[1] = p, state
            return p, loss
        return step

    def measure(self, req):
        key = (req["workload"], req["what"], req["batch"])
        if key not in self.cache:
            self.cache[key] = self.prepare(*key)
        times, out, cpu, wall = timed(self.cache[key], self.jax.block_until_ready,
                                      req["warmup"], req["steps"])
        loss = float(out[1]) if req["what"] == "train" else None
        return {"times_us": times, "loss": loss, "cpu_us": cpu, "wall_us": wall}


#===------------------------------------------------------------------------===#
# onnxruntime: MLP inference
#===------------------------------------------------------------------------===#

class OnnxRuntimePeer:
    def __init__(self, threads):
        import onnxruntime as ort
        self.ort = ort
        self.threads = threads
        self.cache = {}

    def version(self):
        return f"onnxruntime {self.ort.__version__}"

    def mlp_model(self):
        """The MLP as an ONNX graph, preprocessing included: u8 image [N, 28, 28]
        -> Cast -> Div 255 -> Reshape [N, 784] -> Gemm, Relu, Gemm, Relu, Gemm."""
        import numpy as np
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        rng = np.random.default_rng(0)
        inits, nodes = [], []

        def const(name, array):
            inits.append(numpy_helper.from_array(array, name))

        const("scale", np.array(255.0, np.float32))
        const("shape", np.array([-1, 784], np.int64))
        nodes += [helper.make_node("Cast", ["image"], ["f"], to=TensorProto.FLOAT),
                  helper.make_node("Div", ["f", "scale"], ["x0"]),
                  helper.make_node("Reshape", ["x0", "shape"], ["h0"])]
        sizes = [(784, 256), (256, 128), (128, 10)]
        for i, (a, b) in enumerate(sizes):
            bound = 1 / np.sqrt(a)
            const(f"w{i}", rng.uniform(-bound, bound, (b, a)).astype(np.float32))
            const(f"b{i}", rng.uniform(-bound, bound, b).astype(np.float32))
            out = "logits" if i == len(sizes) - 1 else f"g{i}"
            nodes.append(helper.make_node("Gemm", [f"h{i}", f"w{i}", f"b{i}"], [out], transB=1))
            if out != "logits":
                nodes.append(helper.make_node("Relu", [out], [f"h{i + 1}"]))
        graph = helper.make_graph(
            nodes, "FashionMLP",
            [helper.make_tensor_value_info("image", TensorProto.UINT8, ["N", 28, 28])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model.SerializeToString()

    def prepare(self, name, what, batch):
        if name != "mlp" or what != "predict":
            raise ValueError("onnxruntime runs the MLP's inference only")
        ort = self.ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(self.mlp_model(), so, providers=["CPUExecutionProvider"])
        images, _ = random_batch(batch)
        return lambda: session.run(["logits"], {"image": images})

    def measure(self, req):
        key = (req["workload"], req["what"], req["batch"])
        if key not in self.cache:
            self.cache[key] = self.prepare(*key)
        times, _, cpu, wall = timed(self.cache[key], lambda v: v, req["warmup"], req["steps"])
        return {"times_us": times, "loss": None, "cpu_us": cpu, "wall_us": wall}


def make_peer(name, threads):
    if name == "torch":
        return TorchPeer(threads, compiled=False)
    if name == "torch-compile":
        return TorchPeer(threads, compiled=True)
    if name == "jax":
        return JaxPeer(threads)
    if name == "onnxruntime":
        return OnnxRuntimePeer(threads)
    raise ValueError(f"unknown peer {name}")


def serve(args):
    # Answers go to the real stdout alone: whatever a library prints goes to
    # stderr (the worker's log), never into the protocol.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        peer = make_peer(args.peer, args.threads)
        ready = {"ready": True, "version": peer.version(),
                 "os_threads": len(os.listdir("/proc/self/task"))}
    except Exception as e:  # not installed, or broken: the bench skips it
        ready = {"ready": False, "why": f"{type(e).__name__}: {e}"}
    print(json.dumps(ready), file=answers, flush=True)
    if not ready["ready"]:
        return
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            res = peer.measure(req)
            res["os_threads"] = len(os.listdir("/proc/self/task"))
        except Exception as e:
            res = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(res), file=answers, flush=True)


#===------------------------------------------------------------------------===#
# A Fashion-MNIST epoch as a user's script runs it
#===------------------------------------------------------------------------===#

def load_idx(path):
    import numpy as np
    if path.endswith(".npy"):
        return np.load(path)
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def epoch(args):
    t0 = time.perf_counter()
    images, labels = load_idx(args.images), load_idx(args.labels).astype("int64")
    batch, lr = 64, 0.1
    if args.peer in ("torch", "torch-compile"):
        import torch
        import torch.nn.functional as F
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
        torch.manual_seed(42)
        model = torch_models()["mlp"]()
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        forward = torch.compile(model) if args.peer == "torch-compile" else model
        data = torch.utils.data.TensorDataset(torch.from_numpy(images.copy()),
                                              torch.from_numpy(labels))
        loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True)
        t1 = time.perf_counter()
        total = correct = 0.0
        for x, y in loader:
            opt.zero_grad()
            logits = forward(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
    elif args.peer == "jax":
        import numpy as np
        peer = JaxPeer(args.threads)
        step = peer.make_step("mlp")
        params, state = peer.init("mlp"), ()
        t1 = time.perf_counter()
        total = correct = 0.0
        order = np.random.default_rng(42).permutation(len(images))
        for begin in range(0, len(images), batch):
            idx = order[begin:begin + batch]
            params, state, loss, accuracy = step(params, state, images[idx],
                                                 labels[idx].astype(np.int32))
            total += float(loss) * len(idx)
            correct += float(accuracy) * len(idx)
    else:
        raise SystemExit(f"peers.py: no epoch for {args.peer}")
    t2 = time.perf_counter()
    n = len(images)
    print(json.dumps({"load_seconds": t1 - t0, "epoch_seconds": t2 - t1,
                      "loss": total / n, "accuracy": correct / n}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--epoch", action="store_true")
    parser.add_argument("--images")
    parser.add_argument("--labels")
    args = parser.parse_args()
    if args.epoch:
        epoch(args)
    else:
        serve(args)


if __name__ == "__main__":
    main()
