//! `loads`: a raw vectorcall entry point, the choice of source (a `str`'s own storage or
//! UTF-8 bytes) and kernel, and the errors exactly as `json.loads` raises them.
//!
//! `json.loads` first decodes bytes (`bytes.decode(detect_encoding(b), "surrogatepass")`)
//! and then scans the text. For UTF-8 we parse the bytes directly; whenever that fails we
//! find out what `json` would have said: the decode error if the bytes do not decode (which
//! `json` reports before anything else), otherwise the parse error, with its position in
//! characters of the decoded text. Other encodings are decoded by the standard codec and
//! the text parsed.

mod cache;
mod number;
mod options;
mod parser;
mod pow5;
mod source;
mod utf8;

use std::ffi::CStr;

use pyo3::prelude::*;
use pyo3_ffi::*;
use rjson_simd::scalar::utf8_char_count;
use rjson_simd::{dispatch, Kernel, Scalar, WithKernel};

use crate::globals;
use crate::pyffi::guarded;
use crate::pyffi::{str_data, Owned, StrData};
use cache::Caches;
use parser::{Fail, Hooks, Why};
use source::{Latin1, Source, Ucs2, Ucs4, Utf8};

type Parsed = Result<*mut PyObject, Fail>;

/// Parse `src` with kernel `K` as source `S`.
struct ParseJob<'a, S: Source> {
    src: &'a [S::Unit],
    hooks: &'a Hooks,
    caches: Option<&'a mut Caches>,
}

impl<S: Source> WithKernel for ParseJob<'_, S> {
    type Output = Parsed;

    fn run<K: Kernel>(self) -> Parsed {
        // SAFETY: the GIL is held for the whole `loads` call, and the source is either
        // immutable (`str`, `bytes`) or our own copy.
        unsafe { parser::parse::<K, S>(self.src, self.hooks, self.caches) }
    }
}

/// Parse with the process's caches lent for the call.
///
/// # Safety
/// GIL held.
unsafe fn parse_with_caches<S: Source>(src: &[S::Unit], hooks: &Hooks, vector: bool) -> Parsed {
    // SAFETY: GIL held; the cache is given back below, whatever the outcome.
    unsafe {
        let _pause = if hooks.any() { None } else { Some(GcPause::new()) };
        let mut caches = cache::borrow();
        let job = ParseJob::<S> {
            src,
            hooks,
            caches: caches.as_deref_mut(),
        };
        let result = if vector { dispatch(globals::get().backend, job) } else { job.run::<Scalar>() };
        if let Some(caches) = caches {
            cache::give_back(caches);
        }
        result
    }
}

/// The cyclic garbage collector paused while a parse that runs no Python code builds its
/// objects. JSON values cannot form reference cycles, so the collections their allocation
/// would trigger (one every 700 containers, each traversing the young objects, and full
/// ones as the heap grows) can find nothing to free, yet take about a third of the time of
/// a large `loads`. No Python code runs meanwhile (no hooks, and the GIL is held
/// throughout), so nothing else can observe the pause; the collector is resumed before
/// `loads` returns, with its allocation counts intact, so collection resumes on schedule.
struct GcPause {
    resume: bool,
}

impl GcPause {
    /// # Safety
    /// GIL held.
    unsafe fn new() -> GcPause {
        if cfg!(Py_GIL_DISABLED) {
            return GcPause { resume: false };
        }
        #[cfg(Py_3_10)]
        // SAFETY: GIL held.
        let resume = unsafe { PyGC_Disable() } == 1;
        #[cfg(not(Py_3_10))]
        // SAFETY: GIL held; calls of `gc` functions, whose failure (never expected) only
        // leaves the collector as it was.
        let resume = unsafe {
            let g = globals::decode();
            let enabled = PyObject_CallNoArgs(g.gc_isenabled);
            let was = enabled == Py_True();
            Py_XDECREF(enabled);
            let paused = was && Owned::new(PyObject_CallNoArgs(g.gc_disable)).is_some();
            PyErr_Clear();
            paused
        };
        GcPause { resume }
    }
}

