//! The `rjson._rjson` extension module.
//!
//! Layout:
//! * `globals`: what is looked up once (interned names and the kernel backend chosen for this
//!   process at import; the standard library's `json` on first need);
//! * `pyffi`: the few small unsafe helpers over the C API that the hot loops share;
//! * `encode`: `dumps` / `dumps_bytes`, generic over the kernel backend;
//! * `decode`: `loads`, on the same kernels;
//! * `stack`: the native stack guard behind `RecursionError`.
//!
//! PyO3 builds the module and its cold functions; the hot entry points are raw
//! `METH_FASTCALL | METH_KEYWORDS` functions registered from `encode::METHODS`.

use pyo3::prelude::*;
use pyo3::types::PyTuple;

mod decode;
mod encode;
mod globals;
mod pyffi;
mod stack;

/// The name of the SIMD kernel backend in use: "avx512", "avx2", "sse2", "neon" or "scalar".
///
/// Chosen once at import: the best one this CPU can run, or the one named by the
/// RJSON_SIMD environment variable. Every backend produces the same output.
#[pyfunction]
fn simd_backend() -> &'static str {
    globals::get().backend.name()
}

/// The SIMD kernel backends this CPU can run, best first, as a tuple of names.
///
/// Any of them may be forced with RJSON_SIMD=name at import; "scalar" is always last.
#[pyfunction]
fn simd_backends(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    let names = rjson_simd::Backend::available().into_iter().map(|b| b.name());
    PyTuple::new(py, names)
}

/// The standard library's `json` package, imported on the first call (rjson does not
/// import it until it needs it). The package reads its error and helper classes from it.
#[pyfunction]
fn _std_json(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held (we have `py`); the pointer is a strong reference kept for
    // the life of the process, borrowed here.
    unsafe {
        match globals::std_json() {
            Some(json) => Ok(Bound::from_borrowed_ptr(py, json.module)),
            None => Err(PyErr::fetch(py)),
        }
    }
}

#[pymodule]
fn _rjson(module: &Bound<'_, PyModule>) -> PyResult<()> {
    globals::init(module.py())?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_function(wrap_pyfunction!(simd_backend, module)?)?;
    module.add_function(wrap_pyfunction!(simd_backends, module)?)?;
    module.add_function(wrap_pyfunction!(_std_json, module)?)?;
    encode::register(module)?;
    decode::register(module)?;
    Ok(())
}
