//! `dumps` and `dumps_bytes`: raw vectorcall entry points, the choice of string mode and
//! kernel, and the one copy of the finished buffer into its `str` or `bytes`.

mod buffer;
mod number;
mod options;
mod serializer;
mod text;
mod writer;

use std::marker::PhantomData;

use pyo3::prelude::*;
use pyo3_ffi::*;
use rjson_simd::{dispatch, Kernel, WithKernel};

use crate::globals;
use crate::pyffi::guarded;
use options::{Defaults, Options};
use serializer::{Encoder, Error};
use buffer::{Buffer, Output};
use writer::{AsciiMode, StrMode, TextMode, Utf8Mode};

/// What the caller gets back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Str,
    Bytes,
}

/// Encode `obj` with kernel `K` and string mode `M` into `buf`.
struct EncodeJob<'a, M> {
    obj: *mut PyObject,
    options: &'a Options,
    buf: &'a mut Buffer,
    mode: PhantomData<M>,
}

impl<M: StrMode> WithKernel for EncodeJob<'_, M> {
    type Output = Result<(), Error>;

    fn run<K: Kernel>(self) -> Self::Output {
        // The compact and indented encoders are compiled apart (see `Encoder`).
        let indented = self.options.indent.is_some();
        // SAFETY: `obj` is the caller's argument, live for the call; the GIL is held.
        unsafe {
            if indented {
                Encoder::<K, M, true>::new(self.buf, self.options).value(self.obj)
            } else {
                Encoder::<K, M, false>::new(self.buf, self.options).value(self.obj)
            }
        }
    }
}

fn encode_with<M: StrMode>(obj: *mut PyObject, options: &Options, buf: &mut Buffer) -> Result<(), Error> {
    let job = EncodeJob::<M> {
        obj,
        options,
        buf,
        mode: PhantomData,
    };
    dispatch(globals::get().backend, job)
}

/// Encode and build the result object (null with an exception set on failure), or `None`
/// for a call the standard library is to make instead.
///
/// # Safety
/// GIL held; `obj` live.
unsafe fn encode(obj: *mut PyObject, options: &Options, target: Target) -> Option<*mut PyObject> {
    // A `default=` callback that calls us again recurses through here, not through a
    // container: guard the native stack here too.
    if crate::stack::here() < crate::stack::floor() {
        // SAFETY: raising with the GIL held.
        unsafe {
            PyErr_SetString(
                PyExc_RecursionError,
                c"maximum recursion depth exceeded while encoding a JSON object".as_ptr(),
            );
        }
        return Some(std::ptr::null_mut());
    }
    let output = match target {
        Target::Bytes => Output::Bytes,
        Target::Str if options.layout_is_ascii => {
            if options.ensure_ascii { Output::AsciiStr } else { Output::Text }
        }
        Target::Str if options.ensure_ascii => Output::Utf8Text,
        // A text result holds its layout as Latin-1 bytes (see `text`); a wider indent or
        // separator is rare enough to leave to `json`.
        Target::Str => return None,
    };
    let mut buf = Buffer::new(output);
    buf.non_ascii = !options.layout_is_ascii;
    let result = match (target, options.ensure_ascii) {
        (_, true) => encode_with::<AsciiMode>(obj, options, &mut buf),
        (Target::Str, false) => encode_with::<TextMode>(obj, options, &mut buf),
        (Target::Bytes, false) => encode_with::<Utf8Mode>(obj, options, &mut buf),
    };
    match result {
        Ok(()) => Some(buf.finish()),
        Err(Error::Python) => Some(std::ptr::null_mut()),
        // `dumps_bytes` met a lone surrogate: `json.dumps(...).encode()` raises the exact
        // `UnicodeEncodeError` (its position counts characters of the whole text).
        Err(Error::Surrogate) => None,
    }
}

