"""Differential fuzzing of rjson's entry points against the standard library's ``json``,
for a bounded time (not a pytest module: run it as a script, see scripts/fuzz-entry).

    python tests/fuzz_entry.py --seconds 120 [--seed N] [--only loads-mutate ...]

Campaigns, run in turn until the time is up (each gets a share of it per round):

* ``loads-bytes``: arbitrary bytes (Hypothesis), as ``bytes``, ``bytearray`` and
  ``memoryview``, with random hook and ``strict`` combinations;
* ``loads-text``: arbitrary text drawn from all of Unicode, lone surrogates included;
* ``loads-mutate``: valid and invalid documents (generated ones and the JSONTestSuite
  files) mutated byte by byte (flips, insertions of JSON's punctuation and of multibyte
  sequences, deletions, duplicated and spliced runs, truncation), fed as text and bytes
  and in the UTF-16/UTF-32 encodings ``json`` detects;
* ``dumps``: random nested objects (every JSON type, big ints, non-finite floats, every
  key type ``json`` takes and some it does not, unserializable values, non-ASCII and lone
  surrogates) under random combinations of every keyword, to ``dumps`` and ``dumps_bytes``.

Each case compares the result (strictly: types, key order, float bits) or the exception
(type, message, and for ``JSONDecodeError`` msg/pos/lineno/colno/doc, for
``UnicodeError`` its attributes) with what ``json`` gives. A difference prints a
reproducer and exits 1. Coverage of the native code does not guide this fuzzer (the Rust
kernels are fuzzed with coverage by scripts/fuzz); breadth and volume do.
"""

from __future__ import annotations

import argparse
import decimal
import json
import math
import os
import random
import struct
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import rjson  # noqa: E402

# ----- comparing outcomes -----


class Mismatch(AssertionError):
    pass


def signature(exc):
    sig = (type(exc), str(exc), exc.args)
    if isinstance(exc, json.JSONDecodeError):
        sig += (exc.msg, exc.doc, exc.pos, exc.lineno, exc.colno)
    if isinstance(exc, UnicodeError) and hasattr(exc, "start"):
        sig += (exc.encoding, exc.object, exc.start, exc.end, exc.reason)
    return sig


def run(fn, *args, **kw):
    try:
        return ("ok", fn(*args, **kw))
    except RecursionError as exc:
        return ("raise", (RecursionError,))
    except Exception as exc:  # noqa: BLE001 - every exception is an outcome
        return ("raise", signature(exc))


def same_value(a, b):
    """Strict equality (types, key order, float bits), without recursion: parsed documents
    may be nested deeper than Python's recursion limit."""
    stack = [(a, b)]
    while stack:
        a, b = stack.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, float):
            if not (struct.pack("<d", a) == struct.pack("<d", b) or (a != a and b != b)):
                return False
        elif isinstance(a, dict):
            if list(a) != list(b):
                return False
            stack.extend((a[k], b[k]) for k in a)
        elif isinstance(a, (list, tuple)):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b))
        elif a != b:
            return False
    return True


def same(a, b):
    if a[0] != b[0]:
        return False
    return a[1] == b[1] if a[0] == "raise" else same_value(a[1], b[1])


def short(value, limit=400):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def expect_same(what, actual, expected, reproducer):
    if not same(actual, expected):
        raise Mismatch(
            "%s differs from json\n  reproducer: %s\n  rjson: %s\n  json:  %s"
            % (what, reproducer, short(actual), short(expected))
        )


# ----- loads -----


class HookError(Exception):
    pass


def raising_constant(name):
    if name == "NaN":
        raise HookError("constant " + name)
    return name


#: Hook and flag combinations (named, so that a reproducer can name them).
LOADS_KWARGS = {
    "none": {},
    "object_hook": {"object_hook": lambda d: ("obj", sorted(d.items(), key=repr))},
    "pairs_list": {"object_pairs_hook": list},
    "pairs_and_hook": {"object_pairs_hook": tuple, "object_hook": lambda d: 1 / 0},
    "parse_float_decimal": {"parse_float": decimal.Decimal},
    "parse_float_str": {"parse_float": str},
    "parse_int_float": {"parse_int": float},
    "parse_int_str": {"parse_int": lambda s: "i" + s},
    "parse_constant": {"parse_constant": raising_constant},
    "strict_false": {"strict": False},
    "strict_false_hooks": {"strict": False, "parse_int": str, "object_pairs_hook": list},
}


