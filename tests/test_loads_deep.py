"""Deep nesting: ``RecursionError`` as ``json`` raises it, never a crash, whatever the
recursion limit and however small the thread's stack. Each case runs in a fresh
interpreter so that a crash fails the test instead of killing pytest."""

import json
import sys

import pytest

import rjson
from conftest import assert_clean_exit, run_python

DEPTH = 100_000

SCRIPT = """
import sys, threading, rjson
DEPTH = {depth}
doc = {doc!r}
doc = eval(doc)
{setup}
def attempt(results):
    for form in (doc, doc.encode(), bytearray(doc.encode()), memoryview(doc.encode())):
        for kw in ({{}}, {{"object_hook": dict}}, {{"object_pairs_hook": list}}):
            try:
                rjson.loads(form, **kw)
                results.append("parsed")
            except RecursionError as exc:
                results.append("RecursionError")
results = []
{run}
assert results and set(results) == {{"RecursionError"}}, results
print("ok", len(results))
"""

RUNS = {
    "main thread": ("", "attempt(results)"),
    "raised limit": ("sys.setrecursionlimit(1_000_000)", "attempt(results)"),
    "small thread stack": (
        "sys.setrecursionlimit(1_000_000)\nthreading.stack_size(512 * 1024)",
        "t = threading.Thread(target=attempt, args=(results,)); t.start(); t.join()",
    ),
    "default thread stack": (
        "sys.setrecursionlimit(1_000_000)",
        "t = threading.Thread(target=attempt, args=(results,)); t.start(); t.join()",
    ),
}

SHAPE_EXPRS = {
    "arrays": "'[' * DEPTH + ']' * DEPTH",
    "objects": "'{\"a\":' * DEPTH + '1' + '}' * DEPTH",
    "mixed": "'[{\"a\":' * (DEPTH // 2) + '[]' + '}]' * (DEPTH // 2)",
    "unclosed": "'[' * DEPTH",
}


@pytest.mark.parametrize("run", list(RUNS))
@pytest.mark.parametrize("shape", list(SHAPE_EXPRS))
def test_deep_nesting_raises_recursion_error(shape, run):
    setup, body = RUNS[run]
    proc = run_python(SCRIPT.format(depth=DEPTH, doc=SHAPE_EXPRS[shape], setup=setup, run=body), timeout=300)
    assert_clean_exit(proc)
    assert proc.stdout.startswith("ok")


def test_nesting_within_the_limit_parses(restore_recursion_limit):
    for depth in (10, 500, 900):
        doc = "[" * depth + "]" * depth
        assert rjson.loads(doc) == json.loads(doc)
        doc = '{"a":' * depth + "null" + "}" * depth
        assert rjson.loads(doc.encode()) == json.loads(doc)


def test_the_limit_is_json_s(restore_recursion_limit):
    """The deepest document each accepts: the same up to one level (CPython counts the
    call itself differently once the call site is specialised)."""

    def deepest(loads):
        lo, hi = 1, 20_000
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                loads("[" * mid + "]" * mid)
                lo = mid
            except RecursionError:
                hi = mid - 1
        return lo

    for limit in (1000, 3000):
        sys.setrecursionlimit(limit)
        assert abs(deepest(rjson.loads) - deepest(json.loads)) <= 1


def test_recursion_error_message():
    with pytest.raises(RecursionError, match="while decoding a JSON array from a unicode string"):
        rjson.loads("[" * DEPTH)
    with pytest.raises(RecursionError, match="while decoding a JSON object from a unicode string"):
        rjson.loads('{"a":' * DEPTH)
