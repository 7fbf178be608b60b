#!/usr/bin/env python3
"""code_shape.py - no source file over 700 lines and no function over 100 lines, in every program's C code.

  code_shape.py SRCDIR         checks common/ smtpd/ router/ gateway/ store/ tools/ under SRCDIR; prints TAP
  code_shape.py --self-test    the check finds a long function and a long file, and measures a short one right

A function is counted from the line after its opening brace (a '{' alone in column 0 after a line ending
in ')') to the line before its closing '}' in column 0: the style every file here follows.  The longest
function and file are named in the TAP output so a note can report them.
"""
import os
import sys

MAX_FILE = 700
MAX_FUNC = 100
DIRS = ("common", "smtpd", "router", "gateway", "store", "tools")


def functions(lines):
    """Yield (name, first_line, body_lines) for each function definition in lines."""
    i = 0
    while i + 1 < len(lines):
        if lines[i].rstrip().endswith(")") and lines[i + 1] == "{":
            head = i
            while head > 0 and lines[head][:1].isspace():  # continuation lines of the signature are indented
                head -= 1
            name = lines[head].split("(")[0].split()[-1].lstrip("*") if "(" in lines[head] else "?"
            j = i + 2
            while j < len(lines) and lines[j] != "}":
                j += 1
            yield name, head + 1, j - i - 2
            i = j
        i += 1


def check_file(path, text):
    """Returns (file_ok, file_lines, [(name, line, length)] of functions over the limit, longest function)."""
    lines = text.split("\n")
    n = len(lines) - (1 if text.endswith("\n") else 0)
    funcs = list(functions(lines))
    longest = max(funcs, key=lambda f: f[2], default=("-", 0, 0))
    return n <= MAX_FILE, n, [f for f in funcs if f[2] > MAX_FUNC], longest


def self_test():
    short = "static int f(int a)\n{\n    return a;\n}\n"
    long_fn = "void g(void)\n{\n" + "    x();\n" * (MAX_FUNC + 1) + "}\n"
    multi = "int h(int a,\n      int b)\n{\n" + "    y();\n" * 3 + "}\n"
    results = []
    ok, n, over, longest = check_file("short.c", short)
    results.append((ok and not over and longest == ("f", 1, 1), "a one-line function measures 1 line"))
    ok, n, over, longest = check_file("long.c", long_fn)
    results.append((over and over[0][0] == "g" and over[0][2] == MAX_FUNC + 1, "a function of 101 lines is refused"))
    ok, n, over, longest = check_file("multi.c", multi)
    results.append((longest == ("h", 1, 3), "a signature over two lines is named and measured"))
    ok, n, over, longest = check_file("big.c", "int a;\n" * (MAX_FILE + 1))
    results.append((not ok and n == MAX_FILE + 1, "a file of 701 lines is refused"))
    return results


def check_tree(src):
    results, worst_file, worst_func = [], ("-", 0), ("-", "-", 0, 0)
    for d in DIRS:
        for name in sorted(os.listdir(os.path.join(src, d))):
            if not name.endswith((".c", ".h")):
                continue
            rel = f"{d}/{name}"
            with open(os.path.join(src, rel), errors="replace") as f:
                ok, n, over, longest = check_file(rel, f.read())
            if not ok:
                results.append((False, f"{rel}: {n} lines, over {MAX_FILE}"))
            for fn, line, length in over:
                results.append((False, f"{rel}:{line}: {fn}() is {length} lines, over {MAX_FUNC}"))
            if n > worst_file[1]:
                worst_file = (rel, n)
            if longest[2] > worst_func[3]:
                worst_func = (rel, longest[0], longest[1], longest[2])
    if all(ok for ok, _ in results):
        results = [(True, f"every file <= {MAX_FILE} lines (longest: {worst_file[0]}, {worst_file[1]})"),
                   (True, f"every function <= {MAX_FUNC} lines (longest: {worst_func[0]}:{worst_func[2]} "
                          f"{worst_func[1]}(), {worst_func[3]})")]
    return results


def main():
    results = self_test() if sys.argv[1:] == ["--self-test"] else check_tree(sys.argv[1])
    print(f"1..{len(results)}")
    for i, (ok, text) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {text}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