def check_loads(doc, kw_name):
    """``doc`` (str or bytes) through every form rjson.loads takes."""
    kw = LOADS_KWARGS[kw_name]
    expected = run(json.loads, doc, **kw)
    repro = "rjson.loads(%r, **LOADS_KWARGS[%r])" % (doc, kw_name)
    expect_same("loads", run(rjson.loads, doc, **kw), expected, repro)
    if isinstance(doc, bytes):
        expect_same("loads(bytearray)", run(rjson.loads, bytearray(doc), **kw), expected, "bytearray: " + repro)
        expect_same("loads(memoryview)", run(rjson.loads, memoryview(doc), **kw), expected, "memoryview: " + repro)


KW_NAMES = st.sampled_from(sorted(LOADS_KWARGS))


def campaign_loads_bytes(examples, seed):
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=300) | st.sampled_from(SEEDS).flatmap(mutated_strategy), KW_NAMES)
    def fuzz(data, kw_name):
        check_loads(data, kw_name)

    hypothesis_seed(seed)(fuzz)()


ALL_CHARS = st.characters(codec=None, exclude_categories=())
JSON_ALPHABET = st.sampled_from(list('{}[]:,"\\ \t\n\r0123456789-+.eEtrufalsnNIiy/bfnrtu') + ["\\u", "\\ud800", "\\udc00", "\x00", "\x7f", "\xe9", "\u4e2d", "\U0001f600", "\ud800"])


def campaign_loads_text(examples, seed):
    text = st.text(ALL_CHARS, max_size=200) | st.lists(JSON_ALPHABET, max_size=80).map("".join)

    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(text, KW_NAMES)
    def fuzz(doc, kw_name):
        check_loads(doc, kw_name)
        try:
            data = doc.encode("utf-8")
        except UnicodeEncodeError:
            data = doc.encode("utf-8", "surrogatepass")  # invalid UTF-8 on purpose
        check_loads(data, kw_name)

    hypothesis_seed(seed)(fuzz)()


# ----- mutation of documents -----

PUNCTUATION = [b"{", b"}", b"[", b"]", b":", b",", b'"', b"\\", b" ", b"\n", b"-", b"0", b"1e",
               b".", b"\\u", b"\\ud83d", b"\\udc00", b"true", b"null", b"NaN", b"-Infinity",
               b"\xc3\xa9", b"\xe4\xb8\xad", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xc0\x80",
               b"\xff", b"\x80", b"\x00", b"\x1f", b"\xef\xbb\xbf", b'"k":', b"[[[", b"]]]", b'{"a":']


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5, 8])):
        op = rng.randrange(8)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip bits
            i = min(pos, len(data) - 1)
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert punctuation
            data[pos:pos] = rng.choice(PUNCTUATION)
        elif op == 2 and data:  # delete a run
            del data[pos:pos + rng.randrange(1, 9)]
        elif op == 3 and data:  # duplicate a run
            a = rng.randrange(len(data))
            b = min(len(data), a + rng.randrange(1, 64))
            data[pos:pos] = data[a:b]
        elif op == 4:  # truncate
            del data[pos:]
        elif op == 5 and data:  # replace a byte by a random one
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 6:  # splice another seed in
            other = rng.choice(SEEDS)
            a = rng.randrange(len(other) + 1)
            data[pos:pos] = other[a:a + rng.randrange(1, 40)]
        else:  # a random ASCII byte
            data[pos:pos] = bytes([rng.randrange(128)])
    return bytes(data)


def mutated_strategy(seed_doc):
    return st.randoms(use_true_random=False).map(lambda r: mutate(r, seed_doc))


