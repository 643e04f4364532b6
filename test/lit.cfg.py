# Lit configuration for Kiln's regression tests.
import os
import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "Kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".kiln", ".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.kiln_tools_dir, append_path=True)
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%cxx", config.cxx_compiler))
config.substitutions.append(("%examples", os.path.join(config.kiln_src_root, "examples")))
config.substitutions.append(("%kiln_obj_root", config.kiln_obj_root))
# A tool's name after "=" (as in --emit=kiln) or "." (a .kiln file) is not the tool.
llvm_config.add_tool_substitutions(
    [ToolSubst(name, pre=r".-^/\<=") for name in ["kiln", "kiln-opt"]], [config.kiln_tools_dir])

# The CUDA toolkit, for the GPU target's tests (CI may have none; nothing
# needs a GPU). `cuda-libdevice`: the tests that compile models using exp/log
# (libdevice). `ptxas`: the tests that assemble every example's kernels.
# Without them those tests are UNSUPPORTED, and this note says why.
import shutil
cuda_path = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
config.substitutions.append(("%cuda_path", cuda_path))
if os.path.exists(os.path.join(cuda_path, "nvvm", "libdevice", "libdevice.10.bc")):
    config.available_features.add("cuda-libdevice")
else:
    lit_config.note("no libdevice under %s: the GPU tests that need it are UNSUPPORTED" % cuda_path)
ptxas = os.path.join(cuda_path, "bin", "ptxas")
if not os.access(ptxas, os.X_OK):
    ptxas = shutil.which("ptxas") or ""
if os.access(os.path.join(cuda_path, "bin", "fatbinary"), os.X_OK) and \
        os.access(os.path.join(cuda_path, "bin", "ptxas"), os.X_OK):
    config.available_features.add("cuda-fatbinary")
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
else:
    lit_config.note("no ptxas (CUDA toolkit at %s or on PATH): driver/gpu-ptxas.test "
                    "is UNSUPPORTED (skipped)" % cuda_path)

# Whether the CUDA driver loads here (libcuda.so.1): a cuda executable's
# train/eval/predict exit 2 without it, which driver/cuda-executable.test
# checks where there is none (CI, the build machines).
import ctypes
try:
    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
except OSError:
    config.available_features.add("no-cuda-driver")
