"""Threads and hostile documents.

* Many threads run ``dumps``/``dumps_bytes``/``loads`` on shared data while another thread
  mutates it (the GIL changes hands inside a call whenever Python code runs: ``default=``,
  hooks): no crash, every result is valid JSON of the data, every error one of ``json``'s.
* Deep documents on threads with 256 KiB stacks, several at once, with Python-level hooks
  and ``default=`` adding frames in between, at raised recursion limits: RecursionError.
  (tests/test_loads_deep.py and tests/test_dumps_safety.py cover one thread at 512 KiB
  without Python frames in between.)
* A bytearray resized by another thread while ``loads`` reads it: the result is the parse
  of one of the states it went through.
* Huge numbers (the int digit limit, changed at run time, in both directions), huge and
  escape-dense strings, invalid UTF-8 at every offset near the vector block boundaries.

Concurrency tests run in a fresh interpreter, so that a crash fails one test.
"""

import json
import sys

import pytest

import rjson
from conftest import assert_clean_exit, run_python
from test_loads_support import assert_same_value, error_signature


def _same_outcome(fn_a, fn_b):
    def run(fn):
        try:
            return ("ok", fn())
        except Exception as exc:  # noqa: BLE001
            return ("error", exc)

    a, b = run(fn_a), run(fn_b)
    assert a[0] == b[0], (a, b)
    if a[0] == "ok":
        assert_same_value(a[1], b[1])
    else:
        assert error_signature(a[1]) == error_signature(b[1])


# ----- shared data mutated by another thread -----

MUTATION_RACE = r"""
import json, random, sys, threading, time
import rjson

DURATION = %(duration)r
stop = threading.Event()
shared = {"list": [1, "two", [3.5]], "dict": {"a": 1}, "text": "caf\xe9"}
lock_free_errors = (TypeError, ValueError, RuntimeError, KeyError, IndexError, RecursionError)

class Slow:
    pass

def default(o):
    time.sleep(0)  # hand the GIL over in the middle of the call
    return ["slow", len(shared["list"]) %% 7]

def hook(d):
    time.sleep(0)
    return d

def mutator(seed):
    rng = random.Random(seed)
    while not stop.is_set():
        op = rng.randrange(8)
        lst, d = shared["list"], shared["dict"]
        if op == 0:
            lst.append(rng.choice([Slow(), "s" * rng.randrange(100), {"k": [Slow()]}, 2**70]))
        elif op == 1 and lst:
            lst.pop(rng.randrange(len(lst)))
        elif op == 2:
            d["k%%d" %% rng.randrange(500)] = rng.choice([Slow(), [1, Slow()], "v\u4e2d" * 10, None])
        elif op == 3 and d:
            d.pop(next(iter(d)), None)
        elif op == 4:
            lst.clear()
        elif op == 5:
            d.clear()
        elif op == 6:
            shared["list"] = [Slow(), list(range(50))]
        else:
            shared["dict"] = {"fresh": Slow(), "x": "y" * 300}
        if len(lst) > 400:
            lst[:] = lst[:10]
        if len(d) > 400:
            d.clear()

counts = {"ok": 0, "error": 0}
problems = []

def worker(seed):
    rng = random.Random(seed)
    while not stop.is_set():
        kw = rng.choice([{}, {"indent": 1}, {"sort_keys": True}, {"check_circular": False}])
        try:
            if rng.random() < 0.5:
                text = rjson.dumps(shared, default=default, **kw)
                json.loads(text)
            else:
                data = rjson.dumps_bytes(shared, default=default, **kw)
                text = data.decode("utf-8")
                back = rjson.loads(data, object_hook=hook)
                if back != json.loads(text):
                    problems.append("loads disagrees with json on %%r" %% text[:200])
            counts["ok"] += 1
        except lock_free_errors:
            counts["error"] += 1
        except Exception as exc:
            problems.append(repr(exc))

threads = [threading.Thread(target=mutator, args=(1,))] + [threading.Thread(target=worker, args=(i,)) for i in range(6)]
sys.setswitchinterval(1e-5)
for t in threads:
    t.start()
time.sleep(DURATION)
stop.set()
for t in threads:
    t.join()
assert not problems, problems[:5]
assert counts["ok"] > 100, counts
print("ok", counts)
"""


