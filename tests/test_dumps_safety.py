"""Safety: hostile inputs must never crash the interpreter.

* Deep nesting raises ``RecursionError`` at any recursion limit and on small thread stacks.
* ``default=`` callbacks (and ``__iter__`` / ``items()`` overrides) that mutate, clear or
  free the container being written are survived, with json's result for the same scenario.
* No reference is leaked, and no string grows a hidden UTF-8 cache.

Crash-prone tests run in a subprocess, so that a segfault fails one test instead of pytest.
"""

import ast
import gc
import json
import subprocess
import sys
import textwrap
import tracemalloc

import pytest

import rjson
from conftest import PY, assert_clean_exit, run_python

# ----- deep nesting -----

DEEP_BUILDERS = r"""
import sys, threading
import rjson

class Wrap:
    def __init__(self, depth):
        self.depth = depth

def unwrap(o):
    return [Wrap(o.depth - 1)] if o.depth else []

def deep_list(n):
    x = []
    for _ in range(n):
        x = [x]
    return x

def deep_dict(n):
    x = {}
    for _ in range(n):
        x = {"k": x}
    return x

def deep_tuple(n):
    x = ()
    for _ in range(n):
        x = (x,)
    return x

class L(list):
    pass

def deep_subclass(n):
    x = L()
    for _ in range(n):
        x = L([x])
    return x

def deep_mixed(n):
    x = None
    for i in range(n):
        x = [x] if i % 2 else {"k": x}
    return x

CASES = [
    ("list", lambda: deep_list(100_000), {}),
    ("dict", lambda: deep_dict(100_000), {}),
    ("tuple", lambda: deep_tuple(100_000), {}),
    ("subclass", lambda: deep_subclass(100_000), {}),
    ("mixed", lambda: deep_mixed(100_000), {}),
    ("list-indent", lambda: deep_list(100_000), {"indent": 1}),
    ("dict-sorted", lambda: deep_dict(100_000), {"sort_keys": True}),
    ("dict-nocheck", lambda: deep_dict(100_000), {"check_circular": False}),
    ("default-chain", lambda: Wrap(100_000), {"default": unwrap}),
]

def check_all(tag, skip=()):
    for name, make, kw in CASES:
        if name in skip:
            continue
        obj = make()
        for fn in (rjson.dumps, rjson.dumps_bytes):
            try:
                fn(obj, **kw)
            except RecursionError:
                pass
            else:
                raise AssertionError("%s: %s %s did not raise RecursionError" % (tag, fn.__name__, name))
        # and the interpreter still works normally afterwards
        assert rjson.dumps(deep_list(50)) == "[" * 51 + "]" * 51
    print("ok", tag)
"""


def test_deep_nesting_at_default_recursion_limit():
    proc = run_python(DEEP_BUILDERS + "\ncheck_all('default limit')\n")
    assert_clean_exit(proc)
    assert "ok default limit" in proc.stdout


def test_deep_nesting_with_huge_recursion_limit():
    """With the recursion limit out of the way, the native stack guard must still hold
    (json itself segfaults here)."""
    code = DEEP_BUILDERS + textwrap.dedent(
        """
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(1_000_000)
        try:
            # (not "list-indent": tens of thousands of levels of indentation fit on the
            # main thread's stack, and their indentation alone is gigabytes)
            check_all('huge limit', skip=("list-indent",))
            obj = deep_list(1_000_000)
            for fn in (rjson.dumps, rjson.dumps_bytes):
                try:
                    fn(obj)
                except RecursionError:
                    pass
                else:
                    raise AssertionError("1e6 levels did not raise")
        finally:
            sys.setrecursionlimit(old)
        assert sys.getrecursionlimit() == old
        """
    )
    proc = run_python(code)
    assert_clean_exit(proc)
    assert "ok huge limit" in proc.stdout


