"""PyTorch twins of the end-to-end test models, written as a PyTorch user
would write them. Each twin takes a dict of torch tensors (inputs, targets and
parameters by their Kiln names) and returns ({output: tensor}, {scalar: tensor})
where the scalars are the loss (key "loss") and the metrics."""
import torch
import torch.nn.functional as F


def _accuracy(logits, label):
    return (logits.argmax(dim=1) == label.long()).float().mean()


def elementwise(t):
    a, b, c = t["a"], t["b"], t["c"]
    return {
        "add": a + c,
        "sub": a - b,
        "mul": a * c * 2.0,
        "div": a / (b.abs() + 1.0),
        "neg": -a,
        "unary": (torch.relu(a) + torch.sigmoid(a) + torch.tanh(a) + torch.exp(a) + a.abs()
                  + F.silu(a)),
        "logs": torch.log(a.abs() + 0.5) + torch.sqrt(a.abs()),
        "mixed": 1.0 - a / 2.0,
    }, {}


def reductions(t):
    x = t["x"]
    n = x.shape[0]
    return {
        "total": x.sum(dim=[1, 2]),
        "rows": x.mean(dim=2, keepdim=True),
        "filled": x.sum(dim=[1, 2]) + torch.zeros(n) + torch.full((n,), 0.5),
        "biggest": x.max(dim=1).values,
        "where": x.argmax(dim=-1),
        "soft": torch.softmax(x, dim=1),
        "logsoft": torch.log_softmax(x, dim=-1),
        "flipped": x.transpose(-2, -1),
        "flat": torch.flatten(x, 1),
        "reshaped": x.reshape(n, 2, -1),
        "joined": torch.cat([x, x * 2.0], dim=2),
    }, {}


def products(t):
    x, s = t["x"], t["s"]
    return {
        "mm": x @ t["w"],
        "batched": s @ t["k"],
        "lin": F.linear(x, t["fc.weight"], t["fc.bias"]),
        "lin3": F.linear(s, t["nobias.weight"]),
    }, {}


def casts(t):
    img, ids = t["img"], t["ids"]
    scaled = img.float() / 255.0
    return {
        "f": scaled * torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        "d": img.double() + 0.5,
        "wide": ids.long() * 3 - 1,
        "back": (ids.float() * 0.5).int(),
        "small": ids.to(torch.uint8),
        "ints": torch.relu(ids - 2),
    }, {}


def regression(t):
    x, y = t["x"], t["y"]
    pred = x @ t["w"] + t["b"]
    return {"pred": pred}, {"loss": F.mse_loss(pred, y), "mae": (pred - y).abs().mean()}


def two_inputs(t):
    h = torch.cat([t["a"], t["b"]], dim=1)
    h = torch.tanh(F.linear(h, t["net.0.weight"], t["net.0.bias"]))
    logits = F.linear(h, t["net.2.weight"], t["net.2.bias"])
    return {"probs": torch.softmax(logits, dim=-1)}, {
        "loss": F.cross_entropy(logits, t["label"]),
        "accuracy": _accuracy(logits, t["label"]),
    }


def binary(t):
    logits = F.linear(t["x"], t["fc.weight"], t["fc.bias"])
    return {"p": torch.sigmoid(logits)}, {
        "loss": F.binary_cross_entropy_with_logits(logits, t["y"]),
        "acc": _accuracy(logits, t["cls"]),
    }


def mlp(t, x=None):
    """Sequential(Linear, ReLU, Linear, ReLU, Linear) on x (default t["x"])."""
    x = t["x"] if x is None else x
    for i in (0, 2):
        x = torch.relu(F.linear(x, t[f"net.{i}.weight"], t[f"net.{i}.bias"]))
    logits = F.linear(x, t["net.4.weight"], t["net.4.bias"])
    return {"logits": logits}, {
        "loss": F.cross_entropy(logits, t["label"]),
        "accuracy": _accuracy(logits, t["label"]),
    }


def fashion_mlp(t):
    return mlp(t, torch.flatten(t["image"].float() / 255.0, 1))


