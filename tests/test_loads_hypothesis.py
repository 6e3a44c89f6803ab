"""Differential property tests: ``rjson.loads`` against ``json.loads`` on generated
documents in varied spellings (whitespace, escapes, surrogate pairs, number forms), and on
mutations of them (deleted, inserted, swapped characters, truncation, trailing data),
comparing values strictly and errors by type and attributes.

``RJSON_HYPOTHESIS_EXAMPLES`` sets the number of examples (default 300; see conftest.py).
"""

import json

from hypothesis import given, note, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, SMALL_EXAMPLES
from test_loads_support import assert_loads_like_json

WHITESPACE = st.text(alphabet=" \t\n\r", max_size=3)

NOTABLE_CHARS = [
    '"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\x80", "\xe9", "\xff",
    "\u0100", "\u07ff", "\u0800", "\u20ac", "\ud7ff", "\ud800", "\udbff", "\udc00", "\udfff",
    "\ue000", "\ufeff", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff",
]
CHARS = st.one_of(st.characters(codec=None), st.sampled_from(NOTABLE_CHARS), st.characters(max_codepoint=0x7F))
TEXT = st.text(alphabet=CHARS, max_size=24) | st.text(alphabet="abcdefghij_", min_size=1, max_size=70)

NAMED = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}

NUMBER_TEXT = st.from_regex(r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?", fullmatch=True)


def _hex(rng, code):
    text = "%04x" % code
    return text.upper() if rng.random() < 0.3 else text


def _whitespace(rng):
    return "".join(rng.choice(" \t\n\r") for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])))


def string_literal(rng, text):
    """``text`` as a JSON string, each character raw or escaped in one of the ways JSON
    allows (raw only where it may be: not quotes, backslashes or control characters)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        raw_ok = ch not in '"\\' and code >= 0x20
        style = rng.choice([0, 0, 0, 1, 2] if raw_ok else [1, 2])
        if style == 0:
            out.append(ch)
        elif style == 1 and ch in NAMED:
            out.append(NAMED[ch])
        elif code > 0xFFFF:
            code -= 0x10000
            out.append("\\u" + _hex(rng, 0xD800 + (code >> 10)) + "\\u" + _hex(rng, 0xDC00 + (code & 0x3FF)))
        else:
            out.append("\\u" + _hex(rng, code))
    out.append('"')
    return "".join(out)


def number_literal(rng, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return rng.choice(["-0", "0"]) if value == 0 else str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return rng.choice([repr(value), "%.17g" % value, "%.17e" % value, "%.3E" % value, "%.20f" % value])


class Obj(list):
    """An object to spell: a list of (key, value) pairs."""


SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    NUMBER_TEXT.map(lambda t: ("raw number", t)),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=6) | st.lists(st.tuples(TEXT, children), max_size=6).map(Obj),
    max_leaves=40,
)


def spell(rng, v):
    """A JSON text for a generated value, spelt with random whitespace and escapes."""
    if v is None:
        return "null"
    if isinstance(v, tuple):
        return v[1]
    if isinstance(v, str):
        return string_literal(rng, v)
    if isinstance(v, (bool, int, float)):
        return number_literal(rng, v)
    w = lambda: _whitespace(rng)  # noqa: E731
    if isinstance(v, Obj):
        members = [w() + string_literal(rng, k) + w() + ":" + w() + spell(rng, x) + w() for k, x in v]
        return "{" + (",".join(members) if v else w()) + "}"
    return "[" + (",".join(w() + spell(rng, x) + w() for x in v) if v else w()) + "]"


@st.composite
def document(draw):
    rng = draw(st.randoms(use_true_random=False))
    return _whitespace(rng) + spell(rng, draw(VALUES)) + _whitespace(rng)


def encodings_of(text):
    """The text itself and its bytes as json would be given them."""
    yield text
    yield text.encode("utf-8", "surrogatepass")


@settings(max_examples=EXAMPLES)
@given(document())
def test_valid_documents(doc):
    note(repr(doc))
    for form in encodings_of(doc):
        kind, _ = assert_loads_like_json(form)
        assert kind == "value"


MUTATION_CHARS = st.sampled_from(list('{}[],:"\\ 0123456789.eE+-tfnulsaINy') + ["\x00", "\x1f", "é", "€", "😀", "\ud800", "\ufeff"])


@st.composite
def mutated(draw):
    text = draw(document())
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "insert", "swap", "truncate", "append", "replace"]))
        i = draw(st.integers(0, len(text)))
        if kind == "delete" and text:
            i = min(i, len(text) - 1)
            text = text[:i] + text[i + 1:]
        elif kind == "insert":
            text = text[:i] + draw(MUTATION_CHARS) + text[i:]
        elif kind == "swap" and len(text) >= 2:
            i = min(i, len(text) - 2)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif kind == "truncate":
            text = text[:i]
        elif kind == "append":
            text += draw(st.sampled_from([" x", "]", "}", ",", "1", " []", '"', "\x00", " \n"]))
        elif kind == "replace" and text:
            i = min(i, len(text) - 1)
            text = text[:i] + draw(MUTATION_CHARS) + text[i + 1:]
    return text


@settings(max_examples=EXAMPLES)
@given(mutated())
def test_mutated_documents(doc):
    note(repr(doc))
    for form in encodings_of(doc):
        assert_loads_like_json(form)


@settings(max_examples=SMALL_EXAMPLES)
@given(mutated(), st.sampled_from(["utf-16", "utf-16-le", "utf-32-be", "utf-8-sig"]))
def test_other_encodings(doc, encoding):
    data = doc.encode(encoding, "surrogatepass")
    assert_loads_like_json(data)
    assert_loads_like_json(bytearray(data))
    assert_loads_like_json(memoryview(data))


@settings(max_examples=SMALL_EXAMPLES)
@given(st.binary(max_size=64) | mutated().map(lambda t: t.encode("utf-8", "surrogatepass")).flatmap(
    lambda b: st.tuples(st.just(b), st.integers(0, max(len(b) - 1, 0)), st.integers(0, 255)).map(
        lambda t: t[0][: t[1]] + bytes([t[2]]) + t[0][t[1] + 1:])))
def test_arbitrary_bytes(data):
    assert_loads_like_json(data)


@settings(max_examples=SMALL_EXAMPLES)
@given(document() | mutated(), st.sampled_from([
    {"strict": False},
    {"object_pairs_hook": list},
    {"object_hook": lambda d: sorted(d.items(), key=repr)},
    {"parse_float": str, "parse_int": str, "parse_constant": str},
]))
def test_keywords(doc, kwargs):
    for form in encodings_of(doc):
        assert_loads_like_json(form, **kwargs)


@settings(max_examples=SMALL_EXAMPLES)
@given(st.text(alphabet=st.sampled_from(list("\x00\x01\x1f \t\"\\abé€😀\ud800u0123456789")), max_size=30))
def test_strict_false_strings(body):
    doc = '["' + body + '"]'
    for form in encodings_of(doc):
        assert_loads_like_json(form, strict=False)
        assert_loads_like_json(form)


@settings(max_examples=SMALL_EXAMPLES)
@given(st.lists(NUMBER_TEXT, min_size=1, max_size=20), WHITESPACE)
def test_number_spellings(numbers, ws):
    doc = "[" + ("," + ws).join(numbers) + "]"
    for form in encodings_of(doc):
        assert_loads_like_json(form)
    assert_loads_like_json(numbers[0])
