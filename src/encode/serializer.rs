//! The walk over Python objects: `json`'s C encoder, value for value, generic over the
//! kernel backend `K` and the string mode `M`.
//!
//! Behaviour follows the standard library's encoder of the running Python: the C encoder,
//! or the pure-Python one that `json` uses for `indent` before 3.13, down to the order of checks, where errors are raised, and how containers that
//! a `default=` callback mutates are walked. References: `Modules/_json.c` and
//! `Lib/json/encoder.py` of CPython 3.9–3.13.

use std::collections::HashSet;
use std::ffi::CStr;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use pyo3_ffi::*;
use rjson_simd::{Kernel, Surrogate};

use super::number;
use super::options::Options;
use super::buffer::Buffer;
use super::writer::StrMode;
use crate::globals;
use crate::pyffi::{self, str_data, Owned};
use crate::stack;

/// Why encoding stopped.
pub enum Error {
    /// A Python exception is set.
    Python,
    /// `Utf8Mode` met a lone surrogate; the caller raises `UnicodeEncodeError`.
    Surrogate,
}

impl From<Surrogate> for Error {
    fn from(_: Surrogate) -> Error {
        Error::Surrogate
    }
}

type Result<T = ()> = std::result::Result<T, Error>;

const RECURSION_SUFFIX: &CStr = c" while encoding a JSON object";

/// The depth at which the frames `json` itself would add are accounted for.
const EXTRA_FRAMES_AT: usize = 8;

/// Where `json.dumps`, as called from Python, raises `RecursionError`.
enum LimitModel {
    /// `Py_EnterRecursiveCall` per container, plus `extra` for the frames and calls of
    /// `json` itself. Up to 3.11 that counter also counts Python frames, so it models the
    /// pure-Python (`indent`) encoder too.
    CCounter { extra: usize },
    /// From 3.12 the `indent` encoder recurses in Python generators, one frame per level,
    /// against `sys.getrecursionlimit()` and not the C counter; `budget` is the number of
    /// levels left once the current Python depth and `extra` are taken off.
    PythonFrames { extra: usize, budget: usize },
}

impl LimitModel {
    /// Measured against `json.dumps` and `json.dump` of nested lists on each version
    /// (tests check it). `dump` is `rjson.dump`, which follows `json.dump`: its
    /// pure-Python encoder runs fewer frames above the data than `json.dumps` with
    /// `indent` does (no `encode` and `iterencode` between).
    fn for_version(python: (u8, u8), python_encoder: bool, dump: bool) -> LimitModel {
        if dump {
            return match python {
                v if v >= (3, 12) => LimitModel::PythonFrames { extra: 1, budget: usize::MAX },
                (3, 11) => LimitModel::CCounter { extra: 0 },
                _ => LimitModel::CCounter { extra: 1 },
            };
        }
        match (python, python_encoder) {
            (v, true) if v >= (3, 12) => LimitModel::PythonFrames { extra: 3, budget: usize::MAX },
            ((3, 12), false) => LimitModel::CCounter { extra: 1 },
            ((3, 11), false) => LimitModel::CCounter { extra: 4 },
            (v, _) if v >= (3, 13) => LimitModel::CCounter { extra: 0 },
            _ => LimitModel::CCounter { extra: 3 },
        }
    }
}

#[cold]
fn recursion_error(message: &CStr) -> Error {
    // SAFETY: raising with the GIL held.
    unsafe { PyErr_SetString(PyExc_RecursionError, message.as_ptr()) };
    Error::Python
}

/// The containers on the current path, for `check_circular`: `json` keeps their ids in a
/// dict; we keep the first few inline (a path is short in real data, and this costs no
/// allocation) and the rest in a set, so that pathological depth stays linear.
///
/// `shallow` is left uninitialised past `shallow_len`: clearing it was a 264-byte `memset`
/// on every call (1.6% of a small dict's `dumps_bytes` instructions). `repr(C)` keeps
/// `shallow_len` away from the array: stored next to it, its zero was merged with the
/// array into that same `memset`.
#[repr(C)]
struct Markers {
    shallow_len: usize,
    deep: HashSet<usize>,
    shallow: MaybeUninit<[usize; SHALLOW_MARKERS]>,
}

