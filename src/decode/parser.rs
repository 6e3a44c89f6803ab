//! The parser: `json`'s C scanner (`scan_once_unicode`, `_parse_object_unicode`,
//! `_parse_array_unicode`, `scanstring_unicode`, `_match_number_unicode` in
//! `Modules/_json.c`) step for step, so that it fails where `json` fails, with the same
//! message and position, and calls hooks in the same order; but building the Python
//! objects in one pass, with the kernels for string bodies, lists created at their final
//! size and dicts of known shapes copied from templates (see `cache`).
//!
//! Positions are indices into the source units; the caller turns them into `json`'s
//! character positions (the same thing except for UTF-8 bytes).

use std::ffi::CStr;
use std::marker::PhantomData;

use pyo3_ffi::*;
use rjson_simd::Kernel;

use super::cache::{head_of, new_ascii, Caches, MAX_SHAPE_KEYS};
use super::number::{self, FAST_FLOAT_DIGITS};
use super::source::{str_from_chars, Source, StrError};
use crate::globals;
use crate::stack;

/// What went wrong, for `json.JSONDecodeError`'s message (or an exception already set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    ExpectingValue,
    ExpectingComma,
    ExpectingColon,
    ExpectingName,
    Unterminated,
    ControlCharacter,
    BadEscape,
    BadUnicodeEscape,
    ExtraData,
    TrailingCommaObject,
    TrailingCommaArray,
    /// Bytes that `bytes.decode` rejects: the decode error is what `json` raises.
    Utf8,
    /// A Python exception is set.
    Python,
}

impl Why {
    /// The message `json` gives.
    pub fn message(self) -> &'static CStr {
        match self {
            Why::ExpectingValue => c"Expecting value",
            Why::ExpectingComma => c"Expecting ',' delimiter",
            Why::ExpectingColon => c"Expecting ':' delimiter",
            Why::ExpectingName => c"Expecting property name enclosed in double quotes",
            Why::Unterminated => c"Unterminated string starting at",
            Why::ControlCharacter => c"Invalid control character at",
            Why::BadEscape => c"Invalid \\escape",
            Why::BadUnicodeEscape => c"Invalid \\uXXXX escape",
            Why::ExtraData => c"Extra data",
            Why::TrailingCommaObject => c"Illegal trailing comma before end of object",
            Why::TrailingCommaArray => c"Illegal trailing comma before end of array",
            Why::Utf8 | Why::Python => c"",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Fail {
    pub why: Why,
    /// Index in the source units.
    pub pos: usize,
}

#[inline(always)]
fn fail(why: Why, pos: usize) -> Fail {
    Fail { why, pos }
}

const PYTHON: Fail = Fail {
    why: Why::Python,
    pos: 0,
};

impl From<StrError> for Fail {
    #[inline(always)]
    fn from(e: StrError) -> Fail {
        match e {
            StrError::Utf8 => fail(Why::Utf8, 0),
            StrError::Python => PYTHON,
        }
    }
}

type Parsed = Result<*mut PyObject, Fail>;

/// The keyword arguments that change what is built; pointers borrowed from the call,
/// null when not given (or given as their default).
pub struct Hooks {
    pub object_hook: *mut PyObject,
    pub object_pairs_hook: *mut PyObject,
    pub parse_float: *mut PyObject,
    pub parse_int: *mut PyObject,
    pub parse_constant: *mut PyObject,
    pub strict: bool,
}

impl Hooks {
    /// Whether any Python code may run during the parse.
    pub fn any(&self) -> bool {
        !(self.object_hook.is_null()
            && self.object_pairs_hook.is_null()
            && self.parse_float.is_null()
            && self.parse_int.is_null()
            && self.parse_constant.is_null())
    }
}

const QUOTE: u32 = b'"' as u32;
const BACKSLASH: u32 = b'\\' as u32;

#[inline(always)]
fn is_digit(u: u32) -> bool {
    u.wrapping_sub(b'0' as u32) < 10
}

/// What `HEX_DIGITS` holds for a unit that is not a hex digit: shifted left by up to 12
/// bits (within the u32), still above any four digits' value.
const NOT_HEX: u32 = 1 << 16;

/// The value of each byte as a hex digit, or `NOT_HEX`: `\uXXXX`'s digits by lookup
/// rather than by branches, which mispredict on the mix of letters and digits.
static HEX_DIGITS: [u32; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'0'..=b'9' => b as u32 - 0x30,
            b'A'..=b'F' => b as u32 - 0x41 + 10,
            b'a'..=b'f' => b as u32 - 0x61 + 10,
            _ => NOT_HEX,
        };
        b += 1;
    }
    table
};

/// `ESCAPE_LETTERS` for a letter that is no escape, and for `u`.
const BAD_ESCAPE: u8 = 0;
const U_ESCAPE: u8 = 1;

