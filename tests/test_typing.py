"""The public surface as tools see it: docstrings, signatures, and the type stubs.

* Every public callable has a docstring, and ``inspect.signature`` reads the native
  functions' text signatures (``help()`` shows them) on every supported Python.
* The stubs ship with the package (``__init__.pyi`` and ``py.typed`` beside the module).
* ``mypy --strict`` accepts every call in ``typing_usage.py`` and rejects the ones marked
  as errors there; ``mypy.stubtest`` finds the stubs consistent with the runtime
  signatures. Both are skipped only when mypy is not installed.
"""

import inspect
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import rjson

TESTS_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = Path(rjson.__file__).resolve().parent
FUNCTIONS = ["dumps", "dump", "dumps_bytes", "loads", "load", "simd_backend", "simd_backends"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_function_has_docstring(name):
    doc = getattr(rjson, name).__doc__
    assert doc and doc.strip()
    assert name in rjson.__all__


@pytest.mark.parametrize("name", ["dumps", "dump", "dumps_bytes", "loads", "load"])
def test_docstring_names_its_json_counterpart(name):
    doc = getattr(rjson, name).__doc__
    counterpart = "json.dumps" if name == "dumps_bytes" else "json." + name
    assert counterpart in doc


@pytest.mark.parametrize("name", ["dumps", "loads"])
def test_signature_is_jsons(name):
    assert inspect.signature(getattr(rjson, name)) == inspect.signature(getattr(json, name))


def test_dumps_bytes_signature_has_wire_defaults():
    parameters = inspect.signature(rjson.dumps_bytes).parameters
    defaults = {name: p.default for name, p in parameters.items()}
    expected = {name: p.default for name, p in inspect.signature(json.dumps).parameters.items()}
    expected.update(ensure_ascii=False, separators=(",", ":"))
    assert defaults == expected


@pytest.mark.parametrize("name", ["dump", "load", "simd_backend", "simd_backends"])
def test_signature_readable(name):
    inspect.signature(getattr(rjson, name))


def test_stubs_ship_with_the_package():
    assert (PACKAGE_DIR / "__init__.pyi").is_file()
    assert (PACKAGE_DIR / "py.typed").is_file()


def test_usage_file_runs():
    # Every call the type check accepts is one the library accepts at run time.
    done = subprocess.run(
        [sys.executable, str(TESTS_DIR / "typing_usage.py")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def mypy(*args, cwd=TESTS_DIR):
    """``python -m *args`` for a mypy module, seeing the rjson this test imported."""
    pytest.importorskip("mypy")
    env = dict(os.environ)
    if PACKAGE_DIR.parent.name != "site-packages":
        env["MYPYPATH"] = str(PACKAGE_DIR.parent)  # run from a source tree
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def test_mypy_strict_accepts_and_rejects_as_the_stubs_say():
    # A cache per interpreter that outlives the test: a cold mypy run takes seconds.
    cache = Path(tempfile.gettempdir()) / "rjson-mypy-cache-{}.{}".format(*sys.version_info)
    done = mypy("mypy", "--strict", "--cache-dir", str(cache), "typing_usage.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_stubtest_finds_stubs_consistent_with_runtime(tmp_path):
    # __main__ has no stub (nothing imports it); stubtest would read its source as one.
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text("rjson\\.__main__(\\..*)?\n")
    done = mypy("mypy.stubtest", "rjson", "--allowlist", str(allowlist), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