/// Hand a call to `json.dumps` unchanged: it then behaves (and fails) exactly as `json`.
unsafe fn delegate_dumps(args: *const *mut PyObject, nargs: Py_ssize_t, kwnames: *mut PyObject) -> *mut PyObject {
    // SAFETY: forwarding our own vectorcall arguments.
    unsafe {
        match globals::std_json() {
            Some(json) => PyObject_Vectorcall(json.dumps, args, nargs as usize, kwnames),
            None => std::ptr::null_mut(),
        }
    }
}

/// `json.dumps(*args, **{"ensure_ascii": False, "separators": (",", ":"), **kwargs})`
/// encoded to UTF-8.
unsafe fn delegate_dumps_bytes(
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: building argument objects we own and calling `json.dumps` with them.
    unsafe {
        let kw = &globals::get().kw;
        let Some(kwargs) = crate::pyffi::Owned::new(PyDict_New()) else {
            return std::ptr::null_mut();
        };
        let Some(wire) = crate::pyffi::Owned::new(Py_BuildValue(c"(ss)".as_ptr(), c",".as_ptr(), c":".as_ptr()))
        else {
            return std::ptr::null_mut();
        };
        if PyDict_SetItem(kwargs.ptr(), kw.ensure_ascii, Py_False()) != 0
            || PyDict_SetItem(kwargs.ptr(), kw.separators, wire.ptr()) != 0
        {
            return std::ptr::null_mut();
        }
        let count = if kwnames.is_null() { 0 } else { PyTuple_GET_SIZE(kwnames) };
        for i in 0..count {
            let value = *args.add((nargs + i) as usize);
            if PyDict_SetItem(kwargs.ptr(), PyTuple_GET_ITEM(kwnames, i), value) != 0 {
                return std::ptr::null_mut();
            }
        }
        let Some(json) = globals::std_json() else {
            return std::ptr::null_mut();
        };
        let Some(text) = crate::pyffi::Owned::new(PyObject_VectorcallDict(
            json.dumps,
            args,
            nargs as usize,
            kwargs.ptr(),
        )) else {
            return std::ptr::null_mut();
        };
        PyUnicode_AsEncodedString(text.ptr(), c"utf-8".as_ptr(), c"strict".as_ptr())
    }
}

/// The options of a call with exactly one positional argument; `None` when the call is to
/// be delegated to the standard library.
///
/// # Safety
/// Valid vectorcall arguments.
#[inline(always)]
unsafe fn read_call(
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
    defaults: Defaults,
) -> Option<Options> {
    if nargs != 1 {
        return None;
    }
    let mut options = Options::defaults(defaults);
    // SAFETY: forwarded; `kwnames` is null or a tuple.
    let keywords = !kwnames.is_null() && unsafe { PyTuple_GET_SIZE(kwnames) } > 0;
    if keywords && !unsafe { options::parse_keywords(args, nargs, kwnames, defaults, &mut options) } {
        return None;
    }
    Some(options)
}

unsafe extern "C" fn dumps(
    _module: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: CPython calls us with valid vectorcall arguments and the GIL held.
    guarded(|| unsafe {
        read_call(args, nargs, kwnames, Defaults::Json)
            .and_then(|options| encode(*args, &options, Target::Str))
            .unwrap_or_else(|| delegate_dumps(args, nargs, kwnames))
    })
}

unsafe extern "C" fn dumps_bytes(
    _module: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: CPython calls us with valid vectorcall arguments and the GIL held.
    guarded(|| unsafe {
        read_call(args, nargs, kwnames, Defaults::Wire)
            .and_then(|options| encode(*args, &options, Target::Bytes))
            .unwrap_or_else(|| delegate_dumps_bytes(args, nargs, kwnames))
    })
}

/// The text `json.dump` writes, for `rjson.dump`: as `dumps`, but following `json`'s
/// pure-Python encoder, which `json.dump` always runs. Returns `NotImplemented` for a call
/// to hand to `json.dump` itself.
unsafe extern "C" fn dump_text(
    _module: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: CPython's vectorcall arguments, forwarded.
    unsafe { dump_as(args, nargs, kwnames, Target::Str) }
}