@pytest.mark.parametrize("limit", [None, 1_000_000], ids=["default-limit", "huge-limit"])
def test_deep_nesting_in_thread_with_small_stack(limit):
    code = DEEP_BUILDERS + textwrap.dedent(
        """
        LIMIT = %r
        results = {}
        # built (and later freed) on the main thread: deallocating 100,000 nested containers
        # on a 512 KiB stack crashes CPython 3.13 itself
        objects = [(name, make(), kw) for name, make, kw in CASES]
        shallow = deep_list(200)

        def work():
            try:
                for name, obj, kw in objects:
                    try:
                        rjson.dumps(obj, **kw)
                        results[name] = "no error"
                    except RecursionError:
                        results[name] = "RecursionError"
                    except BaseException as exc:
                        results[name] = "other: %%r" %% (exc,)
                # shallow work still fits in the small stack
                results["shallow"] = rjson.dumps(shallow)
            except BaseException as exc:
                results["thread"] = repr(exc)

        old_limit = sys.getrecursionlimit()
        old_size = threading.stack_size(512 * 1024)
        if LIMIT:
            sys.setrecursionlimit(LIMIT)
        try:
            t = threading.Thread(target=work)
            t.start()
            t.join()
        finally:
            threading.stack_size(old_size)
            sys.setrecursionlimit(old_limit)
        for name, make, kw in CASES:
            assert results.get(name) == "RecursionError", (name, results.get(name), results.get("thread"))
        assert results["shallow"] == "[" * 201 + "]" * 201
        print("ok thread")
        """
        % (limit,)
    )
    proc = run_python(code)
    assert_clean_exit(proc)
    assert "ok thread" in proc.stdout


def test_reentrant_dumps_from_default_deeply():
    """``default`` calling ``rjson.dumps`` again, recursively, on a small thread stack with
    no recursion limit to speak of: RecursionError, never a crash."""
    code = r"""
    import sys, threading, rjson

    class Chain:
        def __init__(self, n):
            self.n = n

    def default(o):
        # re-enter the encoder from inside the encoder
        return rjson.dumps(Chain(o.n - 1), default=default) if o.n else "end"

    out = {}

    def work():
        try:
            rjson.dumps([Chain(1_000_000)], default=default)
            out["r"] = "no error"
        except RecursionError:
            out["r"] = "RecursionError"
        out["small"] = rjson.dumps([Chain(3)], default=default)

    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size(1024 * 1024)
    sys.setrecursionlimit(1_000_000)
    try:
        t = threading.Thread(target=work)
        t.start()
        t.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    assert out.get("r") == "RecursionError", out
    assert out["small"] == '["\\"\\\\\\"\\\\\\\\\\\\\\"end\\\\\\\\\\\\\\"\\\\\\"\\""]', out["small"]
    print("ok reentrant")
    """
    proc = run_python(code)
    assert_clean_exit(proc)
    assert "ok reentrant" in proc.stdout


def test_recursion_error_leaves_recursion_depth_balanced():
    """After RecursionError (and other errors deep down), the interpreter's recursion depth
    is back where it was: a recursion just under the limit still works."""
    code = r"""
    import sys, rjson

    def deep_list(n):
        x = []
        for _ in range(n):
            x = [x]
        return x

    def probe(n):
        return 0 if n == 0 else 1 + probe(n - 1)

    limit = sys.getrecursionlimit()
    for _ in range(50):
        try:
            rjson.dumps(deep_list(100_000))
        except RecursionError:
            pass
        try:
            rjson.dumps([deep_list(300), object()])
        except TypeError:
            pass
        rjson.dumps(deep_list(limit // 2))
    assert probe(limit - 100) == limit - 100
    print("ok balanced")
    """
    proc = run_python(code)
    assert_clean_exit(proc)
    assert "ok balanced" in proc.stdout


# ----- containers mutated while they are written -----