/// The character each one-letter escape stands for (`\n` for `n`...), by lookup rather
/// than by a jump table, whose indirect branch mispredicts on a mix of escapes.
static ESCAPE_LETTERS: [u8; 256] = {
    let mut table = [BAD_ESCAPE; 256];
    table[b'u' as usize] = U_ESCAPE;
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'/' as usize] = b'/';
    table[b'b' as usize] = 0x08;
    table[b'f' as usize] = 0x0C;
    table[b'n' as usize] = b'\n';
    table[b'r' as usize] = b'\r';
    table[b't' as usize] = b'\t';
    table
};

/// The value of a unit as a hex digit, or `NOT_HEX`.
#[inline(always)]
fn hex_digit(u: u32) -> u32 {
    match HEX_DIGITS.get(u as usize) {
        Some(&v) => v,
        None => NOT_HEX,
    }
}

/// Parse a whole document as `json.loads` does (whitespace around one value, nothing
/// after it), returning a new reference.
///
/// # Safety
/// GIL held; `src` stays unmodified during the call.
pub unsafe fn parse<K: Kernel, S: Source>(
    src: &[S::Unit],
    hooks: &Hooks,
    caches: Option<&mut Caches>,
) -> Parsed {
    let python = globals::get().python;
    let mut parser = Parser::<K, S> {
        src,
        pos: 0,
        values: Vec::with_capacity(64),
        chars: Vec::new(),
        ascii: Vec::new(),
        caches,
        hooks,
        depth: 0,
        entered: 0,
        frames: 0,
        exact_depth: hooks.any(),
        stack_floor: stack::floor(),
        trailing_comma_errors: python >= (3, 13),
        _kernel: PhantomData,
    };
    // SAFETY: forwarded.
    unsafe { parser.document() }
}

struct Parser<'a, K: Kernel, S: Source> {
    src: &'a [S::Unit],
    /// Index just past the value parsed last.
    pos: usize,
    /// Owned references (or null once moved out): the items of the containers being
    /// built, innermost last.
    values: Vec<*mut PyObject>,
    /// The characters of the string with escapes being decoded.
    chars: Vec<u32>,
    /// The same while they are all ASCII.
    ascii: Vec<u8>,
    caches: Option<&'a mut Caches>,
    hooks: &'a Hooks,
    /// Containers open now, and how many `Py_EnterRecursiveCall`s are unbalanced.
    depth: usize,
    entered: usize,
    /// Extra `Py_EnterRecursiveCall`s standing for `json`'s own Python frames.
    frames: usize,
    /// Balance every `Py_EnterRecursiveCall` as the container closes, as `json` does,
    /// rather than once at the end: when hooks run Python code, its recursion budget is
    /// then exactly what it is under `json`.
    exact_depth: bool,
    /// Native stack address below which we raise `RecursionError`.
    stack_floor: usize,
    /// Python 3.13 reports a comma before `]` or `}` as such.
    trailing_comma_errors: bool,
    _kernel: PhantomData<K>,
}

impl<K: Kernel, S: Source> Drop for Parser<'_, K, S> {
    fn drop(&mut self) {
        // SAFETY: the stack holds owned references or nulls; each Enter is balanced once.
        unsafe {
            for &obj in &self.values {
                Py_XDECREF(obj);
            }
            for _ in 0..self.entered + self.frames {
                Py_LeaveRecursiveCall();
            }
        }
    }
}