impl Drop for GcPause {
    fn drop(&mut self) {
        if !self.resume {
            return;
        }
        // SAFETY: GIL held (we are inside `loads`); re-enabling what we disabled. The
        // pending exception, if any, is kept aside around the call on old versions.
        unsafe {
            #[cfg(Py_3_10)]
            PyGC_Enable();
            #[cfg(not(Py_3_10))]
            {
                let (mut ty, mut value, mut tb) =
                    (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
                PyErr_Fetch(&mut ty, &mut value, &mut tb);
                Py_XDECREF(PyObject_CallNoArgs(globals::decode().gc_enable));
                PyErr_Clear();
                PyErr_Restore(ty, value, tb);
            }
        }
    }
}

/// The encodings `json.detect_encoding` tells apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf8Sig,
    Utf16,
    Utf16Be,
    Utf16Le,
    Utf32,
    Utf32Be,
    Utf32Le,
}

impl Encoding {
    fn codec(self) -> &'static CStr {
        match self {
            Encoding::Utf8 => c"utf-8",
            Encoding::Utf8Sig => c"utf-8-sig",
            Encoding::Utf16 => c"utf-16",
            Encoding::Utf16Be => c"utf-16-be",
            Encoding::Utf16Le => c"utf-16-le",
            Encoding::Utf32 => c"utf-32",
            Encoding::Utf32Be => c"utf-32-be",
            Encoding::Utf32Le => c"utf-32-le",
        }
    }
}

/// `json.detect_encoding`, test for test.
fn detect_encoding(b: &[u8]) -> Encoding {
    if b.starts_with(b"\x00\x00\xfe\xff") || b.starts_with(b"\xff\xfe\x00\x00") {
        return Encoding::Utf32;
    }
    if b.starts_with(b"\xfe\xff") || b.starts_with(b"\xff\xfe") {
        return Encoding::Utf16;
    }
    if b.starts_with(b"\xef\xbb\xbf") {
        return Encoding::Utf8Sig;
    }
    if b.len() >= 4 {
        if b[0] == 0 {
            return if b[1] != 0 { Encoding::Utf16Be } else { Encoding::Utf32Be };
        }
        if b[1] == 0 {
            return if b[2] != 0 || b[3] != 0 { Encoding::Utf16Le } else { Encoding::Utf32Le };
        }
    } else if b.len() == 2 {
        if b[0] == 0 {
            return Encoding::Utf16Be;
        }
        if b[1] == 0 {
            return Encoding::Utf16Le;
        }
    }
    Encoding::Utf8
}

/// `bytes.decode(codec, "surrogatepass")` of `b`: a new `str`, or null with the decode
/// error set.
///
/// # Safety
/// GIL held.
unsafe fn decode_bytes(b: &[u8], encoding: Encoding) -> *mut PyObject {
    // SAFETY: a valid buffer and NUL-terminated names.
    unsafe {
        PyUnicode_Decode(
            b.as_ptr().cast(),
            b.len() as Py_ssize_t,
            encoding.codec().as_ptr(),
            c"surrogatepass".as_ptr(),
        )
    }
}

/// Raise `json.JSONDecodeError(msg, doc, pos)`; `pos` any object (`json` passes what a
/// `StopIteration` carried as is).
///
/// # Safety
/// GIL held; `doc` and `pos` live.
unsafe fn raise_decode_error_at(msg: &CStr, doc: *mut PyObject, pos: *mut PyObject) -> Option<Owned> {
    // SAFETY: building and raising an exception from live objects.
    unsafe {
        let error_type = globals::std_json()?.decode_error;
        let msg = Owned::new(PyUnicode_FromString(msg.as_ptr()))?;
        let args = [msg.ptr(), doc, pos];
        let exc = Owned::new(PyObject_Vectorcall(error_type, args.as_ptr(), 3, std::ptr::null_mut()))?;
        PyErr_SetObject(error_type, exc.ptr());
        Some(exc)
    }
}

