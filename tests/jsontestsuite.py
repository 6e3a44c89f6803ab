"""The vendored JSONTestSuite (nst/JSONTestSuite, MIT), read straight from its tarball.

    from jsontestsuite import cases, transform_cases
    for name, data in cases():          # ("y_array_empty.json", b"[]"), ...
        ...

The prefix of a test_parsing name says what a parser must do: ``y_`` accept, ``n_`` reject,
``i_`` either.  The bytes are the raw file contents (some are not valid UTF-8, on purpose).
"""

from __future__ import annotations

import functools
import tarfile
from pathlib import Path
from typing import Iterator

TARBALL = Path(__file__).parent / "data" / "JSONTestSuite" / "JSONTestSuite.tar.xz"


@functools.lru_cache(maxsize=None)
def _members(folder: str) -> tuple[tuple[str, bytes], ...]:
    """(file name, bytes) for every file in one folder of the tarball, sorted by name."""
    out = []
    with tarfile.open(TARBALL, "r:xz") as tar:
        for member in tar.getmembers():
            parent, _, name = member.name.rpartition("/")
            if member.isfile() and parent == folder:
                out.append((name, tar.extractfile(member).read()))
    return tuple(sorted(out))


def cases() -> Iterator[tuple[str, bytes]]:
    """Every test_parsing case as (name, bytes)."""
    yield from _members("test_parsing")


def transform_cases() -> Iterator[tuple[str, bytes]]:
    """Every test_transform case as (name, bytes)."""
    yield from _members("test_transform")
