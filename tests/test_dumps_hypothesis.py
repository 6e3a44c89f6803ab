"""Differential property tests: ``rjson.dumps`` / ``rjson.dumps_bytes`` against the
standard library on generated objects and keyword combinations.

``RJSON_HYPOTHESIS_EXAMPLES`` sets the examples of the main test (see conftest.py).
"""

import json
import math
import struct
from collections import OrderedDict
from enum import IntEnum

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import rjson
from conftest import (
    EXAMPLES,
    SMALL_EXAMPLES,
    assert_clean_exit,
    assert_same_outcome,
    json_dumps_bytes,
    outcome,
    run_python,
)

# ----- characters and strings -----

CONTROL = [chr(c) for c in range(0x20)]
SPECIAL_ASCII = ['"', "\\", "\x7f", "/", " ", "~", "'", "<", ">", "&", "\b", "\f", "\n", "\r", "\t"]
NOTABLE = [
    "\x80", "\xa0", "\xe9", "\xff", "\u0100", "\u07ff", "\u0800", "\u2028", "\u2029", "\u4e2d",
    "\ud7ff", "\ud800", "\udbff", "\udc00", "\udfff", "\ue000", "\ufeff", "\ufffd", "\uffff",
    "\U00010000", "\U0001f600", "\U0001f4a9", "\U0010ffff",
]


def _chr_range(lo, hi):
    return st.integers(lo, hi).map(chr)


#: One character of any class the escapers distinguish.
chars = st.one_of(
    st.sampled_from(CONTROL + SPECIAL_ASCII),
    _chr_range(0x20, 0x7E),  # printable ASCII
    _chr_range(0x80, 0xFF),  # Latin-1
    _chr_range(0x100, 0xD7FF),  # BMP below the surrogates (Greek, Cyrillic, ..., CJK)
    _chr_range(0x4E00, 0x9FFF),  # CJK
    _chr_range(0xD800, 0xDFFF),  # lone surrogates
    _chr_range(0xE000, 0xFFFF),  # BMP above the surrogates
    _chr_range(0x10000, 0x10FFFF),  # astral (emoji, ...)
    st.sampled_from(NOTABLE),
)

#: Lengths around the block sizes of the vector kernels (16, 32, 64 bytes or units).
EDGE_LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65,
                95, 96, 97, 127, 128, 129, 255, 256, 257]
#: The character most of an edge string is made of: it sets the storage kind.
FILLERS = ["a", " ", "~", "\xe9", "\xff", "\u4e2d", "\uffff", "\U0001f600"]


@st.composite
def edge_strings(draw):
    """A string of a length around a block edge: a run of one filler character with a few
    characters of other classes placed at random positions or right at the edges."""
    n = draw(st.sampled_from(EDGE_LENGTHS))
    text = [draw(st.sampled_from(FILLERS))] * n
    if n:
        edges = sorted({p for p in (0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, n - 2, n - 1) if 0 <= p < n})
        position = st.one_of(st.integers(0, n - 1), st.sampled_from(edges))
        for _ in range(draw(st.integers(0, min(n, 6)))):
            text[draw(position)] = draw(chars)
    return "".join(text)


#: Any string: short mixtures, block-edge strings, and concatenations of both.
strings = st.one_of(
    st.text(chars, max_size=12),
    edge_strings(),
    st.lists(st.one_of(edge_strings(), st.text(chars, max_size=4)), min_size=2, max_size=4).map("".join),
    st.text(max_size=20),  # hypothesis' own mix of unicode
)

# ----- numbers -----

EDGE_INTS = sorted(
    {s * (2**k + d) for k in (7, 8, 15, 16, 30, 31, 32, 52, 53, 60, 62, 63, 64, 65, 100, 128)
     for d in (-1, 0, 1) for s in (1, -1)}
    | {s * (10**k + d) for k in (1, 2, 9, 15, 16, 17, 18, 19, 20, 21, 38, 39)
       for d in (-1, 0, 1) for s in (1, -1)}
    | {0}
)


