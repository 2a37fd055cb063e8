#!/usr/bin/env python3
"""Lists every bad input the unit tests feed octet: one line per error check, with its test.

    tests/fuzz/list_bad_inputs.py [--markdown]

Scans tests/**/*.cc for the checks that expect a refusal (EXPECT_OCTET_ERROR, EXPECT_THROW,
ASSERT_THROW, EXPECT_ANY_THROW, and the reliability suite's compile_error / load_error
helpers) and prints, for each, "Suite.Test: <what it feeds> -> <expected message>".
A check inside a loop (every truncation of a model, 40 random byte strings) is one line.
tests/fuzz/README.md ("Bad inputs tried by the unit tests") is this script's output.
"""
import argparse
import os
import re
import sys

CHECKS = ("EXPECT_OCTET_ERROR", "EXPECT_THROW", "ASSERT_THROW", "EXPECT_ANY_THROW", "compile_error", "load_error")
CHECK_RE = re.compile(r"\b(" + "|".join(CHECKS) + r")\s*\(")
TEST_RE = re.compile(r"^\s*TEST(?:_F|_P)?\(\s*(\w+)\s*,\s*(\w+)\s*\)")


def strip_comments(line):
    # Good enough for test code: no "//" inside the string literals that matter here.
    out, in_str, i = [], False, 0
    while i < len(line):
        c = line[i]
        if c == '"' and (i == 0 or line[i - 1] != "\\"):
            in_str = not in_str
        if not in_str and line.startswith("//", i):
            break
        out.append(c)
        i += 1
    return "".join(out)


def call_args(text, start):
    """Returns the argument list (split at top-level commas) of the call whose '(' is at start."""
    depth, args, cur, in_str, i = 0, [], [], False, start
    while i < len(text):
        c = text[i]
        if in_str:
            cur.append(c)
            if c == "\\":
                cur.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            cur.append(c)
        elif c in "([{":
            depth += 1
            if depth > 1:
                cur.append(c)
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args
            cur.append(c)
        elif c == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    return None


def squash(s, limit=150):
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= limit else s[: limit - 3] + "..."


# A call whose arguments are bare names (compile(m, o), compile_error(b)) says nothing by
# itself: the statements just before it (what was set on m, o or b) do.
OPAQUE_RE = re.compile(r"^[\w:.]+\(\s*(?:[\w.]+\s*,?\s*)*\)$")


def describe(kind, args, setup):
    if kind in ("compile_error", "load_error"):
        call = kind + "(" + ", ".join(squash(a, 80) for a in args) + ")"
    else:
        call = squash(args[0])
    if OPAQUE_RE.match(call.strip()) and setup:
        call = "[" + squash(setup, 110) + "] " + call
    if kind == "EXPECT_OCTET_ERROR":
        return call + (" -> " + squash(args[1], 90) if len(args) > 1 else "")
    if kind in ("EXPECT_THROW", "ASSERT_THROW"):
        return call + (" -> throws " + args[1] if len(args) > 1 else "")
    if kind == "EXPECT_ANY_THROW":
        return call + " -> throws"
    return call


def setup_before(text, start, end):
    """The last two statements of text[start:end] (what the test changed before a check)."""
    chunk = text[start:end]
    statements = [st.strip() for st in re.split(r";\s*\n|\{\s*\n", chunk) if st.strip()]
    statements = [st for st in statements if not st.startswith(("EXPECT_", "ASSERT_", "}"))]
    return "; ".join(statements[-2:])


def scan(path):
    with open(path, encoding="utf-8") as f:
        lines = [strip_comments(l) for l in f]
    text = "\n".join(lines)
    offsets, pos = [], 0
    for l in lines:
        offsets.append(pos)
        pos += len(l) + 1
    tests = []  # (offset, name)
    for n, l in enumerate(lines):
        m = TEST_RE.match(l)
        if m:
            tests.append((offsets[n], m.group(1) + "." + m.group(2)))
    found, last_test, last_end = [], None, 0
    for m in CHECK_RE.finditer(text):
        before = text[: m.start()].rstrip()
        if before.endswith("define") or re.search(r"(inline|std::string|auto)\s+$", text[: m.start()]):
            continue  # the helper's own definition
        owner = [(off, name) for off, name in tests if off <= m.start()]
        if not owner:
            continue
        args = call_args(text, m.end() - 1)
        if args is None:
            continue
        test_start, test = owner[-1]
        # The setup runs from the previous check of the same test (or the test's first line).
        setup_start = max(test_start, last_end) if last_test == test else test_start
        setup_start = text.find("\n", setup_start) + 1
        line_start = text.rfind("\n", 0, m.start()) + 1
        found.append((test, describe(m.group(1), args, setup_before(text, setup_start, line_start))))
        last_test, last_end = test, m.end()
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print as a Markdown list with a count")
    opts = ap.parse_args()
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = []
    for root, _, names in os.walk(tests_dir):
        files += [os.path.join(root, n) for n in names if n.endswith(".cc")]
    rows = []
    for path in sorted(files):
        rel = os.path.relpath(path, tests_dir)
        rows += [(rel, test, what) for test, what in scan(path)]
    if opts.markdown:
        print(f"{len(rows)} bad inputs in {len({r[1] for r in rows})} tests "
              f"({len({r[0] for r in rows})} files), generated by `tests/fuzz/list_bad_inputs.py --markdown`. "
              "A check inside a loop is one line (BadInput.EveryTruncationIsAnError tries every prefix of "
              "a model, BadInput.RandomBytes 40 random byte strings, FuzzRegressions.* every committed "
              "regression input); `[...]` is what the test set just before the call.\n")
        current = None
        for rel, test, what in rows:
            if rel != current:
                print(f"\n**tests/{rel}**\n")
                current = rel
            print(f"- `{test}`: `{what.replace('`', chr(39))}`")
    else:
        for rel, test, what in rows:
            print(f"tests/{rel}: {test}: {what}")
        print(f"{len(rows)} bad inputs", file=sys.stderr)


if __name__ == "__main__":
    main()
