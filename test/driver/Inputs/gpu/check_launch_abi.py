"""Checks a cuda build's host code against its kernels: reads the LLVM IR
(kiln build --target cuda --emit=llvm, PTX image), and for every
kiln_cuda_launch(i32 K, ..., i32 N) call checks that kernel K of
kiln_cuda_kernel_names is an `.entry` of the embedded PTX declaring exactly N
parameters, and that no path from a launch reaches a return or a host call
(other than the all-reduce, which waits itself) without a kiln_cuda_sync
call. Prints one line per distinct kernel checked and a summary; exits 1
on any mismatch.

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


def host_use(line):
    """Whether the host may touch memory at this line: a return, or a call to
    anything but the launcher, the synchronization, the all-reduce (it waits
    itself before it reads) and LLVM intrinsics."""
    if re.match(r"\s+ret\b", line):
        return True
    m = re.search(r"\bcall [^@]*@([\w.$]+)\(", line)
    return bool(m) and m.group(1) not in ("kiln_cuda_launch", "kiln_cuda_sync") \
        and not re.fullmatch(r"(_mlir_ciface_)?kiln_all_reduce_mean_f(32|64)", m.group(1)) \
        and not m.group(1).startswith("llvm.")


def unsynced_uses(body):
    blocks = blocks_of(body)
    succs = {label: re.findall(r"label %([\w.$-]+)", "\n".join(lines)) for label, lines in blocks}

    def scan(lines, pending, found):
        for line in lines:
            if "call void @kiln_cuda_launch(" in line:
                pending = True
            elif "call void @kiln_cuda_sync()" in line:
                pending = False
            elif pending and host_use(line):
                found.append(line)
                pending = False
        return pending

    pending_at_start = {label: False for label, _ in blocks}
    changed = True
    while changed:
        changed = False
        for label, lines in blocks:
            if scan(lines, pending_at_start[label], []):
                for s in succs[label]:
                    if not pending_at_start[s]:
                        pending_at_start[s] = changed = True
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
    # Launches are asynchronous: no path from a launch may reach a return or
    # a call into the host (anything but the launcher, kiln_cuda_sync and
    # LLVM intrinsics) without a kiln_cuda_sync. A dataflow over each
    # function's blocks, as the pass does it.
    unsynced = 0
    for body in re.findall(r"^define [^\n]*\{\n(.*?)^\}", ir, re.M | re.S):
        unsynced += unsynced_uses(body)
    if unsynced:
        print(f"{unsynced} host operations may run while a launch is pending (no kiln_cuda_sync)")
        bad += unsynced
    print(f"{len(calls)} launches of {len(seen)} kernels checked, {bad} mismatches")
    sys.exit(1 if bad else 0)


main()
