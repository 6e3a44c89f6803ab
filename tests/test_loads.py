"""``rjson.loads`` / ``rjson.load`` against ``json.loads`` / ``json.load``: values, every
error message and position, input types and encodings, and every keyword."""

import decimal
import functools
import io
import json
import sys
from collections import OrderedDict

import pytest

import rjson
from test_loads_support import assert_loads_like_json, assert_same_value, error_signature, outcome

PY = sys.version_info[:2]

VALUES = [
    "0", "-0", "1", "-1", "123456789012345678", "1234567890123456789", "-9223372036854775808",
    "9223372036854775807", "18446744073709551616", "1" * 400,
    "9223372036854775808", "-9223372036854775809", "9999999999999999999", "-9999999999999999999",
    "10000000000000000000", "-1000000000000000000", "[-9223372036854775808,9223372036854775807]",
    '"😀􏿿𐀀x"', '"' + "😀" * 20 + 'x"',     '"中文字"', '"a中b￿ࠀ"', '"' + "中" * 33 + 'x"',
    "0.0", "-0.0", "1.5", "-1.5", "1e5", "1E5", "1e+5", "1e-5", "1.5e300", "1e400", "-1e400",
    "1e-400", "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308",
    "0.30000000000000004", "9007199254740993", "9007199254740993.0", "123456789012345678901234567890.5",
    "0.000000000000000000000000000001234", "1" + "0" * 30 + "e-30",
    "NaN", "Infinity", "-Infinity", "true", "false", "null",
    '""', '"abc"', '"\\u00e9"', '"é"', '"€"', '"😀"', '"\\ud83d\\ude00"', '"\\ud83d"', '"\\ude00"',
    '"\\ud83d\\u0041"', '"\\ud83dx"', '"\\uDBFF\\uDFFF"', '"\\b\\f\\n\\r\\t\\"\\\\\\/"', '"a\\u0000b"',
    '"\\u0041\\u00e9\\u20ac"', '"' + "x" * 100 + '\\n"', '"' + "é" * 40 + '"', '"' + "€" * 40 + '"',
    "[]", "[1]", "[1,2,3]", "[ 1 , 2 ]", "{}", '{"a":1}', '{"a": 1, "b": [true, false, null]}',
    '{"a":1,"a":2}', '{"a":1,"b":2,"a":3}', '{"x":{"y":{"z":[[],[{}]]}}}',
    ' \t\n\r[ \t\n\r1 \t\n\r, \t\n\r{ \t\n\r"k" \t\n\r: \t\n\r"v" \t\n\r} \t\n\r] \t\n\r',
    '{"' + "k" * 100 + '": "' + "v" * 100 + '"}', '{"é": 1, "😀": 2, "\\u00e9": 3}',
    "[" + ",".join(str(i) for i in range(1000)) + "]",
    "{" + ",".join(f'"k{i}": {i}' for i in range(100)) + "}",
]

MALFORMED = [
    "", " ", "\n\n", "[", "]", "{", "}", "[1", "[1,", "[1,]", "[1 ,  ]", "[,1]", "[1 2]", "[1:2]",
    "{\"a\"", '{"a":', '{"a":1', '{"a":1,', '{"a":1,}', '{"a" 1}', "{1:2}", "{'a':1}", '{"a":1 "b":2}',
    '{"a":1,,}', '{,}', "nul", "tru", "fals", "nulll", "True", "None", "Nan", "nan", "-", "-a",
    "+1", "01", "-01", "1.", ".5", "1.e5", "1e", "1e+", "1e-", "1E", "1.5e", "0x10", "1_000", "--1",
    "-Infinit", "Infinit", "NaN1", "1 2", "[] []", '"abc', '"abc\\', '"\\', '"\\x"', '"\\u"',
    '"\\u12"', '"\\u123"', '"\\uXYZW"', '"\\ud83d\\u"', '"\\ud83d\\u12"',
    '"\\ud83d\\uXYZW"', '"\\ud83d\\ude0"', '"\\ud83d\\ude00', '"\\ud83d\\u1234', '"a\x00"', '"a\x1f"',
    '"a\nb"', '"a\tb"', "\ufeff[]", "\ufeff", "[\ufeff]", "é", '["é" x]', '[1] é', "[1]\x00",
    '{"a":1}}', "[[]]]", "[1]]", '"a"  "b"', "1 \x0c", "\x0c1", "[\x0b]", "\u00a01",
    '{"\\u00e9":', '{"a\\"":1 x', '["a", "é\\x"]', '["\\ud800\\ud800\\u"]',
]


