"""JSONTestSuite (nst/JSONTestSuite, vendored in tests/data): every test_parsing and
test_transform document, as bytes, bytearray, memoryview and (when it decodes) str, gives
exactly what ``json.loads`` gives, and the whole suite runs without a crash."""

import json

import pytest

import rjson
from conftest import assert_clean_exit, run_python
from test_loads_support import assert_loads_like_json, forms

try:
    from jsontestsuite import cases, transform_cases
except ImportError:  # not vendored yet: read the shared copy
    from pathlib import Path

    _SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "JSONTestSuite"

    def _read(folder):
        return [(p.name, p.read_bytes()) for p in sorted((_SHARED / folder).iterdir())]

    def cases():
        return _read("test_parsing")

    def transform_cases():
        return _read("test_transform")


PARSING = list(cases())
TRANSFORM = list(transform_cases())


def test_the_suite_is_there():
    assert len(PARSING) >= 300
    assert len(TRANSFORM) >= 20


@pytest.mark.parametrize("name, data", PARSING + TRANSFORM, ids=[n for n, _ in PARSING + TRANSFORM])
def test_document_like_json(name, data):
    for form, doc in forms(data):
        kind, value = assert_loads_like_json(doc)
        if name.startswith("y_"):
            assert kind == "value", f"{name} as {form}: {value!r}"


@pytest.mark.parametrize("name, data", [c for c in PARSING if c[0].startswith("y_")], ids=lambda c: c if isinstance(c, str) else "")
def test_accepted_documents_with_hooks(name, data):
    kw = dict(object_pairs_hook=list, parse_float=str, parse_int=str, parse_constant=str)
    for _, doc in forms(data):
        assert_loads_like_json(doc, **kw)


def test_the_whole_suite_in_a_fresh_interpreter():
    """A crash (segfault, abort) would kill pytest: run every document in a subprocess."""
    proc = run_python(
        """
        import json, rjson
        from test_loads_suite import PARSING, TRANSFORM
        count = 0
        for name, data in PARSING + TRANSFORM:
            docs = [data, bytearray(data), memoryview(data)]
            try:
                docs.append(data.decode(json.detect_encoding(data), "surrogatepass"))
            except UnicodeDecodeError:
                pass
            for doc in docs:
                for kw in ({}, {"strict": False}, {"object_pairs_hook": list}):
                    try:
                        rjson.loads(doc, **kw)
                    except (ValueError, TypeError, RecursionError):
                        pass
                    count += 1
        print("ran", count)
        """
    )
    assert_clean_exit(proc)
    assert proc.stdout.startswith("ran ")
