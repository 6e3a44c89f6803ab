//! The keywords of `dumps` / `dumps_bytes`, read from a vectorcall.
//!
//! Anything this module does not take as given (an unknown keyword, a custom `cls`, an
//! `indent` that is neither int nor str, odd `separators`, a flag whose truth cannot be
//! told, a wrong argument count) is answered with [`Parsed::Delegate`]: the call is
//! handed to `json.dumps` itself, which then gives exactly its own result or error.

use std::borrow::Cow;

use pyo3_ffi::*;

use super::buffer::Buffer;
use crate::globals;

/// Indent strings longer than this are handed to the standard library (it builds them).
const MAX_INDENT: i64 = 1 << 16;

pub struct Options {
    pub skipkeys: bool,
    pub ensure_ascii: bool,
    pub check_circular: bool,
    pub allow_nan: bool,
    pub sort_keys: bool,
    /// The indent unit as UTF-8; `None` for single-line output.
    pub indent: Option<Cow<'static, [u8]>>,
    pub item_separator: Piece,
    pub key_separator: Piece,
    /// Borrowed from the call's arguments; null when not given.
    pub default: *mut PyObject,
    /// Whether separators and indent are ASCII (otherwise a `str` result needs decoding).
    pub layout_is_ascii: bool,
}

/// A separator: short ones (all real ones) are also kept as one padded eight-byte word,
/// so that writing one is a single store.
pub struct Piece {
    pub text: Cow<'static, [u8]>,
    word: [u8; 8],
}

impl Piece {
    fn new(text: Cow<'static, [u8]>) -> Piece {
        let mut word = [0u8; 8];
        let n = text.len().min(8);
        word[..n].copy_from_slice(&text[..n]);
        Piece { text, word }
    }

    #[inline(always)]
    pub fn write(&self, buf: &mut Buffer) {
        if self.text.len() <= 8 {
            buf.extend_word(&self.word, self.text.len());
        } else {
            buf.extend(&self.text);
        }
    }
}

pub enum Parsed {
    Encode(*mut PyObject, Options),
    Delegate,
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
    Given(Cow<'static, [u8]>, Cow<'static, [u8]>),
}

/// Read the arguments of a `METH_FASTCALL | METH_KEYWORDS` call.
///
/// # Safety
/// `args` holds `nargs` positional arguments followed by one value per name in `kwnames`
/// (a tuple of `str`, or null), all live for the duration of the call.
pub unsafe fn parse(
    args: *const *mut PyObject,
    nargs: Py_ssize_t,
    kwnames: *mut PyObject,
    defaults: Defaults,
) -> Parsed {
    if nargs != 1 {
        return Parsed::Delegate;
    }
    let mut options = Options {
        skipkeys: false,
        ensure_ascii: defaults == Defaults::Json,
        check_circular: true,
        allow_nan: true,
        sort_keys: false,
        indent: None,
        item_separator: Piece::new(Cow::Borrowed(b", ")),
        key_separator: Piece::new(Cow::Borrowed(b": ")),
        default: std::ptr::null_mut(),
        layout_is_ascii: true,
    };
    let mut separators = if defaults == Defaults::Wire {
        Separators::Given(Cow::Borrowed(b","), Cow::Borrowed(b":"))
    } else {
        Separators::Absent
    };
    // SAFETY: per the caller's contract on `args` and `kwnames`.
    let ok = unsafe {
        let obj = *args;
        let count = if kwnames.is_null() { 0 } else { PyTuple_GET_SIZE(kwnames) };
        let mut ok = true;
        for i in 0..count {
            let name = PyTuple_GET_ITEM(kwnames, i);
            let value = *args.add((nargs + i) as usize);
            ok = apply(&mut options, &mut separators, name, value);
            if !ok {
                break;
            }
        }
        if ok {
            ok = finish_layout(&mut options, separators);
        }
        ok.then_some(obj)
    };
    match ok {
        Some(obj) => Parsed::Encode(obj, options),
        None => Parsed::Delegate,
    }
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
            value == Py_None() || value == globals::get().json_encoder
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
                    options.indent = Some(text);
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
            options.indent = Some(Cow::Owned(vec![b' '; n.max(0) as usize]));
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
        Some(Separators::Given(utf8_of(item)?, utf8_of(key)?))
    }
}

/// The UTF-8 of a `str`; `None` (no exception left) when it holds a lone surrogate.
unsafe fn utf8_of(text: *mut PyObject) -> Option<Cow<'static, [u8]>> {
    let mut len: Py_ssize_t = 0;
    // SAFETY: `text` is a str; the returned buffer lives as long as it, and we copy it.
    unsafe {
        let data = PyUnicode_AsUTF8AndSize(text, &mut len);
        if data.is_null() {
            PyErr_Clear();
            return None;
        }
        let bytes = std::slice::from_raw_parts(data as *const u8, len as usize);
        Some(match bytes {
            b", " => Cow::Borrowed(b", "),
            b": " => Cow::Borrowed(b": "),
            b"," => Cow::Borrowed(b","),
            b":" => Cow::Borrowed(b":"),
            _ => Cow::Owned(bytes.to_vec()),
        })
    }
}

/// Settle the separators as `json.JSONEncoder.__init__` does: given ones win; otherwise an
/// indent makes the item separator `","`.
fn finish_layout(options: &mut Options, separators: Separators) -> bool {
    match separators {
        Separators::Given(item, key) => {
            options.item_separator = Piece::new(item);
            options.key_separator = Piece::new(key);
        }
        Separators::Absent | Separators::JsonDefault => {
            if options.indent.is_some() {
                options.item_separator = Piece::new(Cow::Borrowed(b","));
            }
        }
    }
    options.layout_is_ascii = options.item_separator.text.is_ascii()
        && options.key_separator.text.is_ascii()
        && options.indent.as_deref().is_none_or(|i| i.is_ascii());
    true
}
