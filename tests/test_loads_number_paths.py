"""``rjson.loads`` against ``json.loads`` on the paths that favour numbers: values told
from a `-` or a digit before any other kind, the sign read without a branch (and
``-Infinity`` found from the number path), one space before a token skipped inline, and
the int cache switched off within a call whose ints rarely repeat."""

import json
import random

import pytest

import rjson
from test_loads_support import assert_loads_like_json

# Tokens that start like a number (or like -Infinity), valid or not.
NUMBER_STARTS = [
    "-", "--", "-I", "-In", "-Infinit", "-Infinity", "-Infinityx", "-infinity", "-NaN", "--1",
    "-.5", "-e5", "-E5", "- 1", "-\n1", "-0", "-00", "-01", "-0.", "-0.5", "-0e", "-0e+",
    "-1e", "-1e+", "-1e-5", "-1.", "-1.e5", "-1x", "-9223372036854775808",
    "-9223372036854775809", "0", "00", "01", "1", "9", "9x", "1-", "1--1", "Infinity", "NaN",
    "x", "",
]

# Where a token is placed: alone, in a list (first, after a compact and a spaced
# separator, last without a closing bracket), as an object's value.
CONTEXTS = [
    "{}", "[{}]", "[1,{}]", "[1, {}]", "[1, {}", "[{}, 1]", '{{"a": {}}}', '{{"a":{}, "b": 2}}',
    "{} ", " {}",
]


@pytest.mark.parametrize("context", CONTEXTS)
def test_number_starts_like_json(context):
    for token in NUMBER_STARTS:
        doc = context.format(token)
        assert_loads_like_json(doc)
        assert_loads_like_json(doc.encode())


# Whitespace around separators: one space then a token (the inline path), one space then
# more whitespace or the end, and the rest.
SEPARATORS = [",", ", ", ",  ", ", \n", ",\n ", ",\t", " ,", " , ", ", \r\n\t "]
ENDS = ["]", " ]", "  ]", " \n]", "", " ", ",", ", ", ", ]", ",]"]
ITEMS = ["1", "-1", '"s"', "true", "null", "[]", "{}", "1.5", "-0.0"]


def test_separator_whitespace_like_json():
    for sep in SEPARATORS:
        for end in ENDS:
            for item in ITEMS:
                doc = "[" + sep.join([item, "-12", item]) + end
                assert_loads_like_json(doc)
                assert_loads_like_json(doc.encode())
                obj = "{" + sep.join(['"a"' + sep.replace(",", ":") + item, '"b": -3']) + end.replace("]", "}")
                assert_loads_like_json(obj)
                assert_loads_like_json(obj.encode())


def test_space_at_every_position():
    # A document with one or two spaces, or a space and a newline, after each byte.
    base = '[1,-2,{"a":3,"b":[-4.5,"x"]},true,null]'
    for k in range(len(base) + 1):
        for gap in (" ", "  ", " \n", "\n "):
            doc = base[:k] + gap + base[k:]
            assert_loads_like_json(doc)
            assert_loads_like_json(doc.encode())


def _int_doc(phases, seed):
    """A list of ints in phases: ("distinct", n) ints that never repeat, ("repeat", n)
    ints drawn from a dozen values."""
    rng = random.Random(seed)
    items = []
    for kind, n in phases:
        if kind == "distinct":
            items += [rng.randrange(-(1 << 62), 1 << 62) for _ in range(n)]
        else:
            items += [rng.choice([1000, -1000, 123456789, 1 << 40, -(1 << 62), 257, -6]) for _ in range(n)]
    return json.dumps(items)


@pytest.mark.parametrize("phases", [
    [("distinct", 3000)],
    [("repeat", 3000)],
    [("distinct", 511), ("repeat", 3000)],
    [("distinct", 512), ("repeat", 3000)],
    [("distinct", 513), ("repeat", 3000), ("distinct", 1000)],
    [("repeat", 1023), ("distinct", 2000), ("repeat", 1000)],
    [("repeat", 255), ("distinct", 258), ("repeat", 2000)],
    [("distinct", 256), ("repeat", 256), ("distinct", 256), ("repeat", 256)] * 3,
])
def test_int_cache_batches_like_json(phases):
    # Several calls in a row, so that each call starts with the previous call's entries
    # in the cache (which it must never hand out).
    for seed in range(3):
        doc = _int_doc(phases, seed)
        assert_loads_like_json(doc)
        assert_loads_like_json(doc.encode())
        assert rjson.loads(doc) == json.loads(doc)


def _signed_edges():
    ints = [0, 1, 9, 10, 255, 256, 257, 2**31, 2**53, 10**18, 10**19 - 1, 10**19, 2**63 - 1, 2**63,
            2**63 + 1, 2**64, 10**20]
    for n in ints:
        for d in (-1, 0, 1):
            yield str(n + d)
            yield str(-(n + d))
    floats = ["0.0", "0e5", "0.5", "7321.05", "479456.76077590196", "65.613616999999977", "1e22",
              "1e23", "9007199254740993.5", "4.9e-324", "2e-324", "1e-400", "1e400",
              "1.7976931348623157e308", "1.7976931348623159e308", "2.2250738585072011e-308",
              "12345678901234567890.5", "0.000001", "1E-7"]
    for f in floats:
        yield f
        yield "-" + f


def test_signed_edges_like_json():
    # Every edge with both signs, alone and in a list of mixed signs (the sign is applied
    # without a branch, the int range decided with the sign).
    edges = list(_signed_edges())
    for text in edges:
        assert_loads_like_json(text)
        assert_loads_like_json(text.encode())
    doc = "[" + ", ".join(edges) + "]"
    assert_loads_like_json(doc)
    assert_loads_like_json(doc.encode())


def test_lists_of_every_length_like_json():
    # Lists are built by handing an empty list an item array of exactly their length.
    items = ["1", "-2.5", '"s"', "[]", "{}", "null", '{"k": [3]}', "[4, [5]]"]
    for n in range(70):
        doc = "[" + ", ".join(items[k % len(items)] for k in range(n)) + "]"
        ours = assert_loads_like_json(doc)[1]
        assert_loads_like_json(doc.encode())
        ours.append(0)  # the list stays an ordinary, growable list
        ours.extend(range(n))
        assert len(ours) == 2 * n + 1
        del ours[: n // 2]
    nested = "[" * 50 + "]" * 50
    assert_loads_like_json(nested)


def test_list_items_keep_their_references():
    # Each item is referenced by its list only: releasing the list releases them.
    import sys
    doc = json.dumps([[f"v{k}" * 20, [k, -k]] for k in range(100)])
    ours, theirs = rjson.loads(doc), json.loads(doc)
    assert [sys.getrefcount(x) for x in ours] == [sys.getrefcount(x) for x in theirs]
    assert [sys.getrefcount(x[0]) for x in ours] == [sys.getrefcount(x[0]) for x in theirs]
