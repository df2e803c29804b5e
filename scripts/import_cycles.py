#!/usr/bin/env python3
"""Lists import cycles between the files of src/ (one node per file).

An edge a -> b means a.rs names `crate::b...` (in a `use` or a path).
Prints each strongly connected component with more than one file and exits 1
if there is any; prints "no import cycles" and exits 0 otherwise.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    mods = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                continue
            mods["::".join(rel)] = path
    return mods


def strip(src):
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r'"(\\.|[^"\\])*"', '""', src)
    # unit tests may look anywhere
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests", src)
    return src[: cut.start()] if cut else src


def paths_in(src):
    """Every crate:: path, with `use crate::{a, b::{c}}` groups expanded."""
    out = []
    for m in re.finditer(r"crate::([A-Za-z_][\w:]*)(::\{)?", src):
        head = m.group(1).rstrip(":")
        if m.group(2):
            depth, i, start = 1, m.end(), m.end()
            while depth and i < len(src):
                depth += {"{": 1, "}": -1}.get(src[i], 0)
                i += 1
            for part in re.findall(r"[A-Za-z_][\w:]*", src[start : i - 1]):
                out.append(head + "::" + part)
            out.append(head)
        else:
            out.append(head)
    return out


def resolve(path, mods, me):
    parts = path.split("::")
    for n in range(len(parts), 0, -1):
        name = "::".join(parts[:n])
        if name in mods:
            return name
    return None


def graph(mods):
    edges = {m: set() for m in mods}
    for m, path in mods.items():
        with open(path, encoding="utf-8") as fh:
            src = strip(fh.read())
        for p in paths_in(src):
            t = resolve(p, mods, m)
            if t and t != m and not m.startswith(t + "::"):
                edges[m].add(t)
        # `super::x` inside a::b means a::x
        for s in re.findall(r"super::([A-Za-z_]\w*)", src):
            parent = m.rsplit("::", 1)[0] if "::" in m else ""
            if path.endswith("mod.rs"):
                parent = parent.rsplit("::", 1)[0] if "::" in parent else ""
            t = resolve((parent + "::" if parent else "") + s, mods, m)
            if t and t != m and not m.startswith(t + "::"):
                edges[m].add(t)
    return edges


def sccs(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def main():
    mods = modules()
    edges = graph(mods)
    if "--edges" in sys.argv:
        for m in sorted(edges):
            print(m, "->", ", ".join(sorted(edges[m])))
    cycles = sccs(edges)
    for c in cycles:
        print("cycle:", " <-> ".join(c))
    if not cycles:
        print("no import cycles between the files of src/")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