#: Each scenario defines ``build()`` returning ``(obj, kw)`` with fresh objects; the
#: callbacks in it mutate what is being written.
SCENARIOS = {
    "list-append": """
        def build():
            lst = [1, Marker(), 2]
            def default(o):
                lst.extend([10, "eleven", [12]])
                return "m"
            return lst, {"default": default}
    """,
    "list-pop-later": """
        def build():
            lst = [Marker(), 1, [2], {"three": 3}]
            def default(o):
                lst.pop()
                lst.pop()
                return "m"
            return lst, {"default": default}
    """,
    "list-pop-current": """
        def build():
            lst = ["a", Marker(), "b", "c", "d"]
            def default(o):
                lst.pop(1)
                return {"popped": True}
            return lst, {"default": default}
    """,
    "list-clear": """
        def build():
            lst = [Marker(), "x" * 100, [1, 2, 3], {"k": "v"}]
            def default(o):
                lst.clear()
                return "m"
            return lst, {"default": default}
    """,
    "list-replace-items": """
        def build():
            lst = [Marker(), "old" * 50, ["old"]]
            def default(o):
                lst[0] = None
                lst[1] = "new"
                lst[2] = {"new": [1, 2]}
                return "m"
            return lst, {"default": default}
    """,
    "list-free-only-reference": """
        def build():
            holder = {"k": [Marker(), "after" * 20, [1, [2]]]}
            def default(o):
                del holder["k"]
                return "m"
            return holder, {"default": default}
    """,
    "list-free-enclosing": """
        def build():
            outer = [[Marker(), [1, 2, 3], "tail" * 30], "z"]
            def default(o):
                outer.clear()
                return ["m"]
            return outer, {"default": default}
    """,
    "tuple-free-list-inside": """
        def build():
            inner = [Marker(), "x" * 40]
            t = ("a", inner, "b")
            def default(o):
                inner.clear()
                return "m"
            return t, {"default": default}
    """,
    "dict-add-key": """
        def build():
            d = {"a": Marker(), "b": 1}
            def default(o):
                d["new"] = 2
                return "m"
            return d, {"default": default}
    """,
    "dict-add-many-keys": """
        def build():
            d = {"a": Marker(), "b": 1, "c": 2}
            def default(o):
                for i in range(100):
                    d["k%d" % i] = i
                return "m"
            return d, {"default": default}
    """,
    "dict-pop-key": """
        def build():
            d = {"a": Marker(), "b": [1], "c": "x" * 50}
            def default(o):
                d.pop("b")
                return "m"
            return d, {"default": default}
    """,
    "dict-pop-current": """
        def build():
            d = {"key" * 10: Marker(), "b": [1], "c": 3}
            def default(o):
                del d["key" * 10]
                return "m"
            return d, {"default": default}
    """,
    "dict-clear": """
        def build():
            d = {"a": Marker(), "b": [1, 2], "c": {"x": "y" * 30}}
            def default(o):
                d.clear()
                return "m"
            return d, {"default": default}
    """,
    "dict-replace-values": """
        def build():
            d = {"a": Marker(), "b": ["old" * 30], "c": "old" * 30}
            def default(o):
                d["a"] = None
                d["b"] = "new"
                d["c"] = {"new": 1}
                return "m"
            return d, {"default": default}
    """,
    "dict-free-only-reference": """
        def build():
            holder = [{"a": Marker(), "b": [1, 2], "c": "x" * 50}]
            def default(o):
                holder.clear()
                return "m"
            return holder, {"default": default}
    """,
    "dict-free-enclosing": """
        def build():
            outer = {"d": {"a": Marker(), "b": "x" * 50, "c": [1]}, "e": 2}
            def default(o):
                outer.clear()
                return "m"
            return outer, {"default": default}
    """,
    "dict-in-list-cleared": """
        def build():
            d = {"a": 1, "b": Marker(), "c": 3}
            lst = [d, d, "end"]
            def default(o):
                d.clear()
                lst.append("more")
                return "m"
            return lst, {"default": default}
    """,
    "list-subclass-iter-clears-parent-dict": """
        def build():
            d = {}
            class L(list):
                def __iter__(self):
                    d.clear()
                    return super().__iter__()
            d["a"] = L([1, "x" * 40])
            d["b"] = "y" * 40
            d["c"] = [3]
            return d, {}
    """,
    "list-subclass-iter-grows-parent-dict": """
        def build():
            d = {}
            class L(list):
                def __iter__(self):
                    d["zz"] = [5]
                    return super().__iter__()
            d["a"] = L([1])
            d["b"] = 2
            return d, {}
    """,
    "list-subclass-iter-clears-parent-list": """
        def build():
            outer = []
            class L(list):
                def __iter__(self):
                    outer.clear()
                    return super().__iter__()
            outer.extend([L([1, 2]), "x" * 40, [3]])
            return outer, {}
    """,
    "dict-subclass-items-clears-self": """
        def build():
            class D(dict):
                def items(self):
                    pairs = list(super().items())
                    self.clear()
                    return pairs
            return {"outer": D(a=1, b=[2]), "z": D(c="x" * 30)}, {}
    """,
    "sort-key-compare-clears-dict": """
        def build():
            d = {}
            class K(str):
                def __lt__(self, other):
                    d.clear()
                    return str.__lt__(self, other)
                __hash__ = str.__hash__
            d[K("b")] = [1]
            d[K("a")] = "x" * 30
            d[K("c")] = 3
            return d, {"sort_keys": True}
    """,
}

