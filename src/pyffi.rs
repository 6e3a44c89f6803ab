//! Small helpers over the CPython C API shared by the hot loops. Every function here
//! requires the GIL; that is the standing invariant of this module.

use pyo3_ffi::*;

/// A `str`'s code units, read in place from CPython's compact storage.
#[derive(Clone, Copy)]
pub enum StrData<'a> {
    /// Every unit < 0x80.
    Ascii(&'a [u8]),
    /// Latin-1, with at least one unit >= 0x80.
    Ucs1(&'a [u8]),
    Ucs2(&'a [u16]),
    Ucs4(&'a [u32]),
}

/// The storage of `s`, a `str` (or subclass) instance, or `None` with an exception set if a
/// legacy (pre-PEP 393) string could not be made ready.
///
/// # Safety
/// `s` is a live `str` object and stays alive, unmodified, while the view is used
/// (Python strings are immutable once shared).
#[inline(always)]
pub unsafe fn str_data<'a>(s: *mut PyObject) -> Option<StrData<'a>> {
    // SAFETY: `s` is a str per the caller; READY is a no-op on 3.12+ and for compact
    // strings, and the DATA/KIND/LENGTH accessors are valid once it is ready.
    unsafe {
        if PyUnicode_READY(s) != 0 {
            return None;
        }
        let len = PyUnicode_GET_LENGTH(s) as usize;
        let data = PyUnicode_DATA(s);
        Some(if PyUnicode_IS_ASCII(s) != 0 {
            StrData::Ascii(std::slice::from_raw_parts(data as *const u8, len))
        } else {
            let kind = PyUnicode_KIND(s);
            if kind == PyUnicode_1BYTE_KIND {
                StrData::Ucs1(std::slice::from_raw_parts(data as *const u8, len))
            } else if kind == PyUnicode_2BYTE_KIND {
                StrData::Ucs2(std::slice::from_raw_parts(data as *const u16, len))
            } else {
                StrData::Ucs4(std::slice::from_raw_parts(data as *const u32, len))
            }
        })
    }
}

/// The end of the text of `s` and its length, when `s` is a compact ASCII `str` of at most
/// 16 characters. Such a string's text follows its header in the same allocation, so the
/// 16 bytes before the end all belong to the object: what
/// [`rjson_simd::Kernel::copy_clean_ascii_tail`] needs to read.
///
/// # Safety
/// `s` is a live `str` (or subclass) object.
#[inline(always)]
pub unsafe fn short_compact_ascii(s: *mut PyObject) -> Option<(*const u8, usize)> {
    const _: () = assert!(std::mem::size_of::<PyASCIIObject>() >= 16);
    // SAFETY: `s` is a str; a compact ASCII one's text starts right after its
    // `PyASCIIObject` header (what `PyUnicode_DATA` computes for it), at least 16 bytes
    // long, so the 16 bytes before the end pointer are inside the object.
    unsafe {
        if PyUnicode_IS_COMPACT_ASCII(s) == 0 {
            return None;
        }
        let len = PyUnicode_GET_LENGTH(s) as usize;
        if len > 16 {
            return None;
        }
        Some((s.cast::<PyASCIIObject>().add(1).cast::<u8>().add(len).cast_const(), len))
    }
}

// The type object pointers the encoder dispatches on. They are static symbols of the
// interpreter, so these are link-time constants, not lookups (taking the address of an
// extern static reads nothing and needs no `unsafe`).
#[inline(always)]
pub fn str_type() -> *mut PyTypeObject {
    &raw mut PyUnicode_Type
}
#[inline(always)]
pub fn int_type() -> *mut PyTypeObject {
    &raw mut PyLong_Type
}
#[inline(always)]
pub fn float_type() -> *mut PyTypeObject {
    &raw mut PyFloat_Type
}
#[inline(always)]
pub fn list_type() -> *mut PyTypeObject {
    &raw mut PyList_Type
}
#[inline(always)]
pub fn tuple_type() -> *mut PyTypeObject {
    &raw mut PyTuple_Type
}
#[inline(always)]
pub fn dict_type() -> *mut PyTypeObject {
    &raw mut PyDict_Type
}

/// The number of items of a dict (or subclass), read from the object as `PyDict_GET_SIZE`.
///
/// # Safety
/// `dict` is a live dict.
#[inline(always)]
pub unsafe fn dict_len(dict: *mut PyObject) -> Py_ssize_t {
    // SAFETY: every dict instance starts with a `PyDictObject`.
    unsafe { (*(dict as *mut PyDictObject)).ma_used }
}

/// A strong reference released on drop: used wherever a borrowed reference could dangle
/// because Python code (a `default=` callback, an `__iter__`) may run in between.
pub struct Owned(*mut PyObject);

impl Owned {
    /// Take ownership of a new reference; `None` (with the exception set) when it is NULL.
    #[inline(always)]
    pub fn new(ptr: *mut PyObject) -> Option<Owned> {
        if ptr.is_null() {
            None
        } else {
            Some(Owned(ptr))
        }
    }

    /// Take a new strong reference to a live object.
    ///
    /// # Safety
    /// `ptr` is a live object.
    #[inline(always)]
    pub unsafe fn incref(ptr: *mut PyObject) -> Owned {
        // SAFETY: `ptr` is live per the caller.
        unsafe { Py_INCREF(ptr) };
        Owned(ptr)
    }

    #[inline(always)]
    pub fn ptr(&self) -> *mut PyObject {
        self.0
    }

}

impl Drop for Owned {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: we own one reference to a live object.
        unsafe { Py_DECREF(self.0) }
    }
}

/// `type(obj).__name__` as Python code spells it, `obj.__class__.__name__`, as a new
/// reference; used only on error paths.
///
/// # Safety
/// `obj` is live.
pub unsafe fn class_name(obj: *mut PyObject) -> Option<Owned> {
    let globals = crate::globals::get();
    // SAFETY: attribute lookups on live objects.
    unsafe {
        let class = Owned::new(PyObject_GetAttr(obj, globals.str_class))?;
        Owned::new(PyObject_GetAttr(class.ptr(), globals.str_name))
    }
}

/// Set `exc_type` with a message that ends with `%U` of `arg` (a `str`).
///
/// # Safety
/// `exc_type` is an exception type, `arg` a live `str`.
pub unsafe fn raise_with(exc_type: *mut PyObject, prefix: &std::ffi::CStr, arg: *mut PyObject) {
    // SAFETY: the format has exactly one `%U`, matched by `arg`.
    unsafe {
        PyErr_Format(exc_type, c"%s%U".as_ptr(), prefix.as_ptr(), arg);
    }
}

/// Raise `exc_type(message)`.
///
/// # Safety
/// `exc_type` is an exception type.
pub unsafe fn raise(exc_type: *mut PyObject, message: &std::ffi::CStr) {
    // SAFETY: a NUL-terminated message.
    unsafe { PyErr_SetString(exc_type, message.as_ptr()) }
}

/// Ask the CPU to start loading the object at `obj` into cache: a walk over a document
/// that was just built (as a server sees one) finds each object out of cache, and cannot
/// start the next one's load before it reaches it. A hint: nothing is read, and any address
/// (null, freed) is harmless.
#[inline(always)]
pub fn prefetch(obj: *mut PyObject) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(obj.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = obj;
}

/// Take the exception being raised out of the error indicator, normalized and with its
/// traceback attached (what `PyErr_GetRaisedException` returns from 3.12); null if none.
///
/// # Safety
/// GIL held.
#[cold]
pub unsafe fn take_exception() -> *mut PyObject {
    #[cfg(Py_3_12)]
    // SAFETY: GIL held; returns a new reference or null.
    unsafe {
        PyErr_GetRaisedException()
    }
    #[cfg(not(Py_3_12))]
    // SAFETY: GIL held; the fetched references are ours, `value` is returned.
    unsafe {
        let (mut ty, mut value, mut tb) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        PyErr_Fetch(&mut ty, &mut value, &mut tb);
        PyErr_NormalizeException(&mut ty, &mut value, &mut tb);
        if !tb.is_null() && !value.is_null() {
            PyException_SetTraceback(value, tb);
        }
        Py_XDECREF(ty);
        Py_XDECREF(tb);
        value
    }
}

/// The value of a small `int` (or subclass) read straight from the object, or `None` when
/// it is not small (then `PyLong_AsLongLongAndOverflow` decides). Saves a call per int.
///
/// Layouts: up to 3.11 an int is a `PyVarObject` whose signed `ob_size` counts its 30-bit
/// digits; from 3.12 `lv_tag` holds the digit count shifted by 3 and the sign in its low
/// two bits (0 positive, 1 zero, 2 negative).
///
/// # Safety
/// `obj` is a live int, and the interpreter uses 30-bit digits (`Globals::int_digits_30`).
#[inline(always)]
pub unsafe fn small_int(obj: *mut PyObject) -> Option<i64> {
    #[cfg(Py_3_12)]
    {
        #[repr(C)]
        struct LongHead {
            ob_base: PyObject,
            lv_tag: usize,
            digit0: u32,
        }
        // SAFETY: every int starts with this header and has at least one digit.
        unsafe {
            let head = obj as *const LongHead;
            let tag = (*head).lv_tag;
            if tag < (2 << 3) {
                let sign = 1 - (tag & 3) as i64;
                return Some(sign * (*head).digit0 as i64);
            }
            None
        }
    }
    #[cfg(not(Py_3_12))]
    {
        #[repr(C)]
        struct LongHead {
            ob_base: PyVarObject,
            digits: [u32; 2],
        }
        // SAFETY: every int starts with this header; `|ob_size|` digits follow it, and we
        // read only those.
        unsafe {
            let head = obj as *const LongHead;
            let digits = std::ptr::addr_of!((*head).digits) as *const u32;
            let size = (*head).ob_base.ob_size;
            let magnitude = match size.unsigned_abs() {
                0 => return Some(0),
                1 => *digits as i64,
                2 => *digits as i64 | ((*digits.add(1) as i64) << 30),
                _ => return None,
            };
            Some(if size < 0 { -magnitude } else { magnitude })
        }
    }
}

/// A walk over an exact dict's members in the order `PyDict_Next` gives them, reading the
/// dict's entry table inline (saving two calls per member).
///
/// The table's address and length are read once and then trusted until the caller says
/// that Python code may have run since the last step (a `default=` callback, a subclass's
/// `__iter__`): only such code can resize or refill the dict. Then they are read again, so
/// that a dict changed in between is walked exactly as `PyDict_Next` would walk it (which
/// re-reads the table at every step). Split tables (instance `__dict__`s) and free-threaded
/// builds go through `PyDict_Next` itself.
pub struct DictWalk {
    dict: *mut PyObject,
    pos: Py_ssize_t,
    /// The entry table as last read; `None` for a split table.
    slots: Option<EntrySlots>,
}

impl DictWalk {
    /// # Safety
    /// `dict` is a live, exact `dict`, kept alive for the walk.
    #[inline(always)]
    pub unsafe fn new(dict: *mut PyObject) -> DictWalk {
        DictWalk {
            dict,
            pos: 0,
            // SAFETY: per the caller.
            slots: unsafe { dict_entry_slots(dict) },
        }
    }

    /// The next `(key, value)`, borrowed from the dict.
    ///
    /// # Safety
    /// The dict is alive; `python_ran` is true if any Python code may have run since the
    /// walk began or since the previous call.
    #[inline(always)]
    pub unsafe fn next(&mut self, python_ran: bool) -> Option<(*mut PyObject, *mut PyObject)> {
        if python_ran {
            // SAFETY: the dict is alive; its table is read afresh.
            self.slots = unsafe { dict_entry_slots(self.dict) };
        }
        let Some(slots) = &self.slots else {
            return self.next_by_api();
        };
        // SAFETY: the table is as last read (no Python code ran since, so nothing changed
        // it), and every index read is below its `count`.
        unsafe {
            let mut i = self.pos as usize;
            while i < slots.count {
                let value = *slots.value_slot(i);
                i += 1;
                if !value.is_null() {
                    if i < slots.count {
                        prefetch(slots.key(i));
                        prefetch(*slots.value_slot(i));
                    }
                    self.pos = i as Py_ssize_t;
                    return Some((slots.key(i - 1), value));
                }
            }
            self.pos = i as Py_ssize_t;
        }
        None
    }

    #[cold]
    fn next_by_api(&mut self) -> Option<(*mut PyObject, *mut PyObject)> {
        let mut key = std::ptr::null_mut();
        let mut value = std::ptr::null_mut();
        // SAFETY: a live dict per `new`'s caller.
        if unsafe { PyDict_Next(self.dict, &mut self.pos, &mut key, &mut value) } != 0 {
            Some((key, value))
        } else {
            None
        }
    }
}

/// CPython's private dict layouts, for `dict_entry_slots`.
#[cfg(not(Py_GIL_DISABLED))]
#[allow(dead_code)]
mod dict_layout {
    use pyo3_ffi::{PyObject, Py_hash_t, Py_ssize_t};

    #[repr(C)]
    pub struct Dict {
        pub ob_base: PyObject,
        pub ma_used: Py_ssize_t,
        pub ma_version_tag: u64,
        pub ma_keys: *mut Keys,
        pub ma_values: *mut std::ffi::c_void,
    }

    #[cfg(Py_3_11)]
    #[repr(C)]
    pub struct Keys {
        pub dk_refcnt: Py_ssize_t,
        pub dk_log2_size: u8,
        pub dk_log2_index_bytes: u8,
        pub dk_kind: u8,
        pub dk_version: u32,
        pub dk_usable: Py_ssize_t,
        pub dk_nentries: Py_ssize_t,
        pub dk_indices: [u8; 0],
    }

    #[cfg(not(Py_3_11))]
    #[repr(C)]
    pub struct Keys {
        pub dk_refcnt: Py_ssize_t,
        pub dk_size: Py_ssize_t,
        pub dk_lookup: *mut std::ffi::c_void,
        pub dk_usable: Py_ssize_t,
        pub dk_nentries: Py_ssize_t,
        pub dk_indices: [u8; 0],
    }

    #[repr(C)]
    pub struct GeneralEntry {
        pub me_hash: Py_hash_t,
        pub me_key: *mut PyObject,
        pub me_value: *mut PyObject,
    }

    #[repr(C)]
    pub struct UnicodeEntry {
        pub me_key: *mut PyObject,
        pub me_value: *mut PyObject,
    }

    /// A combined table's entries.
    pub enum Entries {
        General(*const GeneralEntry),
        Unicode(*const UnicodeEntry),
    }

    impl Entries {
        /// # Safety
        /// `i` is below the table's `dk_nentries`.
        #[inline(always)]
        pub unsafe fn get(&self, i: Py_ssize_t) -> (*mut PyObject, *mut PyObject) {
            // SAFETY: per the caller, entry `i` exists.
            unsafe {
                match *self {
                    Entries::General(e) => {
                        let e = &*e.offset(i);
                        (e.me_key, e.me_value)
                    }
                    Entries::Unicode(e) => {
                        let e = &*e.offset(i);
                        (e.me_key, e.me_value)
                    }
                }
            }
        }
    }

    /// The entries of a combined (not split) table; `None` for a split table.
    ///
    /// # Safety
    /// `keys` is a live keys object of a dict whose `ma_values` is null.
    #[inline(always)]
    pub unsafe fn entries(keys: *const Keys) -> Option<Entries> {
        // SAFETY: entries follow the index array, whose size the header gives.
        unsafe {
            let indices = std::ptr::addr_of!((*keys).dk_indices) as *const u8;
            #[cfg(Py_3_11)]
            {
                const DICT_KEYS_GENERAL: u8 = 0;
                const DICT_KEYS_UNICODE: u8 = 1;
                let start = indices.add(1usize << (*keys).dk_log2_index_bytes);
                match (*keys).dk_kind {
                    DICT_KEYS_GENERAL => Some(Entries::General(start.cast())),
                    DICT_KEYS_UNICODE => Some(Entries::Unicode(start.cast())),
                    _ => None,
                }
            }
            #[cfg(not(Py_3_11))]
            {
                let size = (*keys).dk_size as usize;
                let index_bytes = if size <= 0xff {
                    1
                } else if size <= 0xffff {
                    2
                } else if size <= 0xffff_ffff {
                    4
                } else {
                    8
                };
                Some(Entries::General(indices.add(size * index_bytes).cast()))
            }
        }
    }
}

/// How many Python frames are on this thread's stack (walks them: call it rarely).
pub fn python_depth() -> usize {
    // SAFETY: GIL held; `PyEval_GetFrame` is borrowed, each `PyFrame_GetBack` result is a
    // new reference that `Owned` releases after we step past it.
    unsafe {
        let mut frame = PyEval_GetFrame();
        let mut held: Option<Owned> = None;
        let mut depth = 0;
        while !frame.is_null() {
            depth += 1;
            let back = PyFrame_GetBack(frame);
            held = Owned::new(back as *mut PyObject);
            frame = back;
        }
        drop(held);
        depth
    }
}

/// The key and value slots of a combined-table dict's entries, in insertion order, for
/// filling a fresh copy of a template dict in place (see `decode::cache`).
pub struct EntrySlots {
    keys: *mut *mut PyObject,
    values: *mut *mut PyObject,
    /// Pointers from one entry to the next.
    stride: usize,
    /// Entries in the table (`dk_nentries`), deleted ones included.
    pub count: usize,
}

impl EntrySlots {
    /// The key of entry `i`.
    ///
    /// # Safety
    /// `i < count`; the dict is alive.
    #[inline(always)]
    pub unsafe fn key(&self, i: usize) -> *mut PyObject {
        // SAFETY: per the caller, entry `i` exists.
        unsafe { *self.keys.add(i * self.stride) }
    }

    /// The value slot of entry `i`.
    ///
    /// # Safety
    /// `i < count`; the dict is alive.
    #[inline(always)]
    pub unsafe fn value_slot(&self, i: usize) -> *mut *mut PyObject {
        // SAFETY: per the caller, entry `i` exists.
        unsafe { self.values.add(i * self.stride) }
    }
}

/// The entry slots of an exact dict with a combined table; `None` for a split table.
///
/// # Safety
/// `dict` is a live exact dict, and writing to its value slots is only done on a dict that
/// nothing else has seen yet.
#[cfg(not(Py_GIL_DISABLED))]
pub unsafe fn dict_entry_slots(dict: *mut PyObject) -> Option<EntrySlots> {
    // SAFETY: CPython's own layouts for the version compiled against (Objects/dict-common.h,
    // Include/internal/pycore_dict.h); only entries below `dk_nentries` of a combined table
    // are described.
    unsafe {
        let mp = dict as *const dict_layout::Dict;
        if !(*mp).ma_values.is_null() {
            return None;
        }
        let count = (*(*mp).ma_keys).dk_nentries as usize;
        let word = std::mem::size_of::<*mut PyObject>();
        match dict_layout::entries((*mp).ma_keys)? {
            dict_layout::Entries::General(e) => {
                let e = e as *mut dict_layout::GeneralEntry;
                Some(EntrySlots {
                    keys: std::ptr::addr_of_mut!((*e).me_key),
                    values: std::ptr::addr_of_mut!((*e).me_value),
                    stride: std::mem::size_of::<dict_layout::GeneralEntry>() / word,
                    count,
                })
            }
            dict_layout::Entries::Unicode(e) => {
                let e = e as *mut dict_layout::UnicodeEntry;
                Some(EntrySlots {
                    keys: std::ptr::addr_of_mut!((*e).me_key),
                    values: std::ptr::addr_of_mut!((*e).me_value),
                    stride: std::mem::size_of::<dict_layout::UnicodeEntry>() / word,
                    count,
                })
            }
        }
    }
}

/// Free-threaded builds: their dicts are left alone.
///
/// # Safety
/// None needed.
#[cfg(Py_GIL_DISABLED)]
pub unsafe fn dict_entry_slots(_dict: *mut PyObject) -> Option<EntrySlots> {
    None
}

/// Run an entry point, turning a Rust panic (a bug) into `SystemError` rather than an
/// abort of the interpreter.
pub fn guarded(body: impl FnOnce() -> *mut PyObject) -> *mut PyObject {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(_) => {
            // SAFETY: raising with the GIL held.
            unsafe {
                PyErr_SetString(PyExc_SystemError, c"rjson: internal error (panic)".as_ptr());
            }
            std::ptr::null_mut()
        }
    }
}
