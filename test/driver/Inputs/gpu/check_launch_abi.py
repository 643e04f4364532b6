"""Checks a cuda build's host code against its kernels: reads the LLVM IR
(kiln build --target cuda --emit=llvm, PTX image), and for every
kiln_cuda_launch(i32 K, ..., i32 N) call checks that kernel K of
kiln_cuda_kernel_names is an `.entry` of the embedded PTX declaring exactly N
parameters, and that no block ends after a launch without a kiln_cuda_sync
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
    # Launches are asynchronous: no block may end (branch or return) with a
    # launch not followed by kiln_cuda_sync.
    unsynced = 0
    for body in re.findall(r"^define [^\n]*\{\n(.*?)^\}", ir, re.M | re.S):
        pending = False
        for line in body.splitlines():
            if "call void @kiln_cuda_launch(" in line:
                pending = True
            elif "call void @kiln_cuda_sync()" in line:
                pending = False
            elif re.match(r"\s+(ret|br|switch)\b", line) and pending:
                unsynced += 1
                pending = False
    if unsynced:
        print(f"{unsynced} blocks end after a launch without kiln_cuda_sync")
        bad += unsynced
    print(f"{len(calls)} launches of {len(seen)} kernels checked, {bad} mismatches")
    sys.exit(1 if bad else 0)


main()