/// The UTF-8 bytes of that text, for `python -m rjson` writing to a UTF-8 file; also
/// `NotImplemented` for a lone surrogate (the text is then written as `json.dump` writes
/// it, and fails as it fails). Called, like `_dump_text`, from one Python frame below the
/// program's, so that `RecursionError` comes at `json.dump`'s depth.
unsafe extern "C" fn dump_bytes(
    _module: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: CPython's vectorcall arguments, forwarded.
    unsafe { dump_as(args, nargs, kwnames, Target::Bytes) }
}

/// `json.dump`'s output as `target`, or `NotImplemented`.
///
/// # Safety
/// CPython's vectorcall arguments, with the GIL held.
unsafe fn dump_as(
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
    target: Target,
) -> *mut PyObject {
    // SAFETY: valid vectorcall arguments and the GIL, per the caller.
    guarded(|| unsafe {
        read_call(args, nargs, kwnames, Defaults::Json)
            .and_then(|mut options| {
                options.python_encoder = true;
                encode(*args, &options, target)
            })
            .unwrap_or_else(|| {
                let not_implemented = Py_NotImplemented();
                Py_INCREF(not_implemented);
                not_implemented
            })
    })
}

const DUMPS_DOC: &std::ffi::CStr = c"dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True, allow_nan=True, cls=None, indent=None, separators=None, default=None, sort_keys=False, **kw)
--

Serialize obj to a JSON formatted str, exactly as json.dumps does.

Returns the same text json.dumps(obj, ...) returns for the same arguments: floats, big
ints, NaN and Infinity, indent, separators, sort_keys, ensure_ascii, skipkeys, default and
check_circular all behave as in json. A cls other than None or json.JSONEncoder, an
unknown keyword or an argument of an unusual type is handed to json.dumps itself.

Raises what json.dumps raises, with the same type and message: TypeError for a value
that is not serializable (once default has been tried) or a key of an unsupported type
without skipkeys; ValueError for a circular reference, or for NaN or Infinity with
allow_nan=False; RecursionError for nesting deeper than json reaches; and whatever
default raises.";

const DUMPS_BYTES_DOC: &std::ffi::CStr = c"dumps_bytes(obj, *, skipkeys=False, ensure_ascii=False, check_circular=True, allow_nan=True, cls=None, indent=None, separators=(',', ':'), default=None, sort_keys=False, **kw)
--

Serialize obj to UTF-8 JSON bytes.

Returns json.dumps(obj, **kw).encode('utf-8') with the wire-format defaults
ensure_ascii=False and separators=(',', ':') (an explicit separators=None means json's
own), written straight into the bytes object without an intermediate str. Every other
argument, the delegation of a custom cls or unusual argument to json.dumps, and every
error are as for dumps; in addition a lone surrogate in the output raises the
UnicodeEncodeError that str.encode('utf-8') would raise.";

/// The raw entry points, registered with `PyModule_AddFunctions` (which keeps a pointer
/// to the table, hence `static`).
static mut METHODS: [PyMethodDef; 5] = [
    PyMethodDef {
        ml_name: c"dumps".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunctionFastWithKeywords: dumps,
        },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: DUMPS_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"dumps_bytes".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunctionFastWithKeywords: dumps_bytes,
        },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: DUMPS_BYTES_DOC.as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_dump_text".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunctionFastWithKeywords: dump_text,
        },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: c"The text json.dump writes (or NotImplemented: then call json.dump).".as_ptr(),
    },
    PyMethodDef {
        ml_name: c"_dump_bytes".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunctionFastWithKeywords: dump_bytes,
        },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: c"The UTF-8 bytes of the text json.dump writes (or NotImplemented).".as_ptr(),
    },
    PyMethodDef::zeroed(),
];

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    // SAFETY: the table is a NUL-terminated static array that outlives the module;
    // CPython only reads it.
    let status = unsafe { PyModule_AddFunctions(module.as_ptr(), (&raw mut METHODS).cast()) };
    if status != 0 {
        return Err(PyErr::fetch(module.py()));
    }
    Ok(())
}
