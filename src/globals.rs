//! Objects looked up once: most when the module is imported, the standard library's `json`
//! the first time it is needed.

use std::ffi::CStr;
use std::sync::OnceLock;

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use pyo3_ffi::{PyObject, PyUnicode_InternFromString};
use rjson_simd::Backend;

/// Keyword names of `dumps`, interned so that call sites' names usually match by pointer.
pub struct KeywordNames {
    pub skipkeys: *mut PyObject,
    pub ensure_ascii: *mut PyObject,
    pub check_circular: *mut PyObject,
    pub allow_nan: *mut PyObject,
    pub cls: *mut PyObject,
    pub indent: *mut PyObject,
    pub separators: *mut PyObject,
    pub default: *mut PyObject,
    pub sort_keys: *mut PyObject,
}

pub struct Globals {
    /// The kernel backend every call of this process uses.
    pub backend: Backend,
    /// `sys.version_info[:2]` of the running interpreter.
    pub python: (u8, u8),
    pub kw: KeywordNames,
    /// Whether ints are stored in 30-bit digits, which `pyffi::small_int` reads directly.
    pub int_digits_30: bool,
    /// Interned `"items"`, `"__class__"`, `"__name__"`, `"utf-8"`.
    pub str_items: *mut PyObject,
    pub str_class: *mut PyObject,
    pub str_name: *mut PyObject,
}

// SAFETY: the pointers are strong references that are never released (they live as long as
// the process), and they are only dereferenced by code holding the GIL.
unsafe impl Send for Globals {}
// SAFETY: as above; the struct is immutable once built.
unsafe impl Sync for Globals {}

static GLOBALS: OnceLock<Globals> = OnceLock::new();

/// The globals; `init` has run, since it runs before the module object exists.
#[inline(always)]
pub fn get() -> &'static Globals {
    // SAFETY: every caller is reached through the module, which `init` completed first.
    unsafe { GLOBALS.get().unwrap_unchecked() }
}

fn intern(name: &CStr) -> *mut PyObject {
    // SAFETY: called with the GIL held (module init); the result is a new strong reference
    // that we keep for the life of the process. Interning short ASCII literals cannot fail
    // short of memory exhaustion, which the import reports as an error.
    unsafe { PyUnicode_InternFromString(name.as_ptr()) }
}

pub fn init(py: Python<'_>) -> PyResult<()> {
    if GLOBALS.get().is_some() {
        return Ok(());
    }
    let backend = select_backend()?;
    let version = py.version_info();
    let kw = KeywordNames {
        skipkeys: intern(c"skipkeys"),
        ensure_ascii: intern(c"ensure_ascii"),
        check_circular: intern(c"check_circular"),
        allow_nan: intern(c"allow_nan"),
        cls: intern(c"cls"),
        indent: intern(c"indent"),
        separators: intern(c"separators"),
        default: intern(c"default"),
        sort_keys: intern(c"sort_keys"),
    };
    let globals = Globals {
        backend,
        python: (version.major, version.minor),
        kw,
        int_digits_30: py
            .import("sys")?
            .getattr("int_info")?
            .getattr("bits_per_digit")?
            .extract::<u32>()?
            == 30,
        str_items: intern(c"items"),
        str_class: intern(c"__class__"),
        str_name: intern(c"__name__"),
    };
    let names = [
        globals.kw.skipkeys,
        globals.kw.ensure_ascii,
        globals.kw.check_circular,
        globals.kw.allow_nan,
        globals.kw.cls,
        globals.kw.indent,
        globals.kw.separators,
        globals.kw.default,
        globals.kw.sort_keys,
        globals.str_items,
        globals.str_class,
        globals.str_name,
    ];
    if names.iter().any(|p| p.is_null()) {
        return Err(PyErr::fetch(py));
    }
    let _ = GLOBALS.set(globals);
    Ok(())
}

