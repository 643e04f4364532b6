#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (committed; rerun after
changing this file). Data seeds start with the byte that declares their dtype
and per-sample shape (FuzzData.h: dtype b % 5, shape (b / 5) % 10), so most
of them load; a few are near misses. The frontend's seeds are model files
(scripts/fuzz adds examples/ and test/e2e/models/ to them)."""
import gzip
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = ["f32", "f64", "i32", "i64", "u8"]
SHAPES = [(), (1,), (2,), (3,), (4,), (2, 2), (2, 3), (28, 28), (3, 2, 2), (0,)]


def prefix(dtype, shape):
    return bytes([DTYPES.index(dtype) + 5 * SHAPES.index(tuple(shape))])


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx(array):
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}
    head = struct.pack(">BBBB", 0, 0, codes[array.dtype.type], array.ndim)
    head += struct.pack(">" + "I" * array.ndim, *array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def npy(array, version=(1, 0), fortran=False):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asfortranarray(array) if fortran else array,
                              version=version)
    return buf.getvalue()


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, a in tensors.items():
        dt = {"float32": "F32", "float64": "F64", "int32": "I32", "int64": "I64",
              "uint8": "U8", "float16": "F16"}[a.dtype.name]
        header[name] = {"dtype": dt, "shape": list(a.shape),
                        "data_offsets": [len(data), len(data) + a.nbytes]}
        data += a.tobytes()
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    rng = np.random.default_rng(0)
    # IDX
    images = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    write("idx", "images-u8", prefix("f32", (28, 28)) + idx(images))
    write("idx", "images-u8.gz", prefix("u8", (28, 28)) + gzip.compress(idx(images), mtime=0))
    write("idx", "labels-u8", prefix("i64", ()) + idx(np.arange(5, dtype=np.uint8)))
    write("idx", "labels-u8.gz", prefix("i32", ()) + gzip.compress(idx(np.arange(5, dtype=np.uint8)), mtime=0))
    write("idx", "i32", prefix("i64", (2, 3)) + idx(np.arange(-6, 6, dtype=np.int32).reshape(2, 2, 3)))
    write("idx", "i16", prefix("i32", (2, 2)) + idx(np.arange(-8, 8, dtype=np.int16).reshape(4, 2, 2)))
    write("idx", "i8", prefix("f64", (3,)) + idx(np.arange(-6, 6, dtype=np.int8).reshape(4, 3)))
    write("idx", "f32", prefix("f32", (4,)) + idx(rng.standard_normal((3, 4)).astype(np.float32)))
    write("idx", "f64", prefix("f64", (3, 2, 2)) + idx(rng.standard_normal((2, 3, 2, 2))))
    write("idx", "f64-gz", prefix("f64", (1,)) + gzip.compress(idx(rng.standard_normal((3, 1))), mtime=0))
    write("idx", "empty-dim", prefix("u8", (0,)) + idx(np.zeros((4, 0), dtype=np.uint8)))
    write("idx", "truncated", prefix("u8", (2,)) + idx(np.zeros((4, 2), dtype=np.uint8))[:-3])
    write("idx", "huge-claim", prefix("f64", (28, 28)) + struct.pack(">BBBBIII", 0, 0, 0x0E, 3, 0xFFFFFFFF, 28, 28))
    # NPY
    arrays = {
        "f32": (rng.standard_normal((3, 2, 3)).astype(np.float32), "f32", (2, 3)),
        "f64": (rng.standard_normal((2, 4)), "f64", (4,)),
        "i64": (np.arange(4, dtype=np.int64), "i64", ()),
        "i32": (np.arange(-6, 6, dtype=np.int32).reshape(3, 2, 2), "i64", (2, 2)),
        "u8": (np.arange(6, dtype=np.uint8).reshape(2, 3), "f32", (3,)),
        "bool": (np.array([[True, False], [False, True]]), "u8", (2,)),
        "u16": (np.arange(6, dtype=np.uint16).reshape(3, 2), "i32", (2,)),
        "u32": (np.arange(3, dtype=np.uint32).reshape(3, 1), "f64", (1,)),
        "i8": (np.arange(-4, 4, dtype=np.int8).reshape(2, 2, 2), "f32", (2, 2)),
        "i16": (np.arange(-4, 8, dtype=np.int16).reshape(1, 3, 2, 2), "i32", (3, 2, 2)),
        "u64": (np.arange(3, dtype=np.uint64), "i64", ()),
        "zero-samples": (np.zeros((0, 3), dtype=np.float32), "f32", (3,)),
    }
    for name, (a, dt, shape) in arrays.items():
        write("npy", name, prefix(dt, shape) + npy(a))
    write("npy", "v2", prefix("f32", (3,)) + npy(np.ones((2, 3), np.float32), version=(2, 0)))
    write("npy", "v3", prefix("f64", (2,)) + npy(np.ones((2, 2)), version=(3, 0)))
    write("npy", "fortran", prefix("f32", (2, 3)) + npy(np.ones((2, 2, 3), np.float32), fortran=True))
    write("npy", "big-endian", prefix("f32", (2,)) + npy(np.ones((2, 2), ">f4")))
    write("npy", "huge-claim", prefix("f32", (3,)) +
          b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) +
          b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 3), }".ljust(117) + b"\n")
    # CSV
    csvs = {
        "floats": ("f32", (3,), "1.5,2,-3e-2\n4,5,6\n"),
        "header": ("f64", (2,), "a,b\n1,2\r\n\n3.25,nan\n-inf,1e300\n"),
        "ints": ("i64", (), "label\n1\n-9223372036854775808\n1e2\n"),
        "u8": ("u8", (2, 2), "0,1,2,3\n255,254,3.0,  7\t\n"),
        "i32": ("i32", (2, 3), "1,2,3,4,5,6\n-2147483648,0,0,0,0,2147483647\n"),
        "image": ("f32", (28, 28), ",".join(str(i % 256) for i in range(784)) + "\n"),
        "bad-cell": ("f32", (2,), "1,abc\n"),
        "too-big": ("u8", (1,), "300\n"),
        "empty": ("f32", (1,), ""),
    }
    for name, (dt, shape, text) in csvs.items():
        write("csv", name, prefix(dt, shape) + text.encode())
    # safetensors
    model = {"fc.weight": rng.standard_normal((2, 3)).astype(np.float32),
             "fc.bias": np.zeros(2, np.float32)}
    write("safetensors", "model", safetensors(model, {"format": "pt"}))
    write("safetensors", "model-no-metadata", safetensors(model))
    write("safetensors", "every-dtype", safetensors({
        "a": np.ones((2, 2), np.float64), "b": np.arange(3, dtype=np.int32),
        "c": np.arange(2, dtype=np.int64), "d": np.arange(4, dtype=np.uint8),
        "e": np.ones(3, np.float16), "s": np.float32(1.0).reshape(())}))
    write("safetensors", "empty", safetensors({}))
    write("safetensors", "zero-size", safetensors({"z": np.zeros((0, 4), np.float32)}))
    write("safetensors", "huge-claim", struct.pack("<Q", 96) +
          b'{"w":{"dtype":"F32","shape":[1099511627776,4],"data_offsets":[0,17592186044416]}}'.ljust(96))
    # Frontend: a model with errors in every part (examples/ and
    # test/e2e/models/ give the well-formed ones).
    write("frontend", "errors.kiln", b"""model Broken {
  input  x: f32[N, 3, 0]
  target y: i64[N]
  layer fc = Linear(3, 2)
  h = reshape(transpose(x, 0, 2), [N, -1]) @ fc(x)
  output logits = concat([h, undefined_name], dim=9) + 1e999
  loss = cross_entropy(logits, y, extra=1)
  metric accuracy = accuracy(logits)
}

train Broken {
  optimizer = Adam(lr=-1, betas=(0.9,))
  batch = 0
}
""")
    # Frontend: PyTorch spellings and broken indexing, powers and lines.
    write("frontend", "pytorch-spellings.kiln", b"""model Torchy {
  input x: f32[N, 5, 4]
  net = nn.Sequential(nn.Linear(4, 8), Relu(), LeakyReLU(0.2, inplace=True))
  a = x[0, ..., ::-1] + x[:, 1:1, 7] ** x + torch.cat([x.T, x.view(-1, 20)])
  b = -2 ** 100 ** 0.5 + x[:, -1][:, :2:0] +
  output y = F.gelu(x.relu()).sum(dim=1) + clamp(x) + reshape(x, [-1, 3])
}
""")

if __name__ == "__main__":
    main()