@pytest.mark.parametrize("doc", VALUES)
def test_values_like_json(doc):
    assert_loads_like_json(doc)
    assert_loads_like_json(doc.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("doc", MALFORMED)
def test_errors_like_json(doc):
    kind, _ = assert_loads_like_json(doc)
    assert kind == "error"
    assert_loads_like_json(doc.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("doc", ["[1,]", '{"a":1,}', "[1,\n ]", '{"a": 1 ,\n }'])
def test_trailing_comma_message_follows_the_running_python(doc):
    _, exc = outcome(rjson.loads, doc)
    expected = "Illegal trailing comma before end of" if PY >= (3, 13) else "Expecting"
    assert exc.msg.startswith(expected)


def test_error_is_the_standard_library_class():
    with pytest.raises(json.JSONDecodeError) as info:
        rjson.loads('{"a": [1, 2,, 3]}')
    assert type(info.value) is json.JSONDecodeError
    assert rjson.JSONDecodeError is json.JSONDecodeError
    assert (info.value.msg, info.value.pos, info.value.lineno, info.value.colno) == ("Expecting value", 12, 1, 13)


def test_lineno_and_colno_count_lines():
    doc = '{\n  "a": 1,\n  "b": [1,\n    2 x]\n}'
    assert_loads_like_json(doc)
    _, exc = outcome(rjson.loads, doc)
    assert (exc.lineno, exc.colno) == (4, 7)


# ----- text: kinds, surrogates, positions in characters -----


@pytest.mark.parametrize("prefix", ["", "é", "€", "😀", "\ud800", "é€😀\udfff"])
@pytest.mark.parametrize("body", ['["x", 1, tru]', '{"k": "\\q"}', '["a\x01"]', '[1, "unterminated'])
def test_error_positions_are_characters(prefix, body):
    doc = '["' + prefix + '", ' + body + "]"
    assert_loads_like_json(doc)
    assert_loads_like_json(doc.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "text",
    ["ascii", "latin-1 é ÿ", "bmp € 中文", "astral 😀 𝄞", "mixed é€😀", "\x7f\x80", "\u0100", "\uffff"],
)
def test_strings_get_their_narrowest_kind(text):
    for doc in (json.dumps(text), json.dumps(text, ensure_ascii=False)):
        value = rjson.loads(doc)
        assert value == text
        # A str of the wrong kind would compare unequal to an equal literal and hash apart.
        assert hash(value) == hash(text)
        assert {value: 1}[text] == 1
        assert_loads_like_json(doc)
        assert_loads_like_json(doc.encode("utf-8"))


def test_lone_surrogates_in_text_and_bytes():
    doc = '["\ud800", "\udfff", "\ud83d\ude00", "a\udc00b"]'
    assert_loads_like_json(doc)
    # json decodes bytes with surrogatepass: encoded surrogates are accepted.
    assert_loads_like_json(doc.encode("utf-8", "surrogatepass"))
    assert rjson.loads(b'"\xed\xa0\xbd\xed\xb8\x80"') == "\ud83d\ude00"


@pytest.mark.parametrize(
    "data",
    [
        b'"\xff"', b'["\xc3"]', b'"\xc0\x80"', b'"\xe0\x80\x80"', b'"\xed\xa0"', b'"\xf4\x90\x80\x80"',
        b'"\xf8\x88\x80\x80\x80"', b"[1, \xff]", b"[1, x] \xff", b'{"\xe9": 1}', b"\x80",
        b'["ok", "\xe2\x82"]', b'"\xed\xa0\x41"', b"[" + b"1," * 1000 + b"\xff]",
        b'"\xe0\x80\x80abc"', b'"\xe0\x9f\xbfabc"', b'"\xe4\xb8\xad\xe4\xb8"', b'"\xe4\xb8\xad\xe4\xb8\xc0xyz"',
        b'"\xf0\x8f\xbf\xbfxyz"', b'"\xf5\x80\x80\x80xyz"', b'"\xf4\x90\x80\x80xyz"', b'"\xf0\x9f\x98\x80\xf0\x9f\x98"',
    ],
)
def test_invalid_utf8_raises_the_decode_error(data):
    kind, exc = assert_loads_like_json(data)
    assert kind == "error" and isinstance(exc, UnicodeDecodeError)


CJK_DISRUPTIONS = [
    b"a", "\u00e9".encode(), "\U0001F600".encode(), b"\xe4\x41\x80", b"\xe4\xb8\xc0", b"\xe0\x80\x80",
    b"\xe0\x9f\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xef\xbf\xbf", b"\xe0\xa0\x80", b"\xe4\xb8", b"\xff",
    b'\\n', b"\\u4e2d", b'"', b"\x01",
]


@pytest.mark.parametrize("disruption", CJK_DISRUPTIONS)
def test_cjk_runs_of_every_length_with_a_disruption_like_json(disruption):
    """Three-byte text (decoded 16 bytes at a time where the CPU has a byte shuffle) of
    every length up to 100 characters, with one disruption at every byte position."""
    text = "".join(chr(0x4E00 + 97 * k) if k % 5 else chr(0x800 + k) for k in range(100)).encode()
    for n in range(0, 100):
        body = text[: 3 * n]
        assert_loads_like_json(b'"' + body + b'"')
        for pos in range(0, len(body) + 1, 1 if n < 20 else 7):
            assert_loads_like_json(b'["' + body[:pos] + disruption + body[pos:] + b'"]')


MIXED_DISRUPTIONS = [
    b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xc3", b"\xe0\x9f\xbf", b"\xe4\xb8", b"\xed\xa0\x80",
    b"\xf0\x8f\xbf\xbf", b"\xf0\x9f\x98", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",
    b"\xff", b"\\n", b"\\ud83d\\ude00", b'"', b"\x01",
]


@pytest.mark.parametrize("disruption", MIXED_DISRUPTIONS)
def test_astral_text_of_every_length_with_a_disruption_like_json(disruption):
    """Text of characters of one to four bytes, mostly emoji (decoded 32 and 16 bytes at a
    time into UCS-4 where the CPU has AVX2), of every length up to 90 characters, with
    one disruption at every byte position."""
    chars = ["\U0001F600", "a", "\U0010FFFF", "\u00e9", "\U0001F64F", " ", "\u4e2d", "\U00010000", "\u07ff"]
    text = "".join(chars[k * 5 % len(chars)] if k % 3 == 0 else chr(0x1F600 + k) for k in range(90))
    # Mostly ASCII: runs of 31 to 45 letters between emoji.
    ascii = "".join("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"[: 31 + 2 * k] + "\U0001F600" for k in range(6))
    for text in (text.encode("utf-8", "surrogatepass"), ascii.encode()):
        for n in range(0, len(text) + 1, 3):
            body = text[:n]
            assert_loads_like_json(b'"' + body + b'"')
            for pos in range(0, n + 1, 1 if n < 120 else 5):
                assert_loads_like_json(b'["' + body[:pos] + disruption + body[pos:] + b'"]')


# ----- encodings and input types -----


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("doc", ['{"a": [1, "é€😀", null]}', "[1, 2", '"x"', "1", "[]", '{"a": tru}', ""])
def test_encodings_like_json(encoding, doc):
    data = doc.encode(encoding)
    for form in (data, bytearray(data)):
        assert_loads_like_json(form)


@pytest.mark.parametrize(
    "data",
    [
        b"", b"1", b"12", b"\x001", b"1\x00", b"\xef\xbb\xbf", b"\xef\xbb\xbf1", b"\xef\xbb\xbf\xef\xbb\xbf1",
        b"\xff\xfe", b"\xfe\xff", b"\xff\xfe1", b"\xff\xfe\x00\x00", b"\x00\x00\x00\x31", b"\x31\x00\x00\x00",
        b"\x00\x31\x00\x32", b"\x31\x00\x32\x00", b"\x31\x00\x00\x32", b"\xef\xbb\xbf[1, \xff]", b"\xef\xbb\xbf[1,",
        b"\xff\xfe[\x001\x00", b"\xfe\xff\x00[\x001", b"\xff\xfe\xff\xfe[\x00]\x00",
    ],
)
def test_encoding_detection_like_json(data):
    assert_loads_like_json(data)
    assert_loads_like_json(bytearray(data))
    assert_loads_like_json(memoryview(data))


def test_memoryview_is_read_as_its_bytes():
    data = b'{"a": [1, 2.5, "x"]}'
    assert rjson.loads(memoryview(data)) == {"a": [1, 2.5, "x"]}
    assert rjson.loads(memoryview(b"xx[1]xx")[2:-2]) == [1]
    assert rjson.loads(memoryview(bytearray(b"[true]"))) == [True]
    with pytest.raises(BufferError):
        rjson.loads(memoryview(b"[1, 2, 3, 4]")[::2])
    released = memoryview(b"[]")
    released.release()
    with pytest.raises(ValueError):
        rjson.loads(released)


class StrSub(str):
    pass


class BytesSub(bytes):
    def decode(self, *args, **kwargs):  # json calls s.decode(...): honoured by delegation
        return '"overridden"'


@pytest.mark.parametrize(
    "doc",
    [1, 1.5, None, [], {}, object(), b"[1]".hex(), StrSub("[1, 2]"), StrSub("\ufeff[]"), StrSub("[x"),
     BytesSub(b"[1]"), bytearray(b"[1]"), type("B", (bytearray,), {})(b"[2]")],
)
def test_other_types_like_json(doc):
    assert_loads_like_json(doc)


def test_type_error_message():
    with pytest.raises(TypeError, match="^the JSON object must be str, bytes or bytearray, not int$"):
        rjson.loads(1)


def test_bom_in_text_is_refused():
    assert_loads_like_json("\ufeff{}")
    _, exc = outcome(rjson.loads, "\ufeff{}")
    assert exc.msg == "Unexpected UTF-8 BOM (decode using utf-8-sig)" and exc.pos == 0


# ----- calls: arguments and delegation -----


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((), {}), (("[1]", "x"), {}), ((), {"s": "[1]"}), (("[1]",), {"s": "[1]"}),
        (("[1]",), {"unknown": 1}), ((b"\xff",), {"unknown": 1}), (("[1]",), {"encoding": "utf-8"}),
        (("[1]",), {"cls": None}), (("[1]",), {"cls": json.JSONDecoder}),
        ((memoryview(b"[1]"),), {"bogus": 2}),
    ],
)
def test_argument_handling_like_json(args, kwargs):
    json_args = tuple(bytes(a) if isinstance(a, memoryview) else a for a in args)
    expected = outcome(json.loads, *json_args, **kwargs)
    actual = outcome(rjson.loads, *args, **kwargs)
    if expected[0] == "error" and isinstance(expected[1], TypeError):
        assert actual[0] == "error" and type(actual[1]) is TypeError
        # The message names the function: json's own when delegated.
        assert str(actual[1]).replace("rjson", "json") == str(expected[1]) or str(actual[1]) == str(expected[1])
    else:
        assert actual[0] == expected[0]
        if expected[0] == "value":
            assert_same_value(actual[1], expected[1])
        else:
            assert error_signature(actual[1]) == error_signature(expected[1])