const SHALLOW_MARKERS: usize = 32;

impl Markers {
    fn new() -> Markers {
        Markers {
            shallow: MaybeUninit::uninit(),
            shallow_len: 0,
            deep: HashSet::new(),
        }
    }

    /// The containers on the path that fit inline.
    #[inline(always)]
    fn shallow(&self) -> &[usize] {
        // SAFETY: the first `shallow_len` entries were written by `enter`.
        unsafe { std::slice::from_raw_parts(self.shallow.as_ptr().cast::<usize>(), self.shallow_len) }
    }

    /// Record `obj` on the path; false if it is already there (a cycle).
    #[inline(always)]
    fn enter(&mut self, obj: *mut PyObject) -> bool {
        let id = obj as usize;
        if self.shallow().contains(&id) || (!self.deep.is_empty() && self.deep.contains(&id)) {
            return false;
        }
        if self.shallow_len < SHALLOW_MARKERS {
            // SAFETY: `shallow_len < SHALLOW_MARKERS`, inside the array.
            unsafe { self.shallow.as_mut_ptr().cast::<usize>().add(self.shallow_len).write(id) };
            self.shallow_len += 1;
        } else {
            self.deep.insert(id);
        }
        true
    }

    /// Remove `obj`, the most recently entered container.
    #[inline(always)]
    fn leave(&mut self, obj: *mut PyObject) {
        if self.deep.is_empty() || !self.deep.remove(&(obj as usize)) {
            self.shallow_len -= 1;
        }
    }
}

/// `INDENTED` is whether `options.indent` is set: compiled apart, the compact encoder (every
/// call without `indent`) carries no indentation bookkeeping at all.
pub struct Encoder<'a, K: Kernel, M: StrMode, const INDENTED: bool> {
    pub buf: &'a mut Buffer,
    options: &'a Options,
    markers: Markers,
    /// Native stack address below which we raise `RecursionError`.
    stack_floor: usize,
    /// Containers open now, and the greatest number open so far in this call.
    depth: usize,
    reached: usize,
    /// `Py_EnterRecursiveCall`s made, balanced in `Drop`.
    enter_calls: usize,
    limit: LimitModel,
    /// Current indent level.
    level: usize,
    /// `json.dumps` with `indent` runs the pure-Python encoder before 3.13.
    python_encoder: bool,
    /// Python 3.12+ walks exact dicts live with `PyDict_Next`; older C encoders walk a
    /// snapshot of the items.
    live_dict_walk: bool,
    /// See `Globals::int_digits_30`.
    int_digits_30: bool,
    /// Calls made so far that can run Python code (a `default=` callback, a subclass's
    /// methods, a garbage collection set off by an allocation): a dict walk in progress
    /// re-reads the dict's table when this has moved (see `pyffi::DictWalk`). Every such
    /// call must count itself here, *before* it is made.
    python_calls: u64,
    floats: number::FloatWriter,
    _kernel: PhantomData<(K, M)>,
}

impl<'a, K: Kernel, M: StrMode, const INDENTED: bool> Encoder<'a, K, M, INDENTED> {
    pub fn new(buf: &'a mut Buffer, options: &'a Options) -> Self {
        let globals = globals::get();
        let python = globals.python;
        let python_encoder =
            options.python_encoder || (options.indent.is_some() && python < (3, 13));
        Encoder {
            buf,
            options,
            markers: Markers::new(),
            stack_floor: stack::floor(),
            depth: 0,
            reached: 0,
            enter_calls: 0,
            limit: LimitModel::for_version(python, python_encoder, options.python_encoder),
            level: 0,
            python_encoder,
            live_dict_walk: python >= (3, 12),
            int_digits_30: globals.int_digits_30,
            python_calls: 0,
            floats: number::FloatWriter::default(),
            _kernel: PhantomData,
        }
    }

