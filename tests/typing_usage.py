"""Calls of every public rjson name, type-checked with ``mypy --strict`` against the stubs
by test_typing.py (and run, so that each call is also one the library accepts).

The calls in ``accepted`` carry no ``type: ignore``: a stub that rejects any of them fails
the check. Those in ``rejected`` must be errors: ``--strict`` reports an unused ignore, so
a stub that is too loose fails the check too. (The ignores name no error code, as codes
differ between mypy versions; the comment after each says what it was in mypy 2.)
"""

import io
import json
from typing import Any, Dict, List, Tuple

import rjson


def object_hook(d: Dict[Any, Any]) -> Any:
    return d


def pairs_hook(pairs: List[Tuple[Any, Any]]) -> Any:
    return dict(pairs)


def accepted() -> None:
    value = {"b": [1, 2.5, None, "é"], "a": True}
    text: str = rjson.dumps(value)
    text = rjson.dumps(
        value,
        skipkeys=False,
        ensure_ascii=True,
        check_circular=True,
        allow_nan=True,
        cls=None,
        indent=2,
        separators=(",", ": "),
        default=str,
        sort_keys=True,
    )
    text = rjson.dumps(value, indent="\t", cls=json.JSONEncoder)
    data: bytes = rjson.dumps_bytes(value)
    data = rjson.dumps_bytes(value, ensure_ascii=True, separators=None, indent=None, sort_keys=True)
    out = io.StringIO()
    rjson.dump(value, out, indent=4, sort_keys=True, default=repr)

    parsed: Any = rjson.loads(text)
    parsed = rjson.loads(data)
    parsed = rjson.loads(bytearray(data))
    parsed = rjson.loads(memoryview(data))
    parsed = rjson.loads(
        text,
        cls=None,
        object_hook=object_hook,
        parse_float=float,
        parse_int=int,
        parse_constant=str,
        object_pairs_hook=pairs_hook,
        strict=False,
    )
    parsed = rjson.loads(text, cls=json.JSONDecoder)
    parsed = rjson.load(io.StringIO(text))
    parsed = rjson.load(io.BytesIO(data), object_pairs_hook=pairs_hook, parse_float=str)

    backend: str = rjson.simd_backend()
    backends: Tuple[str, ...] = rjson.simd_backends()
    version: str = rjson.__version__
    error: rjson.JSONDecodeError = rjson.JSONDecodeError("msg", "doc", 0)
    assert isinstance(rjson.JSONEncoder(), json.JSONEncoder)
    assert isinstance(rjson.JSONDecoder(), json.JSONDecoder)
    assert text and data and out.getvalue() and parsed and backend in backends
    assert version and error.pos == 0


def rejected() -> None:
    rjson.dumps({}, indent=[4])  # type: ignore  # arg-type
    rjson.dumps({}, separators=",")  # type: ignore  # arg-type
    rjson.dumps({}, cls=json.JSONDecoder)  # type: ignore  # arg-type
    rjson.dumps({}, None)  # type: ignore  # call-arg, arg-type
    rjson.simd_backends(1)  # type: ignore  # call-arg
    rjson.dump({})  # type: ignore  # call-arg
    rjson.dump({}, io.BytesIO())  # type: ignore  # arg-type
    rjson.loads(1)  # type: ignore  # arg-type
    rjson.loads("[]", cls=json.JSONEncoder)  # type: ignore  # arg-type
    rjson.load("[]")  # type: ignore  # arg-type
    _: bytes = rjson.dumps({})  # type: ignore  # assignment
    __: str = rjson.dumps_bytes({})  # type: ignore  # assignment
    ___: int = rjson.simd_backend()  # type: ignore  # assignment
    ____: int = rjson.dump({}, io.StringIO())  # type: ignore  # func-returns-value, assignment


if __name__ == "__main__":
    accepted()