def _grads(t, h):
    """The shared body of grads.kiln and grads64.kiln; h computes `h` from e."""
    x, s, v, w, k, d = t["x"], t["s"], t["v"], t["w"], t["k"], t["d"]
    a = x * v
    b = a / (v.abs() + 1.0)
    c = torch.relu(b) - torch.sigmoid(a) + torch.tanh(b) + F.silu(b)
    e = torch.exp(-c / 4.0) + torch.log(c.abs() + 1.0) + torch.sqrt(a.abs() + 0.5)
    h = h(e)
    m = e @ w
    bm = s @ k
    r = bm.reshape(bm.shape[0], 4)
    tt = torch.flatten(bm.transpose(-2, -1), 1)
    z = torch.cat([h, m], dim=1)
    y = t["y"]
    loss = (F.cross_entropy(h + m, t["label"]) + F.mse_loss(torch.softmax(m, dim=1), y)
            + F.binary_cross_entropy_with_logits(torch.log_softmax(h, dim=-1), y) + z.mean()
            + z.max(dim=1).values.sum() * 0.01 + (m.double() * d).mean().to(m.dtype)
            + (r * tt).mean() + (z.sum(dim=0, keepdim=True) * 0.1).mean())
    return {"logits": h + m}, {"loss": loss}


def grads(t):
    return _grads(t, lambda e: F.linear(e, t["fc.weight"], t["fc.bias"]))


def grads64(t):
    return _grads(t, lambda e: e @ t["fw"] + 0.5)


def convs(t):
    x = t["x"]
    a = torch.relu(F.conv2d(x, t["c1.weight"], t["c1.bias"], stride=2, padding=1))
    b = torch.tanh(F.conv2d(x, t["c2.weight"], None, stride=(1, 2), padding=(0, 1)))
    out = {
        "conv1": a,
        "conv2": b,
        "conv3": F.conv2d(a, t["c3.weight"], t["c3.bias"]),
        "maxp": F.max_pool2d(b, 3, stride=2),
        "maxpad": F.max_pool2d(b, 2, stride=2, padding=1),
        "avgp": F.avg_pool2d(a, 3, stride=2, padding=1),
        "avg2": F.avg_pool2d(b, 2),
    }
    features = torch.cat([torch.flatten(out[k], 1)
                          for k in ("conv3", "maxp", "maxpad", "avgp", "avg2")], dim=1)
    # Dropout is the identity outside training (the twin runs in eval mode).
    logits = F.linear(F.dropout(features, 0.3, training=False), t["fc.weight"], t["fc.bias"])
    out["logits"] = logits
    return out, {"loss": F.cross_entropy(logits, t["label"]),
                 "accuracy": _accuracy(logits, t["label"])}


def _rnn(x, t, prefix):
    """nn.RNN(batch_first=True)'s forward with the given weights: the
    _VF.rnn_tanh call that nn.RNN.forward makes, zero initial state."""
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    weights = [t[f"{prefix}.{n}"] for n in names]
    h0 = torch.zeros(1, x.shape[0], weights[1].shape[0], dtype=x.dtype)
    states, _ = torch._VF.rnn_tanh(x, h0, weights, True, 1, 0.0, False, False, True)
    return states


def recurrent(t):
    states = _rnn(t["x"], t, "rnn")
    logits = F.linear(states[:, -1], t["head.weight"], t["head.bias"])
    return {"states": states, "logits": logits}, {
        "loss": F.cross_entropy(logits, t["label"]),
        "accuracy": _accuracy(logits, t["label"]),
    }


def small_cnn(t):
    x = F.max_pool2d(torch.relu(F.conv2d(t["x"], t["net.0.weight"], t["net.0.bias"], padding=1)), 2)
    x = F.avg_pool2d(torch.tanh(F.conv2d(x, t["net.3.weight"], t["net.3.bias"], stride=2)), 2)
    logits = F.linear(torch.flatten(x, 1), t["net.7.weight"], t["net.7.bias"])
    return {"logits": logits}, {
        "loss": F.cross_entropy(logits, t["label"]),
        "accuracy": _accuracy(logits, t["label"]),
    }


def fashion_cnn(t):
    x = ((t["image"].float() / 255.0 - 0.286) / 0.353).reshape(-1, 1, 28, 28)
    x = F.max_pool2d(torch.relu(F.conv2d(x, t["net.0.weight"], t["net.0.bias"], padding=2)), 2)
    x = F.max_pool2d(torch.relu(F.conv2d(x, t["net.3.weight"], t["net.3.bias"])), 2)
    x = torch.flatten(x, 1)
    for i in (7, 9):
        x = torch.relu(F.linear(x, t[f"net.{i}.weight"], t[f"net.{i}.bias"]))
    logits = F.linear(x, t["net.11.weight"], t["net.11.bias"])
    return {"logits": logits}, {
        "loss": F.cross_entropy(logits, t["label"]),
        "accuracy": _accuracy(logits, t["label"]),
    }


