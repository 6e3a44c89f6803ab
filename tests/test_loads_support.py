"""Helpers shared by the ``loads`` test modules (no tests here): strict comparison of
values and of outcomes between ``rjson.loads`` and ``json.loads``."""

from __future__ import annotations

import json
import lzma
import struct
from pathlib import Path

import rjson

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPORA = ROOT.parent / "shared" / "data" / "corpora"
VENDORED_CORPORA = ROOT / "benches" / "data"
CORPORA = (
    "twitter", "github", "citm_catalog", "canada", "gsoc-2018", "twitterescaped",
    "update-center", "random", "mesh", "numbers", "marine_ik", "instruments", "apache_builds",
)


def corpus(name: str) -> bytes | None:
    """A benchmark document: the vendored ``benches/data/<name>.json.xz``, else the shared
    copy; ``None`` when neither is there."""
    vendored = VENDORED_CORPORA / f"{name}.json.xz"
    if vendored.exists():
        return lzma.decompress(vendored.read_bytes())
    shared = SHARED_CORPORA / f"{name}.json"
    if shared.exists():
        return shared.read_bytes()
    return None


def assert_same_value(actual, expected, path="$"):
    """``actual`` is ``expected`` in every observable way: types (not just equality),
    dict key order, the sign of zero, NaN."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if isinstance(expected, float):
        same = struct.pack("<d", actual) == struct.pack("<d", expected)
        assert same or (actual != actual and expected != expected), f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys {list(actual)!r} != {list(expected)!r}"
        for key in expected:
            assert_same_value(actual[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same_value(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def error_signature(exc: BaseException) -> tuple:
    """Everything that identifies an exception for the comparison."""
    sig = (type(exc), str(exc))
    if isinstance(exc, json.JSONDecodeError):
        sig += (exc.msg, exc.doc, exc.pos, exc.lineno, exc.colno)
    if isinstance(exc, UnicodeDecodeError):
        sig += (exc.encoding, exc.object, exc.start, exc.end, exc.reason)
    return sig


def outcome(function, *args, **kwargs):
    """``("value", result)`` or ``("error", exception)``."""
    try:
        return "value", function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every exception is part of the contract
        return "error", exc


def assert_same_outcome(actual, expected, context=""):
    assert actual[0] == expected[0], (
        f"{context}: rjson gave {actual[0]} {actual[1]!r}, json gave {expected[0]} {expected[1]!r}"
    )
    if expected[0] == "value":
        assert_same_value(actual[1], expected[1])
    else:
        assert error_signature(actual[1]) == error_signature(expected[1]), context


def assert_loads_like_json(doc, **kwargs):
    """``rjson.loads(doc, **kwargs)`` gives what ``json.loads`` gives (for a memoryview,
    what ``json.loads`` gives for its bytes); returns that outcome."""
    reference = bytes(doc) if isinstance(doc, memoryview) else doc
    expected = outcome(json.loads, reference, **kwargs)
    actual = outcome(rjson.loads, doc, **kwargs)
    assert_same_outcome(actual, expected, f"loads({doc!r:.200}, **{kwargs!r})")
    return actual


def forms(data: bytes):
    """The input types one document can be given as: bytes, bytearray, memoryview, and the
    str json itself would decode them to (when they decode)."""
    yield "bytes", data
    yield "bytearray", bytearray(data)
    yield "memoryview", memoryview(data)
    try:
        yield "str", data.decode(json.detect_encoding(data), "surrogatepass")
    except UnicodeDecodeError:
        pass