def random_document(rng, depth=0):
    """A random value, as json would parse it (for seeds)."""
    kind = rng.randrange(10 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 7, 2**63, -(2**64) - 1, 10**30, rng.randrange(-10**6, 10**6)])
    if kind == 2:
        return rng.choice([0.0, -0.0, 1.5, 1e300, 5e-324, float("inf"), float("nan"), rng.random() * 1e6])
    if kind in (3, 4, 5):
        alphabet = "abc \"\\/\n\t\x00\x1f\x7f\xe9\xff\u0100\u4e2d\ud800\udfff\U0001f600"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 20)))
    if kind in (6, 7):
        return [random_document(rng, depth + 1) for _ in range(rng.randrange(0, 6))]
    return {rng.choice(["id", "name", "k", "", "\xe9", "key" * 3, str(rng.randrange(99))]): random_document(rng, depth + 1)
            for _ in range(rng.randrange(0, 6))}


def build_seeds():
    rng = random.Random(1234)
    seeds = []
    for _ in range(300):
        doc = random_document(rng)
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1]))
        seeds.append(text.encode("utf-8", "surrogatepass"))
    try:
        from jsontestsuite import cases

        seeds.extend(data for _, data in cases())
    except Exception as exc:  # noqa: BLE001 - the suite is an extra, not a requirement
        print("fuzz_entry: JSONTestSuite not available (%s)" % exc, file=sys.stderr)
    return seeds


SEEDS = build_seeds()

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]


def campaign_loads_mutate(deadline, rng, counter):
    names = sorted(LOADS_KWARGS)
    while time.monotonic() < deadline:
        for _ in range(200):
            data = mutate(rng, rng.choice(SEEDS))
            kw_name = rng.choice(names) if rng.random() < 0.3 else "none"
            check_loads(data, kw_name)
            text = data.decode("utf-8", "surrogateescape" if rng.random() < 0.5 else "replace")
            check_loads(text, kw_name)
            if rng.random() < 0.1:
                try:
                    check_loads(text.encode(rng.choice(ENCODINGS), "surrogatepass"), kw_name)
                except UnicodeEncodeError:
                    pass
            counter[0] += 1


# ----- dumps -----


class Unserializable:
    def __repr__(self):
        return "Unserializable()"


def default_repr(o):
    if isinstance(o, (set, frozenset)):
        return sorted(o, key=repr)
    if isinstance(o, complex):
        return [o.real, o.imag]
    return repr(o)


def default_raise(o):
    raise HookError("cannot %s" % type(o).__name__)


DEFAULTS = {"none": None, "repr": default_repr, "raise": default_raise}

TEXT = st.text(ALL_CHARS, max_size=20) | st.sampled_from(["", "a", "\ud800", "\udfff", "\U0001f600", '"\\\n', "\x7f\x80\xff", "key"])
FLOATS = st.floats() | st.sampled_from([0.0, -0.0, 1e16, 1e-7, 5e-324, 1.7976931348623157e308, float("nan"), float("-inf")])
INTS = st.integers() | st.integers(min_value=-(10**60), max_value=10**60) | st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**64])
SCALARS = st.none() | st.booleans() | INTS | FLOATS | TEXT
ODD = st.sampled_from([Unserializable(), {1, 2}, frozenset(), 1j, b"bytes", bytearray(b"x"), range(2)])
KEYS = TEXT | INTS | FLOATS | st.booleans() | st.none() | st.sampled_from([(1, 2), b"k", Unserializable()])


def containers(children):
    return (
        st.lists(children, max_size=6)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(KEYS, children, max_size=6)
        | st.lists(st.tuples(KEYS, children), max_size=6).map(dict)
    )


def with_cycle(obj):
    """``[obj, <itself>]``: a circular reference (ValueError, or RecursionError without
    check_circular)."""
    outer = [obj]
    outer.append(outer)
    return outer


OBJECTS = st.recursive(SCALARS | ODD, containers, max_leaves=40)
OBJECTS = OBJECTS | st.builds(with_cycle, OBJECTS)
SEPARATORS = st.sampled_from([None, (",", ":"), (", ", ": "), (",", ": "), (" , ", " : "), ("\u3001", "\uff1a"), ("", "")])
INDENTS = st.sampled_from([None, 0, 1, 2, -1, "", "\t", " x ", "\u3000", 4])

