#!/usr/bin/env python3
# The layers of nsrun's C, checked over every '#include "..."' line (TAP):
#   basic/  <  sandbox/, cgroup/ (neither includes the other)  <  runner/core/  <  runner/sources/  <  runner/run/
#   <  runner/verbs/
# A file may include headers of its own layer and of the layers below it, never above, and no two modules (a .c
# with its .h) may depend on each other, even through others: foo.c including bar.h while bar.c includes foo.h is a
# cycle. config.h (generated) belongs to every layer.
import os
import re
import sys

SRC = os.environ.get("NSRUN_SRC") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LAYERS = ["basic", "sandbox", "cgroup", "runner/core", "runner/sources", "runner/run", "runner/verbs"]
RANK = {"basic": 0, "sandbox": 1, "cgroup": 1, "runner/core": 2, "runner/sources": 3, "runner/run": 4,
        "runner/verbs": 5}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_files():
    files = {}
    for layer in LAYERS:
        d = os.path.join(SRC, layer)
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                files[os.path.join(layer, name)] = layer
    return files


def main():
    files = layer_files()
    header_layer = {}
    for path, layer in files.items():
        if path.endswith(".h"):
            name = os.path.basename(path)
            if name in header_layer:
                print(f"Bail out! two headers named {name}: in {header_layer[name]} and {layer}")
                return 1
            header_layer[name] = layer

    problems, graph = [], {}
    for path, layer in files.items():
        with open(os.path.join(SRC, path), encoding="utf-8") as f:
            text = f.read()
        deps = []
        for inc in INCLUDE.findall(text):
            if inc == "config.h":
                continue
            where = header_layer.get(os.path.basename(inc))
            if where is None:
                problems.append(f"{path}: includes \"{inc}\", which is in no layer")
                continue
            deps.append(os.path.basename(inc))
            if RANK[where] > RANK[layer] or (RANK[where] == RANK[layer] and where != layer):
                problems.append(f"{path} ({layer}) includes {inc} of {where}: a layer above it or beside it")
        module = os.path.basename(path)[:-2]
        graph.setdefault(module, set()).update(d[:-2] for d in deps if d[:-2] != module)

    # cycles among modules: depth-first, colouring nodes
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph.get(node, [])):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]) if dep in stack else f"{node} -> {dep}")
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])

    n = 0
    for desc, found in (("every include goes to the file's own layer or one below", problems),
                        ("no cycle among the modules", cycles)):
        n += 1
        if found:
            print(f"not ok {n} - {desc}")
            for p in found:
                print(f"# {p}")
        else:
            print(f"ok {n} - {desc} ({len(files)} files)")
    print(f"1..{n}")
    return 1 if problems or cycles else 0


if __name__ == "__main__":
    sys.exit(main())
