"""Builds every example model for --target cuda, --emit=ptx, and assembles
the PTX with ptxas for sm_80 and sm_90. Prints one line per model and
'all N models OK' at the end; exits 1 at the first failure, with ptxas's
words. Usage: ptxas_examples.py KILN PTXAS EXAMPLES_DIR CUDA_PATH OUT_DIR"""
import glob, os, re, subprocess, sys

kiln, ptxas, examples, cuda, out = sys.argv[1:6]
os.makedirs(out, exist_ok=True)
models = sorted(glob.glob(os.path.join(examples, "*.kiln")))
if not models:
    sys.exit("no example models under " + examples)
for model in models:
    name = os.path.splitext(os.path.basename(model))[0]
    ptx = os.path.join(out, name + ".ptx")
    subprocess.run([kiln, "build", model, "--target", "cuda", "--emit=ptx",
                    "--cuda-path", cuda, "-o", ptx], check=True)
    text = open(ptx).read()
    kernels = re.findall(r"^\.visible \.entry (\w+)\(", text, re.M)
    if not kernels:
        sys.exit(name + ": no kernels in the PTX")
    if re.search(r"^\.extern .*__nv_", text, re.M):
        sys.exit(name + ": the PTX calls libdevice functions it does not define")
    for arch in ("sm_80", "sm_90"):
        r = subprocess.run([ptxas, "-arch=" + arch, ptx, "-o", os.devnull],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("%s: ptxas -arch=%s failed:\n%s" % (name, arch, r.stderr))
    print("%s: %d kernels, ptxas sm_80 and sm_90 OK" % (name, len(kernels)))
print("all %d models OK" % len(models))
