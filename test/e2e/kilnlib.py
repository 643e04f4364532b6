"""Calls a compiled model's entry points straight from Python, for tests.

`Model(kiln, source, workdir)` builds the model file to an object
(`kiln build --emit=obj`), links it with the runtime into a shared library,
and loads it with ctypes. `model.call("loss_grad", args, results)` passes
numpy arrays as MLIR memref descriptors, exactly as the runtime does: args
first, then the caller-allocated result buffers, which it fills.
"""
import ctypes
import json
import os
import subprocess

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _Descriptor:
    """A strided memref descriptor over a C-contiguous numpy array."""

    def __init__(self, array):
        assert array.flags["C_CONTIGUOUS"]
        rank = array.ndim
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
        struct = type("MemRef%d" % rank, (ctypes.Structure,), {"_fields_": fields})
        self.value = struct()
        self.value.allocated = self.value.aligned = array.ctypes.data
        self.value.offset = 0
        if rank:
            self.value.sizes[:] = array.shape
            self.value.strides[:] = [s // array.itemsize for s in array.strides]
        self.array = array  # keeps the buffer alive


def tools_env():
    """The environment for tools started from Python: a sanitized run
    preloads the ASan runtime into Python only, and the tools carry their
    own."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


class Model:
    def __init__(self, kiln, source, workdir):
        os.makedirs(workdir, exist_ok=True)
        stem = os.path.splitext(os.path.basename(source))[0]
        obj = os.path.join(workdir, stem + ".o")
        lib = os.path.join(workdir, stem + ".so")
        subprocess.run([kiln, "build", source, "--emit=obj", "--with-loss-grad", "-o", obj], check=True,
                       env=tools_env())
        runtime = os.path.join(os.path.dirname(os.path.dirname(kiln)), "lib", "libKilnRuntime.a")
        # KILN_LINK_FLAGS: extra flags, as for the driver's links (a sanitized
        # build adds -fsanitize=... -shared-libasan; see scripts/test-sanitized).
        extra = os.environ.get("KILN_LINK_FLAGS", "").split()
        subprocess.run(["clang++-22", "-shared", obj, runtime, "-lz", *extra, "-o", lib], check=True,
                       env=tools_env())
        self.lib = ctypes.CDLL(lib)
        start = ctypes.addressof(ctypes.c_char.in_dll(self.lib, "kiln_manifest_json"))
        self.manifest = json.loads(ctypes.string_at(start).decode())

    def call(self, entry, args, results):
        """Runs kiln_<entry>(args..., results...); results are filled in place."""
        descs = [_Descriptor(a) for a in list(args) + list(results)]
        packed = (ctypes.c_void_p * len(descs))(*[ctypes.addressof(d.value) for d in descs])
        getattr(self.lib, "kiln_" + entry)(packed)
        return results
