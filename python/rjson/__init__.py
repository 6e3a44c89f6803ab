"""rjson: the fastest exact JSON library for CPython.

``import rjson as json`` changes nothing but speed: ``dumps`` and ``dump`` return exactly
what the standard library's do, and ``dumps_bytes`` writes the UTF-8 bytes of that text
directly. The error and helper classes are the standard library's own, so
``except json.JSONDecodeError`` and ``cls=`` keep working.
"""

from ._rjson import __version__, _dump_text, _std_json, dumps, dumps_bytes, simd_backend, simd_backends

__all__ = [
    "dump",
    "dumps",
    "dumps_bytes",
    "load",
    "loads",
    "JSONDecodeError",
    "JSONDecoder",
    "JSONEncoder",
    "simd_backend",
    "simd_backends",
    "__version__",
]

# The standard library's classes, read from json when first asked for: rjson imports json
# only when it needs it (an error, a delegated call), which keeps `import rjson` and
# `python -m rjson` quick (json brings in re, about 9 ms).
_FROM_JSON = ("JSONDecodeError", "JSONDecoder", "JSONEncoder")


def __getattr__(name):
    if name in _FROM_JSON:
        value = getattr(_std_json(), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_FROM_JSON))


def dump(obj, fp, **kw):
    """Serialize ``obj`` as JSON to ``fp.write``, exactly as ``json.dump`` does; returns None.

    ``fp`` receives the text ``json.dump`` writes for the same arguments, built whole and
    written with one ``fp.write`` call (``json.dump`` writes it in chunks), so on an error
    nothing has been written. A custom ``cls`` or an unusual argument is handed to
    ``json.dump`` itself. Raises what ``json.dump`` raises (as ``dumps`` does), and
    whatever ``fp.write`` raises.
    """
    text = _dump_text(obj, **kw)
    if text is NotImplemented:
        return _std_json().dump(obj, fp, **kw)
    fp.write(text)


# The parser: native, exact to json.loads; load reads the file and hands the text to it.
from ._rjson import loads  # noqa: E402


def load(fp, **kw):
    """Deserialize ``fp`` (a ``.read()``-supporting file-like object holding a JSON
    document) to a Python object, exactly as ``json.load`` does: ``loads(fp.read(), **kw)``.

    Returns what ``json.load`` returns; raises what ``loads`` raises for the text read
    (``json.JSONDecodeError`` for a malformed document), and whatever ``fp.read`` raises.
    """
    return loads(fp.read(), **kw)
