//! The keywords of `dumps` / `dumps_bytes`, read from a vectorcall.
//!
//! Anything this module does not take as given (an unknown keyword, a custom `cls`, an
//! `indent` that is neither int nor str, odd `separators`, a flag whose truth cannot be
//! told, a wrong argument count) makes `parse_keywords` answer false: the call is then
//! handed to `json.dumps` itself, which gives exactly its own result or error.

use pyo3_ffi::*;

use super::buffer::Buffer;
use crate::globals;
use crate::pyffi::{Owned, StrData};
use std::borrow::Cow;

/// Indent strings longer than this are handed to the standard library (it builds them).
const MAX_INDENT: i64 = 1 << 16;

pub struct Options {
    pub skipkeys: bool,
    pub ensure_ascii: bool,
    pub check_circular: bool,
    pub allow_nan: bool,
    pub sort_keys: bool,
    /// The indent unit as UTF-8; `None` for single-line output.
    pub indent: Option<Vec<u8>>,
    pub item_separator: Piece,
    pub key_separator: Piece,
    /// Borrowed from the call's arguments; null when not given.
    pub default: *mut PyObject,
    /// Whether separators and indent are ASCII (otherwise a `str` result needs decoding).
    pub layout_is_ascii: bool,
    /// Follow `json`'s pure-Python encoder whatever the version (`json.dump` always runs it).
    pub python_encoder: bool,
}

/// A separator: short ones (all real ones) are kept as one padded eight-byte word, so
/// that writing one is a single store; longer ones are kept whole.
pub struct Piece {
    word: [u8; 8],
    len: usize,
    long: Option<Box<[u8]>>,
}

impl Piece {
    const fn short(text: &[u8]) -> Piece {
        let mut word = [0u8; 8];
        let mut i = 0;
        while i < text.len() {
            word[i] = text[i];
            i += 1;
        }
        Piece { word, len: text.len(), long: None }
    }

    fn new(text: &[u8]) -> Piece {
        if text.len() <= 8 {
            Piece::short(text)
        } else {
            Piece { word: [0; 8], len: text.len(), long: Some(text.into()) }
        }
    }

    pub fn is_ascii(&self) -> bool {
        match &self.long {
            Some(text) => text.is_ascii(),
            None => self.word[..self.len].is_ascii(),
        }
    }

    #[inline(always)]
    pub fn write(&self, buf: &mut Buffer) {
        match &self.long {
            None => buf.extend_word(&self.word, self.len),
            Some(text) => buf.extend(text),
        }
    }
}


/// Defaults of a call: `json.dumps`'s, or `dumps_bytes`'s wire format.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Defaults {
    Json,
    Wire,
}

/// `separators` as given: absent, `None`, or a pair of strings.
enum Separators {
    Absent,
    JsonDefault,
    Given(Piece, Piece),
}

impl Options {
    /// The options of a call that passes no keywords.
    pub const fn defaults(defaults: Defaults) -> Options {
        let wire = matches!(defaults, Defaults::Wire);
        Options {
            skipkeys: false,
            ensure_ascii: !wire,
            check_circular: true,
            allow_nan: true,
            sort_keys: false,
            indent: None,
            item_separator: Piece::short(if wire { b"," } else { b", " }),
            key_separator: Piece::short(if wire { b":" } else { b": " }),
            default: std::ptr::null_mut(),
            layout_is_ascii: true,
            python_encoder: false,
        }
    }
}

/// Read the keywords of a `METH_FASTCALL | METH_KEYWORDS` call into `options` (which holds
/// the call's defaults); false when the call must be delegated.
///
/// # Safety
/// `args` holds `nargs` positional arguments followed by one value per name in `kwnames`
/// (a non-empty tuple of `str`), all live for the duration of the call.
#[inline(never)]
pub unsafe fn parse_keywords(
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
    defaults: Defaults,
    options: &mut Options,
) -> bool {
    let mut separators = match defaults {
        Defaults::Wire => Separators::Given(Piece::short(b","), Piece::short(b":")),
        Defaults::Json => Separators::Absent,
    };
    // SAFETY: per the caller's contract on `args` and `kwnames`.
    unsafe {
        for i in 0..PyTuple_GET_SIZE(kwnames) {
            let name = PyTuple_GET_ITEM(kwnames, i);
            let value = *args.add((nargs + i) as usize);
            if !apply(options, &mut separators, name, value) {
                return false;
            }
        }
    }
    finish_layout(options, separators);
    true
}

/// Apply one keyword; false when the call must be delegated.
///
/// # Safety
/// `name` is a `str`, `value` a live object.
unsafe fn apply(
    options: &mut Options,
    separators: &mut Separators,
    name: *mut PyObject,
    value: *mut PyObject,
) -> bool {
    let kw = &globals::get().kw;
    // SAFETY: live objects per the caller.
    unsafe {
        let key = canonical_name(name);
        if key == kw.skipkeys {
            truth(value, &mut options.skipkeys)
        } else if key == kw.ensure_ascii {
            truth(value, &mut options.ensure_ascii)
        } else if key == kw.check_circular {
            truth(value, &mut options.check_circular)
        } else if key == kw.allow_nan {
            truth(value, &mut options.allow_nan)
        } else if key == kw.sort_keys {
            truth(value, &mut options.sort_keys)
        } else if key == kw.default {
            options.default = if value == Py_None() { std::ptr::null_mut() } else { value };
            true
        } else if key == kw.cls {
            value == Py_None() || globals::is_std_json_class(value, |json| json.encoder)
        } else if key == kw.indent {
            parse_indent(value, options)
        } else if key == kw.separators {
            match parse_separators(value) {
                Some(parsed) => {
                    *separators = parsed;
                    true
                }
                None => false,
            }
        } else {
            false
        }
    }
}