class CustomDecoder(json.JSONDecoder):
    def decode(self, s, *args, **kwargs):
        return ["custom", super().decode(s, *args, **kwargs)]


def test_custom_cls_is_honoured():
    assert rjson.loads("[1]", cls=CustomDecoder) == ["custom", [1]]
    assert rjson.loads(b"[1]", cls=CustomDecoder, parse_int=str) == ["custom", ["1"]]


# ----- hooks -----

DOCS = [
    '{"a": 1, "b": [1.5, 2, {"c": NaN, "d": -Infinity}], "e": {}, "f": [], "a": 3}',
    '[1, 2.0, 3e0, -0, -0.0, Infinity, 12345678901234567890, "s", {"x": null}]',
    "[]", "{}", "1", "1.5", "NaN", '"x"',
]


def _pairs(pairs):
    return ("pairs", pairs)


def _dict(d):
    return ("dict", sorted(d.items(), key=repr))


HOOKS = [
    {"object_hook": _dict},
    {"object_pairs_hook": _pairs},
    {"object_pairs_hook": OrderedDict},
    {"object_hook": _dict, "object_pairs_hook": _pairs},
    {"object_hook": None, "object_pairs_hook": None},
    {"parse_float": decimal.Decimal},
    {"parse_float": str},
    {"parse_float": float},
    {"parse_int": float},
    {"parse_int": str},
    {"parse_int": int},
    {"parse_int": lambda s: ("int", s)},
    {"parse_constant": str},
    {"parse_constant": lambda s: ("const", s)},
    {"parse_float": None, "parse_int": None, "parse_constant": None},
    {"strict": False},
    {"strict": True},
    {"strict": 0},
    {"strict": None},
    {"strict": ""},
    {"strict": []},
    {"parse_float": functools.partial(float)},
    {"parse_int": 0},
    {"parse_constant": ""},
    {"object_hook": 1},
    {"object_pairs_hook": "not callable"},
    {"parse_float": [].append},
]


