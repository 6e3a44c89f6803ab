"""Example tests of ``rjson.dumps`` / ``dump`` / ``dumps_bytes``: each documented behaviour,
checked against the standard library (and, where the text is well known, against it
literally)."""

import collections
import enum
import io
import json
import math
import os
import random
import re
import struct
import sys
from array import array
from collections import OrderedDict

import pytest

import rjson
from conftest import (
    PY,
    Raised,
    check_both,
    check_dumps,
    check_dumps_bytes,
    json_dumps_bytes,
)

# ----- floats -----

FLOAT_LAYOUT = [
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (1.0, "1.0"),
    (100.0, "100.0"),
    (0.1, "0.1"),
    (0.0001, "0.0001"),
    (1e-05, "1e-05"),
    (1.5e-07, "1.5e-07"),
    (0.00012345, "0.00012345"),
    (1e16, "1e+16"),
    (1e15, "1000000000000000.0"),
    (9999999999999998.0, "9999999999999998.0"),
    (1.2345678901234568e17, "1.2345678901234568e+17"),
    (1e22, "1e+22"),
    (1e23, "1e+23"),
    (5e-324, "5e-324"),
    (-5e-324, "-5e-324"),
    (2.2250738585072014e-308, "2.2250738585072014e-308"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (-1.7976931348623157e308, "-1.7976931348623157e+308"),
    (1 / 3, "0.3333333333333333"),
    (0.1 + 0.2, "0.30000000000000004"),
    (2.0**53, "9007199254740992.0"),
    (2.0**63, "9.223372036854776e+18"),
    (123456.789, "123456.789"),
    (float("nan"), "NaN"),
    (float("inf"), "Infinity"),
    (float("-inf"), "-Infinity"),
]


@pytest.mark.parametrize("value, text", FLOAT_LAYOUT, ids=[t for _, t in FLOAT_LAYOUT])
def test_float_layout(value, text):
    assert rjson.dumps(value) == text
    assert rjson.dumps([value]) == "[" + text + "]"
    assert rjson.dumps({value: value}) == '{"%s": %s}' % (text, text)
    assert rjson.dumps_bytes(value) == text.encode()
    check_both(value)
    check_both({value: [value]}, indent=1)


def _assert_float_lists_match(values, what):
    expected = json.dumps(values)
    actual = rjson.dumps(values)
    if actual != expected:
        for v in values:
            assert rjson.dumps(v) == json.dumps(v), "%s: %r (bits %016x)" % (
                what,
                v,
                struct.unpack("<Q", struct.pack("<d", v))[0],
            )
        pytest.fail("%s: the list differs but no single float does" % what)
    assert rjson.dumps_bytes(values) == json_dumps_bytes(values)


def test_float_sweep_random_bits():
    """200,000 doubles of random bit patterns (every exponent, subnormals, NaN payloads)
    are written as ``float.__repr__`` writes them."""
    rng = random.Random(0x5EED)
    raw = bytearray()
    for _ in range(200_000):
        raw += rng.getrandbits(64).to_bytes(8, "little")
    values = array("d")
    values.frombytes(bytes(raw))
    values = values.tolist()
    _assert_float_lists_match(values, "random bits")
    # as keys too (a sample: keys are written by the same code, quoted)
    sample = {v: 0 for v in values[:20_000] if not math.isnan(v)}
    assert rjson.dumps(sample) == json.dumps(sample)


def test_float_sweep_short_decimals():
    """Floats with short decimal representations, where shortest-repr digit generation
    and the fixed/exponent layout choice matter most."""
    rng = random.Random(42)
    values = []
    for _ in range(60_000):
        digits = rng.randrange(1, 18)
        mantissa = rng.randrange(10 ** (digits - 1), 10**digits)
        exponent = rng.randrange(-30, 30)
        values.append(float("%de%d" % (mantissa, exponent)) * rng.choice((1, -1)))
    for scale in range(0, 20):
        values.extend(rng.randrange(-(10**6), 10**6) / 10**scale for _ in range(500))
    _assert_float_lists_match(values, "short decimals")


def test_float_runs_of_few_and_many_decimals():
    """Numbers of at most four decimals are laid out by a path of their own, which backs
    off after a run of floats it cannot take and retries now and then: runs of each kind,
    of every length around those thresholds, and the doubles next to short decimals."""
    rng = random.Random(7)

    def few():
        value = rng.randrange(1, 10**rng.randrange(1, 16)) / 10 ** rng.randrange(0, 5)
        return rng.choice((value, -value, math.nextafter(value, math.inf)))

    def many():
        return rng.uniform(-1e6, 1e6)

    values = []
    for length in list(range(1, 20)) + [63, 64, 65, 200]:
        values += [many() for _ in range(length)] + [few() for _ in range(length)]
    values += [few() if i % 3 else many() for i in range(5000)]
    _assert_float_lists_match(values, "runs")
    assert rjson.dumps({v: 1 for v in values[:3000]}) == json.dumps({v: 1 for v in values[:3000]})


def test_float_sweep_powers_and_neighbours():
    """Powers of ten and of two, and their neighbours a few ulps away."""
    values = []
    bases = [float("1e%d" % e) for e in range(-330, 309)] + [math.ldexp(1.0, e) for e in range(-1074, 1024)]
    for base in bases:
        for direction in (math.inf, -math.inf):
            v = base
            for _ in range(3):
                v = math.nextafter(v, direction)
                values.append(v)
        values.append(base)
        values.append(-base)
    for boundary in (1e-5, 1e-4, 1e16, 1e17):
        v = boundary
        for _ in range(50):
            v = math.nextafter(v, 0.0)
            values.append(v)
        v = boundary
        for _ in range(50):
            v = math.nextafter(v, math.inf)
            values.append(v)
    _assert_float_lists_match(values, "powers and neighbours")


# ----- ints -----


def test_int_edges():
    values = [0, 1, -1]
    for k in range(0, 260):
        for d in (-2, -1, 0, 1, 2):
            values.append(2**k + d)
            values.append(-(2**k) + d)
    for k in range(0, 60):
        for d in (-1, 0, 1):
            values.append(10**k + d)
            values.append(-(10**k) - d)
    text = rjson.dumps(values)
    assert text == "[" + ", ".join(str(v) for v in values) + "]"
    assert text == json.dumps(values)
    keyed = {v: v for v in values}
    assert rjson.dumps(keyed) == json.dumps(keyed)
    assert rjson.dumps_bytes(values) == json_dumps_bytes(values)
    for v in values:
        assert rjson.dumps(v) == str(v)


@pytest.mark.parametrize("digits", [19, 20, 21, 40, 100, 1000, 4000, 4300])
def test_big_ints(digits):
    for value in (10**digits - 1, -(10**digits - 1), 10 ** (digits - 1), 7 ** int(digits * 1.18)):
        if len(str(abs(value))) > 4300:
            continue
        assert rjson.dumps(value) == str(value)
        check_both([value, {value: value}])
        check_both({"k": [value]}, indent=2)


def test_int_digit_limit():
    """Past ``sys.get_int_max_str_digits()``, ``int.__repr__`` raises ValueError: so does
    ``dumps``, with json's message, for values and keys."""
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("no int digit limit on this Python")
    old = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(640)
        big = 10**700
        for obj in (big, -big, [1, big], {"a": big}, {big: 1}, {-big: 1}):
            for kw in ({}, {"indent": 2}, {"sort_keys": True}):
                result = check_both(obj, **kw)
                assert isinstance(result, Raised) and result.type is ValueError
        assert rjson.dumps(10**639) == str(10**639)
        sys.set_int_max_str_digits(0)  # unlimited
        huge = 3**20000
        assert rjson.dumps(huge) == str(huge)
        check_both({huge: [huge]})
    finally:
        sys.set_int_max_str_digits(old)


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2
    HUGE = 2**80
    NEGATIVE = -(2**63)


class Perm(enum.IntFlag):
    R = 4
    W = 2
    X = 1


class ReprInt(int):
    def __repr__(self):
        return "ReprInt!"

    def __str__(self):
        return "StrInt!"

    def __index__(self):
        return 99

    def __int__(self):
        return 98


class BigInt(int):
    pass


def test_int_subclasses():
    """int subclasses are written by ``int.__repr__``: their own ``__repr__``/``__str__``
    are not used."""
    values = [Color.RED, Color.HUGE, Color.NEGATIVE, Perm.R, Perm.R | Perm.W, Perm(0),
              ReprInt(5), ReprInt(-(2**70)), BigInt(2**64), BigInt(-1), True, False]
    assert rjson.dumps(values) == json.dumps(values)
    assert rjson.dumps([Color.RED, ReprInt(5), Perm.R | Perm.W]) == "[1, 5, 6]"
    check_both(values)
    check_both({v: v for v in values})
    check_both({v: v for v in values}, indent=1)
    check_both({Color.RED: 1, Color.GREEN: 2}, sort_keys=True)


def test_bool_and_none():
    assert rjson.dumps([True, False, None]) == "[true, false, null]"
    assert rjson.dumps({True: False, False: None, None: True}) == '{"true": false, "false": null, "null": true}'
    check_both([True, False, None, {True: 1, None: 2}])
    # keys 1 and True are the same dict key; json writes the first key object's text
    check_both({1: "a", True: "b"})
    check_both({True: "a", 1: "b"})


class ReprFloat(float):
    def __repr__(self):
        return "ReprFloat!"

    __str__ = __repr__


def test_float_subclasses():
    values = [ReprFloat(1.5), ReprFloat(1e16), ReprFloat(-0.0), ReprFloat("nan"), ReprFloat("inf")]
    assert rjson.dumps(values) == "[1.5, 1e+16, -0.0, NaN, Infinity]"
    check_both(values)
    check_both({v: v for v in values})
    check_both(values, indent=1)


class ReprStr(str):
    def __str__(self):
        return "not the data"

    def __repr__(self):
        return "not the data"


class Weather(str, enum.Enum):
    SUN = "sun\u2600"
    RAIN = 'rain "\n"'


def test_str_subclasses():
    """str subclasses are written from their character data, not ``__str__``."""
    values = [ReprStr("plain"), ReprStr('q"\\\n\x00'), ReprStr("\xe9\u4e2d\U0001f600"), Weather.SUN, Weather.RAIN]
    assert rjson.dumps(values[:2]) == '["plain", "q\\"\\\\\\n\\u0000"]'
    for ensure_ascii in (True, False):
        check_both(values, ensure_ascii=ensure_ascii)
        check_both({v: v for v in values}, ensure_ascii=ensure_ascii)
        check_both({v: v for v in values}, ensure_ascii=ensure_ascii, indent="\t", sort_keys=True)
    if sys.version_info >= (3, 11):

        class Flavour(enum.StrEnum):
            VANILLA = "vanilla\xe9"

        check_both([Flavour.VANILLA, {Flavour.VANILLA: 1}])


def test_ordered_dict_after_move_to_end():
    d = OrderedDict([("a", 1), ("b", 2), ("c", 3)])
    d.move_to_end("a")
    d.move_to_end("c", last=False)
    assert rjson.dumps(d) == '{"c": 3, "b": 2, "a": 1}'
    check_both(d)
    check_both(d, indent=2)
    check_both(d, sort_keys=True)


class ItemsDict(dict):
    """A dict subclass whose ``items()`` json uses instead of its storage."""

    def items(self):
        return [("from_items", 1), ("second", [2])]

    def keys(self):
        return ["not used"]

    def __iter__(self):
        return iter(["not used"])

    def __getitem__(self, key):
        return "not used"


def test_dict_subclass_overriding_items():
    d = ItemsDict(x=1)
    assert rjson.dumps(d) == json.dumps(d)
    check_both(d)
    check_both(d, indent=2)
    check_both(d, sort_keys=True)
    check_both([d, {"in": d}])


class IterList(list):
    def __iter__(self):
        return iter(["from", "__iter__"])


class IterTuple(tuple):
    def __iter__(self):
        return iter(["from", "tuple", "__iter__"])


def test_list_and_tuple_subclass_overriding_iter():
    """Single-line output (json's C encoder) takes a list/tuple subclass's items from its
    ``__iter__``."""
    for obj in (IterList([1, 2, 3]), IterTuple((1, 2)), {"k": IterList([1])}, [IterTuple((1,))]):
        check_both(obj)
        check_both(obj, sort_keys=True, separators=(",", "="))
    assert rjson.dumps(IterList([1])) == '["from", "__iter__"]'


def test_other_container_subclasses():
    Point = collections.namedtuple("Point", "x y")
    dd = collections.defaultdict(list, a=[1])
    counter = collections.Counter("abracadabra")

    class PlainList(list):
        pass

    class PlainTuple(tuple):
        pass

    obj = [Point(1, 2), dd, counter, PlainList([1, [2]]), PlainTuple((3,)), {"p": Point(x=[1], y={})}]
    check_both(obj)
    check_both(obj, indent=1)
    check_both(counter, sort_keys=True)


# ----- strings -----


def test_every_bmp_character():
    text = "".join(chr(c) for c in range(0x10000))
    for ensure_ascii in (True, False):
        check_dumps(text, ensure_ascii=ensure_ascii)
        check_dumps({text: text}, ensure_ascii=ensure_ascii)
    # without the surrogates, dumps_bytes succeeds
    clean = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    assert rjson.dumps_bytes(clean) == json_dumps_bytes(clean)
    assert rjson.dumps_bytes(clean, ensure_ascii=True) == json_dumps_bytes(clean, ensure_ascii=True)


def test_astral_characters():
    text = "".join(chr(c) for c in range(0x10000, 0x110000, 97)) + "\U0010ffff\U0001f600"
    check_both(text)
    check_both(text, ensure_ascii=False)
    assert rjson.dumps("\U0001f600") == '"\\ud83d\\ude00"'
    assert rjson.dumps("\U0001f600", ensure_ascii=False) == '"\U0001f600"'


@pytest.mark.parametrize("code", list(range(0x20)) + [0x22, 0x5C, 0x7F, 0x2F])
def test_each_escaped_ascii_character(code):
    c = chr(code)
    for text in (c, c * 17, "a" * 15 + c, "a" * 31 + c + "b" * 33, c + "\xe9", c + "\U0001f600"):
        check_both(text)
        check_both(text, ensure_ascii=False)
        check_both({text: text}, ensure_ascii=False)


def test_surrogate_pairs_are_not_combined():
    """Two surrogates that would form a pair stay two code points (json never combines)."""
    text = "\ud83d\ude00"
    assert rjson.dumps(text) == '"\\ud83d\\ude00"'
    assert rjson.dumps(text, ensure_ascii=False) == '"\ud83d\ude00"'
    check_both(text, ensure_ascii=True)
    check_dumps(text, ensure_ascii=False)
    check_dumps_bytes(text)  # raises UnicodeEncodeError like .encode()


@pytest.mark.parametrize("size", [1 << 10, 1 << 16, (1 << 20) + 3])
def test_large_and_mixed_kind_strings(size):
    """Long strings of each storage kind, and documents whose text widens (ASCII, then
    Latin-1, then BMP, then astral) after a long prefix: buffer growth and kind changes."""
    parts = ["a" * size, "\xe9" * size, "\u4e2d" * size, "\U0001f600" * size, ('"\\\n' * (size // 3))]
    doc = parts + ["x" * size + "\xe9", "y" * size + "\u4e2d", "z" * size + "\U0001f600"]
    for ensure_ascii in (True, False):
        for obj in (doc, {p[:50]: p for p in parts}, parts[0] + parts[3]):
            expected = json.dumps(obj, ensure_ascii=ensure_ascii)
            actual = rjson.dumps(obj, ensure_ascii=ensure_ascii)
            assert actual == expected
            # the result is a canonical str: the same storage (and size) as json's
            assert sys.getsizeof(actual) == sys.getsizeof(expected)
    assert rjson.dumps_bytes(doc) == json_dumps_bytes(doc)
    assert rjson.dumps_bytes(doc, indent=1) == json_dumps_bytes(doc, indent=1)


def test_result_kind_is_canonical():
    """A non-ASCII separator makes the text non-ASCII even when every string is escaped."""
    for obj, kw in [
        ([1, 2], {"separators": ("\xe9", ":")}),
        ([1, 2], {"separators": ("\u4e2d", ":")}),
        ({"a": 1}, {"separators": (",", "\U0001f600")}),
        ([[1]], {"indent": "\xa0"}),
        (["\xe9"], {"ensure_ascii": False}),
        (["\u4e2d", "\xe9"], {"ensure_ascii": False}),
        (["a"], {"ensure_ascii": False}),
    ]:
        expected = json.dumps(obj, **kw)
        actual = rjson.dumps(obj, **kw)
        assert actual == expected
        assert sys.getsizeof(actual) == sys.getsizeof(expected)


# ----- keywords -----


def test_separators_and_indent_variants():
    obj = {"a": [1, {"b": None, "c": [True, 2.5, "x"]}, []], "d": {}, "e": ()}
    for indent in (None, 0, -1, 1, 2, 8, "", "\t", "ab", "\xe9", "\u3000\U0001f600", True, False, Color.RED):
        for separators in (None, (",", ":"), (", ", ": "), ("; ", "= "), [",", ":"], ["\u3001", "\uff1a"],
                           ("", ""), ("," * 20, ":" * 9)):
            for ensure_ascii in (True, False):
                check_both(obj, indent=indent, separators=separators, ensure_ascii=ensure_ascii)


def test_indent_values_handed_to_json():
    """Unusual indents (huge, negative beyond 64 bits, long strings) give json's result."""
    for indent in (70_000, -(10**30), 2**63, -(2**63), " " * 300, "\t" * 9):
        check_both({"a": [1]}, indent=indent)


class OperatorStr(str):
    """A str subclass overriding the operators json's pure-Python encoder applies to
    ``indent`` and ``separators`` (``*`` and ``+``)."""

    def __mul__(self, n):
        return "<mul>"

    __rmul__ = __mul__

    def __add__(self, other):
        return "<add>"

    def __radd__(self, other):
        return "<radd>"


def test_str_subclass_indent_and_separators_plain():
    """str subclasses without overridden operators are used as their text."""

    class Plain(str):
        pass

    check_both({"a": [1, 2]}, indent=Plain(".."))
    check_both({"a": [1, 2]}, separators=(Plain(" ,"), Plain(" :")))
    check_both({"a": [1, 2]}, separators=(Plain(" ,"), Plain(" :")), indent=Plain("\xe9"))


@pytest.mark.xfail(
    PY < (3, 13),
    strict=True,
    reason="json's pure-Python encoder (indent on Python < 3.13) builds the layout with the "
    "str subclass's own * and + operators; rjson uses the raw text",
)
def test_str_subclass_indent_with_operators():
    check_dumps({"a": [1, 2]}, indent=OperatorStr(".."))


@pytest.mark.xfail(
    PY < (3, 13),
    strict=True,
    reason="json's pure-Python encoder (indent on Python < 3.13) builds the item separator "
    "as item_separator + newline_indent, with a str subclass's own + operator",
)
def test_str_subclass_separators_with_operators_and_indent():
    check_dumps({"a": [1, 2]}, indent=2, separators=(OperatorStr(","), OperatorStr(":")))


def test_str_subclass_separators_with_operators_single_line():
    check_both({"a": [1, 2]}, separators=(OperatorStr(","), OperatorStr(":")))


def test_keyword_truthiness():
    """Flags take any object and use its truth value, as json does."""
    obj = {"b": float("nan"), 1: "\xe9", (1,): 2, "a": [1]}
    for value in (0, 1, "", "yes", [], [0], None, 0.0, Color.RED):
        check_both(obj, skipkeys=value)
        check_both(obj, skipkeys=True, ensure_ascii=value)
        check_both(obj, skipkeys=True, allow_nan=value)
        check_both({"b": 1, "a": 2}, sort_keys=value)
        check_both([1, [2]], check_circular=value)


def test_keyword_names_built_at_run_time():
    """Keyword names that are equal to, but not the same objects as, the interned names."""
    obj = {"b": [1, "\xe9"], "a": {}}
    names = {"".join(["in", "dent"]): 2, "".join(["sort_", "keys"]): True,
             "".join(["ensure_", "ascii"]): False, "".join(["separ", "ators"]): (",", "= ")}
    assert rjson.dumps(obj, **names) == json.dumps(obj, **names)
    check_both(obj, **names)


def test_skipkeys_with_mixed_keys():
    obj = {(1,): "t", "s": 1, 2: 2, 2.5: 3, None: 4, True: 5, frozenset(): 6, b"b": 7, "last": 8}
    assert rjson.dumps(obj, skipkeys=True) == (
        '{"s": 1, "2": 2, "2.5": 3, "null": 4, "true": 5, "last": 8}'
    )
    check_both(obj, skipkeys=True)
    check_both(obj, skipkeys=True, indent=2)
    check_both({(1,): 1}, skipkeys=True)
    check_both({(1,): 1}, skipkeys=True, indent=2)
    check_both({(1,): 1, (2,): 2, "a": 1}, skipkeys=True, indent=2)
    check_both([{(1,): 1}, {(2,): {"x": {(3,): 3}}}], skipkeys=True)


def test_sort_keys():
    obj = {"b": 1, "a": {"z": 1, "y": [{"d": 1, "c": 2}]}, "\xe9": 0, "A": 2, "": 3}
    assert rjson.dumps(obj, sort_keys=True) == json.dumps(obj, sort_keys=True)
    check_both(obj, sort_keys=True)
    check_both(obj, sort_keys=True, indent=1)
    numeric = {3: "a", 1.5: "b", -2: "c", True: "d", 2**70: "e", float("inf"): "f", float("nan"): "g"}
    check_both(numeric, sort_keys=True)
    check_both(numeric, sort_keys=True, indent=0)


def test_default_returning_containers():
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    def default(o):
        if isinstance(o, Point):
            return {"x": o.x, "y": [o.y, (o.x,)]}
        if isinstance(o, set):
            return sorted(o)
        if isinstance(o, complex):
            return Point(o.real, o.imag)  # resolved by a second call
        raise TypeError("unexpected %r" % (o,))

    obj = [Point(1, 2), {"s": {3, 1, 2}}, 1j, (Point("\xe9", None),)]
    assert rjson.dumps(obj, default=default) == json.dumps(obj, default=default)
    for kw in ({}, {"indent": 2}, {"sort_keys": True}, {"check_circular": False}, {"ensure_ascii": False}):
        check_both(obj, default=default, **kw)


def test_default_is_not_called_for_json_types():
    calls = []

    def default(o):
        calls.append(o)
        return None

    obj = {"a": [1, 2.5, "s", True, None, (1,)], 1: {}}
    assert rjson.dumps(obj, default=default) == json.dumps(obj)
    assert rjson.dumps_bytes(obj, default=default) == json_dumps_bytes(obj)
    assert calls == []


def test_default_is_called_once_per_object_in_order():
    seen_json, seen_rjson = [], []
    obj = [object(), {"k": object()}, (object(),)]

    def recorder(seen):
        def default(o):
            seen.append(o)
            return len(seen)

        return default

    assert rjson.dumps(obj, default=recorder(seen_rjson)) == json.dumps(obj, default=recorder(seen_json))
    assert seen_rjson == seen_json and len(seen_json) == 3


def test_cls_json_encoder_and_subclasses():
    obj = {"a": [1, 2.5, "\xe9"], "b": 1j}

    class ComplexEncoder(json.JSONEncoder):
        def default(self, o):
            if isinstance(o, complex):
                return [o.real, o.imag]
            return super().default(o)

    class ShoutEncoder(json.JSONEncoder):
        def encode(self, o):
            return super().encode(o).upper()

    class OptionEncoder(json.JSONEncoder):
        def __init__(self, *, tag, **kw):
            super().__init__(**kw)
            self.tag = tag

        def default(self, o):
            return self.tag

    assert rjson.dumps([1], cls=json.JSONEncoder) == "[1]"
    check_both([1, "\xe9"], cls=json.JSONEncoder)
    check_both(obj, cls=ComplexEncoder)
    check_both(obj, cls=ComplexEncoder, indent=2, sort_keys=True)
    check_both(obj, cls=ShoutEncoder, ensure_ascii=False)
    assert rjson.dumps(obj, cls=ShoutEncoder, default=lambda o: "x") == '{"A": [1, 2.5, "\\U00E9"], "B": "X"}'
    check_both(obj, cls=OptionEncoder, tag="T")
    assert rjson.dumps(obj, cls=OptionEncoder, tag="T") == json.dumps(obj, cls=OptionEncoder, tag="T")


def test_obj_as_keyword():
    assert rjson.dumps(obj=[1]) == json.dumps(obj=[1]) == "[1]"
    assert rjson.dumps_bytes(obj=[1, "\xe9"]) == json_dumps_bytes(obj=[1, "\xe9"])


# ----- dump -----


def test_dump_to_stringio():
    obj = {"a": [1, 2.5, None, "\xe9\U0001f600"], "b": {"c": ()}}
    for kw in ({}, {"indent": 2}, {"ensure_ascii": False, "sort_keys": True}, {"separators": (",", ":")}):
        expected, actual = io.StringIO(), io.StringIO()
        json.dump(obj, expected, **kw)
        assert rjson.dump(obj, actual, **kw) is None
        assert actual.getvalue() == expected.getvalue()


def test_dump_to_any_writer():
    class Writer:
        def __init__(self):
            self.chunks = []

        def write(self, text):
            self.chunks.append(text)

    writer = Writer()
    rjson.dump([1, {"x": "y"}], writer)
    assert "".join(writer.chunks) == json.dumps([1, {"x": "y"}])
    assert all(isinstance(c, str) for c in writer.chunks)


# ----- dumps_bytes -----


def test_dumps_bytes_wire_defaults():
    obj = {"a": [1, 2.5, None, "\xe9\u4e2d\U0001f600"], "b": {"c": ()}}
    data = rjson.dumps_bytes(obj)
    assert type(data) is bytes
    assert data == '{"a":[1,2.5,null,"\xe9\u4e2d\U0001f600"],"b":{"c":[]}}'.encode()
    assert data == json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    for kw in ({"ensure_ascii": True}, {"separators": None}, {"separators": (", ", ": ")}, {"indent": 2},
               {"indent": 2, "separators": None}, {"sort_keys": True}, {"cls": json.JSONEncoder}):
        check_dumps_bytes(obj, **kw)


@pytest.mark.parametrize("kw", [{}, {"indent": 2}, {"ensure_ascii": True}], ids=["plain", "indent", "ascii"])
def test_dumps_bytes_separators_none(kw):
    """``separators=None`` means json's default separators, not the wire ones."""
    obj = [1, {"a": 2}]
    assert rjson.dumps_bytes(obj, separators=None, **kw) == json_dumps_bytes(obj, separators=None, **kw)


# ----- module surface -----


def test_backend_functions():
    backend = rjson.simd_backend()
    backends = rjson.simd_backends()
    assert isinstance(backend, str)
    assert isinstance(backends, tuple) and all(isinstance(b, str) for b in backends)
    assert backend in backends
    assert backend in ("avx512", "avx2", "sse2", "neon", "scalar")
    assert "scalar" in backends
    if not os.environ.get("RJSON_SIMD"):
        assert backend == backends[0], "without RJSON_SIMD the best backend is used"


def test_version():
    assert isinstance(rjson.__version__, str)
    assert re.match(r"^\d+\.\d+\.\d+", rjson.__version__)
    try:
        from importlib.metadata import version
    except ImportError:  # pragma: no cover
        return
    assert rjson.__version__ == version("rjson")


def test_stdlib_classes_and_loads_smoke():
    assert rjson.JSONDecodeError is json.JSONDecodeError
    assert rjson.JSONEncoder is json.JSONEncoder
    assert rjson.JSONDecoder is json.JSONDecoder
    assert rjson.loads('{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}
    for name in ("dump", "dumps", "dumps_bytes", "load", "loads", "simd_backend", "simd_backends"):
        assert callable(getattr(rjson, name))
        assert name in rjson.__all__


def test_round_trip_through_loads():
    obj = {"a": [1, -2**70, 2.5, None, True, "\xe9\u4e2d\U0001f600\n\""], "b": {"c": {}}}
    assert json.loads(rjson.dumps(obj)) == obj
    assert json.loads(rjson.dumps_bytes(obj)) == obj


# ----- ensure_ascii=False text of mixed string kinds -----

#: One string of each storage kind (ASCII, Latin-1, UCS-2, UCS-4), some with escapes and
#: lone surrogates, so that a text result is stitched from byte runs and wide parts.
MIXED_KIND_STRINGS = [
    "plain",
    "caf\xe9 \"quoted\"\n",
    "\u4e2d\u6587\t\\ \u3000",
    "\ud800 lone \udfff",
    "\U0001f600 face \x00",
    "\U0001f600\ud83d",
    "",
]


@pytest.mark.parametrize("seed", range(40))
def test_text_of_mixed_kinds(seed):
    """``dumps(ensure_ascii=False)`` keeps every character as it is, in a ``str`` of the
    narrowest kind (equality with json's result also compares the kind)."""
    rng = random.Random(seed)
    picks = [rng.choice(MIXED_KIND_STRINGS) for _ in range(rng.randint(1, 6))]
    obj = {p + str(i): [p, i, {p: p}] for i, p in enumerate(picks)}
    for indent in (None, 2):
        expected = json.dumps(obj, ensure_ascii=False, indent=indent)
        got = rjson.dumps(obj, ensure_ascii=False, indent=indent)
        assert got == expected
        assert max(map(ord, got)) == max(map(ord, expected))