    /// Encode any value.
    ///
    /// # Safety
    /// `obj` is live; the GIL is held.
    pub unsafe fn value(&mut self, obj: *mut PyObject) -> Result {
        // SAFETY: `obj` is live; exact type checks select the right accessors.
        unsafe {
            let ty = Py_TYPE(obj);
            if ty == pyffi::str_type() {
                self.str(obj)
            } else if ty == pyffi::int_type() {
                self.int(obj)
            } else if ty == pyffi::float_type() {
                self.float(obj)
            } else {
                self.non_scalar(obj)
            }
        }
    }

    /// Encode a value that is not an exact `str`, `int` or `float` (which the caller has
    /// checked, so that a container element is not type-checked twice).
    ///
    /// # Safety
    /// As `value`.
    #[inline(always)]
    unsafe fn non_scalar(&mut self, obj: *mut PyObject) -> Result {
        // SAFETY: `obj` is live; exact type checks select the right accessors.
        unsafe {
            let ty = Py_TYPE(obj);
            if ty == pyffi::dict_type() {
                self.nested(|e| e.dict(obj))
            } else if ty == pyffi::list_type() {
                self.nested(|e| e.list(obj))
            } else if obj == Py_None() {
                self.buf.extend(b"null");
                Ok(())
            } else if obj == Py_True() {
                self.buf.extend(b"true");
                Ok(())
            } else if obj == Py_False() {
                self.buf.extend(b"false");
                Ok(())
            } else if ty == pyffi::tuple_type() {
                self.nested(|e| e.tuple(obj))
            } else {
                self.value_of_other_type(obj)
            }
        }
    }

    /// Subclasses of the JSON types, and everything `default` must convert.
    #[inline(never)]
    unsafe fn value_of_other_type(&mut self, obj: *mut PyObject) -> Result {
        // SAFETY: `obj` is live; each branch's checks select its accessors.
        unsafe {
            if PyUnicode_Check(obj) != 0 {
                self.str(obj)
            } else if PyLong_Check(obj) != 0 {
                self.int(obj)
            } else if PyFloat_Check(obj) != 0 {
                self.float(obj)
            } else if PyList_Check(obj) != 0 || PyTuple_Check(obj) != 0 {
                self.nested(|e| e.sequence_subclass(obj))
            } else if PyDict_Check(obj) != 0 {
                self.nested(|e| e.dict(obj))
            } else {
                self.via_default(obj)
            }
        }
    }

    /// Run `body` one nesting level deeper, with `json`'s recursion limit and our own guard
    /// on the native stack, which holds at any limit.
    #[inline(always)]
    unsafe fn nested(&mut self, body: impl FnOnce(&mut Self) -> Result) -> Result {
        if self.depth == self.reached {
            // SAFETY: forwarded (GIL held).
            unsafe { self.reach_new_depth()? };
        }
        self.depth += 1;
        let result = body(self);
        self.depth -= 1;
        result
    }

