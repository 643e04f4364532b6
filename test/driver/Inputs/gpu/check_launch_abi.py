"""Checks a cuda build's host code against its kernels: reads the LLVM IR
(kiln build --target cuda --emit=llvm, PTX image), and for every
kiln_cuda_launch(i32 K, ..., i32 N) call checks that kernel K of
kiln_cuda_kernel_names is an `.entry` of the embedded PTX declaring exactly N
parameters, and that no path from a launch reaches a host call (other than
the all-reduce, which waits itself) without a kiln_cuda_sync call, nor a
return without kiln_cuda_sync or kiln_cuda_submit (which submits without
waiting) right before it. A function starts with the previous call's work
possibly unfinished, and so does its caller after a call to a function
defined in the module: a host call there needs a kiln_cuda_sync too (calls
to the module's functions need none: they wait themselves). Prints one line
per distinct kernel checked and a summary; exits 1 on any mismatch.

usage: check_launch_abi.py FILE.ll
"""
import re
import sys


def cstring(ir, name):
    m = re.search(r'^@%s = [^\n]*?c"((?:[^"\\]|\\[0-9A-Fa-f]{2}|\\\\)*)"' % name, ir, re.M)
    if not m:
        sys.exit(f"no global @{name}")
    raw = m.group(1)
    return re.sub(r"\\([0-9A-Fa-f]{2})", lambda h: chr(int(h.group(1), 16)), raw)


def blocks_of(body):
    """[(label, lines)] of a function body in order; the entry block is "entry"."""
    blocks = [["entry", []]]
    for line in body.splitlines():
        m = re.match(r"^([\w.$-]+):", line)
        if m:
            blocks.append([m.group(1), []])
        else:
            blocks[-1][1].append(line)
    return blocks


def host_use(line, defined):
    """Whether the host may touch memory at this line: a return, or a call to
    anything but the launcher, the synchronization, the all-reduce (it waits
    itself before it reads), the workspace (it hands out memory without
    touching it), LLVM intrinsics and the module's own functions."""
    if re.match(r"\s+ret\b", line):
        return True
    m = re.search(r"\bcall [^@]*@([\w.$]+)\(", line)
    return bool(m) and m.group(1) not in ("kiln_cuda_launch", "kiln_cuda_sync") \
        and not re.fullmatch(r"(_mlir_ciface_)?kiln_(all_reduce_mean_f(32|64)|workspace)",
                             m.group(1)) \
        and not m.group(1).startswith("llvm.") and m.group(1) not in defined


def unsynced_uses(body, defined):
    blocks = blocks_of(body)
    succs = {label: re.findall(r"label %([\w.$-]+)", "\n".join(lines)) for label, lines in blocks}

    # pending: 0 nothing, 1 submitted by a callee, 2 launches recorded here.
    def scan(lines, pending, found):
        for i, line in enumerate(lines):
            callee = re.search(r"\bcall [^@]*@([\w.$]+)\(", line)
            if "call void @kiln_cuda_launch(" in line:
                pending = 2
            elif "call void @kiln_cuda_sync()" in line:
                pending = 0
            elif "call void @kiln_cuda_submit()" in line:
                if i + 1 >= len(lines) or not re.match(r"\s+ret\b", lines[i + 1]):
                    found.append(line)  # a submit must be the return's
                pending = 0
            elif pending and host_use(line, defined):
                if pending == 2 or not re.match(r"\s+ret\b", line):
                    found.append(line)
                pending = 0
            if callee and callee.group(1) in defined:
                pending = max(pending, 1)
        return pending

    # A function starts with the previous call's work maybe unfinished.
    pending_at_start = {label: 1 if label == "entry" else 0 for label, _ in blocks}
    changed = True
    while changed:
        changed = False
        for label, lines in blocks:
            end = scan(lines, pending_at_start[label], [])
            for s in succs[label]:
                if end > pending_at_start[s]:
                    pending_at_start[s] = end
                    changed = True
    found = []
    for label, lines in blocks:
        scan(lines, pending_at_start[label], found)
    return len(found)


def main():
    ir = open(sys.argv[1]).read()
    ptx = cstring(ir, "kiln_cuda_image")
    names = cstring(ir, "kiln_cuda_kernel_names").split("\0")
    params = {}
    for m in re.finditer(r"\.entry (\w+)\(([^)]*)\)", ptx):
        params[m.group(1)] = m.group(2).count(".param")
    calls = re.findall(r"call void @kiln_cuda_launch\(i32 (\d+), .*, i32 (\d+)\)", ir)
    if not calls:
        sys.exit("no kiln_cuda_launch calls")
    bad = 0
    seen = set()
    for k, n in calls:
        name = names[int(k)]
        if name not in params:
            print(f"kernel {k} {name}: not an .entry of the PTX")
            bad += 1
        elif params[name] != int(n):
            print(f"kernel {k} {name}: launched with {n} arguments, the PTX declares {params[name]}")
            bad += 1
        seen.add(name)
    # Launches are asynchronous: no path from a launch may reach a call into
    # the host (anything but the launcher, kiln_cuda_sync and LLVM
    # intrinsics) without a kiln_cuda_sync, or a return without a sync or a
    # submit. A dataflow over each function's blocks, as the pass does it.
    unsynced = 0
    defined = set(re.findall(r"^define [^@\n]*@([\w.$]+)\(", ir, re.M))
    for body in re.findall(r"^define [^\n]*\{\n(.*?)^\}", ir, re.M | re.S):
        unsynced += unsynced_uses(body, defined)
    if unsynced:
        print(f"{unsynced} host operations may run while a launch is pending (no kiln_cuda_sync)")
        bad += unsynced
    print(f"{len(calls)} launches of {len(seen)} kernels checked, {bad} mismatches")
    sys.exit(1 if bad else 0)


main()