def fashion_rnn(t):
    states = _rnn((t["image"].float() / 255.0 - 0.286) / 0.353, t, "rnn")
    logits = F.linear(states.mean(dim=1), t["head.weight"], t["head.bias"])
    return {"logits": logits}, {
        "loss": F.cross_entropy(logits, t["label"]),
        "accuracy": _accuracy(logits, t["label"]),
    }


# Indexing, powers and the functions and layers added with them.
def expressions(t):
    x, s, w, ids, img = t["x"], t["s"], t["w"], t["ids"], t["img"]
    leaky, act, logp = torch.nn.LeakyReLU(0.2), torch.nn.GELU(), torch.nn.LogSoftmax(dim=1)
    a = s.abs()
    return {
        "last": x[:, -1],
        "strided": x[:, 1:4:2, ::2],
        "window": x[:, -3:, 1] + x[:, :2, -1][:, 0:1] + x[:, 2, :3][:, -1:],
        "powers": (s ** 2 + s ** 3 - a ** 0.5 + (a + 1.0) ** -1 + (a + 0.5) ** -0.5
                   + (a + 0.5) ** 1.7 + (a + 0.5) ** -2 + s ** 0 + s ** 1 - -s ** 2 + 2 ** 3),
        "gelus": F.gelu(s) + act(x)[:, 0],
        "softs": F.softplus(s) + F.softplus(s * 30.0) + F.softplus(s, beta=2.0, threshold=1.0),
        "leaks": F.leaky_relu(s) + F.leaky_relu(s, 0.3) + leaky(s),
        "clamps": torch.clamp(s, -0.5, 0.5) + torch.clamp(s, min=0.1) + torch.clamp(s, max=-0.2),
        "smallest": x.min(dim=1).values,
        "smallest_kept": x.min(-1, keepdim=True).values,
        "product": torch.matmul(s, w) + torch.matmul(x, w)[:, 0],
        "joined": torch.cat([s, x[:, 0]], dim=1),
        "logprobs": logp(s),
        "flat": x.reshape(-1, 20),
        "images": s.reshape(-1, 1, 2, 2),
        "ipow": ids ** 2 + ids ** 3 + ids ** 0,
        "iclamp": torch.clamp(ids, -5, 7) + ids.min(dim=1, keepdim=True).values,
        "bytes": torch.clamp(img, 3, 200) + img.min(1, keepdim=True).values,
    }, {
        "loss": (F.nll_loss(logp(s), t["label"]) + F.l1_loss(s, x[:, 0])
                 + x.min(1).values.mean() + torch.matmul(s, w).mean()),
        "l1": F.l1_loss(s, x[:, 0]),
        "nll": F.nll_loss(logp(s), t["label"]),
    }


def _grads_expr(t, act, leaky, logp, fc):
    """The shared body of grads_expr.kiln and grads_expr64.kiln."""
    x, v, w, u = t["x"], t["v"], t["w"], t["u"]
    h = x * u
    a = h[:, -1] * v
    b = h[:, 1:4:2, ::2]
    p = (a ** 2 + a.abs() ** 0.5 + (a.abs() + 1.0) ** -1 + (a.abs() + 0.5) ** -0.5
         + (a.abs() + 0.5) ** 1.7 + a ** 3 * 0.1 + (a.abs() + 1.0) ** -2 + a ** 1 + a ** 0)
    g = (F.gelu(p) + act(a) + F.softplus(a) + F.softplus(a * 30.0)
         + F.softplus(a, beta=2.0, threshold=1.0))
    l = F.leaky_relu(g) + leaky(a) + F.leaky_relu(a, 0.3)
    c = torch.clamp(l, -0.5, 1.5) + torch.clamp(a, min=0.1) + torch.clamp(a, max=-0.2)
    m = h.min(dim=1).values
    k = h[:, 0:2].min(-1, keepdim=True).values
    z = torch.cat([c, m], dim=1)
    q = torch.matmul(c, w) + fc(m)
    loss = (F.nll_loss(logp(q), t["label"]) + F.l1_loss(c, t["y"]) + z.mean() + (b ** 2).mean()
            + k.reshape(-1, 2).mean())
    return {"logits": q}, {"loss": loss}