    /// Account for a container at a depth not reached before in this call.
    ///
    /// `json`'s C encoder calls `Py_EnterRecursiveCall` on entering every container and
    /// `Py_LeaveRecursiveCall` on leaving it. We enter only at each new greatest depth and
    /// leave all at the end (`Drop`): the limit is first hit at a new greatest depth, so at
    /// the same container, and two C API calls per container are saved. `json` itself adds
    /// a few Python frames and calls (`dumps`, `encode`, `iterencode`) that a direct call of
    /// ours does not; `LimitModel::extra` counts them, entered once the data is a few levels
    /// deep so that shallow data never pays for it.
    #[cold]
    unsafe fn reach_new_depth(&mut self) -> Result {
        if stack::here() < self.stack_floor {
            return Err(recursion_error(c"maximum recursion depth exceeded while encoding a JSON object"));
        }
        match &mut self.limit {
            LimitModel::CCounter { extra } => {
                let calls = if self.reached == EXTRA_FRAMES_AT { 1 + *extra } else { 1 };
                for _ in 0..calls {
                    // SAFETY: GIL held; each successful Enter is balanced in `Drop`.
                    if unsafe { Py_EnterRecursiveCall(RECURSION_SUFFIX.as_ptr()) } != 0 {
                        return Err(Error::Python);
                    }
                    self.enter_calls += 1;
                }
            }
            LimitModel::PythonFrames { extra, budget } => {
                if self.reached == EXTRA_FRAMES_AT {
                    // SAFETY: GIL held.
                    let limit = unsafe { Py_GetRecursionLimit() } as usize;
                    *budget = limit.saturating_sub(pyffi::python_depth() + *extra);
                }
                if self.reached >= *budget {
                    return Err(recursion_error(c"maximum recursion depth exceeded"));
                }
            }
        }
        self.reached += 1;
        Ok(())
    }

    #[inline(always)]
    unsafe fn str(&mut self, obj: *mut PyObject) -> Result {
        // SAFETY: `obj` is a live str that nothing mutates while we read it;
        // `short_compact_ascii` gives the end and length the fast path's contract asks for.
        let copied = unsafe {
            pyffi::short_compact_ascii(obj).is_some_and(|(end, len)| M::write_clean_short_ascii::<K>(self.buf, end, len))
        };
        if copied {
            return Ok(());
        }
        // SAFETY: as above.
        match unsafe { str_data(obj) } {
            Some(data) => Ok(M::write_str::<K>(self.buf, data)?),
            None => Err(Error::Python),
        }
    }

    #[inline(always)]
    unsafe fn int(&mut self, obj: *mut PyObject) -> Result {
        if self.int_digits_30 {
            // SAFETY: `obj` is an int and digits are 30-bit.
            if let Some(value) = unsafe { pyffi::small_int(obj) } {
                number::write_i64(self.buf, value);
                return Ok(());
            }
        }
        let mut overflow = 0;
        // SAFETY: `obj` is an int (or subclass): its value is read without calling Python.
        let value = unsafe { PyLong_AsLongLongAndOverflow(obj, &mut overflow) };
        if overflow == 0 {
            number::write_i64(self.buf, value);
            Ok(())
        } else {
            // SAFETY: as above.
            unsafe { self.big_int(obj) }
        }
    }

    /// `int.__repr__` of an int beyond 64 bits (which raises past the digit limit).
    #[inline(never)]
    unsafe fn big_int(&mut self, obj: *mut PyObject) -> Result {
        // SAFETY: calling int's own repr slot on an int; the result is an ASCII str.
        unsafe {
            let repr = (*pyffi::int_type()).tp_repr.expect("int has a repr");
            let text = Owned::new(repr(obj)).ok_or(Error::Python)?;
            match str_data(text.ptr()) {
                Some(pyffi::StrData::Ascii(digits)) => self.buf.extend(digits),
                _ => return Err(Error::Python),
            }
        }
        Ok(())
    }

    #[inline(always)]
    unsafe fn float(&mut self, obj: *mut PyObject) -> Result {
        // SAFETY: `obj` is a float (or subclass).
        let value = unsafe { PyFloat_AS_DOUBLE(obj) };
        if value.is_finite() {
            self.floats.write(self.buf, value);
            Ok(())
        } else {
            // SAFETY: as above.
            let text = unsafe { self.non_finite(obj, value)? };
            self.buf.extend(text);
            Ok(())
        }
    }