/// The interned keyword name equal to `name`, or `name` itself when it is none of them.
/// Call sites pass interned names, so the pointer test almost always decides.
unsafe fn canonical_name(name: *mut PyObject) -> *mut PyObject {
    let kw = &globals::get().kw;
    let all = [
        kw.skipkeys,
        kw.ensure_ascii,
        kw.check_circular,
        kw.allow_nan,
        kw.cls,
        kw.indent,
        kw.separators,
        kw.default,
        kw.sort_keys,
    ];
    if all.contains(&name) {
        return name;
    }
    // SAFETY: both are `str`; a failed comparison (-1) counts as unequal after clearing.
    unsafe {
        for candidate in all {
            match PyUnicode_Compare(name, candidate) {
                0 => return candidate,
                -1 if !PyErr_Occurred().is_null() => PyErr_Clear(),
                _ => {}
            }
        }
    }
    name
}

/// Python truthiness; false (delegate) when `__bool__` raises, so that the standard
/// library raises it in its own order.
unsafe fn truth(value: *mut PyObject, flag: &mut bool) -> bool {
    // SAFETY: `value` is live.
    match unsafe { PyObject_IsTrue(value) } {
        0 => {
            *flag = false;
            true
        }
        1 => {
            *flag = true;
            true
        }
        _ => {
            // SAFETY: an exception is set; the standard library will raise it again.
            unsafe { PyErr_Clear() };
            false
        }
    }
}

/// `indent`: `None`, a `str`, or an int `n` meaning `n` spaces (none when `n <= 0`).
unsafe fn parse_indent(value: *mut PyObject, options: &mut Options) -> bool {
    // SAFETY: `value` is live.
    unsafe {
        if value == Py_None() {
            options.indent = None;
            return true;
        }
        if PyUnicode_Check(value) != 0 {
            return match utf8_of(value) {
                Some(text) => {
                    options.indent = Some(text.into_owned());
                    true
                }
                None => false,
            };
        }
        if PyLong_Check(value) != 0 {
            let mut overflow = 0;
            let n = PyLong_AsLongLongAndOverflow(value, &mut overflow);
            if overflow != 0 || n > MAX_INDENT || !PyErr_Occurred().is_null() {
                PyErr_Clear();
                return false;
            }
            options.indent = Some(vec![b' '; n.max(0) as usize]);
            return true;
        }
    }
    false
}

/// `separators`: `None`, or a tuple or list of exactly two `str`.
unsafe fn parse_separators(value: *mut PyObject) -> Option<Separators> {
    // SAFETY: `value` is live; items of a list or tuple of the checked size.
    unsafe {
        if value == Py_None() {
            return Some(Separators::JsonDefault);
        }
        let (item, key) = if PyTuple_CheckExact(value) != 0 && PyTuple_GET_SIZE(value) == 2 {
            (PyTuple_GET_ITEM(value, 0), PyTuple_GET_ITEM(value, 1))
        } else if PyList_CheckExact(value) != 0 && PyList_GET_SIZE(value) == 2 {
            (PyList_GET_ITEM(value, 0), PyList_GET_ITEM(value, 1))
        } else {
            return None;
        };
        if PyUnicode_Check(item) == 0 || PyUnicode_Check(key) == 0 {
            return None;
        }
        Some(Separators::Given(Piece::new(&utf8_of(item)?), Piece::new(&utf8_of(key)?)))
    }
}

/// The UTF-8 of a `str`; `None` (no exception left) when it holds a lone surrogate.
/// An ASCII string is borrowed as it is; any other is encoded into a temporary `bytes`,
/// not with `PyUnicode_AsUTF8AndSize`, which would attach a UTF-8 copy to the caller's
/// string for good.
///
/// # Safety
/// `text` is a `str` that stays alive while the result is used.
unsafe fn utf8_of<'a>(text: *mut PyObject) -> Option<Cow<'a, [u8]>> {
    // SAFETY: `text` is a live str, read while the call holds it; the bytes object is
    // ours and we copy out of it.
    unsafe {
        // An ASCII string (nearly every separator and indent) is its own UTF-8.
        if let Some(StrData::Ascii(units)) = crate::pyffi::str_data(text) {
            return Some(Cow::Borrowed(units));
        }
        let Some(encoded) = Owned::new(PyUnicode_AsEncodedString(
            text,
            c"utf-8".as_ptr(),
            c"strict".as_ptr(),
        )) else {
            PyErr_Clear();
            return None;
        };
        let data = PyBytes_AsString(encoded.ptr()) as *const u8;
        let len = PyBytes_Size(encoded.ptr()) as usize;
        Some(Cow::Owned(std::slice::from_raw_parts(data, len).to_vec()))
    }
}

/// Settle the separators as `json.JSONEncoder.__init__` does: given ones win; otherwise an
/// indent makes the item separator `","`.
fn finish_layout(options: &mut Options, separators: Separators) {
    match separators {
        Separators::Given(item, key) => {
            options.item_separator = item;
            options.key_separator = key;
        }
        // `json.JSONEncoder`'s own defaults, whatever the call's defaults were.
        Separators::Absent | Separators::JsonDefault => {
            let item: &[u8] = if options.indent.is_some() { b"," } else { b", " };
            options.item_separator = Piece::short(item);
            options.key_separator = Piece::short(b": ");
        }
    }
    options.layout_is_ascii = options.item_separator.is_ascii()
        && options.key_separator.is_ascii()
        && options.indent.as_deref().is_none_or(|i| i.is_ascii());
}