def grads_expr(t):
    return _grads_expr(t, torch.nn.GELU(), torch.nn.LeakyReLU(0.2), torch.nn.LogSoftmax(dim=1),
                       lambda m: F.linear(m, t["fc.weight"], t["fc.bias"]))


def grads_expr64(t):
    return _grads_expr(t, F.gelu, lambda a: F.leaky_relu(a, 0.2),
                       lambda q: F.log_softmax(q, dim=1), lambda m: m @ t["fw"])


# model file (relative to the repository) -> (twin, value ranges for integer
# data: name -> (low, high) for torch.randint; "unit" for floats in [0, 1))
def _batch_norm(x, t, name, momentum=0.1, eps=1e-5):
    """nn.BatchNorm's forward: train mode (t["__training__"]) normalizes by the
    batch and updates the running statistics in t in place, as the module
    does; eval mode uses them."""
    training = t.get("__training__", False)
    if training:
        t[name + ".num_batches_tracked"].add_(1)
    return F.batch_norm(x, t[name + ".running_mean"], t[name + ".running_var"],
                        t[name + ".weight"], t[name + ".bias"], training, momentum, eps)


def batchnorm(t):
    h = _batch_norm(F.conv2d(t["x"], t["conv.weight"]), t, "bn2")
    z = F.linear(torch.flatten(torch.relu(h), 1), t["fc1.weight"])
    z = torch.relu(_batch_norm(z, t, "bn", eps=1e-3))
    b = torch.flatten(torch.relu(_batch_norm(t["s"], t, "seq", momentum=0.3)), 1)
    logits = F.linear(torch.cat([z, b], dim=1), t["fc2.weight"], t["fc2.bias"])
    return {"logits": logits}, {"loss": F.cross_entropy(logits, t["label"]),
                                "accuracy": _accuracy(logits, t["label"])}


MODELS = {
    "test/e2e/models/elementwise.kiln": (elementwise, {}),
    "test/e2e/models/reductions.kiln": (reductions, {}),
    "test/e2e/models/products.kiln": (products, {}),
    "test/e2e/models/casts.kiln": (casts, {"ids": (-300, 300)}),
    "test/e2e/models/regression.kiln": (regression, {}),
    "test/e2e/models/two_inputs.kiln": (two_inputs, {"label": (0, 4)}),
    "test/e2e/models/binary.kiln": (binary, {"cls": (0, 2), "y": "unit"}),
    "test/e2e/models/mlp.kiln": (mlp, {"label": (0, 5)}),
    "examples/fashion_mlp.kiln": (fashion_mlp, {"label": (0, 10)}),
    "test/e2e/models/convs.kiln": (convs, {"label": (0, 3)}),
    "test/e2e/models/rnn.kiln": (recurrent, {"label": (0, 3)}),
    "test/e2e/models/cnn.kiln": (small_cnn, {"label": (0, 3)}),
    "test/e2e/models/batchnorm.kiln": (batchnorm, {"label": (0, 3), "bn2.running_var": "unit",
                                                   "seq.running_var": "unit",
                                                   "bn.running_var": "unit"}),
    "examples/fashion_cnn.kiln": (fashion_cnn, {"label": (0, 10)}),
    "examples/fashion_rnn.kiln": (fashion_rnn, {"label": (0, 10)}),
    "test/e2e/models/expressions.kiln": (expressions, {"label": (0, 4), "ids": (-300, 300)}),
}

# Models whose loss is checked on one batch only: some of their terms sum over
# the batch, so their loss is not a mean of per-batch losses.
def vectors(t):
    x, w = t["x"], t["w"]
    v = (x * w).mean(dim=0)
    loss = (F.linear(v, t["fc.weight"], t["fc.bias"]).mean()
            + F.linear(v * 2.0, t["nobias.weight"]).sum() * 0.5 + F.mse_loss(x * w, t["y"]))
    return {"out": x * w}, {"loss": loss}


GRAD_MODELS = {
    "test/e2e/models/grads.kiln": (grads, {"label": (0, 3), "y": "unit"}),
    "test/e2e/models/grads64.kiln": (grads64, {"label": (0, 3), "y": "unit"}),
    "test/e2e/models/vectors.kiln": (vectors, {"y": "unit"}),
    "test/e2e/models/grads_expr.kiln": (grads_expr, {"label": (0, 3), "y": "unit"}),
    "test/e2e/models/grads_expr64.kiln": (grads_expr64, {"label": (0, 3), "y": "unit"}),
}
