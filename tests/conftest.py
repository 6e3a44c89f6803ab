"""Shared helpers for the encoder tests.

* A Hypothesis profile that is deterministic (``derandomize``, no example database) so that
  CI and local runs see the same examples; ``RJSON_HYPOTHESIS_EXAMPLES`` sets the number of
  examples of the main differential test (default 300; CI sets 10000), the other property
  tests run a fraction of it.
* ``outcome`` / ``assert_same_outcome``: run a call and compare its result, or the exception
  it raised (type, message, args, notes), with the standard library's.
* ``run_python``: run code in a fresh interpreter, so that a crash fails one test instead of
  killing pytest.

The test modules import these with ``from conftest import ...`` (pytest puts this directory
on ``sys.path``; there is no ``__init__.py`` here).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, settings

import rjson

PY = sys.version_info[:2]
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

#: Examples of the main nested-object differential test.
EXAMPLES = int(os.environ.get("RJSON_HYPOTHESIS_EXAMPLES", "300"))
#: Examples of the smaller property tests.
SMALL_EXAMPLES = max(100, EXAMPLES // 10)

_SUPPRESSED = [
    getattr(HealthCheck, name)
    for name in ("too_slow", "data_too_large", "filter_too_much", "large_base_example")
    if hasattr(HealthCheck, name)
]

settings.register_profile(
    "rjson",
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
settings.load_profile("rjson")


# ----- comparing outcomes -----


class Raised:
    """An exception, reduced to what must match between rjson and json."""

    def __init__(self, exc):
        self.type = type(exc)
        self.message = str(exc)
        self.args = exc.args
        self.notes = getattr(exc, "__notes__", None)
        self.exc = exc

    def key(self):
        return (self.type, self.message, self.args, self.notes)

    def __eq__(self, other):
        return isinstance(other, Raised) and self.key() == other.key()

    def __repr__(self):
        notes = "" if self.notes is None else " notes=%r" % (self.notes,)
        return "Raised(%s: %r args=%r%s)" % (self.type.__name__, self.message, self.args, notes)


def outcome(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``'s result, or a ``Raised`` for the exception it raised."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any exception is an outcome to compare
        return Raised(exc)


def same(a, b):
    """Equality of two outcomes; results must also be of the same type (str vs bytes)."""
    if isinstance(a, Raised) or isinstance(b, Raised):
        return a == b
    return type(a) is type(b) and a == b


def describe(value, limit=600):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def assert_same_outcome(actual, expected, context=""):
    assert same(actual, expected), "rjson and json differ%s\n  rjson: %s\n  json:  %s" % (
        " (" + context + ")" if context else "",
        describe(actual),
        describe(expected),
    )


def json_dumps_bytes(obj, **kw):
    """What ``rjson.dumps_bytes(obj, **kw)`` must return, by its definition."""
    return json.dumps(obj, **{"ensure_ascii": False, "separators": (",", ":"), **kw}).encode("utf-8")


def check_dumps(obj, **kw):
    """``rjson.dumps(obj, **kw)`` against ``json.dumps(obj, **kw)``; returns rjson's outcome."""
    return check_dumps_fresh(lambda: obj, **kw)


def check_dumps_bytes(obj, **kw):
    """``rjson.dumps_bytes(obj, **kw)`` against its definition through ``json.dumps``."""
    return check_dumps_bytes_fresh(lambda: obj, **kw)


def check_both(obj, **kw):
    """Both ``dumps`` and ``dumps_bytes``; returns ``dumps``'s outcome."""
    check_dumps_bytes(obj, **kw)
    return check_dumps(obj, **kw)


def check_dumps_fresh(make, **kw):
    """As ``check_dumps``, with a fresh ``make()`` for each library (for scenarios that a
    call changes)."""
    expected = outcome(json.dumps, make(), **kw)
    actual = outcome(rjson.dumps, make(), **kw)
    assert_same_outcome(actual, expected, "dumps, kw=%r" % (kw,))
    return actual


def check_dumps_bytes_fresh(make, **kw):
    expected = outcome(json_dumps_bytes, make(), **kw)
    actual = outcome(rjson.dumps_bytes, make(), **kw)
    assert_same_outcome(actual, expected, "dumps_bytes, kw=%r" % (kw,))
    return actual


# ----- subprocesses -----


def run_python(code, env=None, timeout=120, args=()):
    """Run ``code`` in a fresh interpreter (``RJSON_SIMD`` unset unless ``env`` sets it);
    returns the ``CompletedProcess`` (text mode)."""
    full_env = dict(os.environ)
    full_env.pop("RJSON_SIMD", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)] + list(args),
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=TESTS_DIR,
    )


def assert_clean_exit(proc):
    """The subprocess exited normally (a negative return code is a signal: a crash)."""
    assert proc.returncode == 0, "subprocess failed with return code %d\nstdout:\n%s\nstderr:\n%s" % (
        proc.returncode,
        proc.stdout[-3000:],
        proc.stderr[-3000:],
    )


@pytest.fixture
def restore_recursion_limit():
    limit = sys.getrecursionlimit()
    yield
    sys.setrecursionlimit(limit)
