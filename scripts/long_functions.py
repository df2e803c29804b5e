#!/usr/bin/env python3
"""Lists the functions in src/ longer than N lines (default 80).

A function's length counts from its `fn` line to the line of its closing
brace, both included. Braces are matched on the source with comments, string
literals (plain, byte and raw) and char literals blanked out, which is enough
for this code base (lifetimes such as 'a are told apart from chars such as '{').
Declarations without a body (trait methods ending in `;`) are not functions.

Prints `path:line name length` for each, longest first within a file order,
and exits 1 if there is any; exits 0 otherwise.

    scripts/long_functions.py [N] [--exclude-tests]

--exclude-tests leaves out every item marked #[cfg(test)] (the unit-test
modules); by default everything under src/ counts.
"""
import argparse
import os
import re
import sys

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ROOT = os.path.join(REPO, "src")


def is_ident(c):
    return c.isalnum() or c == "_"


def raw_string_end(src, i):
    """If a raw string (r"..", r#".."#, br"..") starts at i, the index after it."""
    j = i + 1 if src[i] == "r" else i + 2
    if src[i] == "b" and src[i + 1 : i + 2] != "r":
        return None
    hashes = 0
    while j < len(src) and src[j] == "#":
        hashes += 1
        j += 1
    if j >= len(src) or src[j] != '"':
        return None
    close = src.find('"' + "#" * hashes, j + 1)
    return len(src) if close < 0 else close + 1 + hashes


def quoted_end(src, i, quote):
    """The index after the literal opened by `quote` at i (escapes skipped)."""
    j = i + 1
    while j < len(src) and src[j] != quote:
        j += 2 if src[j] == "\\" else 1
    return j + 1


def char_end(src, i):
    """If a char literal starts at i ('x', '\\n', '\\u{..}'), the index after it."""
    if src[i + 1 : i + 2] == "\\":
        return quoted_end(src, i, "'")
    if i + 2 < len(src) and src[i + 2] == "'" and src[i + 1] != "\n":
        return i + 3
    return None  # a lifetime or a label


def literal_end(src, i):
    """If a comment or literal starts at i, the index after it; else None."""
    c = src[i]
    two = src[i : i + 2]
    if two == "//":
        end = src.find("\n", i)
        return len(src) if end < 0 else end
    if two == "/*":
        depth, j = 1, i + 2
        while j < len(src) and depth:
            if src[j : j + 2] == "/*":
                depth, j = depth + 1, j + 2
            elif src[j : j + 2] == "*/":
                depth, j = depth - 1, j + 2
            else:
                j += 1
        return j
    if c in "rb" and (i == 0 or not is_ident(src[i - 1])):
        end = raw_string_end(src, i)
        if end is not None:
            return end
    if c == '"':
        return quoted_end(src, i, '"')
    if c == "'":
        return char_end(src, i)
    return None


def blank(src):
    """The source with comments and literals replaced by spaces (newlines kept)."""
    out, i = [], 0
    while i < len(src):
        end = literal_end(src, i)
        if end is None:
            out.append(src[i])
            i += 1
        else:
            out.append(re.sub(r"[^\n]", " ", src[i:end]))
            i = end
    return "".join(out)


def body_span(code, start):
    """From `start`, the first `{`..matching `}` outside parentheses and brackets,
    or None if a `;` comes first (a declaration)."""
    depth, i = 0, start
    while i < len(code):
        c = code[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c == ";":
            return None
        elif depth == 0 and c == "{":
            break
        i += 1
    else:
        return None
    open_at, braces = i, 0
    while i < len(code):
        braces += {"{": 1, "}": -1}.get(code[i], 0)
        if braces == 0:
            return open_at, i
        i += 1
    return open_at, len(code) - 1


def test_spans(code):
    """The byte ranges of items marked #[cfg(test)]."""
    spans = []
    for m in re.finditer(r"#\[cfg\(test\)\]", code):
        span = body_span(code, m.end())
        if span:
            spans.append((m.start(), span[1]))
    return spans


def functions(path, exclude_tests):
    """(line, name, length) of every function with a body in one file."""
    with open(path, encoding="utf-8") as fh:
        code = blank(fh.read())
    skip = test_spans(code) if exclude_tests else []
    out = []
    for m in re.finditer(r"\bfn\s+([A-Za-z_]\w*)", code):
        if any(a <= m.start() <= b for a, b in skip):
            continue
        span = body_span(code, m.end())
        if span is None:
            continue
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, span[1]) + 1
        out.append((first, m.group(1), last - first + 1))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("limit", nargs="?", type=int, default=80, help="longest allowed function, lines (default 80)")
    parser.add_argument("--exclude-tests", action="store_true", help="leave out #[cfg(test)] items")
    args = parser.parse_args()
    found = 0
    for dirpath, dirs, files in os.walk(ROOT):
        dirs.sort()
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, REPO)
            for line, name, length in functions(path, args.exclude_tests):
                if length > args.limit:
                    print(f"{rel}:{line} {name} {length}")
                    found += 1
    if not found:
        print(f"no function in src/ is longer than {args.limit} lines", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