/// The backend named by `RJSON_SIMD`, or the best this CPU has.
fn select_backend() -> PyResult<Backend> {
    let requested = match std::env::var("RJSON_SIMD") {
        Ok(name) if !name.is_empty() => name,
        _ => return Ok(Backend::detect()),
    };
    match Backend::from_name(&requested) {
        Some(backend) if backend.is_available() => Ok(backend),
        _ => {
            let available: Vec<&str> = Backend::available().iter().map(|b| b.name()).collect();
            Err(PyImportError::new_err(format!(
                "RJSON_SIMD={requested:?} is not a kernel backend this CPU can run; \
                 choose one of: {}",
                available.join(", ")
            )))
        }
    }
}

/// What the decoder looks up once, at import: kept apart from [`Globals`] so that the
/// encoder's set stays as it is.
pub struct DecodeGlobals {
    /// Interned `"NaN"`, `"Infinity"`, `"-Infinity"`, the arguments of `parse_constant`.
    pub str_nan: *mut PyObject,
    pub str_infinity: *mut PyObject,
    pub str_neg_infinity: *mut PyObject,
    pub kw: DecodeKeywordNames,
    /// `gc.isenabled`, `gc.disable`, `gc.enable`: pausing the collector before Python 3.10,
    /// which has no C API for it.
    #[cfg_attr(Py_3_10, allow(dead_code))]
    pub gc_isenabled: *mut PyObject,
    #[cfg_attr(Py_3_10, allow(dead_code))]
    pub gc_disable: *mut PyObject,
    #[cfg_attr(Py_3_10, allow(dead_code))]
    pub gc_enable: *mut PyObject,
}

/// Keyword names of `loads` (besides `cls`, which `KeywordNames` has).
pub struct DecodeKeywordNames {
    pub object_hook: *mut PyObject,
    pub object_pairs_hook: *mut PyObject,
    pub parse_float: *mut PyObject,
    pub parse_int: *mut PyObject,
    pub parse_constant: *mut PyObject,
    pub strict: *mut PyObject,
}

// SAFETY: as for `Globals`: strong references kept for the life of the process, only
// dereferenced with the GIL held, never changed once built.
unsafe impl Send for DecodeGlobals {}
// SAFETY: as above.
unsafe impl Sync for DecodeGlobals {}

static DECODE_GLOBALS: OnceLock<DecodeGlobals> = OnceLock::new();

/// The decoder's globals; `init_decode` has run (it runs while the module is built).
#[inline(always)]
pub fn decode() -> &'static DecodeGlobals {
    // SAFETY: every caller is reached through the module, which ran `init_decode` first.
    unsafe { DECODE_GLOBALS.get().unwrap_unchecked() }
}

pub fn init_decode(py: Python<'_>) -> PyResult<()> {
    if DECODE_GLOBALS.get().is_some() {
        return Ok(());
    }
    let gc = py.import("gc")?;
    let keep = |obj: Bound<'_, PyAny>| obj.unbind().into_ptr();
    let kw = DecodeKeywordNames {
        object_hook: intern(c"object_hook"),
        object_pairs_hook: intern(c"object_pairs_hook"),
        parse_float: intern(c"parse_float"),
        parse_int: intern(c"parse_int"),
        parse_constant: intern(c"parse_constant"),
        strict: intern(c"strict"),
    };
    let globals = DecodeGlobals {
        str_nan: intern(c"NaN"),
        str_infinity: intern(c"Infinity"),
        str_neg_infinity: intern(c"-Infinity"),
        kw,
        gc_isenabled: keep(gc.getattr("isenabled")?),
        gc_disable: keep(gc.getattr("disable")?),
        gc_enable: keep(gc.getattr("enable")?),
    };
    let names = [
        globals.str_nan,
        globals.str_infinity,
        globals.str_neg_infinity,
        globals.kw.object_hook,
        globals.kw.object_pairs_hook,
        globals.kw.parse_float,
        globals.kw.parse_int,
        globals.kw.parse_constant,
        globals.kw.strict,
    ];
    if names.iter().any(|p| p.is_null()) {
        return Err(PyErr::fetch(py));
    }
    let _ = DECODE_GLOBALS.set(globals);
    Ok(())
}