@st.composite
def big_ints(draw):
    """An int of 20 to about 4000 decimal digits (under the default 4300-digit str
    limit): random digits up to a few hundred, then a random head and tail around a long
    run of digits (cheaper to generate than a wholly random 4000-digit number)."""
    if draw(st.booleans()):
        digits = draw(st.integers(20, 300))
        value = draw(st.integers(10 ** (digits - 1), 10**digits - 1))
    else:
        middle = draw(st.sampled_from([300, 1000, 2500, 4000]))
        head = draw(st.integers(1, 10**20))
        tail = draw(st.integers(0, 10**20 - 1))
        value = (head * 10 ** middle + draw(st.sampled_from([0, 1, 10**middle // 7]))) * 10**20 + tail
    return -value if draw(st.booleans()) else value


ints = st.one_of(
    st.integers(),
    st.sampled_from(EDGE_INTS),
    st.integers(-(2**64) - 5, 2**64 + 5),
    big_ints(),
)


def _from_bits(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _step(value, ulps):
    """``value`` moved by ``ulps`` units in the last place."""
    target = math.inf if ulps > 0 else -math.inf
    for _ in range(abs(ulps)):
        value = math.nextafter(value, target)
    return value


#: Where ``float.__repr__`` changes layout or precision, and other landmarks.
FLOAT_LANDMARKS = [
    0.0, 1e-5, 1e-4, 1e-3, 0.1, 0.5, 1.0, 1e15, 1e16, 1e17, 1e21, 1e22, 1e23,
    2.0**53, 2.0**63, 2.0**64, 5e-324, 1e-323, 2.2250738585072014e-308,
    2.2250738585072009e-308, 1.7976931348623157e308, 1 / 3, 2 / 3, 123456789.0,
    9007199254740993.0, 0.30000000000000004,
]


@st.composite
def near_landmarks(draw):
    value = _step(draw(st.sampled_from(FLOAT_LANDMARKS)), draw(st.integers(-3, 3)))
    return -value if draw(st.booleans()) else value


@st.composite
def powers_of_ten(draw):
    value = float("1e%d" % draw(st.integers(-330, 308)))
    return -value if draw(st.booleans()) else value


floats = st.one_of(
    st.floats(),  # includes NaN, infinities, subnormals, -0.0
    st.integers(0, 2**64 - 1).map(_from_bits),  # random bit patterns
    st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, -5e-324]),
    powers_of_ten(),
    near_landmarks(),
    st.tuples(st.integers(-(10**17), 10**17), st.integers(0, 25)).map(lambda t: t[0] / 10 ** t[1]),
)

numbers = st.one_of(ints, floats, st.booleans())

# ----- values -----


def default_pair(o):
    """A ``default=`` for the complex numbers mixed into generated objects."""
    return [o.real, o.imag]


def default_dict(o):
    return {"complex": str(o), "parts": (o.real, o.imag)}


class SubEncoder(json.JSONEncoder):
    """A trivial ``cls``: rjson hands such calls to the standard library."""


complexes = st.builds(complex, st.integers(-5, 5), st.integers(-5, 5))

scalars = st.one_of(strings, ints, floats, st.booleans(), st.none())

#: Any key type json accepts (coercion can make two keys write the same text: fine).
keys = st.one_of(strings, ints, floats, st.booleans(), st.none())
#: Keys that only skipkeys=True lets through.
bad_keys = st.one_of(st.tuples(st.integers(0, 3)), st.frozensets(st.integers(0, 3), max_size=2))


def containers(children, dicts):
    return st.one_of(
        st.lists(children, max_size=6),
        st.lists(children, max_size=6).map(tuple),
        dicts(children),
    )


def any_dicts(children):
    return st.one_of(
        st.dictionaries(keys, children, max_size=6),
        # rarely, a key only skipkeys=True accepts
        st.tuples(st.dictionaries(keys, children, max_size=4), bad_keys, children).map(
            lambda t: {**t[0], t[1]: t[2]}
        ),
    )


def sortable_dicts(children):
    """Dicts whose keys ``sorted()`` accepts: all str, or all numbers (bool, int, float)."""
    return st.one_of(
        st.dictionaries(strings, children, max_size=6),
        st.dictionaries(numbers, children, max_size=6),
    )


def values(dicts, leaves):
    return st.recursive(leaves, lambda children: containers(children, dicts), max_leaves=20)


#: Leaves: mostly JSON scalars, sometimes a complex number (for ``default``).
leaves = st.one_of(scalars, scalars, scalars, scalars, scalars, scalars, scalars, complexes)

any_values = values(any_dicts, leaves)
sortable_values = values(sortable_dicts, leaves)

INDENTS = [None, 0, -1, 1, 2, 4, "", "\t", "ab", " \xe9", "\u3000", True, False]
SEPARATORS = [
    None, (",", ":"), (", ", ": "), ("; ", "= "), [",", ":"], [" , ", " : "],
    ("\u3001", "\uff1a"), ("", ""),
]

keywords = st.fixed_dictionaries(
    {},
    optional={
        "skipkeys": st.booleans(),
        "ensure_ascii": st.booleans(),
        "check_circular": st.booleans(),
        "allow_nan": st.booleans(),
        "indent": st.sampled_from(INDENTS),
        "separators": st.sampled_from(SEPARATORS),
        "sort_keys": st.booleans(),
        "default": st.sampled_from([None, default_pair, default_dict]),
        "cls": st.sampled_from([None, json.JSONEncoder, SubEncoder]),
    },
)


@st.composite
def cases(draw):
    """An object and keywords; ``sort_keys=True`` gets an object whose dicts it can sort."""
    kw = draw(keywords)
    obj = draw(sortable_values if kw.get("sort_keys") else any_values)
    return obj, kw


def compare_all(obj, kw):
    """``dumps`` and ``dumps_bytes`` of ``obj`` with ``kw``, against json."""
    expected = outcome(json.dumps, obj, **kw)
    actual = outcome(rjson.dumps, obj, **kw)
    assert_same_outcome(actual, expected, "dumps, kw=%r" % (kw,))
    expected = outcome(json_dumps_bytes, obj, **kw)
    actual = outcome(rjson.dumps_bytes, obj, **kw)
    assert_same_outcome(actual, expected, "dumps_bytes, kw=%r" % (kw,))


# ----- the properties -----


@settings(max_examples=EXAMPLES)
@given(cases())
def test_nested_objects_match_json(case):
    """The main differential test: any nesting of any values, any keywords."""
    obj, kw = case
    note("kw=%r" % (kw,))
    compare_all(obj, kw)


@settings(max_examples=SMALL_EXAMPLES)
@given(strings, st.booleans())
def test_strings_match_json(text, ensure_ascii):
    """Strings alone, as list items, and as keys, in both output modes and as bytes."""
    for obj in (text, [text, text], {text: text}, [text, {text: [text]}]):
        compare_all(obj, {"ensure_ascii": ensure_ascii})
    compare_all([text], {})
    compare_all({text: 0}, {"indent": 1, "sort_keys": True})


@settings(max_examples=SMALL_EXAMPLES)
@given(st.lists(st.one_of(ints, floats), max_size=20), st.booleans())
def test_numbers_match_json(items, allow_nan):
    """Numbers as values and as keys (where json writes them quoted)."""
    compare_all(items, {"allow_nan": allow_nan})
    for item in items:
        compare_all(item, {"allow_nan": allow_nan})
        compare_all({item: item}, {"allow_nan": allow_nan})
    compare_all(items, {"indent": 2, "allow_nan": allow_nan})


class SubStr(str):
    def __str__(self):
        return "not this"

    def __repr__(self):
        return "not this"


class SubInt(int):
    def __repr__(self):
        return "not this"

    __str__ = __repr__


class SubFloat(float):
    def __repr__(self):
        return "not this"

    __str__ = __repr__


class SubList(list):
    pass


class SubTuple(tuple):
    pass


class SubDict(dict):
    pass


class Small(IntEnum):
    ZERO = 0
    ONE = 1
    BIG = 2**70


def _wrap_scalar(pair):
    kind, value = pair
    if kind == 0 and isinstance(value, str):
        return SubStr(value)
    if kind == 1 and isinstance(value, int) and not isinstance(value, bool):
        return SubInt(value)
    if kind == 2 and isinstance(value, float):
        return SubFloat(value)
    if kind == 3 and isinstance(value, int) and not isinstance(value, bool):
        return Small(value % 2)
    return value


def _wrap_container(pair):
    kind, value = pair
    if isinstance(value, list):
        return SubList(value) if kind % 2 else SubTuple(value)
    if isinstance(value, dict):
        return (SubDict, OrderedDict, dict)[kind % 3](value)
    return value


subclass_leaves = st.tuples(st.integers(0, 4), st.one_of(strings, ints, floats, st.booleans(), st.none())).map(
    _wrap_scalar
)
subclass_values = st.recursive(
    subclass_leaves,
    lambda children: st.tuples(
        st.integers(0, 5),
        st.one_of(st.lists(children, max_size=5), st.dictionaries(strings, children, max_size=5)),
    ).map(_wrap_container),
    max_leaves=30,
)


@settings(max_examples=SMALL_EXAMPLES)
@given(subclass_values, keywords)
def test_subclasses_match_json(obj, kw):
    """Subclasses of str/int/float/list/tuple/dict (no overridden protocol that json
    uses) are written from their data, as json writes them."""
    kw.pop("sort_keys", None)
    compare_all(obj, kw)


# ----- every kernel backend -----

BACKEND_CHECK = r"""
import json, os, random, sys
import rjson

name = os.environ["RJSON_SIMD"]
assert rjson.simd_backend() == name, (rjson.simd_backend(), name)

specials = [chr(c) for c in range(0x20)] + ['"', "\\", "\x7f", "\x80", "\xe9", "\xff",
            "\u0100", "\u2028", "\u4e2d", "\ud800", "\udbff", "\udc00", "\udfff", "\ufeff",
            "\uffff", "\U00010000", "\U0001f600", "\U0010ffff"]
fillers = ["a", "~", "\xe9", "\u4e2d", "\U0001f600"]

def check(items):
    for ensure_ascii in (True, False):
        expected = json.dumps(items, ensure_ascii=ensure_ascii)
        actual = rjson.dumps(items, ensure_ascii=ensure_ascii)
        if actual != expected:
            for s in items:
                a = rjson.dumps(s, ensure_ascii=ensure_ascii)
                e = json.dumps(s, ensure_ascii=ensure_ascii)
                assert a == e, (name, ensure_ascii, s, a, e)
            raise AssertionError((name, "list differs but no item does"))
    try:
        expected = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError as exc:
        expected = ("UnicodeEncodeError", exc.args)
    try:
        actual = rjson.dumps_bytes(items)
    except UnicodeEncodeError as exc:
        actual = ("UnicodeEncodeError", exc.args)
    assert actual == expected, (name, "dumps_bytes", items)

count = 0
for n in list(range(0, 70)) + [95, 96, 97, 127, 128, 129, 255, 256, 257]:
    batch = []
    for filler in fillers:
        positions = sorted({p for p in (0, 1, n // 2, 15, 16, 31, 32, 63, 64, n - 1) if 0 <= p < n})
        for special in specials:
            for p in positions:
                text = [filler] * n
                text[p] = special
                batch.append("".join(text))
        batch.append(filler * n)
    # surrogate-free and full batches, so that dumps_bytes is checked on both
    check([s for s in batch if not any("\ud800" <= c <= "\udfff" for c in s)])
    check(batch)
    check({s: i for i, s in enumerate(batch)})
    count += len(batch)

rng = random.Random(20240601)
alphabet = specials + fillers + ["b", " ", "/"] * 8
for _ in range(1500):
    s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
    check([s])
    assert rjson.dumps(s) == json.dumps(s)
    assert rjson.dumps(s, ensure_ascii=False) == json.dumps(s, ensure_ascii=False)

# and the hypothesis string test, under this backend
import test_dumps_hypothesis
test_dumps_hypothesis.test_strings_match_json()
print("checked", count, "strings with", name)
"""


@pytest.mark.parametrize("backend", rjson.simd_backends())
def test_every_backend_matches_json(backend):
    proc = run_python(BACKEND_CHECK, env={"RJSON_SIMD": backend}, timeout=600)
    assert_clean_exit(proc)
    assert "checked" in proc.stdout and backend in proc.stdout


def test_backends_are_listed_best_first():
    backends = rjson.simd_backends()
    assert isinstance(backends, tuple) and backends
    assert all(isinstance(b, str) for b in backends)
    assert backends[-1] == "scalar"
    assert len(set(backends)) == len(backends)
    assert set(backends) <= {"avx512", "avx2", "sse2", "neon", "scalar"}


ALL_BACKEND_NAMES = ("avx512", "avx2", "sse2", "neon", "scalar")

IMPORT_CHECK = r"""
import sys
try:
    import rjson
except ImportError as exc:
    print("ImportError:", exc)
    sys.exit(0)
print("imported", rjson.simd_backend())
"""


@pytest.mark.parametrize(
    "name",
    ["bogus", "scalar2"] + [n for n in ALL_BACKEND_NAMES if n not in rjson.simd_backends()],
)
def test_rjson_simd_unknown_or_unavailable_fails_import(name):
    """An unknown backend name, or one this CPU cannot run, makes the import fail with an
    ImportError that names the backends available."""
    proc = run_python(IMPORT_CHECK, env={"RJSON_SIMD": name})
    assert_clean_exit(proc)
    assert proc.stdout.startswith("ImportError:"), proc.stdout
    message = proc.stdout
    for available in rjson.simd_backends():
        assert available in message, (available, message)
    assert name.strip() in message


def test_rjson_simd_empty_means_best():
    proc = run_python(IMPORT_CHECK, env={"RJSON_SIMD": ""})
    assert_clean_exit(proc)
    assert proc.stdout.strip() == "imported " + rjson.simd_backends()[0]