def test_threads_on_shared_data_mutated_by_another_thread():
    proc = run_python(MUTATION_RACE % {"duration": 4.0}, timeout=120)
    assert_clean_exit(proc)
    assert proc.stdout.startswith("ok"), proc.stdout


BYTEARRAY_RACE = r"""
import json, threading, time
import rjson

SMALL = b'{"state": "small", "v": [1, 2, 3]}'
LARGE = b'{"state": "large", "v": [' + b", ".join(b"%d" % i for i in range(20000)) + b'], "pad": "' + b"x" * 100000 + b'"}'
allowed = [json.loads(SMALL), json.loads(LARGE)]
ba = bytearray(SMALL)
stop = threading.Event()

def resizer():
    i = 0
    while not stop.is_set():
        try:
            ba[:] = LARGE if i % 2 else SMALL
        except BufferError:
            pass
        i += 1

def hook(d):
    time.sleep(0)
    return d

threads = [threading.Thread(target=resizer) for _ in range(2)]
for t in threads:
    t.start()
seen = set()
deadline = time.monotonic() + 3
n = 0
while time.monotonic() < deadline:
    for form in (ba, memoryview(ba)):
        try:
            result = rjson.loads(form, object_hook=hook)
        except BufferError:
            continue
        assert result in allowed, str(result)[:200]
        seen.add(result["state"])
        n += 1
    # the memoryview above is released once unreferenced; make sure of it
stop.set()
for t in threads:
    t.join()
print("ok", n, sorted(seen))
"""


def test_bytearray_resized_by_another_thread_during_loads():
    proc = run_python(BYTEARRAY_RACE, timeout=120)
    assert_clean_exit(proc)
    assert proc.stdout.startswith("ok"), proc.stdout


# ----- deep documents on small stacks, several threads at once -----

SMALL_STACKS = r"""
import sys, threading
import rjson

sys.setrecursionlimit(%(limit)d)
threading.stack_size(256 * 1024)
DEPTH = 200_000
docs = ["[" * DEPTH + "]" * DEPTH, '{"a":' * DEPTH + "0" + "}" * DEPTH]
data = [d.encode() for d in docs]

class Wrap:
    def __init__(self, n):
        self.n = n

def unwrap(o):
    return [Wrap(o.n - 1)] if o.n else None

def deep_list(n):
    x = []
    for _ in range(n):
        x = [x]
    return x

objects = [deep_list(DEPTH)]
results = {}

def work(index):
    out = []
    try:
        for doc in docs + data:
            for kw in ({}, {"object_hook": lambda d: d}, {"parse_int": lambda s: int(s)}):
                try:
                    rjson.loads(doc, **kw)
                    out.append("parsed")
                except RecursionError:
                    out.append("RecursionError")
        for obj in objects:
            for kw in ({}, {"indent": 1}):
                try:
                    rjson.dumps(obj, **kw)
                    out.append("written")
                except RecursionError:
                    out.append("RecursionError")
        try:
            rjson.dumps_bytes(Wrap(DEPTH), default=unwrap)
            out.append("written")
        except RecursionError:
            out.append("RecursionError")
        # and shallow work still fits
        out.append(rjson.dumps(rjson.loads("[" * 50 + "]" * 50)) == "[" * 50 + "]" * 50)
    except BaseException as exc:
        out.append("other: %%r" %% (exc,))
    results[index] = out

threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for index, out in results.items():
    assert out[-1] is True, (index, out)
    assert set(out[:-1]) == {"RecursionError"}, (index, out)
assert len(results) == 4
print("ok", len(results[0]))
"""


@pytest.mark.parametrize("limit", [1000, 100_000, 10_000_000])
def test_deep_documents_on_small_thread_stacks(limit):
    proc = run_python(SMALL_STACKS % {"limit": limit}, timeout=300)
    assert_clean_exit(proc)
    assert proc.stdout.startswith("ok"), proc.stdout