/// Raise `json.JSONDecodeError(msg, doc, pos)`; returns null for the caller to return.
///
/// # Safety
/// GIL held; `doc` live.
#[cold]
unsafe fn raise_decode_error(msg: &CStr, doc: *mut PyObject, pos: usize) -> *mut PyObject {
    // SAFETY: as above.
    unsafe {
        if let Some(pos) = Owned::new(PyLong_FromSize_t(pos)) {
            raise_decode_error_at(msg, doc, pos.ptr());
        }
    }
    std::ptr::null_mut()
}

/// `json.decoder.JSONDecoder.raw_decode` turns a `StopIteration` escaping the scanner (a
/// hook may raise one) into `JSONDecodeError("Expecting value", s, err.value) from None`.
///
/// # Safety
/// GIL held, an exception set; `doc` live.
#[cold]
unsafe fn convert_stop_iteration(doc: *mut PyObject) {
    // SAFETY: fetching, inspecting and chaining exceptions with the GIL held.
    unsafe {
        if PyErr_ExceptionMatches(PyExc_StopIteration) == 0 {
            return;
        }
        let Some(stop) = Owned::new(crate::pyffi::take_exception()) else { return };
        let Some(carried) = Owned::new(PyObject_GetAttrString(stop.ptr(), c"value".as_ptr())) else {
            return;
        };
        if let Some(exc) = raise_decode_error_at(c"Expecting value", doc, carried.ptr()) {
            // SetContext steals a reference; SetCause(NULL) also sets
            // __suppress_context__, as `from None` does.
            Py_INCREF(stop.ptr());
            PyException_SetContext(exc.ptr(), stop.ptr());
            PyException_SetCause(exc.ptr(), std::ptr::null_mut());
        }
    }
}

/// The result of parsing a `str` (`doc`), or its error raised.
///
/// # Safety
/// GIL held; `doc` live.
unsafe fn finish_text(result: Parsed, doc: *mut PyObject) -> *mut PyObject {
    match result {
        Ok(obj) => obj,
        Err(Fail { why: Why::Python, .. }) => {
            // SAFETY: an exception is set.
            unsafe { convert_stop_iteration(doc) };
            std::ptr::null_mut()
        }
        Err(Fail { why: Why::Utf8, .. }) => {
            // Text sources never produce this.
            // SAFETY: raising with the GIL held.
            unsafe { PyErr_SetString(PyExc_SystemError, c"rjson: UTF-8 error in text".as_ptr()) };
            std::ptr::null_mut()
        }
        // SAFETY: forwarded; text positions are character positions.
        Err(fail) => unsafe { raise_decode_error(fail.why.message(), doc, fail.pos) },
    }
}

