//! The keywords of `loads`, read from a vectorcall.
//!
//! Anything this module does not take as given (an unknown keyword, a custom `cls`, a hook
//! whose truth `json` would test by running Python code, a `strict` that is not a bool,
//! int or None, a wrong argument count) answers `None`: the call is then handed to
//! `json.loads` itself, which gives exactly its own result or error.

use pyo3_ffi::*;

use super::parser::Hooks;
use crate::globals;

/// Read the arguments of a `METH_FASTCALL | METH_KEYWORDS` call: the document and the
/// hooks, or `None` to delegate.
///
/// # Safety
/// `args` holds `nargs` positional arguments followed by one value per name in `kwnames`
/// (a tuple of `str`, or null), all live for the duration of the call. GIL held.
pub unsafe fn parse(
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
) -> Option<(*mut PyObject, Hooks)> {
    if nargs != 1 {
        return None;
    }
    let mut hooks = Hooks {
        object_hook: std::ptr::null_mut(),
        object_pairs_hook: std::ptr::null_mut(),
        parse_float: std::ptr::null_mut(),
        parse_int: std::ptr::null_mut(),
        parse_constant: std::ptr::null_mut(),
        strict: true,
    };
    // SAFETY: per the caller's contract on `args` and `kwnames`.
    unsafe {
        let count = if kwnames.is_null() { 0 } else { PyTuple_GET_SIZE(kwnames) };
        for i in 0..count {
            let name = PyTuple_GET_ITEM(kwnames, i);
            let value = *args.add((nargs + i) as usize);
            if !apply(&mut hooks, name, value) {
                return None;
            }
        }
        Some((*args, hooks))
    }
}

/// Apply one keyword; false when the call must be delegated.
///
/// # Safety
/// `name` is a `str`, `value` a live object; GIL held.
unsafe fn apply(hooks: &mut Hooks, name: *mut PyObject, value: *mut PyObject) -> bool {
    let kw = &globals::decode().kw;
    // SAFETY: live objects per the caller.
    unsafe {
        let none = Py_None();
        let key = canonical_name(name);
        if key == kw.object_hook {
            hooks.object_hook = if value == none { std::ptr::null_mut() } else { value };
        } else if key == kw.object_pairs_hook {
            hooks.object_pairs_hook = if value == none { std::ptr::null_mut() } else { value };
        } else if key == kw.parse_float {
            return number_hook(&mut hooks.parse_float, value, crate::pyffi::float_type().cast());
        } else if key == kw.parse_int {
            return number_hook(&mut hooks.parse_int, value, crate::pyffi::int_type().cast());
        } else if key == kw.parse_constant {
            return number_hook(&mut hooks.parse_constant, value, std::ptr::null_mut());
        } else if key == kw.strict {
            return strict_flag(&mut hooks.strict, value);
        } else if key == globals::get().kw.cls {
            return value == none || globals::is_std_json_class(value, |json| json.decoder);
        } else {
            return false;
        }
    }
    true
}

/// `parse_float` / `parse_int` / `parse_constant`: `JSONDecoder` keeps `hook or default`,
/// and `json`'s scanner calls the hook unless it is the default type itself. `None` and the
/// default are the default; a callable whose truth needs no Python code (a function,
/// builtin, bound method or plain class) is the hook; anything else is delegated.
///
/// # Safety
/// `value` live; GIL held.
unsafe fn number_hook(slot: &mut *mut PyObject, value: *mut PyObject, default: *mut PyObject) -> bool {
    // SAFETY: reading the type of a live object.
    unsafe {
        if value == Py_None() || value == default {
            *slot = std::ptr::null_mut();
            return true;
        }
        let ty = Py_TYPE(value);
        let plainly_true = ty == &raw mut PyFunction_Type
            || ty == &raw mut PyCFunction_Type
            || ty == &raw mut PyMethod_Type
            || ty == &raw mut PyType_Type;
        if plainly_true {
            *slot = value;
        }
        plainly_true
    }
}

/// `strict`: `json`'s scanner takes `PyObject_IsTrue(strict)`; bool, int and None are read
/// here, anything else (whose truth may run Python code) is delegated.
///
/// # Safety
/// `value` live; GIL held.
unsafe fn strict_flag(strict: &mut bool, value: *mut PyObject) -> bool {
    // SAFETY: reading live objects.
    unsafe {
        if value == Py_True() {
            *strict = true;
        } else if value == Py_False() || value == Py_None() {
            *strict = false;
        } else if Py_TYPE(value) == crate::pyffi::int_type() {
            *strict = PyObject_IsTrue(value) == 1;
        } else {
            return false;
        }
    }
    true
}

extern "C" {
    /// The type of bound methods (exported by CPython; pyo3-ffi leaves it out).
    static mut PyMethod_Type: PyTypeObject;
}

/// The interned keyword name equal to `name`, or `name` itself when it is none of them.
/// Call sites pass interned names, so the pointer test almost always decides.
///
/// # Safety
/// `name` is a `str`; GIL held.
unsafe fn canonical_name(name: *mut PyObject) -> *mut PyObject {
    let kw = &globals::decode().kw;
    let all = [
        kw.object_hook,
        kw.object_pairs_hook,
        kw.parse_float,
        kw.parse_int,
        kw.parse_constant,
        kw.strict,
        globals::get().kw.cls,
    ];
    if all.contains(&name) {
        return name;
    }
    // SAFETY: both are `str`; comparing two str objects cannot fail.
    unsafe {
        for candidate in all {
            if PyUnicode_Compare(name, candidate) == 0 {
                return candidate;
            }
        }
    }
    name
}