SCENARIO_RUNNER = r"""
import json, sys
import rjson

class Marker:
    pass

%s

def encode(lib, api, layout):
    obj, kw = build()
    kw = dict(kw, **layout)
    try:
        if api == "dumps":
            return ("ok", lib.dumps(obj, **kw))
        if lib is rjson:
            return ("ok", rjson.dumps_bytes(obj, **kw))
        return ("ok", json.dumps(obj, **{"ensure_ascii": False, "separators": (",", ":"), **kw}).encode("utf-8"))
    except Exception as exc:
        return ("raise", type(exc).__name__, str(exc))

lib = rjson if sys.argv[1] == "rjson" else json
for index, (api, layout) in enumerate(VARIANTS):
    if index < int(sys.argv[2]):
        continue
    print(repr((index, encode(lib, api, layout))), flush=True)
    # run it again: a corrupted heap tends to show on the next call
    encode(lib, api, layout)
    print("done", index, flush=True)
"""

VARIANTS = [
    ("dumps", {}),
    ("dumps", {"indent": 2}),
    ("dumps", {"sort_keys": True}),
    ("dumps_bytes", {}),
    ("dumps_bytes", {"indent": 1}),
]


def _run_scenario(lib, source, start=0):
    """Run the variants from ``start`` on with ``lib``; returns the results printed, the
    variants that completed (each is run twice), the return code ("timeout" for a hang)
    and stderr."""
    code = "VARIANTS = %r\n" % (VARIANTS,) + SCENARIO_RUNNER % textwrap.dedent(source)
    try:
        proc = run_python(code, args=[lib, str(start)], timeout=30)
        stdout, returncode, stderr = proc.stdout, proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        stdout = out.decode() if isinstance(out, bytes) else out
        returncode, stderr = "timeout", ""
    results = {}
    for line in stdout.splitlines():
        if line.startswith("("):
            index, result = ast.literal_eval(line)
            results[index] = result
    done = {int(line.split()[1]) for line in stdout.splitlines() if line.startswith("done ")}
    return results, done, returncode, stderr


def _json_results(source):
    """json's result for every variant it survives: on some Python versions json itself
    crashes or hangs on some of these scenarios; such a variant is skipped (rjson must still
    survive it) and the following ones are run in a new process."""
    results = {}
    start = 0
    while start < len(VARIANTS):
        got, finished, returncode, _ = _run_scenario("json", source, start)
        results.update({i: r for i, r in got.items() if i in finished})
        if returncode == 0:
            break
        unfinished = [i for i in range(start, len(VARIANTS)) if i not in finished]
        start = unfinished[0] + 1
    return results


#: Known divergences: scenario -> [(variant indexes, condition, reason)]. Only the output
#: of those variants may differ; each must still run without crashing, and a divergence
#: that has gone away fails the test (so that this list stays true).
SNAPSHOT = "json's C encoder before 3.12 walks a snapshot of an exact dict's items; rjson walks "
PY_INDENT = ("json's pure-Python encoder (indent, before 3.13) iterates dict.items() and raises "
             "RuntimeError 'dictionary changed size during iteration'; rjson walks ")
KNOWN_DIVERGENCES = {
    "list-subclass-iter-clears-parent-dict": [
        ((0, 3), PY < (3, 12), SNAPSHOT + "the dict live (no default=), so a list subclass's "
         "__iter__ that clears the parent dict drops its remaining members"),
        ((1, 4), PY < (3, 13), PY_INDENT + "the dict live (no default=) and writes a partial object"),
    ],
    "list-subclass-iter-grows-parent-dict": [
        ((0, 3), PY < (3, 12), SNAPSHOT + "the dict live (no default=), so a key added by a list "
         "subclass's __iter__ is written"),
        ((1, 4), PY < (3, 13), PY_INDENT + "the dict live (no default=) and writes the added key"),
    ],
}


def _known_divergences(name):
    """Variant index -> why rjson's output differs from json's on this Python."""
    return {index: reason
            for indexes, condition, reason in KNOWN_DIVERGENCES.get(name, []) if condition
            for index in indexes}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_mutation_during_encoding(name):
    source = SCENARIOS[name]
    results, done, returncode, stderr = _run_scenario("rjson", source)
    assert returncode == 0, "rjson crashed (return code %s) in %s\n%s" % (returncode, name, stderr[-3000:])
    assert done == set(range(len(VARIANTS)))
    expected = _json_results(source)
    known = _known_divergences(name)
    mismatches = []
    vanished = []
    for index, (api, layout) in enumerate(VARIANTS):
        if index not in expected:
            continue
        same = results[index] == expected[index]
        if index in known and same:
            vanished.append("%s %r: no longer differs (%s)" % (api, layout, known[index]))
        elif index not in known and not same:
            mismatches.append("%s %r:\n    rjson: %r\n    json:  %r" % (api, layout, results[index], expected[index]))
    assert not mismatches, "\n".join(mismatches)
    assert not vanished, "\n".join(vanished)