    /// `NaN`, `Infinity` or `-Infinity`, or `ValueError` when `allow_nan` is false.
    #[inline(never)]
    unsafe fn non_finite(&self, obj: *mut PyObject, value: f64) -> Result<&'static [u8]> {
        if !self.options.allow_nan {
            // SAFETY: raising with a repr of a live object.
            unsafe {
                let message = c"Out of range float values are not JSON compliant";
                if self.python_encoder || globals::get().python >= (3, 12) {
                    let repr = Owned::new(PyObject_Repr(obj)).ok_or(Error::Python)?;
                    pyffi::raise_with(PyExc_ValueError, c"Out of range float values are not JSON compliant: ", repr.ptr());
                } else {
                    pyffi::raise(PyExc_ValueError, message);
                }
            }
            return Err(Error::Python);
        }
        Ok(if value.is_nan() {
            b"NaN"
        } else if value > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        })
    }

    // ----- layout -----

    #[inline(always)]
    fn newline_indent(&mut self) {
        if !INDENTED {
            return;
        }
        if let Some(indent) = &self.options.indent {
            self.buf.push(b'\n');
            for _ in 0..self.level {
                self.buf.extend(indent);
            }
        }
    }

    #[inline(always)]
    fn open(&mut self, bracket: u8) {
        self.buf.push(bracket);
        if INDENTED {
            self.level += 1;
            self.newline_indent();
        }
    }

    #[inline(always)]
    fn item_separator(&mut self) {
        self.options.item_separator.write(self.buf);
        self.newline_indent();
    }

    #[inline(always)]
    fn close(&mut self, bracket: u8) {
        if INDENTED {
            self.level -= 1;
            self.newline_indent();
        }
        self.buf.push(bracket);
    }

    /// Put `obj` on the path for `check_circular`.
    #[inline(always)]
    unsafe fn mark(&mut self, obj: *mut PyObject) -> Result {
        if self.options.check_circular && !self.markers.enter(obj) {
            // SAFETY: raising a plain exception.
            unsafe { pyffi::raise(PyExc_ValueError, c"Circular reference detected") };
            return Err(Error::Python);
        }
        Ok(())
    }

    #[inline(always)]
    fn unmark(&mut self, obj: *mut PyObject) {
        if self.options.check_circular {
            self.markers.leave(obj);
        }
    }

    // ----- arrays -----

    /// An element of a list or tuple. Scalars are written from the borrowed reference
    /// (writing them runs no Python code); anything else is held while it is written,
    /// since a `default=` callback could remove it from its container.
    #[inline(always)]
    unsafe fn element(&mut self, item: *mut PyObject) -> Result {
        // SAFETY: `item` is live (just read from its container).
        unsafe {
            let ty = Py_TYPE(item);
            if ty == pyffi::str_type() {
                self.str(item)
            } else if ty == pyffi::int_type() {
                self.int(item)
            } else if ty == pyffi::float_type() {
                self.float(item)
            } else {
                let held = Owned::incref(item);
                self.non_scalar(held.ptr())
            }
        }
    }

    /// An exact list, re-reading its size each step as `json` does, so that a list that a
    /// callback grows or shrinks is walked as the standard library walks it.
    unsafe fn list(&mut self, list: *mut PyObject) -> Result {
        // SAFETY: `list` is a live list; indexes are checked against its current size.
        unsafe {
            if PyList_GET_SIZE(list) == 0 {
                self.buf.extend(b"[]");
                return Ok(());
            }
            self.mark(list)?;
            self.open(b'[');
            let mut i = 0;
            while i < PyList_GET_SIZE(list) {
                if i + 2 < PyList_GET_SIZE(list) {
                    pyffi::prefetch(PyList_GET_ITEM(list, i + 2));
                }
                if i > 0 {
                    self.item_separator();
                }
                self.element(PyList_GET_ITEM(list, i))?;
                i += 1;
            }
            self.close(b']');
            self.unmark(list);
        }
        Ok(())
    }

    unsafe fn tuple(&mut self, tuple: *mut PyObject) -> Result {
        // SAFETY: `tuple` is a live tuple, immutable, and held by our caller.
        unsafe {
            let len = PyTuple_GET_SIZE(tuple);
            if len == 0 {
                self.buf.extend(b"[]");
                return Ok(());
            }
            self.mark(tuple)?;
            self.open(b'[');
            for i in 0..len {
                if i > 0 {
                    self.item_separator();
                }
                self.element(PyTuple_GET_ITEM(tuple, i))?;
            }
            self.close(b']');
            self.unmark(tuple);
        }
        Ok(())
    }

    /// A list or tuple subclass: `json` iterates it (through any `__iter__` it defines)
    /// into a list first (`PySequence_Fast`).
    unsafe fn sequence_subclass(&mut self, seq: *mut PyObject) -> Result {
        // SAFETY: `seq` is live; the snapshot is a new list we own.
        unsafe {
            self.python_calls += 1;
            let items = Owned::new(PySequence_Fast(seq, c"_iterencode_list needs a sequence".as_ptr()))
                .ok_or(Error::Python)?;
            if PyList_GET_SIZE(items.ptr()) == 0 {
                self.buf.extend(b"[]");
                return Ok(());
            }
            self.mark(seq)?;
            self.open(b'[');
            let mut i = 0;
            while i < PyList_GET_SIZE(items.ptr()) {
                if i > 0 {
                    self.item_separator();
                }
                self.element(PyList_GET_ITEM(items.ptr(), i))?;
                i += 1;
            }
            self.close(b']');
            self.unmark(seq);
        }
        Ok(())
    }

    // ----- objects -----

    unsafe fn dict(&mut self, dict: *mut PyObject) -> Result {
        // SAFETY: `dict` is a live dict (or subclass).
        unsafe {
            if pyffi::dict_len(dict) == 0 {
                self.buf.extend(b"{}");
                return Ok(());
            }
            self.mark(dict)?;
            self.open(b'{');
            let mut first = true;
            let mut entries = self.entries(dict)?;
            while let Some(entry) = entries.next(&mut self.python_calls)? {
                self.member(&mut first, entry.key, entry.value)?;
            }
            self.close(b'}');
            self.unmark(dict);
        }
        Ok(())
    }

    /// How `json` walks this dict's items (see [`Entries`]).
    unsafe fn entries(&mut self, dict: *mut PyObject) -> Result<Entries> {
        // SAFETY: `dict` is live.
        unsafe {
            let exact = PyDict_CheckExact(dict) != 0;
            let callbacks = !self.options.default.is_null();
            if self.options.sort_keys {
                // The list's allocation may collect garbage, and sorting compares keys.
                self.python_calls += 1;
                let items = Owned::new(PyMapping_Items(dict)).ok_or(Error::Python)?;
                if PyList_Sort(items.ptr()) != 0 {
                    return Err(Error::Python);
                }
                return Ok(Entries::Items { items, next: 0 });
            }
            if exact && (!callbacks || (self.live_dict_walk && !self.python_encoder)) {
                return Ok(Entries::Live {
                    walk: pyffi::DictWalk::new(dict),
                    seen_calls: self.python_calls,
                });
            }
            // A subclass's `items`, or the allocations below, may run Python code.
            self.python_calls += 1;
            if self.python_encoder {
                // `for key, value in dct.items()`: a live view that raises if resized.
                let view = Owned::new(PyObject_CallMethodObjArgs(
                    dict,
                    globals::get().str_items,
                    std::ptr::null_mut::<PyObject>(),
                ))
                .ok_or(Error::Python)?;
                let iter = Owned::new(PyObject_GetIter(view.ptr())).ok_or(Error::Python)?;
                return Ok(Entries::Iter { iter });
            }
            let items = Owned::new(PyMapping_Items(dict)).ok_or(Error::Python)?;
            Ok(Entries::Items { items, next: 0 })
        }
    }

    /// One `key: value` member, with `json`'s key coercion; `skipkeys` drops the member.
    #[inline(always)]
    unsafe fn member(
        &mut self,
        first: &mut bool,
        key: *mut PyObject,
        value: *mut PyObject,
    ) -> Result {
        // SAFETY: `key` and `value` are live for the duration (see `Entry`).
        unsafe {
            let key_type = Py_TYPE(key);
            let write_key: KeyText = if key_type == pyffi::str_type() || PyUnicode_Check(key) != 0 {
                KeyText::Str(key)
            } else if PyFloat_Check(key) != 0 {
                let v = PyFloat_AS_DOUBLE(key);
                if v.is_finite() {
                    KeyText::Float(v)
                } else {
                    KeyText::Static(self.non_finite(key, v)?)
                }
            } else if key == Py_True() {
                KeyText::Static(b"true")
            } else if key == Py_False() {
                KeyText::Static(b"false")
            } else if key == Py_None() {
                KeyText::Static(b"null")
            } else if PyLong_Check(key) != 0 {
                KeyText::Int(key)
            } else if self.options.skipkeys {
                return Ok(());
            } else {
                return Err(self.bad_key(key));
            };
            if *first {
                *first = false;
            } else {
                self.item_separator();
            }
            match write_key {
                KeyText::Str(s) => self.str(s)?,
                KeyText::Float(v) => {
                    self.buf.push(b'"');
                    self.floats.write(self.buf, v);
                    self.buf.push(b'"');
                }
                KeyText::Int(i) => {
                    self.buf.push(b'"');
                    self.int(i)?;
                    self.buf.push(b'"');
                }
                KeyText::Static(text) => {
                    self.buf.push(b'"');
                    self.buf.extend(text);
                    self.buf.push(b'"');
                }
            }
            self.options.key_separator.write(self.buf);
            self.element(value)
        }
    }

    /// `TypeError` for a key of another type: the C encoder names the type by `tp_name`,
    /// the Python one by `__name__`.
    #[cold]
    unsafe fn bad_key(&self, key: *mut PyObject) -> Error {
        // SAFETY: formatting with live objects.
        unsafe {
            if self.python_encoder {
                if let Some(name) = pyffi::class_name(key) {
                    PyErr_Format(
                        PyExc_TypeError,
                        c"keys must be str, int, float, bool or None, not %S".as_ptr(),
                        name.ptr(),
                    );
                }
            } else {
                PyErr_Format(
                    PyExc_TypeError,
                    c"keys must be str, int, float, bool or None, not %.100s".as_ptr(),
                    (*Py_TYPE(key)).tp_name,
                );
            }
        }
        Error::Python
    }

    /// A value of no JSON type: `default(obj)` is written in its place.
    #[inline(never)]
    unsafe fn via_default(&mut self, obj: *mut PyObject) -> Result {
        // SAFETY: `obj` is held by our caller; the replacement is a new reference we own.
        unsafe {
            self.mark(obj)?;
            let replacement = if self.options.default.is_null() {
                return Err(not_serializable(obj));
            } else {
                self.python_calls += 1;
                Owned::new(PyObject_CallOneArg(self.options.default, obj)).ok_or(Error::Python)?
            };
            self.nested(|e| e.value(replacement.ptr()))?;
            self.unmark(obj);
        }
        Ok(())
    }
}

