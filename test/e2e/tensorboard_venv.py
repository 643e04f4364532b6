"""The `tensorboard` package for the tests that read event files back with
its own reader: installed from PyPI into a virtual environment (made with
--system-site-packages, so Debian's numpy and torch stay visible) the first
time a test asks, then reused. scripts/setup stays Debian-only: only these
tests need it, and they skip what needs it, saying why, when PyPI cannot be
reached.

    python = ensure(venv_dir)   # the venv's python, or None (see `reason`)
"""
import os
import subprocess
import sys

reason = ""


def ensure(venv_dir, timeout=600):
    global reason
    python = os.path.join(venv_dir, "bin", "python")
    probe = [python, "-c", "import tensorboard.backend.event_processing.event_accumulator"]
    if os.path.exists(python) and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv_dir],
                       check=True, capture_output=True, text=True, timeout=timeout)
        p = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                            "tensorboard"], capture_output=True, text=True, timeout=timeout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        reason = f"cannot make a virtual environment in {venv_dir}: {e}"
        return None
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no output"]
        reason = f"pip could not install tensorboard from PyPI (is it reachable?): {tail[0]}"
        return None
    if subprocess.run(probe, capture_output=True).returncode != 0:
        reason = "tensorboard installed but its event reader does not import"
        return None
    return python


# Run by the venv's python: prints {run: {tag: [[step, value], ...]}} for the
# event files under DIR, as TensorBoard's own EventAccumulator reads them.
READER = r"""
import json, os, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
out = {}
root = sys.argv[1]
for run in sorted(os.listdir(root)):
    acc = EventAccumulator(os.path.join(root, run), size_guidance={"scalars": 0})
    acc.Reload()
    out[run] = {tag: [[e.step, e.value] for e in acc.Scalars(tag)]
                for tag in acc.Tags()["scalars"]}
print(json.dumps(out))
"""


def read_scalars(python, logdir):
    p = subprocess.run([python, "-c", READER, logdir], capture_output=True, text=True, check=True)
    import json
    return json.loads(p.stdout)