impl<K: Kernel, S: Source> Parser<'_, K, S> {
    #[inline(always)]
    fn at(&self, i: usize) -> u32 {
        self.src[i].into()
    }

    /// Whether the unit at `i` exists and is `c`.
    #[inline(always)]
    fn is(&self, i: usize, c: u8) -> bool {
        match self.src.get(i) {
            Some(&u) => u.into() == c as u32,
            None => false,
        }
    }

    /// The index of the first non-whitespace unit at or after `i`.
    #[inline(always)]
    fn skip_ws(&self, i: usize) -> usize {
        match self.src.get(i) {
            Some(&u) if u.into() > 0x20 => i,
            None => i,
            // One space before a token: `json.dumps`' default separators.
            Some(&u) if u.into() == 0x20 && self.src.get(i + 1).is_some_and(|&v| v.into() > 0x20) => i + 1,
            Some(_) => S::skip_whitespace(self.src, i),
        }
    }

    /// Whether `word` is spelled at `i` (`json` compares letter by letter, and needs them
    /// all before the end).
    #[inline(always)]
    fn spells(&self, i: usize, word: &[u8]) -> bool {
        i + word.len() <= self.src.len()
            && word.iter().enumerate().all(|(k, &b)| self.at(i + k) == b as u32)
    }

    unsafe fn document(&mut self) -> Parsed {
        let start = self.skip_ws(0);
        // SAFETY: GIL held (all methods below require it).
        let value = unsafe { self.value(start)? };
        let end = self.skip_ws(self.pos);
        if end != self.src.len() {
            // SAFETY: we own `value`.
            unsafe { Py_DECREF(value) };
            return Err(fail(Why::ExtraData, end));
        }
        Ok(value)
    }

    /// Any value starting at `i`; sets `pos` past it.
    #[inline(always)]
    unsafe fn value(&mut self, i: usize) -> Parsed {
        let Some(&unit) = self.src.get(i) else {
            return Err(fail(Why::ExpectingValue, i));
        };
        let unit = unit.into();
        // Numbers first, told from one test: a jump table's indirect branch mispredicts
        // between `-` and the digits in an array of numbers of either sign.
        if (unit == b'-' as u32) | is_digit(unit) {
            // SAFETY: GIL held.
            return unsafe { self.number(i) };
        }
        // SAFETY: GIL held.
        unsafe {
            match unit {
                QUOTE => self.string(i + 1),
                0x7B /* { */ => self.object(i + 1),
                0x5B /* [ */ => self.array(i + 1),
                0x6E /* n */ if self.spells(i, b"null") => self.singleton(i + 4, Py_None()),
                0x74 /* t */ if self.spells(i, b"true") => self.singleton(i + 4, Py_True()),
                0x66 /* f */ if self.spells(i, b"false") => self.singleton(i + 5, Py_False()),
                0x4E /* N */ if self.spells(i, b"NaN") => self.constant(i, Constant::NaN),
                0x49 /* I */ if self.spells(i, b"Infinity") => self.constant(i, Constant::Infinity),
                _ => Err(fail(Why::ExpectingValue, i)),
            }
        }
    }

    #[inline(always)]
    unsafe fn singleton(&mut self, end: usize, obj: *mut PyObject) -> Parsed {
        self.pos = end;
        // SAFETY: an immortal or static singleton.
        unsafe { Py_INCREF(obj) };
        Ok(obj)
    }

    #[cold]
    unsafe fn constant(&mut self, i: usize, which: Constant) -> Parsed {
        let g = globals::decode();
        let (text, len) = match which {
            Constant::NaN => (g.str_nan, 3),
            Constant::Infinity => (g.str_infinity, 8),
            Constant::NegInfinity => (g.str_neg_infinity, 9),
        };
        self.pos = i + len;
        let hook = self.hooks.parse_constant;
        // SAFETY: live objects, GIL held.
        unsafe {
            if !hook.is_null() {
                return call(hook, text);
            }
            let json = globals::std_json().ok_or(PYTHON)?;
            let value = match which {
                Constant::NaN => json.nan,
                Constant::Infinity => json.pos_inf,
                Constant::NegInfinity => json.neg_inf,
            };
            Py_INCREF(value);
            Ok(value)
        }
    }

    // ----- containers -----

    /// Count one more level of nesting as `json` does with `Py_EnterRecursiveCall`, and
    /// stop before the native stack runs out whatever the recursion limit.
    #[inline(always)]
    unsafe fn enter(&mut self, array: bool) -> Result<(), Fail> {
        if self.depth == self.entered {
            // SAFETY: GIL held.
            unsafe { self.enter_new_depth(array)? };
        }
        self.depth += 1;
        Ok(())
    }

    /// `json` enters on every container and leaves as it closes. Without hooks no Python
    /// code runs in between, so entering only on reaching a new greatest depth (and
    /// leaving all at the end) hits the limit at exactly the same container.
    #[inline(never)]
    unsafe fn enter_new_depth(&mut self, array: bool) -> Result<(), Fail> {
        // SAFETY: C API calls with the GIL held; `Drop` balances every Enter.
        unsafe {
            let suffix = if array {
                c" while decoding a JSON array from a unicode string"
            } else {
                c" while decoding a JSON object from a unicode string"
            };
            if stack::here() < self.stack_floor {
                let message = if array {
                    c"maximum recursion depth exceeded while decoding a JSON array from a unicode string"
                } else {
                    c"maximum recursion depth exceeded while decoding a JSON object from a unicode string"
                };
                PyErr_SetString(PyExc_RecursionError, message.as_ptr());
                return Err(PYTHON);
            }
            if self.entered == 0 {
                self.enter_json_frames()?;
            }
            if Py_EnterRecursiveCall(suffix.as_ptr()) != 0 {
                return Err(PYTHON);
            }
        }
        self.entered += 1;
        Ok(())
    }

    /// Up to Python 3.11 the recursion limit also counts Python frames, and `json.loads`
    /// reaches its scanner through three of them (`loads`, `JSONDecoder.decode`,
    /// `raw_decode`) where `rjson.loads` has none: count them too, so that nesting hits
    /// the limit at the same depth. From 3.12 Python frames no longer count.
    unsafe fn enter_json_frames(&mut self) -> Result<(), Fail> {
        const JSON_FRAMES: usize = if cfg!(Py_3_12) { 0 } else { 3 };
        while self.frames < JSON_FRAMES {
            // SAFETY: GIL held; `Drop` balances every Enter.
            if unsafe { Py_EnterRecursiveCall(c"".as_ptr()) } != 0 {
                return Err(PYTHON);
            }
            self.frames += 1;
        }
        Ok(())
    }

    #[inline(always)]
    unsafe fn leave(&mut self) {
        self.depth -= 1;
        if self.exact_depth {
            // SAFETY: balances the Enter of this container.
            unsafe { Py_LeaveRecursiveCall() };
            self.entered -= 1;
        }
    }

    /// An array whose `[` is just before `i`.
    unsafe fn array(&mut self, i: usize) -> Parsed {
        // SAFETY: GIL held.
        unsafe {
            self.enter(true)?;
            let list = self.array_items(i)?;
            self.leave();
            Ok(list)
        }
    }

    unsafe fn array_items(&mut self, i: usize) -> Parsed {
        let base = self.values.len();
        let mut i = self.skip_ws(i);
        if !self.is(i, b']') {
            loop {
                // SAFETY: GIL held.
                let item = unsafe { self.value(i)? };
                self.values.push(item);
                i = self.skip_ws(self.pos);
                if self.is(i, b']') {
                    break;
                }
                if !self.is(i, b',') {
                    return Err(fail(Why::ExpectingComma, i));
                }
                let comma = i;
                i = self.skip_ws(i + 1);
                if self.trailing_comma_errors && self.is(i, b']') {
                    return Err(fail(Why::TrailingCommaArray, comma));
                }
            }
        }
        self.pos = i + 1;
        // SAFETY: GIL held.
        unsafe { self.take_list(base) }
    }

    /// A list of the items from `base` on, which it takes over.
    #[inline(always)]
    unsafe fn take_list(&mut self, base: usize) -> Parsed {
        // SAFETY: GIL held; the list takes the stack's references, which we then forget by
        // truncating (on failure they stay on the stack, to be released with it).
        unsafe {
            let list = new_list(&self.values[base..]);
            if list.is_null() {
                return Err(PYTHON);
            }
            self.values.truncate(base);
            Ok(list)
        }
    }

    /// An object whose `{` is just before `i`.
    unsafe fn object(&mut self, i: usize) -> Parsed {
        // SAFETY: GIL held.
        unsafe {
            self.enter(false)?;
            let obj = self.object_items(i)?;
            self.leave();
            Ok(obj)
        }
    }

    unsafe fn object_items(&mut self, i: usize) -> Parsed {
        let base = self.values.len();
        let mut i = self.skip_ws(i);
        if !self.is(i, b'}') {
            loop {
                if !self.is(i, b'"') {
                    return Err(fail(Why::ExpectingName, i));
                }
                // SAFETY: GIL held.
                let key = unsafe { self.key(i + 1)? };
                self.values.push(key);
                i = self.pos;
                if !self.is(i, b':') {
                    i = self.skip_ws(i);
                    if !self.is(i, b':') {
                        return Err(fail(Why::ExpectingColon, i));
                    }
                }
                i = self.skip_ws(i + 1);
                // SAFETY: GIL held.
                let value = unsafe { self.value(i)? };
                self.values.push(value);
                i = self.skip_ws(self.pos);
                if self.is(i, b'}') {
                    break;
                }
                if !self.is(i, b',') {
                    return Err(fail(Why::ExpectingComma, i));
                }
                let comma = i;
                i = self.skip_ws(i + 1);
                if self.trailing_comma_errors && self.is(i, b'}') {
                    return Err(fail(Why::TrailingCommaObject, comma));
                }
            }
        }
        self.pos = i + 1;
        // SAFETY: GIL held.
        unsafe {
            if !self.hooks.object_pairs_hook.is_null() {
                return self.take_pairs(base);
            }
            let dict = self.take_dict(base)?;
            match self.hooks.object_hook {
                hook if hook.is_null() => Ok(dict),
                hook => {
                    let result = call(hook, dict);
                    Py_DECREF(dict);
                    result
                }
            }
        }
    }

    /// A dict of the key/value pairs from `base` on (the last of equal keys wins, in the
    /// place of the first, as inserting them in order gives), from the template of its
    /// shape when there is one.
    #[inline(always)]
    unsafe fn take_dict(&mut self, base: usize) -> Parsed {
        let items = &self.values[base..];
        let pairs = items.len() / 2;
        // SAFETY: GIL held; the stack holds owned key/value references.
        unsafe {
            if let Some(caches) = self.caches.as_deref_mut() {
                if (2..=MAX_SHAPE_KEYS).contains(&pairs) {
                    match caches.dict_from_shape(items) {
                        Ok(Some(dict)) => {
                            self.values.truncate(base);
                            return Ok(dict);
                        }
                        Ok(None) => {}
                        Err(()) => return Err(PYTHON),
                    }
                }
            }
            self.insert_pairs(base)
        }
    }

    /// A dict of the pairs from `base` on, inserted one by one (as `json` builds it).
    #[inline(never)]
    unsafe fn insert_pairs(&mut self, base: usize) -> Parsed {
        let items = &self.values[base..];
        let pairs = items.len() / 2;
        // SAFETY: inserting live objects into a new dict; on failure the stack still owns
        // every item.
        unsafe {
            let dict = PyDict_New();
            if dict.is_null() {
                return Err(PYTHON);
            }
            for pair in items.chunks_exact(2) {
                if PyDict_SetItem(dict, pair[0], pair[1]) != 0 {
                    Py_DECREF(dict);
                    return Err(PYTHON);
                }
            }
            if let Some(caches) = self.caches.as_deref_mut() {
                if (2..=MAX_SHAPE_KEYS).contains(&pairs) && crate::pyffi::dict_len(dict) as usize == pairs {
                    caches.learn_shape(items);
                }
            }
            for &obj in items {
                Py_DECREF(obj);
            }
            self.values.truncate(base);
            Ok(dict)
        }
    }

    /// `object_pairs_hook(list of (key, value) tuples)`.
    #[cold]
    unsafe fn take_pairs(&mut self, base: usize) -> Parsed {
        let pairs = (self.values.len() - base) / 2;
        // SAFETY: new list and tuples filled once each; every reference moved out of the
        // stack is replaced by null there, so nothing is released twice on failure.
        unsafe {
            let list = PyList_New(pairs as Py_ssize_t);
            if list.is_null() {
                return Err(PYTHON);
            }
            for k in 0..pairs {
                let tuple = PyTuple_New(2);
                if tuple.is_null() {
                    Py_DECREF(list);
                    return Err(PYTHON);
                }
                let slot = base + 2 * k;
                PyTuple_SET_ITEM(tuple, 0, std::mem::replace(&mut self.values[slot], std::ptr::null_mut()));
                PyTuple_SET_ITEM(tuple, 1, std::mem::replace(&mut self.values[slot + 1], std::ptr::null_mut()));
                PyList_SET_ITEM(list, k as Py_ssize_t, tuple);
            }
            self.values.truncate(base);
            let result = call(self.hooks.object_pairs_hook, list);
            Py_DECREF(list);
            result
        }
    }

    // ----- strings -----

    /// A string value whose opening quote is just before `start`.
    #[inline(always)]
    unsafe fn string(&mut self, start: usize) -> Parsed {
        if let Some((n, _)) = S::short_ascii(self.src, start) {
            self.pos = start + n + 1;
            // SAFETY: GIL held; the body is ASCII.
            return new_object(unsafe { new_ascii(&S::ascii(&self.src[start..start + n])) });
        }
        let rest = &self.src[start..];
        let n = S::find_special::<K>(rest);
        if n < rest.len() && rest[n].into() == QUOTE {
            self.pos = start + n + 1;
            // SAFETY: GIL held.
            return unsafe { S::plain_str::<K>(&rest[..n]) }.map_err(Fail::from);
        }
        // SAFETY: GIL held.
        unsafe { self.string_with_escapes(start, start + n) }
    }

    /// A dict key: a string, from the key cache when it is short and ASCII.
    #[inline(always)]
    unsafe fn key(&mut self, start: usize) -> Parsed {
        if let Some((n, head)) = S::short_ascii(self.src, start) {
            self.pos = start + n + 1;
            let body = S::ascii(&self.src[start..start + n]);
            // SAFETY: GIL held; the body is short ASCII.
            return new_object(unsafe {
                match self.caches.as_deref_mut() {
                    Some(caches) => caches.key(&body, head),
                    None => new_ascii(&body),
                }
            });
        }
        let rest = &self.src[start..];
        let n = S::find_special::<K>(rest);
        if n < rest.len() && rest[n].into() == QUOTE {
            self.pos = start + n + 1;
            let body = &rest[..n];
            // SAFETY: GIL held.
            unsafe {
                if let (Some(caches), Some(bytes)) = (self.caches.as_deref_mut(), S::cacheable(body)) {
                    return new_object(caches.key(bytes, head_of(bytes)));
                }
                return S::plain_str::<K>(body).map_err(Fail::from);
            }
        }
        // SAFETY: GIL held.
        unsafe { self.string_with_escapes(start, start + n) }
    }

    /// A string body from `start` whose first special unit (or the end) is at `special`:
    /// `scanstring_unicode`'s loop over chunks and escapes. While the characters are all
    /// ASCII they gather as bytes (runs copied as they are, no decoding), for one copy
    /// into an ASCII `str`; from the first other character on, as code points.
    #[inline(never)]
    unsafe fn string_with_escapes(&mut self, start: usize, special: usize) -> Parsed {
        let len = self.src.len();
        let begin = start - 1;
        let mut ascii = std::mem::take(&mut self.ascii);
        ascii.clear();
        // Where the code points take over: the run from there, its first special unit, and
        // a character decoded before it (an escape's).
        let wide: (usize, usize, Option<u32>) = 'ascii: {
            if !S::push_ascii::<K>(&self.src[start..special], &mut ascii) {
                break 'ascii (start, special, None);
            }
            let mut i = special;
            loop {
                // `i` is at a special unit, a non-ASCII one or the end.
                if i >= len {
                    self.ascii = ascii;
                    return Err(fail(Why::Unterminated, begin));
                }
                let c = self.at(i);
                let next = if c == QUOTE {
                    self.pos = i + 1;
                    // SAFETY: GIL held; the characters are ASCII.
                    let s = unsafe { new_ascii(&ascii) };
                    self.ascii = ascii;
                    return new_object(s);
                } else if c == BACKSLASH {
                    let (ch, next) = match self.escape(begin, i) {
                        Ok(decoded) => decoded,
                        Err(e) => {
                            self.ascii = ascii;
                            return Err(e);
                        }
                    };
                    if ch >= 0x80 {
                        break 'ascii (next, next, Some(ch));
                    }
                    ascii.push(ch as u8);
                    next
                } else if c < 0x20 {
                    if self.hooks.strict {
                        self.ascii = ascii;
                        return Err(fail(Why::ControlCharacter, i));
                    }
                    ascii.push(c as u8);
                    i + 1
                } else {
                    // A non-ASCII character starts the run at `i`.
                    break 'ascii (i, i, None);
                };
                i = S::ascii_run::<K>(self.src, next, &mut ascii);
            }
        };
        self.ascii = ascii;
        let (run, special, pending) = wide;
        // SAFETY: forwarded.
        unsafe { self.string_wide(begin, run, special, pending) }
    }

    /// `string_with_escapes` from the run at `run`, whose first special unit (or the end)
    /// is at `special` unless `special == run` (then it is found here), the characters
    /// before it in `self.ascii` and `pending`.
    #[inline(never)]
    unsafe fn string_wide(&mut self, begin: usize, mut run: usize, mut special: usize, pending: Option<u32>) -> Parsed {
        let len = self.src.len();
        let mut chars = std::mem::take(&mut self.chars);
        chars.clear();
        chars.extend(self.ascii.iter().map(|&b| b as u32));
        // The ASCII characters are below any non-ASCII one, and one comes (`pending`, or
        // the run at `run` starts with one).
        let mut max = 0;
        if let Some(ch) = pending {
            chars.push(ch);
            max = ch;
        }
        if special == run {
            special = match self.src.get(run) {
                Some(&u) if matches!(u.into(), QUOTE | BACKSLASH) => run,
                _ => run + S::find_special::<K>(&self.src[run..]),
            };
        }
        let result = loop {
            if run < special {
                match S::push_chars(&self.src[run..special], &mut chars) {
                    Ok(m) => max = max.max(m),
                    Err(e) => break Err(Fail::from(e)),
                }
            }
            if special >= len {
                break Err(fail(Why::Unterminated, begin));
            }
            let c = self.at(special);
            if c == QUOTE {
                self.pos = special + 1;
                // SAFETY: `max` is the largest character pushed.
                break unsafe { str_from_chars(&chars, max) }.map_err(Fail::from);
            }
            let (ch, next) = if c == BACKSLASH {
                match self.escape(begin, special) {
                    Ok(decoded) => decoded,
                    Err(e) => break Err(e),
                }
            } else if self.hooks.strict {
                break Err(fail(Why::ControlCharacter, special));
            } else {
                (c, special + 1)
            };
            chars.push(ch);
            max = max.max(ch);
            run = next;
            // Escapes often follow one another, or the closing quote an escape: look at
            // the next unit before calling the kernel.
            special = match self.src.get(run) {
                Some(&u) if matches!(u.into(), QUOTE | BACKSLASH) => run,
                _ => run + S::find_special::<K>(&self.src[run..]),
            };
        };
        self.chars = chars;
        result
    }

    /// The character of the escape whose backslash is at `i`, and the index after it.
    #[inline(always)]
    fn escape(&self, begin: usize, i: usize) -> Result<(u32, usize), Fail> {
        let len = self.src.len();
        let letter = i + 1;
        if letter == len {
            return Err(fail(Why::Unterminated, begin));
        }
        match ESCAPE_LETTERS.get(self.at(letter) as usize) {
            Some(&c) if c > U_ESCAPE => return Ok((c as u32, letter + 1)),
            Some(&U_ESCAPE) => {}
            _ => return Err(fail(Why::BadEscape, i)),
        }
        // `\uXXXX`: json wants a unit after the four digits, hence `>=`.
        let mut end = letter + 5;
        if end >= len {
            return Err(fail(Why::BadUnicodeEscape, letter));
        }
        let mut c = self.hex4(letter + 1).ok_or(fail(Why::BadUnicodeEscape, letter))?;
        if (0xD800..=0xDBFF).contains(&c)
            && end + 6 < len
            && self.at(end) == BACKSLASH
            && self.at(end + 1) == b'u' as u32
        {
            let low = self.hex4(end + 2).ok_or(fail(Why::BadUnicodeEscape, end + 1))?;
            if (0xDC00..=0xDFFF).contains(&low) {
                c = 0x10000 + (((c - 0xD800) << 10) | (low - 0xDC00));
                end += 6;
            }
        }
        Ok((c, end))
    }

    /// Four hex digits at `i` (the caller checked they are in bounds).
    #[inline(always)]
    fn hex4(&self, i: usize) -> Option<u32> {
        let digits = &self.src[i..i + 4];
        let value = hex_digit(digits[0].into()) << 12
            | hex_digit(digits[1].into()) << 8
            | hex_digit(digits[2].into()) << 4
            | hex_digit(digits[3].into());
        (value < 0x10000).then_some(value)
    }

    // ----- numbers -----

    /// A number at `start` (or "Expecting value" there): `_match_number_unicode`, which
    /// also gathers the digits and the exponent for the conversion.
    #[inline(always)]
    unsafe fn number(&mut self, start: usize) -> Parsed {
        let len = self.src.len();
        // No branch on the sign (numbers of mixed signs would mispredict it).
        let negative = self.at(start) == b'-' as u32;
        let mut i = start + negative as usize;
        let int_start = i;
        let first = match self.src.get(i) {
            Some(&u) => u.into(),
            None => return Err(fail(Why::ExpectingValue, start)),
        };
        let mut digits = 0u64;
        if first == b'0' as u32 {
            i += 1;
        } else if is_digit(first) {
            (i, digits) = S::digit_run(self.src, i, 0);
        } else if self.spells(start, b"-Infinity") {
            // SAFETY: GIL held.
            return unsafe { self.constant(start, Constant::NegInfinity) };
        } else {
            return Err(fail(Why::ExpectingValue, start));
        }
        let int_digits = i - int_start;
        let mut frac_digits = 0;
        let mut is_float = false;
        if i + 1 < len && self.at(i) == b'.' as u32 && is_digit(self.at(i + 1)) {
            is_float = true;
            let frac_start = i + 1;
            (i, digits) = S::digit_run(self.src, frac_start, digits);
            frac_digits = i - frac_start;
        }
        let mut exponent: i64 = 0;
        if i + 1 < len && (self.at(i) | 0x20) == b'e' as u32 {
            (i, exponent, is_float) = self.exponent(i, is_float);
        }
        self.pos = i;
        // SAFETY: GIL held.
        unsafe {
            if is_float {
                let parts = (digits, exponent - frac_digits as i64, int_digits + frac_digits);
                self.float(&self.src[start..i], parts, negative)
            } else if let Some(value) = self.fast_int(int_digits, digits, negative) {
                new_object(match self.caches.as_deref_mut() {
                    Some(caches) => caches.int(value),
                    None => PyLong_FromLongLong(value),
                })
            } else {
                self.big_or_custom_int(&self.src[start..i])
            }
        }
    }

    /// An integer without a `parse_int` hook that fits an `i64`: its value.
    #[inline(always)]
    fn fast_int(&self, int_digits: usize, digits: u64, negative: bool) -> Option<i64> {
        if !self.hooks.parse_int.is_null() {
            return None;
        }
        number::i64_value(int_digits, digits, negative)
    }

    /// The exponent whose `e` is at `e_start`, if it has digits (else `json` ends the
    /// number before the `e`): the index after the number, the exponent, and whether the
    /// number is a float.
    #[inline(always)]
    fn exponent(&self, e_start: usize, is_float: bool) -> (usize, i64, bool) {
        let len = self.src.len();
        let mut i = e_start + 1;
        let mut negative = false;
        if i + 1 < len && matches!(self.at(i), 0x2B | 0x2D) {
            negative = self.at(i) == b'-' as u32;
            i += 1;
        }
        let mut exponent: i64 = 0;
        while i < len && is_digit(self.at(i)) {
            // Saturated: far past any double's range either way.
            exponent = (exponent * 10 + (self.at(i) - b'0' as u32) as i64).min(1 << 32);
            i += 1;
        }
        if !is_digit(self.at(i - 1)) {
            return (e_start, 0, is_float);
        }
        (i, if negative { -exponent } else { exponent }, true)
    }

    /// A float from its span and its parts (digits, decimal exponent, digit count).
    #[inline(always)]
    unsafe fn float(&mut self, span: &[S::Unit], parts: (u64, i64, usize), negative: bool) -> Parsed {
        let hook = self.hooks.parse_float;
        // SAFETY: GIL held.
        unsafe {
            if !hook.is_null() {
                return call_with_text(hook, &S::ascii(span));
            }
            let (digits, exponent, count) = parts;
            let fast = if count <= FAST_FLOAT_DIGITS {
                number::float_from_parts(digits, exponent, negative)
            } else {
                None
            };
            let value = match fast {
                Some(value) => value,
                None => number::parse_float_text(&S::ascii(span)),
            };
            new_object(PyFloat_FromDouble(value))
        }
    }

    #[inline(never)]
    unsafe fn big_or_custom_int(&mut self, span: &[S::Unit]) -> Parsed {
        let hook = self.hooks.parse_int;
        // SAFETY: GIL held.
        unsafe {
            if !hook.is_null() {
                return call_with_text(hook, &S::ascii(span));
            }
            new_object(number::long_int(&S::ascii(span)))
        }
    }
}