# ----- references and memory -----


class Opaque:
    pass


def _refcounts(objs):
    return [sys.getrefcount(o) for o in objs]


def test_no_reference_leaks():
    key = "key\xe9" * 3
    big = 2**200
    value = [1.5, "s\u4e2d", big]
    inner = {key: value, 1: None}
    obj = [inner, (value,), {big: inner}]
    marker = Opaque()
    watched = [key, big, value, inner, obj, marker]

    def default(o):
        return [o.__class__.__name__]

    calls = [
        lambda: rjson.dumps(obj),
        lambda: rjson.dumps(obj, indent=2, sort_keys=False),
        lambda: rjson.dumps_bytes(obj),
        lambda: rjson.dumps([obj, marker], default=default),
        lambda: rjson.dumps([obj, marker]),  # TypeError
        lambda: rjson.dumps({key: float("nan"), "x": obj}, allow_nan=False),  # ValueError
        lambda: rjson.dumps_bytes([obj, "\ud800"]),  # UnicodeEncodeError
        lambda: rjson.dumps({big: 1, "a": 2}, sort_keys=True),  # TypeError from sorting
        lambda: rjson.dumps(obj, cls=json.JSONEncoder, foo=1),  # delegated TypeError
    ]
    for call in calls:
        try:
            call()
        except (TypeError, ValueError):
            pass
    gc.collect()
    before = _refcounts(watched)
    for _ in range(50):
        for call in calls:
            try:
                call()
            except (TypeError, ValueError):
                pass
    gc.collect()
    assert _refcounts(watched) == before


def test_no_memory_growth():
    """Repeated calls, successful and failing, allocate nothing that outlives them."""
    obj = {"a": [2**100, -(2**70), 1.5, "\xe9" * 40, "\U0001f600"], "b": {3: ["x"] * 20}}
    marker = Opaque()

    def run():
        rjson.dumps(obj)
        rjson.dumps(obj, indent="\t", sort_keys=True, ensure_ascii=False)
        rjson.dumps_bytes(obj)
        rjson.dumps([obj, marker], default=lambda o: {"o": [1]})
        for bad in ([obj, marker], {"k": float("inf")}, [obj, "\udfff"]):
            try:
                rjson.dumps_bytes(bad, allow_nan=False)
            except (TypeError, ValueError):
                pass
        try:
            rjson.dumps(obj, check_circular=False, indent=1, default=lambda o: o)
        except Exception:
            pass

    for _ in range(200):
        run()
    gc.collect()
    tracemalloc.start()
    try:
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(2000):
            run()
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a leak of even one small object per call would be ~100 KB here
    assert second - first < 32 * 1024, "traced memory grew by %d bytes" % (second - first)


def _make_strings():
    # built at run time so that no test sees a string another call has touched
    return [
        "".join(["caf\xe9 ", str(len("x"))]) * 5,
        "".join(["\u4e2d\u6587", "!"]) * 9,
        "".join(["\U0001f600", "?"]) * 7,
        "".join(["\u4e2d", "\ud800"]) * 3,
    ]


@pytest.mark.parametrize("mode", ["dumps", "dumps-utf8", "dumps_bytes", "key", "key-bytes"])
def test_no_hidden_utf8_cache_on_strings(mode):
    """Writing a non-ASCII str must not attach a UTF-8 copy to it (``sys.getsizeof``
    would grow)."""
    for s in _make_strings():
        size = sys.getsizeof(s)
        try:
            if mode == "dumps":
                rjson.dumps([s])
            elif mode == "dumps-utf8":
                rjson.dumps([s], ensure_ascii=False)
            elif mode == "dumps_bytes":
                rjson.dumps_bytes([s])
            elif mode == "key":
                rjson.dumps({s: 1}, ensure_ascii=False, indent=2)
            else:
                rjson.dumps_bytes({s: 1})
        except UnicodeEncodeError:
            assert "\ud800" in s
        assert sys.getsizeof(s) == size, "%s grew the string %r" % (mode, s[:10])


@pytest.mark.parametrize("which", ["separators", "indent"])
def test_no_hidden_utf8_cache_on_layout_strings(which):
    text = "".join(["\u3001", " "])
    size = sys.getsizeof(text)
    if which == "separators":
        rjson.dumps([1, 2], separators=(text, ":"))
    else:
        rjson.dumps([1, 2], indent=text)
    assert sys.getsizeof(text) == size