@pytest.mark.parametrize("kwargs", HOOKS, ids=repr)
@pytest.mark.parametrize("doc", DOCS)
def test_hooks_like_json(doc, kwargs):
    assert_loads_like_json(doc, **kwargs)
    assert_loads_like_json(doc.encode(), **kwargs)
    assert_loads_like_json(doc.encode("utf-16"), **kwargs)


def test_hooks_are_called_in_document_order():
    seen = {"json": [], "rjson": []}

    def recorder(name):
        def hook(kind):
            return lambda value: seen[name].append((kind, value)) or value
        return hook

    doc = '{"a": [1, 2.5, {"b": NaN}], "c": {"d": 3}}'
    for name, loads in (("json", json.loads), ("rjson", rjson.loads)):
        hook = recorder(name)
        loads(doc, object_hook=hook("object"), parse_int=hook("int"), parse_float=hook("float"), parse_constant=hook("const"))
    assert seen["rjson"] == seen["json"]


@pytest.mark.parametrize("doc", ['{"a": {"b": 1}}', "[1, 2.5, NaN]", b'[{"a": [1]}]'])
@pytest.mark.parametrize("hook_name", ["object_hook", "object_pairs_hook", "parse_int", "parse_float", "parse_constant"])
@pytest.mark.parametrize("exc", [ValueError("boom"), StopIteration(7), StopIteration(), StopIteration("x"), KeyError("k")])
def test_hook_exceptions_like_json(doc, hook_name, exc):
    def hook(*_):
        raise exc

    expected = outcome(json.loads, doc, **{hook_name: hook})
    actual = outcome(rjson.loads, doc, **{hook_name: hook})
    assert actual[0] == expected[0]
    if expected[0] == "error":
        assert type(actual[1]) is type(expected[1])
        assert str(actual[1]) == str(expected[1])
        if isinstance(expected[1], json.JSONDecodeError):
            assert error_signature(actual[1]) == error_signature(expected[1])
            assert actual[1].__suppress_context__ == expected[1].__suppress_context__


