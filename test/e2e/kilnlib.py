"""Calls a compiled model's entry points straight from Python, for tests.

`Model(kiln, source, workdir)` builds the model file to an object
(`kiln build --emit=obj`), links it with the runtime into a shared library,
and loads it with ctypes. `model.call("loss_grad", args, results)` passes
numpy arrays as MLIR memref descriptors, exactly as the runtime does: args
first, then the caller-allocated result buffers, which it fills.

With KILN_E2E_TARGET=cuda (scripts/test-gpu, on a machine with a GPU) the
model is built with --target cuda, the runtime starts the device
(kiln_cuda_start), and each call copies its arrays into page-locked memory
(cuMemAllocHost, which the kernels read and write in place), waits for the
kernels (kiln_cuda_sync) and copies the results back.
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
        self.cuda = os.environ.get("KILN_E2E_TARGET", "cpu") == "cuda"
        target = ["--target", "cuda"] if self.cuda else []
        subprocess.run([kiln, "build", source, "--emit=obj", "--with-loss-grad", *target, "-o", obj],
                       check=True, env=tools_env())
        runtime = os.path.join(os.path.dirname(os.path.dirname(kiln)), "lib", "libKilnRuntime.a")
        # KILN_LINK_FLAGS: extra flags, as for the driver's links (a sanitized
        # build adds -fsanitize=... -shared-libasan; see scripts/test-sanitized).
        extra = os.environ.get("KILN_LINK_FLAGS", "").split()
        subprocess.run(["clang++-22", "-shared", obj, runtime, "-lz", *extra, "-o", lib], check=True,
                       env=tools_env())
        self.lib = ctypes.CDLL(lib)
        start = ctypes.addressof(ctypes.c_char.in_dll(self.lib, "kiln_manifest_json"))
        self.manifest = json.loads(ctypes.string_at(start).decode())
        if self.cuda:
            self.lib.kiln_cuda_start.restype = ctypes.c_char_p
            why = self.lib.kiln_cuda_start()
            if why:
                raise RuntimeError(why.decode())
            # The runtime has made the GPU's context current on this thread.
            self.driver = ctypes.CDLL("libcuda.so.1")

    def _pinned(self, array):
        """A copy of `array` in page-locked memory, and the memory's address."""
        ptr = ctypes.c_void_p()
        if self.driver.cuMemAllocHost_v2(ctypes.byref(ptr), ctypes.c_size_t(max(array.nbytes, 64))):
            raise RuntimeError("cuMemAllocHost failed")
        raw = (ctypes.c_char * max(array.nbytes, 1)).from_address(ptr.value)
        copy = np.frombuffer(raw, dtype=array.dtype, count=array.size).reshape(array.shape)
        copy[...] = array
        return copy, ptr

    def call(self, entry, args, results):
        """Runs kiln_<entry>(args..., results...); results are filled in place,
        and a train step updates its parameter and state arguments in place."""
        arrays, pinned = list(args) + list(results), []
        arrays_in = arrays
        if self.cuda:
            pinned = [self._pinned(np.ascontiguousarray(a)) for a in arrays]
            arrays = [p[0] for p in pinned]
        descs = [_Descriptor(a) for a in arrays]
        packed = (ctypes.c_void_p * len(descs))(*[ctypes.addressof(d.value) for d in descs])
        getattr(self.lib, "kiln_" + entry)(packed)
        if self.cuda:
            self.lib.kiln_cuda_sync()  # a cuda call returns before its kernels finish
            for array, (copy, _) in zip(arrays_in, pinned):
                if array.flags.writeable:
                    array[...] = copy
            for _, ptr in pinned:
                self.driver.cuMemFreeHost(ptr)
        return results