def test_deep_nesting_with_python_hooks_at_a_raised_limit(restore_recursion_limit):
    """Hooks add Python frames between the parser's levels: within the limit json and
    rjson parse the same, beyond it both raise RecursionError."""
    sys.setrecursionlimit(5000)
    for depth in (100, 1000, 3000):
        doc = '{"a": ' * depth + "[1.5]" + "}" * depth
        kw = {"object_hook": lambda d: d, "parse_float": lambda s: float(s)}
        _same_outcome(lambda: rjson.loads(doc, **kw), lambda: json.loads(doc, **kw))
    doc = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RecursionError):
        rjson.loads(doc, object_pairs_hook=lambda p: p)


# ----- hostile documents -----


def _digit_limits():
    if not hasattr(sys, "set_int_max_str_digits"):
        return []
    return [0, 640, 4300, 10_000]


@pytest.mark.parametrize("limit", _digit_limits())
def test_int_digit_limit_follows_the_running_setting(limit):
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        for digits in (639, 640, 641, 4300, 4301, 9999, 10_001, 50_000):
            text = "9" * digits
            for doc in (text, "-" + text, "[" + text + "]", '{"k": ' + text + "}", text + ".5", text + "e3"):
                _same_outcome(lambda: rjson.loads(doc), lambda: json.loads(doc))
                _same_outcome(lambda: rjson.loads(doc.encode()), lambda: json.loads(doc))
            big = int("9" * min(digits, 9000)) if limit == 0 or digits <= limit else None
            if big is not None:
                _same_outcome(lambda: rjson.dumps([big, {big: 1}]), lambda: json.dumps([big, {big: 1}]))
    finally:
        sys.set_int_max_str_digits(old)


def test_int_too_long_to_write_raises_like_json():
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("no int digit limit on this Python")
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    big = 10**6000
    sys.set_int_max_str_digits(old)
    for obj in ([big], {big: 1}, {"k": -big}):
        _same_outcome(lambda: rjson.dumps(obj), lambda: json.dumps(obj))
        _same_outcome(lambda: rjson.dumps_bytes(obj), lambda: json.dumps(obj).encode())


@pytest.mark.parametrize(
    "doc",
    [
        "1e" + "9" * 5000,
        "-1e-" + "9" * 5000,
        "0." + "0" * 100_000 + "1",
        "1" + "0" * 400 + ".0e-400",
        "[" + ", ".join(["1e308", "1e309", "-1e309", "4.9e-324", "2.4e-324"] * 1000) + "]",
        "123456789012345678901234567890." + "9" * 10_000,
    ],
    ids=lambda d: d[:20],
)
def test_huge_floats_like_json(doc):
    _same_outcome(lambda: rjson.loads(doc), lambda: json.loads(doc))
    _same_outcome(lambda: rjson.loads(doc.encode()), lambda: json.loads(doc))


@pytest.mark.parametrize("piece", ["a", "\xe9", "\u4e2d", "\U0001f600", '"\\\n\x00', "\x7f\x1f\ud800"])
def test_huge_strings(piece):
    text = piece * (8 * 1024 * 1024 // len(piece))
    for kw in ({}, {"ensure_ascii": False}):
        out = rjson.dumps(text, **kw)
        assert out == json.dumps(text, **kw)
    if "\ud800" in piece:
        with pytest.raises(UnicodeEncodeError):
            rjson.dumps_bytes(text)
    else:
        encoded = rjson.dumps_bytes(text)
        assert encoded == json.dumps(text, ensure_ascii=False).encode()
        assert rjson.loads(encoded) == text
    assert rjson.loads(out) == text


def test_invalid_utf8_at_every_offset_near_block_boundaries():
    """One bad byte (or a truncated sequence) at each position of a string that spans
    several 64-byte blocks, and at the very end of the input."""
    bad_sequences = [b"\xff", b"\xc3", b"\xe4\xb8", b"\xf0\x9f\x98", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80", b"\xf4\x90\x80\x80"]
    body = ("ab\xe9\u4e2d\U0001f600" * 20).encode()
    for bad in bad_sequences:
        for pos in range(0, 140):
            data = b'["' + body[:pos] + bad + body[pos:] + b'"]'
            _same_outcome(lambda: rjson.loads(data), lambda: json.loads(data))
        # truncated at the very end of the buffer
        data = b'["' + body[:100] + bad
        _same_outcome(lambda: rjson.loads(data), lambda: json.loads(data))