def test_a_hook_may_call_loads_again():
    def hook(d):
        return rjson.loads('{"inner": [1, 2]}') if "outer" in d else d

    assert rjson.loads('{"outer": {"x": 1}}', object_hook=hook) == {"inner": [1, 2]}
    assert rjson.loads(b'[{"outer": 1}, {"y": "z"}]', object_hook=hook) == [{"inner": [1, 2]}, {"y": "z"}]


def test_strict_false_accepts_control_characters():
    doc = '["a\x00\x1f\tb\n", {"k\x01": "v\r"}]'
    assert_loads_like_json(doc, strict=False)
    assert_loads_like_json(doc.encode(), strict=False)
    assert_loads_like_json(doc)


def test_int_digit_limit_like_json():
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("no int digit limit on this Python")
    for doc in ["1" * 4300, "1" * 4301, "-" + "9" * 5000, "[" + "7" * 10000 + "]", "1" * 5000 + ".5"]:
        assert_loads_like_json(doc)
        assert_loads_like_json(doc.encode())


# ----- load -----


def test_load_reads_the_file():
    assert rjson.load(io.StringIO('{"a": [1, 2]}')) == {"a": [1, 2]}
    assert rjson.load(io.BytesIO(b'{"a": "\xc3\xa9"}')) == {"a": "é"}
    assert rjson.load(io.StringIO("[1.5]"), parse_float=decimal.Decimal) == [decimal.Decimal("1.5")]
    with pytest.raises(json.JSONDecodeError) as info:
        rjson.load(io.StringIO("[1, 2"))
    assert (info.value.msg, info.value.pos) == ("Expecting ',' delimiter", 5)
    with pytest.raises(TypeError):
        rjson.load(io.StringIO("[]"), bogus=1)
    assert rjson.load.__doc__