/// What rjson takes from the standard library's `json`. It is imported the first time one
/// of these is needed (a delegated call, a `cls`, an error, a `NaN`), not by `import rjson`:
/// `import json` pulls in `re` and costs about 9 ms, most of `python -m rjson`'s start-up.
pub struct StdJson {
    /// The `json` package itself, which `rjson.JSONEncoder` and friends are read from.
    pub module: *mut PyObject,
    /// `json.dumps` and `json.loads`, which unusual calls are handed to so that they behave
    /// exactly alike.
    pub dumps: *mut PyObject,
    pub loads: *mut PyObject,
    /// `json.JSONEncoder` and `json.JSONDecoder`: `cls=` either is the same as no `cls`.
    pub encoder: *mut PyObject,
    pub decoder: *mut PyObject,
    /// `json.JSONDecodeError`, raised with `(msg, doc, pos)` so it computes line and column.
    pub decode_error: *mut PyObject,
    /// `json.decoder.NaN`, `PosInf`, `NegInf`: the very objects `json` returns for the
    /// constants when no `parse_constant` is given.
    pub nan: *mut PyObject,
    pub pos_inf: *mut PyObject,
    pub neg_inf: *mut PyObject,
}

// SAFETY: as for `Globals`: strong references kept for the life of the process, only
// dereferenced with the GIL held, never changed once built.
unsafe impl Send for StdJson {}
// SAFETY: as above.
unsafe impl Sync for StdJson {}

static STD_JSON: PyOnceLock<StdJson> = PyOnceLock::new();

/// The standard library's `json` objects, importing `json` on the first call; `None` with
/// the import's exception set if that fails.
///
/// # Safety
/// GIL held (every caller is a function of the module, called from Python).
pub unsafe fn std_json() -> Option<&'static StdJson> {
    // SAFETY: the caller holds the GIL.
    let py = unsafe { Python::assume_attached() };
    match STD_JSON.get_or_try_init(py, || import_std_json(py)) {
        Ok(objects) => Some(objects),
        Err(error) => {
            error.restore(py);
            None
        }
    }
}

fn import_std_json(py: Python<'_>) -> PyResult<StdJson> {
    let json = import_real_json(py)?;
    let decoder = json.getattr("decoder")?;
    let keep = |obj: Bound<'_, PyAny>| obj.unbind().into_ptr();
    Ok(StdJson {
        dumps: keep(json.getattr("dumps")?),
        loads: keep(json.getattr("loads")?),
        encoder: keep(json.getattr("JSONEncoder")?),
        decoder: keep(json.getattr("JSONDecoder")?),
        decode_error: keep(json.getattr("JSONDecodeError")?),
        nan: keep(decoder.getattr("NaN")?),
        pos_inf: keep(decoder.getattr("PosInf")?),
        neg_inf: keep(decoder.getattr("NegInf")?),
        module: keep(json),
    })
}

/// `import json`, also when a program has put rjson in its place (`sys.modules["json"] =
/// rjson`, the usual way to speed up code that imports json itself) before rjson first
/// needed it: the real package is then imported with the entry set aside for a moment, and
/// the entry put back.
fn import_real_json(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let json = py.import("json")?.into_any();
    if json.getattr("__name__")?.extract::<String>().is_ok_and(|name| name == "json") {
        return Ok(json);
    }
    let modules = py.import("sys")?.getattr("modules")?.cast_into::<PyDict>()?;
    modules.del_item("json")?;
    let real = py.import("json").map(Bound::into_any);
    modules.set_item("json", &json)?;
    real
}

/// Whether `cls` is the standard library's class that `pick` names (`json.JSONEncoder` or
/// `json.JSONDecoder`). When `json` cannot be imported the answer is no, and the call is
/// handed to `json`, whose import then raises.
///
/// # Safety
/// GIL held.
pub unsafe fn is_std_json_class(cls: *mut PyObject, pick: fn(&StdJson) -> *mut PyObject) -> bool {
    // SAFETY: the caller holds the GIL.
    match unsafe { std_json() } {
        Some(json) => cls == pick(json),
        None => {
            // SAFETY: as above; the delegated call raises the same error again.
            unsafe { pyo3_ffi::PyErr_Clear() };
            false
        }
    }
}