impl<K: Kernel, M: StrMode, const INDENTED: bool> Drop for Encoder<'_, K, M, INDENTED> {
    fn drop(&mut self) {
        for _ in 0..self.enter_calls {
            // SAFETY: balances one `Py_EnterRecursiveCall` made by `nested`, GIL held.
            unsafe { Py_LeaveRecursiveCall() };
        }
    }
}

/// `JSONEncoder.default`'s error.
#[cold]
unsafe fn not_serializable(obj: *mut PyObject) -> Error {
    // SAFETY: formatting with a live name object.
    unsafe {
        if let Some(name) = pyffi::class_name(obj) {
            PyErr_Format(
                PyExc_TypeError,
                c"Object of type %S is not JSON serializable".as_ptr(),
                name.ptr(),
            );
        }
    }
    Error::Python
}

/// A dict key as it will be written.
enum KeyText {
    Str(*mut PyObject),
    Float(f64),
    Int(*mut PyObject),
    Static(&'static [u8]),
}

/// The three ways `json` walks a dict's items:
/// * `Live`: `PyDict_Next`'s walk over the dict itself (exact dicts, where no callback can
///   mutate it, and on 3.12+ always, as the C encoder does); `seen_calls` is the encoder's
///   `python_calls` at the previous step;
/// * `Items`: a list of `(key, value)` pairs taken first (`sort_keys`, dict subclasses,
///   and the C encoder before 3.12);
/// * `Iter`: an iterator over `dict.items()` (the Python encoder, which raises
///   `RuntimeError` if a callback resizes the dict).
enum Entries {
    Live { walk: pyffi::DictWalk, seen_calls: u64 },
    Items { items: Owned, next: Py_ssize_t },
    Iter { iter: Owned },
}

impl Entries {
    /// The next member; `python_calls` is the encoder's count (see `Encoder::python_calls`).
    #[inline(always)]
    unsafe fn next(&mut self, python_calls: &mut u64) -> Result<Option<Entry>> {
        // SAFETY: `Live` walks a dict its caller keeps alive, told whether Python code ran
        // since its last step; `Items` holds its list (which holds the pairs); `Iter` holds
        // its iterator, and the entry holds the pair.
        unsafe {
            match self {
                Entries::Live { walk, seen_calls } => {
                    let python_ran = *seen_calls != *python_calls;
                    *seen_calls = *python_calls;
                    Ok(walk.next(python_ran).map(|(key, value)| Entry { key, value, _pair: None }))
                }
                Entries::Items { items, next } => {
                    if *next >= PyList_GET_SIZE(items.ptr()) {
                        return Ok(None);
                    }
                    let item = PyList_GET_ITEM(items.ptr(), *next);
                    *next += 1;
                    Entry::of_pair(Owned::incref(item)).map(Some)
                }
                Entries::Iter { iter } => {
                    // A subclass's `items()` may give any iterator.
                    *python_calls += 1;
                    let Some(item) = Owned::new(PyIter_Next(iter.ptr())) else {
                        return if PyErr_Occurred().is_null() { Ok(None) } else { Err(Error::Python) };
                    };
                    Entry::of_pair(item).map(Some)
                }
            }
        }
    }
}

/// One member of a dict being written.
///
/// `key` and `value` are borrowed. That is sound because the key is written before any
/// Python code can run (key coercion calls none), and `Encoder::element` takes its own
/// reference to any value whose writing can run Python code (a `default=` callback, an
/// `__iter__`), which could otherwise drop it from the dict. Pairs from an items list or
/// iterator are held by `_pair`.
struct Entry {
    key: *mut PyObject,
    value: *mut PyObject,
    _pair: Option<Owned>,
}

impl Entry {
    /// The key and value of an items entry, which must be a 2-tuple.
    unsafe fn of_pair(item: Owned) -> Result<Entry> {
        // SAFETY: `item` is live; tuple items are read after the size check.
        unsafe {
            let tuple = item.ptr();
            if PyTuple_Check(tuple) == 0 || PyTuple_GET_SIZE(tuple) != 2 {
                pyffi::raise(PyExc_ValueError, c"items must return 2-tuples");
                return Err(Error::Python);
            }
            Ok(Entry {
                key: PyTuple_GET_ITEM(tuple, 0),
                value: PyTuple_GET_ITEM(tuple, 1),
                _pair: Some(item),
            })
        }
    }
}