#[derive(Clone, Copy)]
enum Constant {
    NaN,
    Infinity,
    NegInfinity,
}

/// A new list holding `items` (it takes their references), or null with an exception set
/// (the references left to the caller).
///
/// `PyList_New(n)` zeroes its item array (calloc) only for every slot to be overwritten;
/// an empty list given an array from `PyMem_Malloc` skips that. Its `list_dealloc` frees
/// the array with `PyMem_Free` on every version this builds for (free-threaded builds keep
/// a header before the array: they take `PyList_New`).
///
/// # Safety
/// GIL held; `items` are owned references.
#[inline(always)]
unsafe fn new_list(items: &[*mut PyObject]) -> *mut PyObject {
    let n = items.len();
    if cfg!(Py_GIL_DISABLED) || n == 0 {
        // SAFETY: a new list of exactly `n` slots, each set once.
        unsafe {
            let list = PyList_New(n as Py_ssize_t);
            if !list.is_null() {
                for (k, &item) in items.iter().enumerate() {
                    PyList_SET_ITEM(list, k as Py_ssize_t, item);
                }
            }
            return list;
        }
    }
    // SAFETY: an empty list has no item array (`ob_item` null, `allocated` 0); we give it
    // one of `n` slots, all set, before anything else can see the list.
    unsafe {
        let list = PyList_New(0);
        if list.is_null() {
            return list;
        }
        let array = PyMem_Malloc(std::mem::size_of_val(items)) as *mut *mut PyObject;
        if array.is_null() {
            Py_DECREF(list);
            PyErr_NoMemory();
            return std::ptr::null_mut();
        }
        // Item by item: a `memcpy` call's size dispatch costs more for the usual few items.
        for (k, &item) in items.iter().enumerate() {
            array.add(k).write(item);
        }
        let raw = list as *mut PyListObject;
        (*raw).ob_item = array;
        (*raw).allocated = n as Py_ssize_t;
        (*raw).ob_base.ob_size = n as Py_ssize_t;
        list
    }
}

/// A new reference, or the exception set while making it.
#[inline(always)]
fn new_object(obj: *mut PyObject) -> Parsed {
    if obj.is_null() {
        Err(PYTHON)
    } else {
        Ok(obj)
    }
}

/// `func(arg)`.
///
/// # Safety
/// GIL held; live objects.
unsafe fn call(func: *mut PyObject, arg: *mut PyObject) -> Parsed {
    // SAFETY: per the caller.
    new_object(unsafe { PyObject_CallOneArg(func, arg) })
}

/// `func(str(text))`, `text` being ASCII (a number's span).
///
/// # Safety
/// GIL held; `func` live.
unsafe fn call_with_text(func: *mut PyObject, text: &[u8]) -> Parsed {
    // SAFETY: per the caller; we release the argument we made.
    unsafe {
        let arg = new_ascii(text);
        if arg.is_null() {
            return Err(PYTHON);
        }
        let result = call(func, arg);
        Py_DECREF(arg);
        result
    }
}
