# Type stubs for rjson. The signatures are json's own (dumps, dump, loads, load take the
# same arguments and return the same types), plus dumps_bytes, the SIMD helpers and
# memoryview input for loads.

from json import JSONDecodeError as JSONDecodeError
from json import JSONDecoder as JSONDecoder
from json import JSONEncoder as JSONEncoder
from typing import Any, Callable, Protocol, TypeVar, Union

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

__version__: str

_T_co = TypeVar("_T_co", covariant=True)

class _TextWriter(Protocol):
    def write(self, text: str, /) -> object: ...

class _Reader(Protocol[_T_co]):
    def read(self) -> _T_co: ...

# What loads accepts: json.loads's str, bytes and bytearray, and a contiguous memoryview.
_Document = Union[str, bytes, bytearray, memoryview]

def dumps(
    obj: Any,
    *,
    skipkeys: bool = False,
    ensure_ascii: bool = True,
    check_circular: bool = True,
    allow_nan: bool = True,
    cls: type[JSONEncoder] | None = None,
    indent: int | str | None = None,
    separators: tuple[str, str] | None = None,
    default: Callable[[Any], Any] | None = None,
    sort_keys: bool = False,
    **kw: Any,
) -> str: ...
def dump(
    obj: Any,
    fp: _TextWriter,
    *,
    skipkeys: bool = False,
    ensure_ascii: bool = True,
    check_circular: bool = True,
    allow_nan: bool = True,
    cls: type[JSONEncoder] | None = None,
    indent: int | str | None = None,
    separators: tuple[str, str] | None = None,
    default: Callable[[Any], Any] | None = None,
    sort_keys: bool = False,
    **kw: Any,
) -> None: ...
def dumps_bytes(
    obj: Any,
    *,
    skipkeys: bool = False,
    ensure_ascii: bool = False,
    check_circular: bool = True,
    allow_nan: bool = True,
    cls: type[JSONEncoder] | None = None,
    indent: int | str | None = None,
    separators: tuple[str, str] | None = (",", ":"),
    default: Callable[[Any], Any] | None = None,
    sort_keys: bool = False,
    **kw: Any,
) -> bytes: ...
def loads(
    s: _Document,
    *,
    cls: type[JSONDecoder] | None = None,
    object_hook: Callable[[dict[Any, Any]], Any] | None = None,
    parse_float: Callable[[str], Any] | None = None,
    parse_int: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
    object_pairs_hook: Callable[[list[tuple[Any, Any]]], Any] | None = None,
    **kw: Any,
) -> Any: ...
def load(
    fp: _Reader[_Document],
    *,
    cls: type[JSONDecoder] | None = None,
    object_hook: Callable[[dict[Any, Any]], Any] | None = None,
    parse_float: Callable[[str], Any] | None = None,
    parse_int: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
    object_pairs_hook: Callable[[list[tuple[Any, Any]]], Any] | None = None,
    **kw: Any,
) -> Any: ...
def simd_backend() -> str: ...
def simd_backends() -> tuple[str, ...]: ...