def test_repeated_and_shared_keys():
    # Keys come from a cache shared across calls: values must never leak between them.
    first = rjson.loads('[{"name": 1, "id": 2}, {"name": 3}]')
    second = rjson.loads(b'{"name": "x", "nam": "y", "namf": "z", "id": "w"}')
    assert first == [{"name": 1, "id": 2}, {"name": 3}]
    assert second == {"name": "x", "nam": "y", "namf": "z", "id": "w"}
    keys = ["k%d" % i for i in range(5000)] + ["x" * n for n in range(70)]
    doc = json.dumps({k: i for i, k in enumerate(keys)})
    for _ in range(3):
        assert_loads_like_json(doc)
        assert_loads_like_json(doc.encode())


def test_collector_tracking_like_json():
    import gc

    doc = '[{"a": 1, "b": "x"}, {"a": [1], "b": "y"}, {"a": 2, "b": {}}, {"a": 3, "b": "z"}]'
    for _ in range(3):  # the later rounds build the dicts from a learnt shape
        for form in (doc, doc.encode()):
            ours, theirs = rjson.loads(form), json.loads(doc)
            assert [gc.is_tracked(d) for d in ours] == [gc.is_tracked(d) for d in theirs]
            assert gc.is_tracked(ours) and gc.is_tracked(theirs)
    assert rjson.loads(doc, object_hook=lambda d: d) == json.loads(doc)


def test_shared_ints_and_shapes_never_mix_values():
    # Ints repeated within a call are shared; shapes (key sequences) are kept across calls
    # and filled with each call's own values.
    docs = [
        '[{"id": 1000, "n": -1000}, {"id": 1000, "n": 99999999999}, {"id": 7, "n": -0}]',
        '[{"id": 2000, "n": 1000}, {"id": 1000, "n": 2000}, {"id": [1000], "n": {"id": 1000}}]',
        '[{"id": 1, "n": 2, "id": 3}, {"id": 1, "n": 2, "id": 3}, {"n": 1, "id": 2}, {"id": 1, "n": 2}]',
        '[{"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3, "d": 4}]',
    ]
    for _ in range(4):
        for doc in docs:
            assert_loads_like_json(doc)
            assert_loads_like_json(doc.encode())
            assert_loads_like_json(doc, object_hook=lambda d: d)
    ints = [10**k + s for k in range(3, 19) for s in (0, 1, -1)]
    doc = json.dumps(ints + [-i for i in ints] + ints)
    assert_loads_like_json(doc)


