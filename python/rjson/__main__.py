"""``python -m rjson``: ``python -m json.tool`` with rjson doing the parsing and writing.

The options, the output bytes, the error messages and the exit statuses are those of the
running Python's own ``json.tool`` (which changed a little in 3.13: see
``FILES_OPENED_BY_ARGPARSE``). The input comes from the same file objects ``json.tool``
reads (UTF-8 with universal newlines for a named file, ``sys.stdin`` as it is); a document
is parsed from their bytes only where that gives the same result (see ``load``), so error
positions, BOMs and line splitting come out exactly as ``json`` reports them.

Two deliberate differences:

* The program name in ``--help`` and in usage errors is ``python -m rjson``, not
  ``python -m json.tool``: a usage line tells the reader how to run the program they are
  reading about, and copying ``json.tool``'s would send them to the slow one.
* On Python 3.13, ``--json-lines`` with an input file works. 3.13.0 to 3.13.3 close the
  file before reading it and print ``I/O operation on closed file.``; later 3.13 releases
  fixed that, and rjson does what they, and every earlier version, do.

Where the time goes: ``json.tool`` writes with ``json.dump``, which always uses json's
pure-Python encoder; here each document is written in one call, as bytes where the file
takes them (see ``write_bytes``). Start-up is kept small: ``import rjson`` does not
import ``json``, and the common command lines are read without importing ``argparse`` (nor
``pathlib``), which is only imported for ``--help``, errors and unusual spellings (see
``simple_options``).
"""

import sys

import rjson

PROG = "python -m rjson"
DESCRIPTION = (
    "A simple command line interface for json module to validate and pretty-print JSON objects."
)

# Before 3.13, json.tool has argparse open infile (argparse.FileType) while parsing, so an
# unreadable infile is a usage error (status 2) and outfile is a pathlib.Path; from 3.13 it
# opens infile itself afterwards, and an OSError escapes as a traceback (status 1).
FILES_OPENED_BY_ARGPARSE = sys.version_info < (3, 13)

FLAGS = {
    "--sort-keys": ("sort_keys", True),
    "--no-ensure-ascii": ("ensure_ascii", False),
    "--json-lines": ("json_lines", True),
}
# The mutually exclusive layout options, as argparse stores them.
LAYOUTS = {
    "--tab": ("indent", "\t"),
    "--no-indent": ("indent", None),
    "--compact": ("compact", True),
}


class Options:
    """What argparse's namespace holds for json.tool's options."""

    def __init__(self):
        self.infile = sys.stdin if FILES_OPENED_BY_ARGPARSE else "-"
        self.outfile = None
        self.sort_keys = False
        self.ensure_ascii = True
        self.json_lines = False
        self.indent = 4
        self.compact = False


def main(argv=None):
    """Run the command line; ``argv`` defaults to ``sys.argv[1:]``."""
    if argv is None:
        argv = sys.argv[1:]
    options = simple_options(argv) or parse_options(argv)
    dump_args = {
        "sort_keys": options.sort_keys,
        "indent": options.indent,
        "ensure_ascii": options.ensure_ascii,
    }
    if options.compact:
        dump_args["indent"] = None
        dump_args["separators"] = (",", ":")
    infile = options.infile
    if not FILES_OPENED_BY_ARGPARSE:
        infile = sys.stdin if infile == "-" else open(infile, encoding="utf-8")
    try:
        try:
            if options.json_lines:
                documents = (rjson.loads(line) for line in infile)
            else:
                documents = (load(infile),)
            # Opened only now: a document that does not parse leaves outfile untouched.
            if options.outfile is None:
                outfile = sys.stdout
            else:
                outfile = open(options.outfile, "w", encoding="utf-8")
            with outfile:
                # rjson.dump (or write_bytes, which stands where it would) is called from
                # here, as json.tool calls json.dump from its main: how deep a document
                # can be before RecursionError counts the frames above the call.
                as_bytes = sys.platform != "win32" and writes_utf8(outfile)
                for obj in documents:
                    if as_bytes and write_bytes(obj, outfile, dump_args):
                        continue
                    try:
                        rjson.dump(obj, outfile, **dump_args)
                    except UnicodeEncodeError:
                        dump_in_pieces(obj, outfile, dump_args)
                    outfile.write("\n")
        finally:
            if infile is not sys.stdin:
                infile.close()
    except ValueError as error:
        # JSONDecodeError, UnicodeDecodeError and UnicodeEncodeError are ValueErrors:
        # json.tool prints the message alone and exits with status 1.
        raise SystemExit(error)


def load(infile):
    """``rjson.load(infile)``, parsing the file's bytes when that gives the same result.

    Parsing UTF-8 bytes skips building the text, about twice as fast. It is the same as
    parsing the text whenever the bytes parse (see ``bytes_read_alike``): newlines that
    universal-newline reading would translate are whitespace in a valid document, and a raw
    CR inside a string is an error either way. On any failure the text is built as
    ``infile.read()`` would have returned it and parsed again, so the error is json's own,
    with its positions counted in that text.
    """
    if not reads_utf8(infile):
        return rjson.load(infile)
    data = infile.buffer.read()
    if bytes_read_alike(data):
        try:
            return rjson.loads(data)
        except (ValueError, RecursionError):
            pass
    text = data.decode(infile.encoding, infile.errors)
    if infile is not sys.stdin or sys.platform == "win32":
        # What a file opened in universal-newlines mode reads (sys.stdin is one on Windows).
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return rjson.loads(text)


def reads_utf8(infile):
    """Whether ``infile`` is a text file over a byte buffer, in UTF-8."""
    import codecs

    encoding = getattr(infile, "encoding", None)
    return hasattr(infile, "buffer") and encoding and codecs.lookup(encoding).name == "utf-8"


