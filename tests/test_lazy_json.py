"""rjson imports the standard library's json only when it first needs it.

Each check runs in a fresh interpreter, where nothing has imported json yet.
"""

import subprocess
import sys
import textwrap

import pytest


def run_fresh(code):
    """Run ``code`` in a new interpreter; fail with its stderr if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_rjson_imports_neither_json_nor_re():
    out = run_fresh(
        """
        import sys
        import rjson
        rjson.dumps({"a": [1, 2.5, "é", None]}, indent=2, sort_keys=True, ensure_ascii=False)
        rjson.dumps_bytes([1, "x"])
        rjson.loads(b'{"a": [1, 2.5, "\\\\u00e9"]}')
        print(sorted(m for m in ("json", "re") if m in sys.modules))
        """
    )
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "first_use",
    [
        "rjson.loads('[')",
        "rjson.loads(b'[1,]')",
        r"""rjson.loads(r'"\x"')""",
    ],
)
def test_decode_error_before_json_is_imported_is_jsons_class(first_use):
    out = run_fresh(
        f"""
        import sys
        import rjson
        assert "json" not in sys.modules
        try:
            {first_use}
        except Exception as error:
            caught = error
        import json
        assert type(caught) is json.JSONDecodeError, type(caught)
        print(type(caught).__module__, caught.pos)
        """
    )
    assert out.split()[0] == "json.decoder"


def test_error_positions_match_json_when_raised_first():
    out = run_fresh(
        """
        import rjson
        try:
            rjson.loads('{"a": 1,\\n "b" 2}')
        except ValueError as error:
            ours = (error.msg, error.pos, error.lineno, error.colno)
        import json
        try:
            json.loads('{"a": 1,\\n "b" 2}')
        except ValueError as error:
            theirs = (error.msg, error.pos, error.lineno, error.colno)
        assert ours == theirs, (ours, theirs)
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_constants_are_json_decoders_objects_when_parsed_first():
    out = run_fresh(
        """
        import rjson
        values = rjson.loads('[NaN, Infinity, -Infinity]')
        import json.decoder
        assert values[0] is json.decoder.NaN
        assert values[1] is json.decoder.PosInf
        assert values[2] is json.decoder.NegInf
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_classes_are_jsons_own():
    out = run_fresh(
        """
        import rjson
        names = ("JSONDecodeError", "JSONDecoder", "JSONEncoder")
        assert all(name in dir(rjson) for name in names)
        from rjson import JSONEncoder
        import json
        assert JSONEncoder is json.JSONEncoder
        assert rjson.JSONDecoder is json.JSONDecoder
        assert rjson.JSONDecodeError is json.JSONDecodeError
        try:
            rjson.no_such_name
        except AttributeError as error:
            print(error)
        """
    )
    assert out.strip() == "module 'rjson' has no attribute 'no_such_name'"


def test_delegated_calls_before_json_is_imported():
    out = run_fresh(
        """
        import io
        import rjson
        class Upper(rjson.JSONEncoder):
            def encode(self, o):
                return super().encode(o).upper()
        assert rjson.dumps({"a": "b"}, cls=Upper) == '{"A": "B"}'
        assert rjson.dumps(1, cls=rjson.JSONEncoder) == "1"
        assert rjson.loads("[1]", cls=rjson.JSONDecoder) == [1]
        assert rjson.loads(memoryview(b"[2]"), parse_int=str) == ["2"]
        out = io.StringIO()
        rjson.dump({"\\ud800": 1}, out, ensure_ascii=False, indent="\\u00e9")
        import json
        assert out.getvalue() == json.dumps({"\\ud800": 1}, ensure_ascii=False, indent="\\u00e9")
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_rjson_put_in_place_of_json_before_first_need():
    # `sys.modules["json"] = rjson` makes code that imports json use rjson; rjson must then
    # still find the standard library's package for its own classes and constants.
    out = run_fresh(
        """
        import sys
        import rjson
        sys.modules["json"] = rjson
        import json
        assert json is rjson
        value = rjson.loads("NaN")
        assert value is sys.modules["json.decoder"].NaN
        assert rjson.JSONDecodeError.__module__ == "json.decoder"
        try:
            json.loads("[")
        except json.JSONDecodeError as error:
            print(error)
        assert sys.modules["json"] is rjson
        """
    )
    assert out.strip() == "Expecting value: line 1 column 2 (char 1)"