# Strings with escapes: the pieces a body is made of, for the decoder's ASCII stage (runs
# copied as bytes while everything so far is ASCII) and its hand-over to code points at
# the first other character, from a raw one or an escape, at any place in the body.
_ESCAPE_PIECES = [
    "\\n", '\\"', "\\\\", "\\/", "\\b\\f\\r\\t", "\\u0041", "\\u007f", "\\u007F", "\\u0000",
    "\\u0080", "\\u00e9", "\\u00FF", "\\u0100", "\\u20ac", "\\uffff", "\\ud83d\\ude00",
    "\\uDBFF\\uDFFF", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\ud800\\ud800", "\\ude00\\ud83d",
]
_RAW_PIECES = ["é", "ÿ", "€", "😀", "\ud800"]
_RUN_LENGTHS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 64, 65, 100]


def _run(n, seed=0):
    return "".join(chr(0x61 + (seed + k) % 26) for k in range(n))


def _escape_bodies():
    bodies = []
    for piece in _ESCAPE_PIECES + _RAW_PIECES:
        for n in _RUN_LENGTHS:
            # The escape or character at the start, the end, between runs, and repeated.
            bodies += [piece + _run(n), _run(n) + piece, _run(n) + piece + _run(n, 3), (piece + _run(n)) * 3]
    for raw in _RAW_PIECES:
        for esc in ("\\n", "\\u0041", "\\u00e9", "\\u20ac", "\\ud83d\\ude00", "\\ud800"):
            for n in (0, 1, 8, 20, 70):
                # A non-ASCII character before the first escape, and after escapes.
                bodies += [_run(n) + raw + _run(n) + esc + _run(n), esc + _run(n) + esc + raw + _run(n) + esc]
    import random

    rng = random.Random(1234)
    pool = _ESCAPE_PIECES + _RAW_PIECES + [_run(n, 5) for n in _RUN_LENGTHS]
    bodies += ["".join(rng.choice(pool) for _ in range(rng.randrange(1, 12))) for _ in range(400)]
    return bodies


def _escape_documents(body):
    """The body as a string value and as a key, in text of each storage kind."""
    doc = f'["{body}", {{"{body}": 1}}]'
    return [doc, doc[:-1] + ', "é"]', doc[:-1] + ', "€"]', doc[:-1] + ', "😀"]']


def test_strings_with_escapes_like_json():
    for body in _escape_bodies():
        for doc in _escape_documents(body):
            assert_loads_like_json(doc)
            assert_loads_like_json(doc.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize("strict", [True, False])
def test_strings_with_escapes_and_errors_like_json(strict):
    bodies = [b for b in _escape_bodies()[::7]] + [
        "ab\\n\x01cd", "\x1f\\n", "\\n\x00", "é\\n\x01", "\\u00e9\x02", "a" * 40 + "\\t" + "\x03" * 3,
        "\\uZ123", "\\u1Z23", "\\u12Z3", "\\u123Z", "\\ud800\\uZ000", "\\ud800\\u0Z00",
        "\\ud800\\u00Z0", "\\ud800\\u000Z", "x\\q", "é\\q", "\\u00e9\\x", "a" * 20 + "\\",
        # Letters beyond a byte whose low byte is an escape letter (n, u) or a digit.
        "\\\u016e", "\\\u0175", "\\\u2022", "\\\U0001f475", "\\u\u0130\u0130\u0130\u0130", "\\u00\u0130\u0130",
    ]
    for body in bodies:
        for doc in _escape_documents(body):
            assert_loads_like_json(doc, strict=strict)
            # Cut short anywhere after the first escape: unterminated strings and escapes.
            cut = doc.find("\\")
            if cut >= 0:
                for end in range(cut, min(len(doc), cut + 14)):
                    assert_loads_like_json(doc[:end], strict=strict)
                    assert_loads_like_json(doc[:end].encode("utf-8", "surrogatepass"), strict=strict)


@pytest.mark.parametrize("body", [
    b"\\n\xff", b"abc\\n\xc3", b"\\n" + b"a" * 20 + b"\x80", b"\\u00e9\xe2\x82", b"\xff\\n",
    b"\\n\xed\xa0\x80", b"\\n" + b"a" * 70 + b"\xf0\x9f\x98", b"\\n\xc3\xa9\\q",
])
def test_invalid_utf8_in_strings_with_escapes_like_json(body):
    assert_loads_like_json(b'["' + body + b'"]')
    assert_loads_like_json(b'{"' + body + b'": 1}')
