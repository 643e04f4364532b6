"""Turns the ```mlir examples of the kiln dialect's op documentation (the
markdown `mlir-tblgen -gen-op-doc` writes from ir/KilnOps.td) into one MLIR
file, one function per op, for kiln-opt to parse and verify.

Each example starts with a comment naming the types of the values it uses
but does not define, `// %x: tensor<?x10xf32>, %n: index` (or `// (no
operands)`); they become the function's arguments. Fails when an op has no
description example, or its example never uses the op.
"""
import re
import sys

HEADER = re.compile(r"^### `(kiln\.[a-z0-9_]+)`", re.M)
EXAMPLE = re.compile(r"```mlir\n(.*?)```", re.S)
ARG = re.compile(r"(%[A-Za-z_][\w.]*)\s*:\s*((?:[^,<]|<[^>]*>)+)")


def main(path):
    doc = open(path).read()
    headers = list(HEADER.finditer(doc))
    if not headers:
        sys.exit(f"{path}: no op documentation found")
    problems, functions = [], []
    for i, header in enumerate(headers):
        op = header.group(1)
        end = headers[i + 1].start() if i + 1 < len(headers) else len(doc)
        examples = EXAMPLE.findall(doc, header.end(), end)
        if not examples:
            problems.append(f"{op}: the description has no ```mlir example")
            continue
        for n, example in enumerate(examples):
            lines = example.strip("\n").splitlines()
            first = lines[0].strip() if lines else ""
            if not first.startswith("//"):
                problems.append(f"{op}: the example does not start with a `// %x: type` line")
                continue
            if f"{op} " not in example:
                problems.append(f"{op}: the example does not use {op}")
            args = ", ".join(f"{name}: {type_.strip()}"
                             for name, type_ in ARG.findall(first[2:]))
            body = "\n".join("  " + line for line in lines[1:])
            name = op.replace(".", "_") + (f"_{n}" if n else "")
            functions.append(f"// {op}\nfunc.func @{name}({args}) {{\n{body}\n  return\n}}\n")
    if problems:
        sys.exit("\n".join(problems))
    print("\n".join(functions))


if __name__ == "__main__":
    main(sys.argv[1])
