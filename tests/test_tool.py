"""``python -m rjson`` against ``python -m json.tool``, both run as subprocesses of this
Python: the same stdout bytes, stderr text, exit status and written files, for every
combination of options, valid and invalid documents, files and standard streams.

Each run happens in its own fresh directory holding the same input files, so relative file
names (and the messages that quote them) are the same for both programs. What is allowed
to differ, and is normalized before comparing:

* the program name: ``python -m rjson`` where json.tool says ``python -m json.tool``
  (``COLUMNS`` is set wide so that argparse's usage line is not wrapped differently);
* a traceback (json.tool lets RecursionError, and OSError on 3.13, escape): its frames
  name each program's own source, so only the exception line is compared;
* Python 3.13.0 to 3.13.3 fail ``--json-lines`` with an input file ("I/O operation on
  closed file."); rjson reads the file, so it is compared with json.tool reading the same
  lines from stdin.
"""

import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path
from typing import NamedTuple

import pytest

import rjson

JSON_TOOL = "json.tool"
RJSON = "rjson"
CLOSED_FILE_BUG = "I/O operation on closed file.\n"

# The subprocesses import the rjson under test; COLUMNS keeps usage lines on one line.
ENV = dict(
    os.environ,
    COLUMNS="200",
    PYTHONPATH=os.pathsep.join(
        [str(Path(rjson.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep),
)


class Outcome(NamedTuple):
    status: int
    stdout: bytes
    stderr: str
    files: dict


def run(module, args, stdin, files, env=ENV):
    """``python -m module *args`` in a fresh directory holding ``files``."""
    with tempfile.TemporaryDirectory(prefix=module + "-") as directory:
        cwd = Path(directory)
        for name, data in files.items():
            (cwd / name).write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            input=stdin, cwd=cwd, env=env, capture_output=True, timeout=120,
        )
        written = {p.name: p.read_bytes() for p in sorted(cwd.iterdir()) if p.is_file()}
    stdout = done.stdout
    if module == JSON_TOOL and stdout.startswith(b"usage: "):  # --help
        stdout = stdout.replace(b"python -m json.tool", b"python -m rjson")
    return Outcome(done.returncode, stdout, normalize(module, done.stderr), written)


def normalize(module, stderr):
    text = stderr.decode("utf-8", "backslashreplace")
    if module == JSON_TOOL:
        text = text.replace("python -m json.tool", "python -m rjson")
    if text.startswith("Traceback (most recent call last):"):
        text = "Traceback ...\n" + text.splitlines()[-1]
    return text


def run_both(args, stdin=b"", files=None, env=ENV):
    files = files or {}
    with ThreadPoolExecutor(2) as pool:
        expected, got = pool.map(lambda m: run(m, args, stdin, files, env), (JSON_TOOL, RJSON))
    return expected, got


def compare(options=(), infile=None, outfile=None, stdin=b"", files=None, env=ENV):
    """Run both programs with ``options [infile [outfile]]`` and assert the same outcome."""
    files = files or {}
    args = list(options) + [name for name in (infile, outfile) if name is not None]
    expected, got = run_both(args, stdin, files, env)
    if "--json-lines" in options and infile in files and expected.stderr == CLOSED_FILE_BUG:
        expected = json_lines_from_stdin(options, outfile, files[infile], files)
    assert got.stderr == expected.stderr
    assert got.stdout == expected.stdout
    assert got.status == expected.status
    assert got.files == expected.files
    return got


def json_lines_from_stdin(options, outfile, data, files):
    """What json.tool does with the lines of ``data`` read from stdin instead of a file.

    For json.tool's 3.13 bug (see the module docstring). A file is read as strict UTF-8
    with universal newlines, stdin as UTF-8 with surrogateescape and no newline
    translation: translating first gives the same lines, where the data is UTF-8.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("json.tool cannot read --json-lines from a file here, nor the same from stdin")
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    args = list(options) + (["-", outfile] if outfile else [])
    expected, _ = run_both(args, data, files)
    return expected


# Valid documents, spelt as JSON text: numbers in every notation, big numbers, the
# constants, escapes, non-ASCII and astral characters raw and escaped, odd whitespace.
VALID = [
    "0", "-0", "-0.0", "1E5", "1e-7", "2.5e+3", "0.1", "123456789012345678901234567890",
    "-98765432109876543210.5e-3", "1e400", "-1e400", "5e-324", "1.7976931348623157e308",
    "9" * 4300, "NaN", "Infinity", "-Infinity", "true", "false", "null",
    '""', '"plain"', '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f"',
    '"é ß ñ 日本語"', '"\\u00e9\\u65e5"', '"😀 𝄞"', '"\\ud83d\\ude00"',
    "[]", "{}", "[[], {}, [[[]]]]", ' \t [ 1 , 2 ]\t ',
    '{"b": 1, "a": 2, "A": 3, "é": 4, "": 5, "😀": 6, "aa": {"z": [], "y": {}}}',
    '{"dup": 1, "dup": 2}', '[1.5, "x", null, true, {"k": [false, -1]}]',
]
# Lone surrogates, escaped: valid JSON whose text cannot be encoded to UTF-8.
SURROGATES = ['"\\ud800"', '"\\udc80"', '{"k\\udfff": 1}', '["a", "\\ud83d\\ude00", "\\ud83d", 1]']

DOCUMENT = ("[" + ",\n".join(VALID) + "]\n").encode("utf-8")
LINES = ("\n".join(VALID) + "\n").encode("utf-8")

LAYOUTS = [[], ["--indent", "0"], ["--indent", "2"], ["--tab"], ["--no-indent"], ["--compact"]]
OPTION_SETS = [
    [*sort, *ascii, *layout]
    for sort, ascii, layout in product([[], ["--sort-keys"]], [[], ["--no-ensure-ascii"]], LAYOUTS)
]
# (infile, outfile): a named file or stdin ("-" or nothing), stdout or a named file.
IO = [("doc.json", None), (None, None), ("doc.json", "out.json"), ("-", "out.json")]


def io_case(options, json_lines, data):
    """The compare() arguments for one option set, cycling through the I/O arrangements."""
    infile, outfile = IO[OPTION_SETS.index(options) % len(IO)]
    options = options + (["--json-lines"] if json_lines else [])
    files = {"doc.json": data}
    stdin = data if infile in (None, "-") else b""
    return dict(options=options, infile=infile, outfile=outfile, stdin=stdin, files=files)


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda args: " ".join(args) or "defaults")
def test_valid_document(options):
    compare(**io_case(options, False, DOCUMENT))


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda args: " ".join(args) or "defaults")
def test_valid_json_lines(options):
    compare(**io_case(options, True, LINES))


@pytest.mark.parametrize("surrogate", SURROGATES)
def test_lone_surrogates(surrogate):
    # Escaped in ASCII output. Otherwise stdout's surrogateescape writes \udc80..\udcff as
    # bytes, and any other fails: json.dump has written the pieces before the bad one, and
    # the error counts its position from the start of that piece. Valid values come first
    # so that the pieces differ from the whole text.
    document = '{"first": [1, "é"], "then": ' + surrogate + "}"
    lines = '"ok"\n[1, "é"]\n' + surrogate + '\n"after"\n'
    compare(infile="doc.json", files={"doc.json": document.encode()})
    for data, json_lines in ((document, []), (lines, ["--json-lines"])):
        for outfile in (None, "out.json"):
            options = ["--no-ensure-ascii"] + json_lines
            compare(options, "doc.json", outfile, files={"doc.json": data.encode()})


# Invalid documents, read from a file; also from stdin where that reads differently (a
# file is read as strict UTF-8 with universal newlines, stdin as UTF-8 with
# surrogateescape and no newline translation: the errors differ, and must match).
INVALID = [
    b"", b"   \n", b"\xef\xbb\xbf[1]", b"{", b"[1,]", b'{"a" 1}', b"{'a': 1}", b"[1 2]",
    b"tru", b'"abc', b'"\\x"', b'"\\ud800\\u"', b"[1]x", b'"a\tb"', b"-", b"01", b"1e",
    b'{"a": 1,}', b"[\n1,\n]", '["é😀日", nul]'.encode(), '{"ключ": [1, 2,, 3]}'.encode(),
    b"[1,\r\n2,\r\nx]", b"[1,\r2,\rx]", b'["a\rb"]', b"[1, 2]\r\n\r\n3", b"\xff[1]",
    b'["\xe2\x82"]', b'["\xed\xa0\x80"]', b'["\xe9"]', b"\xff\xfe[\x001\x00]\x00",
    b"\x00[1]", b"[" + b"9" * 5000 + b"]", b"[" * 100000, b'["\xed\xb2\x80", 1]',
]


@pytest.mark.parametrize("data", INVALID, ids=lambda d: repr(d[:20]))
def test_invalid_document(data):
    compare(infile="doc.json", files={"doc.json": data})
    if b"\r" in data or not data.isascii():
        compare(stdin=data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b'{"a": 1}\n[2]\n\n[3]\n',
        b'{"a": 1}\n[2]\n   \n',
        b"[1]\n[2]\nnope\n[4]\n",
        b"[1]\r\n[2]\r\n",
        b"[1]\r[2]\r",
        b"[1]\r\n\r\n",
        b'"\xc3\xa9"\n"\xff"\n',
        b"\xef\xbb\xbf[1]\n",
        b"[1]\n[2]",
        b"[1]\n" * 3000 + b"[",
    ],
    ids=lambda d: repr(d[:30]),
)
def test_json_lines_edges(data):
    # Lines before a bad one are written (to outfile too); a blank line is an error.
    compare(["--json-lines", "--compact"], None, "out.json", stdin=data)
    compare(["--json-lines"], "doc.json", files={"doc.json": data})


def test_deep_document_that_json_tool_writes():
    # Just under json.tool's own depth limit: parsed and written, not a RecursionError.
    depth = 950
    compare(infile="doc.json", files={"doc.json": b"[" * depth + b"]" * depth})


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_depth_limit_as_json_tool(encoding):
    # Around json.tool's RecursionError (990 to 994 levels at the default recursion limit,
    # by version): the same depths are written, and the same ones fail with the same error,
    # whether rjson writes bytes (to a UTF-8 stdout) or text (to any other). What reaches
    # stdout before the error differs: json.tool writes in pieces, rjson all or nothing.
    env = dict(ENV, PYTHONIOENCODING=encoding)
    for depth in range(986, 999):
        files = {"doc.json": b"[" * depth + b"]" * depth}
        expected, got = run_both(["doc.json"], files=files, env=env)
        assert (depth, got.status, got.stderr) == (depth, expected.status, expected.stderr)
        if expected.status == 0:
            assert got.stdout == expected.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["missing.json"],
        ["missing.json", "out.json"],
        ["."],
        ["doc.json", "no-such-dir/out.json"],
        ["doc.json", "."],
        ["doc.json", "doc.json"],  # rewritten in place
        ["doc.json", "-"],  # a file named "-"
        ["-"],
        ["--", "doc.json"],
        ["doc.json", "--sort-keys"],
        ["doc.json", "out.json", "--compact"],
        ["doc.json", "--sort-keys", "out.json"],
        ["doc.json", "out.json", "extra.json"],
        [""],
    ],
    ids=lambda args: " ".join(args) or "defaults",
)
def test_files(args):
    files = {"doc.json": b'{"z": 1, "y": ["\xf0\x9f\x98\x80"]}'}
    compare(args, stdin=b'{"b": [1, "\xc3\xa9"], "a": {}}', files=files)


@pytest.mark.parametrize(
    "args",
    [
        ["--indent", "abc"], ["--indent"], ["--indent", "2.5"], ["--tab", "--compact"],
        ["--indent", "2", "--no-indent"], ["--indent", "4", "--tab"], ["--compact", "--compact"],
        ["--bogus"], ["-x"], ["--no"], ["--sort-keys=1"], ["--indent=3"], ["--ind", "1"],
        ["--sort", "--no-e", "--comp"], ["--indent", "-1"], ["--indent", " 7"],
        ["--indent", "1_0"], ["--indent", "٣"], ["--indent", "007"], ["--json-lines", "--json-lines"],
        ["-h"], ["--help"], ["--help", "--bogus"], ["--bogus", "--help"],
    ],
    ids=lambda args: " ".join(args) or "defaults",
)
def test_options(args):
    compare(args, stdin=b'{"b": [1, 2], "a": "\xc3\xa9"}')


def test_help_wrapped_at_80_columns():
    # The usage line wraps at a different place (the program name is shorter); the words
    # must be the same.
    env = dict(ENV, COLUMNS="80")
    expected, got = run_both(["--help"], env=env)
    assert got.status == expected.status == 0
    assert got.stdout.split() == expected.stdout.split()


def test_broken_pipe():
    # The reader goes away after a few bytes: json.tool exits with status 32 (EPIPE).
    data = ("[" + ",".join(str(i) for i in range(200000)) + "]").encode()
    outcomes = []
    for module in (JSON_TOOL, RJSON):
        with subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
        ) as proc:
            proc.stdin.write(data)
            proc.stdin.close()
            proc.stdout.read(10)
            proc.stdout.close()
            outcomes.append((proc.wait(timeout=120), proc.stderr.read()))
    assert outcomes[1] == outcomes[0]
    assert outcomes[0][0] == 32


def test_main_is_importable():
    from rjson.__main__ import main

    assert callable(main) and main.__doc__