DUMPS_KW = st.fixed_dictionaries(
    {},
    optional={
        "skipkeys": st.booleans(),
        "ensure_ascii": st.booleans(),
        "check_circular": st.booleans(),
        "allow_nan": st.booleans(),
        "indent": INDENTS,
        "separators": SEPARATORS,
        "sort_keys": st.booleans(),
        "default": st.sampled_from(sorted(DEFAULTS)),
    },
)


def check_dumps(obj, kw_named):
    kw = dict(kw_named)
    if "default" in kw:
        kw["default"] = DEFAULTS[kw["default"]]
    repro = "obj=%s, kw=%r" % (short(obj, 2000), kw_named)
    expected = run(json.dumps, obj, **kw)
    expect_same("dumps", run(rjson.dumps, obj, **kw), expected, repro)
    wire = {"ensure_ascii": False, "separators": (",", ":"), **kw}
    expected_bytes = run(lambda: json.dumps(obj, **wire).encode("utf-8"))
    expect_same("dumps_bytes", run(rjson.dumps_bytes, obj, **kw), expected_bytes, repro)


def campaign_dumps(examples, seed):
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(OBJECTS, DUMPS_KW)
    def fuzz(obj, kw):
        check_dumps(obj, kw)

    hypothesis_seed(seed)(fuzz)()


# ----- driver -----


def inject_fault():
    """Make rjson subtly wrong, for checking that the campaigns notice: loads reports a
    syntax error one character late, dumps and dumps_bytes write the first 1 as 7."""
    loads, dumps, dumps_bytes = rjson.loads, rjson.dumps, rjson.dumps_bytes

    def late_loads(*a, **k):
        try:
            return loads(*a, **k)
        except json.JSONDecodeError as exc:
            raise json.JSONDecodeError(exc.msg, exc.doc, exc.pos + 1) from None

    rjson.loads = late_loads
    rjson.dumps = lambda *a, **k: dumps(*a, **k).replace("1", "7", 1)
    rjson.dumps_bytes = lambda *a, **k: dumps_bytes(*a, **k).replace(b"1", b"7", 1)


CAMPAIGNS = ["loads-bytes", "loads-text", "loads-mutate", "dumps"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("RJSON_FUZZ_ENTRY_SECONDS", "120")))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--only", nargs="*", choices=CAMPAIGNS, default=CAMPAIGNS)
    parser.add_argument("--inject-fault", action="store_true",
                        help="break rjson on purpose (the run must then fail): checks the harness")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print("fuzz_entry: python %s, rjson %s (%s), seed %d, %.0fs, campaigns %s"
          % (sys.version.split()[0], rjson.__version__, rjson.simd_backend(), seed, args.seconds, " ".join(args.only)))
    if args.inject_fault:
        inject_fault()
    rng = random.Random(seed)
    start = time.monotonic()
    end = start + args.seconds
    counts = {name: 0 for name in args.only}
    # Each campaign gets a slice of each round, so that all of them run however short the
    # time; Hypothesis campaigns run batches of examples until their slice is over.
    slice_seconds = max(1.0, min(10.0, args.seconds / (4 * len(args.only))))
    batch = 100
    try:
        while time.monotonic() < end:
            for name in args.only:
                slice_end = min(end, time.monotonic() + slice_seconds)
                while time.monotonic() < slice_end:
                    round_seed = rng.randrange(2**32)
                    if name == "loads-mutate":
                        counter = [0]
                        campaign_loads_mutate(slice_end, random.Random(round_seed), counter)
                        counts[name] += counter[0]
                    else:
                        {"loads-bytes": campaign_loads_bytes, "loads-text": campaign_loads_text,
                         "dumps": campaign_dumps}[name](batch, round_seed)
                        counts[name] += batch
    except Mismatch as exc:
        print("FAILED (seed %d)\n%s" % (seed, exc), file=sys.stderr)
        return 1
    except Exception:  # noqa: BLE001 - Hypothesis re-raises the shrunk failure
        traceback.print_exc(limit=-8)
        print("FAILED (seed %d)" % seed, file=sys.stderr)
        return 1
    elapsed = time.monotonic() - start
    total = sum(counts.values())
    print("fuzz_entry: %d cases in %.0fs, no difference from json: %s"
          % (total, elapsed, ", ".join("%s %d" % kv for kv in counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