def bytes_read_alike(data):
    """Whether ``json.loads(data)`` decodes ``data`` as the text file decodes it.

    json.loads takes a BOM or NUL bytes at the start for UTF-8-sig, UTF-16 or UTF-32, and
    decodes with ``surrogatepass``, accepting UTF-8-encoded surrogates (ED A0..BF xx) that
    the text file rejects or escapes; everything else it decodes as UTF-8 too. Any other
    undecodable byte makes both fail (the text file then reports it).
    """
    head = data[:4]
    if b"\0" in head or head[:1] in (b"\xef", b"\xfe", b"\xff"):
        return False
    if b"\xed" not in data:
        return True
    import re

    return re.search(b"\xed[\xa0-\xbf]", data) is None


def write_bytes(obj, outfile, dump_args):
    """Write ``obj`` and a newline to ``outfile``, a UTF-8 text file on a POSIX system, as
    the bytes the text ``json.dump`` writes would encode to, on the file's byte buffer
    (without building the text first: 2 ms of the 40 on a 3 MB document). Returns False,
    having written nothing, for a document the text path must write (a lone surrogate,
    which then fails as json's does; see ``dump_in_pieces``).

    Called from ``main`` where ``rjson.dump`` would be, and like it one frame above the
    native call, so that RecursionError comes at ``json.dump``'s depth.
    """
    data = rjson._rjson._dump_bytes(obj, **dump_args)
    if data is NotImplemented:
        return False
    outfile.flush()
    outfile.buffer.write(data)
    outfile.buffer.write(b"\n")
    if outfile.line_buffering:
        outfile.buffer.flush()
    return True


def writes_utf8(outfile):
    """Whether ``outfile`` is a text file over a byte buffer, encoding UTF-8."""
    return reads_utf8(outfile) and hasattr(outfile, "line_buffering")


def dump_in_pieces(obj, outfile, dump_args):
    """Fail as ``json.dump`` fails on a lone surrogate that ``outfile`` cannot encode.

    json.dump writes in pieces, so the pieces before the bad one reach outfile and the
    error counts its position from the start of that piece. rjson's single write failed
    whole, having written nothing, so json.dump now writes the same pieces and raises the
    same error.
    """
    import json

    json.dump(obj, outfile, **dump_args)


def simple_options(argv):
    """The options of a plain command line, or None to leave it to argparse.

    Plain: flags spelt out in full, ``--indent`` followed by ASCII digits, at most one
    layout option, and at most two file names, side by side, that do not start with ``-``.
    argparse reads such a line the same way; anything else (``--help``, abbreviations,
    ``--indent=2``, ``-``, ``--``, conflicts, errors) goes to argparse, which then says what
    json.tool says.
    """
    options = Options()
    args = iter(argv)
    layouts = 0
    names = []
    names_done = False  # an option after the names: a later name is argparse's business
    for arg in args:
        if not arg.startswith("-"):
            if not arg or names_done or len(names) == 2:
                return None
            names.append(arg)
            continue
        names_done = bool(names)
        if arg in FLAGS:
            setattr(options, *FLAGS[arg])
        elif arg in LAYOUTS:
            layouts += 1
            setattr(options, *LAYOUTS[arg])
        elif arg == "--indent":
            layouts += 1
            value = next(args, "")
            if not (value.isascii() and value.isdigit()):
                return None
            options.indent = int(value)
        else:
            return None
    if layouts > 1:
        return None
    return with_files(options, names)


def with_files(options, names):
    """``options`` with the file names of a plain command line, as argparse would set them."""
    if names and FILES_OPENED_BY_ARGPARSE:
        try:
            options.infile = open(names[0], encoding="utf-8")
        except OSError:
            return None  # argparse reports it as a usage error
    elif names:
        options.infile = names[0]
    if len(names) == 2:
        options.outfile = as_path(names[1]) if FILES_OPENED_BY_ARGPARSE else names[1]
    return options


def as_path(name):
    """``pathlib.Path(name)``, importing pathlib only when an outfile is named."""
    from pathlib import Path

    return Path(name)


def parse_options(argv):
    """json.tool's own argument parser, under rjson's program name."""
    import argparse

    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    if FILES_OPENED_BY_ARGPARSE:
        infile_type = {"type": argparse.FileType(encoding="utf-8"), "default": sys.stdin}
        outfile_type = {"type": as_path}
    else:
        infile_type = {"default": "-"}
        outfile_type = {}
    parser.add_argument(
        "infile", nargs="?", help="a JSON file to be validated or pretty-printed", **infile_type
    )
    parser.add_argument(
        "outfile", nargs="?", default=None, help="write the output of infile to outfile",
        **outfile_type,
    )
    parser.add_argument(
        "--sort-keys", action="store_true", default=False,
        help="sort the output of dictionaries alphabetically by key",
    )
    parser.add_argument(
        "--no-ensure-ascii", dest="ensure_ascii", action="store_false",
        help="disable escaping of non-ASCII characters",
    )
    parser.add_argument(
        "--json-lines", action="store_true", default=False,
        help="parse input using the JSON Lines format. "
        "Use with --no-indent or --compact to produce valid JSON Lines output.",
    )
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument(
        "--indent", default=4, type=int,
        help="separate items with newlines and use this number of spaces for indentation",
    )
    layout.add_argument(
        "--tab", action="store_const", dest="indent", const="\t",
        help="separate items with newlines and use tabs for indentation",
    )
    layout.add_argument(
        "--no-indent", action="store_const", dest="indent", const=None,
        help="separate items with spaces rather than newlines",
    )
    layout.add_argument(
        "--compact", action="store_true",
        help="suppress all whitespace separation (most compact)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError as error:
        # The reader went away: json.tool exits with the errno (32) and says nothing.
        sys.exit(error.errno)