/// `loads` of a `str` (exact type). `check_bom`: `json.loads` refuses a leading U+FEFF in
/// a `str` it was given, not in one it decoded from bytes.
///
/// # Safety
/// GIL held; `text` a live exact str.
unsafe fn loads_text(text: *mut PyObject, hooks: &Hooks, check_bom: bool) -> *mut PyObject {
    // SAFETY: `text` is an immutable str that the caller keeps alive.
    unsafe {
        let Some(data) = str_data(text) else {
            return std::ptr::null_mut();
        };
        let starts_with_bom = match data {
            StrData::Ucs2(u) => u.first() == Some(&0xFEFF),
            StrData::Ucs4(u) => u.first() == Some(&0xFEFF),
            _ => false,
        };
        if check_bom && starts_with_bom {
            return raise_decode_error(c"Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0);
        }
        let result = match data {
            StrData::Ascii(b) | StrData::Ucs1(b) => parse_with_caches::<Latin1>(b, hooks, true),
            StrData::Ucs2(u) => parse_with_caches::<Ucs2>(u, hooks, false),
            StrData::Ucs4(u) => parse_with_caches::<Ucs4>(u, hooks, false),
        };
        finish_text(result, text)
    }
}

/// `loads` of bytes, as `json.loads` decodes and parses them.
///
/// # Safety
/// GIL held; `b` unmodified during the call.
unsafe fn loads_bytes(b: &[u8], hooks: &Hooks) -> *mut PyObject {
    let encoding = detect_encoding(b);
    // SAFETY: forwarded.
    unsafe {
        if matches!(encoding, Encoding::Utf8 | Encoding::Utf8Sig) && !hooks.any() {
            return loads_utf8(b, encoding, hooks);
        }
        // Hooks run Python code: decode first, as `json` does, so that they never see a
        // document that does not decode, nor bytes that change under them.
        let Some(text) = Owned::new(decode_bytes(b, encoding)) else {
            return std::ptr::null_mut();
        };
        loads_text(text.ptr(), hooks, false)
    }
}

/// `loads` of UTF-8 bytes (`b` whole, with its BOM when `encoding` is `Utf8Sig`).
///
/// # Safety
/// GIL held; `b` unmodified during the call.
unsafe fn loads_utf8(b: &[u8], encoding: Encoding, hooks: &Hooks) -> *mut PyObject {
    let body = if encoding == Encoding::Utf8Sig { &b[3..] } else { b };
    // SAFETY: forwarded.
    unsafe {
        match parse_with_caches::<Utf8>(body, hooks, true) {
            Ok(obj) => obj,
            Err(fail) => utf8_failure(b, encoding, body, fail, hooks),
        }
    }
}

/// What `json.loads` raises for bytes our parse of `body` failed on: the decode error when
/// they do not decode, else the parse error at its character position in the text.
///
/// # Safety
/// GIL held.
#[cold]
unsafe fn utf8_failure(b: &[u8], encoding: Encoding, body: &[u8], fail: Fail, hooks: &Hooks) -> *mut PyObject {
    // SAFETY: C API calls with the GIL held.
    unsafe {
        if fail.why == Why::Python {
            if utf8::is_valid(body) {
                return std::ptr::null_mut();
            }
            PyErr_Clear();
        }
        let Some(doc) = Owned::new(decode_bytes(b, encoding)) else {
            return std::ptr::null_mut();
        };
        match fail.why {
            // Decodable after all (cannot happen): parse the text, which is exact.
            Why::Python | Why::Utf8 => loads_text(doc.ptr(), hooks, false),
            // A byte offset into valid UTF-8 becomes `json`'s character position.
            why => raise_decode_error(why.message(), doc.ptr(), utf8_char_count(&body[..fail.pos])),
        }
    }
}

/// `loads` of a contiguous buffer (a `memoryview`), as of `bytes(view)`.
///
/// # Safety
/// GIL held; `obj` live.
unsafe fn loads_buffer(obj: *mut PyObject, hooks: &Hooks) -> *mut PyObject {
    // SAFETY: the view is released once copied; a non-contiguous one raises BufferError.
    unsafe {
        let mut view: Py_buffer = std::mem::zeroed();
        if PyObject_GetBuffer(obj, &mut view, PyBUF_SIMPLE) != 0 {
            return std::ptr::null_mut();
        }
        let copy = std::slice::from_raw_parts(view.buf as *const u8, view.len as usize).to_vec();
        PyBuffer_Release(&mut view);
        loads_bytes(&copy, hooks)
    }
}

/// `loads` of `doc`, or `None` for a type that `json.loads` should handle (and refuse).
///
/// # Safety
/// GIL held; `doc` live.
unsafe fn loads_document(doc: *mut PyObject, hooks: &Hooks) -> Option<*mut PyObject> {
    // SAFETY: type tests and reads of live objects; `bytes` are immutable, and a
    // `bytearray` is copied, since a finalizer run by an allocation could resize it.
    unsafe {
        let ty = Py_TYPE(doc);
        if ty == crate::pyffi::str_type() {
            Some(loads_text(doc, hooks, true))
        } else if ty == &raw mut PyBytes_Type {
            let b = std::slice::from_raw_parts(PyBytes_AS_STRING(doc) as *const u8, Py_SIZE(doc) as usize);
            Some(loads_bytes(b, hooks))
        } else if ty == &raw mut PyByteArray_Type {
            let b = std::slice::from_raw_parts(PyByteArray_AsString(doc) as *const u8, PyByteArray_Size(doc) as usize)
                .to_vec();
            Some(loads_bytes(&b, hooks))
        } else if ty == &raw mut PyMemoryView_Type {
            Some(loads_buffer(doc, hooks))
        } else {
            None
        }
    }
}

/// Hand a call to `json.loads` unchanged (a `memoryview`, which it does not take, as
/// `bytes`): it then behaves and fails exactly as `json`.
///
/// # Safety
/// GIL held; our own vectorcall arguments.
unsafe fn delegate(args: *const *mut PyObject, nargs: Py_ssize_t, kwnames: *mut PyObject) -> *mut PyObject {
    // SAFETY: forwarding our arguments, with one replaced by an object we own.
    unsafe {
        let Some(json_loads) = globals::std_json().map(|json| json.loads) else {
            return std::ptr::null_mut();
        };
        if nargs >= 1 && Py_TYPE(*args) == &raw mut PyMemoryView_Type {
            let Some(bytes) = Owned::new(PyBytes_FromObject(*args)) else {
                return std::ptr::null_mut();
            };
            let count = nargs + if kwnames.is_null() { 0 } else { PyTuple_GET_SIZE(kwnames) };
            let mut argv: Vec<*mut PyObject> = (0..count as usize).map(|i| *args.add(i)).collect();
            argv[0] = bytes.ptr();
            return PyObject_Vectorcall(json_loads, argv.as_ptr(), nargs as usize, kwnames);
        }
        PyObject_Vectorcall(json_loads, args, nargs as usize, kwnames)
    }
}

unsafe extern "C" fn loads(
    _module: *mut PyObject,
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: CPython calls us with valid vectorcall arguments and the GIL held.
    guarded(|| unsafe {
        match options::parse(args, nargs, kwnames) {
            Some((doc, hooks)) => match loads_document(doc, &hooks) {
                Some(result) => result,
                None => delegate(args, nargs, kwnames),
            },
            None => delegate(args, nargs, kwnames),
        }
    })
}

const LOADS_DOC: &CStr = c"loads(s, *, cls=None, object_hook=None, parse_float=None, parse_int=None, parse_constant=None, object_pairs_hook=None, **kw)
--

Deserialize s (a str, bytes, bytearray or contiguous memoryview holding a JSON document)
to a Python object, exactly as json.loads does.

Returns what json.loads returns for the same arguments. bytes and bytearray are decoded
as json.loads decodes them (UTF-8, UTF-16 or UTF-32, detected from the first bytes; a
UTF-8 BOM is skipped); a memoryview is read as the bytes it holds (json.loads refuses
one). object_hook, object_pairs_hook, parse_float, parse_int, parse_constant and
strict=False behave as in json; a cls other than None or json.JSONDecoder, or an
unusual argument, is handed to json.loads itself.

Raises json.JSONDecodeError itself (a ValueError) with json's msg, pos, lineno and colno
for a malformed document; TypeError for another type of s; UnicodeDecodeError for bytes
that do not decode; ValueError for an integer longer than sys.get_int_max_str_digits();
RecursionError for nesting deeper than json reaches; and whatever a hook raises.";

/// The raw entry points, registered with `PyModule_AddFunctions` (which keeps a pointer
/// to the table, hence `static`).
static mut METHODS: [PyMethodDef; 2] = [
    PyMethodDef {
        ml_name: c"loads".as_ptr(),
        ml_meth: PyMethodDefPointer {
            PyCFunctionFastWithKeywords: loads,
        },
        ml_flags: METH_FASTCALL | METH_KEYWORDS,
        ml_doc: LOADS_DOC.as_ptr(),
    },
    PyMethodDef::zeroed(),
];

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    globals::init_decode(module.py())?;
    // SAFETY: the table is a NUL-terminated static array that outlives the module;
    // CPython only reads it.
    let status = unsafe { PyModule_AddFunctions(module.as_ptr(), (&raw mut METHODS).cast()) };
    if status != 0 {
        return Err(PyErr::fetch(module.py()));
    }
    Ok(())
}
