//! Caches of immutable values the parser would otherwise create over and over:
//!
//! * dict keys (short ASCII `str`), kept across calls: documents repeat the same few
//!   names, and a hit saves creating and hashing a `str` (`json` itself shares equal keys
//!   within a call through its memo);
//! * `int`s, shared within one call only: real documents repeat them (ids, indices), and a
//!   hit saves an allocation now and a deallocation later. Entries from earlier calls are
//!   never handed out (each carries the number of the call that made it), so parsing a
//!   document costs what it costs however often it has been parsed before. (Caching short
//!   string values the same way was measured to cost more than it saves.)
//!
//! * the shapes of objects (their keys, in order), kept across calls: records repeat, and
//!   a dict of a known shape is made by copying a template dict of those keys (one
//!   allocation and a copy of its table) and writing the values into the copy's entries,
//!   instead of inserting key after key, probing and growing the table as it goes.
//!
//! A hit compares the bytes (or the integer), not only a hash, so a collision can only
//! cost a miss. Sharing one immutable object between places is unobservable but by `is`.

use std::cell::UnsafeCell;

use pyo3_ffi::*;

use crate::pyffi::Owned;

/// Keys longer than this are not cached (names are short).
pub const MAX_CACHED_LEN: usize = 64;

const KEY_SLOTS: usize = 2048;
const INT_SLOTS: usize = 1024;
const SHAPE_SLOTS: usize = 512;

/// Objects with more keys than this are not given templates.
pub const MAX_SHAPE_KEYS: usize = 64;

/// A cached key: a strong reference to an ASCII `str` (or null), with its length and
/// first eight bytes beside it so that most misses are told without reading the object.
#[derive(Clone, Copy)]
struct StrSlot {
    obj: *mut PyObject,
    len: usize,
    head: u64,
}

const EMPTY_STR: StrSlot = StrSlot {
    obj: std::ptr::null_mut(),
    len: 0,
    head: 0,
};

#[derive(Clone, Copy)]
struct IntSlot {
    obj: *mut PyObject,
    value: i64,
    call: u64,
}

const EMPTY_INT: IntSlot = IntSlot {
    obj: std::ptr::null_mut(),
    value: 0,
    call: 0,
};

/// A known object shape: a template dict mapping its keys, in order, to `None`.
#[derive(Clone, Copy)]
struct ShapeSlot {
    /// A strong reference to the template, or null.
    template: *mut PyObject,
    hash: u64,
    len: usize,
    /// A shape seen once in this slot and not yet given a template.
    seen: u64,
}

const EMPTY_SHAPE: ShapeSlot = ShapeSlot {
    template: std::ptr::null_mut(),
    hash: 0,
    len: 0,
    seen: 0,
};

pub struct Caches {
    shapes: Box<[ShapeSlot; SHAPE_SLOTS]>,
    keys: Box<[StrSlot; KEY_SLOTS]>,
    ints: Box<[IntSlot; INT_SLOTS]>,
    /// The number of the call the caches are lent to (never 0).
    call: u64,
    int_trial: IntTrial,
}

/// Whether the int cache is worth its lookups in the current call. A miss costs a lookup
/// and an eviction, which together cost about what a hit saves: a document of mostly
/// distinct ints (ids, measurements) parses faster without the cache, one that repeats
/// them (catalogues, enums) faster with it. Each batch of lookups decides for the rest of
/// the call.
#[derive(Clone, Copy)]
struct IntTrial {
    on: bool,
    lookups: u32,
    hits: u32,
}

impl IntTrial {
    /// Lookups in a batch.
    const BATCH: u32 = 512;
    /// A fresh call starts with the cache on.
    const START: IntTrial = IntTrial { on: true, lookups: 0, hits: 0 };

    #[inline(always)]
    fn record(&mut self, hit: bool) {
        self.hits += hit as u32;
        self.lookups += 1;
        if self.lookups == Self::BATCH {
            // Half: a list of random ints (one lookup in seven hitting) parsed 7-10%
            // faster without the cache, citm_catalog (nine in ten) 3-5% faster with it.
            self.on = self.hits >= Self::BATCH / 2;
            self.lookups = 0;
            self.hits = 0;
        }
    }
}

/// The first (up to) eight bytes of `bytes`, zero-padded.
#[inline(always)]
pub fn head_of(bytes: &[u8]) -> u64 {
    match bytes.get(..8) {
        Some(first) => u64::from_le_bytes(first.try_into().unwrap()),
        None => bytes.iter().rev().fold(0, |word, &b| word << 8 | b as u64),
    }
}

impl Caches {
    fn new() -> Caches {
        Caches {
            keys: Box::new([EMPTY_STR; KEY_SLOTS]),
            ints: Box::new([EMPTY_INT; INT_SLOTS]),
            shapes: Box::new([EMPTY_SHAPE; SHAPE_SLOTS]),
            call: 0,
            int_trial: IntTrial::START,
        }
    }

    /// A new reference to the key `str` of `bytes` (ASCII, at most `MAX_CACHED_LEN` long,
    /// its first eight bytes `head`, zero-padded); null with an exception set on failure.
    ///
    /// # Safety
    /// GIL held.
    #[inline(always)]
    pub unsafe fn key(&mut self, bytes: &[u8], head: u64) -> *mut PyObject {
        let index = str_slot(bytes, head, KEY_SLOTS);
        let slot = &mut self.keys[index];
        // SAFETY: GIL held; slots hold live ASCII str objects described by the slot.
        unsafe {
            if slot_holds(slot, bytes, head) {
                Py_INCREF(slot.obj);
                return slot.obj;
            }
            store_key(slot, bytes, head)
        }
    }

    /// A new reference to `int(value)`, shared only with equal ints of this call.
    ///
    /// # Safety
    /// GIL held.
    #[inline(always)]
    pub unsafe fn int(&mut self, value: i64) -> *mut PyObject {
        // SAFETY: GIL held; slots hold live ints whose value the slot records.
        unsafe {
            // Off for this call, or one of CPython's own small ints (no allocation to
            // save); the first test alone when off (a random mix of small and other ints
            // mispredicts the second).
            if !self.int_trial.on || (-5..=256).contains(&value) {
                return PyLong_FromLongLong(value);
            }
            let hash = (value as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let slot = &mut self.ints[(hash >> 54) as usize % INT_SLOTS];
            let hit = slot.call == self.call && slot.value == value && !slot.obj.is_null();
            self.int_trial.record(hit);
            if hit {
                Py_INCREF(slot.obj);
                return slot.obj;
            }
            let fresh = PyLong_FromLongLong(value);
            if fresh.is_null() {
                return fresh;
            }
            Py_INCREF(fresh);
            let old = std::mem::replace(slot, IntSlot { obj: fresh, value, call: self.call });
            if !old.obj.is_null() {
                Py_DECREF(old.obj);
            }
            fresh
        }
    }
}

impl Caches {
    /// A dict of `items` (key, value, key, value, ...: owned references) made from the
    /// template of its shape, taking the references over; `Ok(None)` (references left
    /// alone) when the shape has no template; `Err` with an exception set on failure.
    ///
    /// # Safety
    /// GIL held; the keys are `str` objects.
    #[inline(always)]
    pub unsafe fn dict_from_shape(&mut self, items: &[*mut PyObject]) -> Result<Option<*mut PyObject>, ()> {
        let len = items.len() / 2;
        let hash = shape_hash(items);
        let slot = &self.shapes[(hash as usize) % SHAPE_SLOTS];
        if slot.template.is_null() || slot.hash != hash || slot.len != len {
            return Ok(None);
        }
        // SAFETY: GIL held; the template is a live dict we own.
        unsafe { fill_copy(slot.template, items) }
    }

    /// Remember the shape of `items`, just made into a dict the usual way: the second
    /// time a shape is seen, it gets a template.
    ///
    /// # Safety
    /// GIL held; the keys are `str` objects, all distinct (the dict had `len` entries).
    pub unsafe fn learn_shape(&mut self, items: &[*mut PyObject]) {
        let len = items.len() / 2;
        let hash = shape_hash(items);
        let slot = &mut self.shapes[(hash as usize) % SHAPE_SLOTS];
        if slot.seen != hash {
            slot.seen = hash;
            return;
        }
        // SAFETY: GIL held; building a dict of live keys, swapping it into the slot.
        unsafe {
            let Some(template) = new_template(items) else {
                PyErr_Clear();
                return;
            };
            let old = std::mem::replace(
                slot,
                ShapeSlot {
                    template,
                    hash,
                    len,
                    seen: 0,
                },
            );
            if !old.template.is_null() {
                Py_DECREF(old.template);
            }
        }
    }
}

/// A hash of the keys of `items` (key, value, ...) by identity: cached keys are the same
/// objects every time a name comes back.
#[inline(always)]
fn shape_hash(items: &[*mut PyObject]) -> u64 {
    let mut h = items.len() as u64;
    for pair in items.chunks_exact(2) {
        h = (h ^ (pair[0] as u64 >> 4)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    h ^ (h >> 29)
}

/// `{key: None, ...}` for the keys of `items`, when it is a combined table holding them
/// in order (so that copies of it can be filled entry by entry); `None` otherwise (an
/// exception may be set).
///
/// # Safety
/// GIL held.
unsafe fn new_template(items: &[*mut PyObject]) -> Option<*mut PyObject> {
    // SAFETY: GIL held; inserting live keys into a dict we own.
    unsafe {
        let dict = Owned::new(PyDict_New())?;
        for pair in items.chunks_exact(2) {
            if PyDict_SetItem(dict.ptr(), pair[0], Py_None()) != 0 {
                return None;
            }
        }
        let slots = crate::pyffi::dict_entry_slots(dict.ptr())?;
        let len = items.len() / 2;
        let in_order = slots.count == len && (0..len).all(|i| slots.key(i) == items[2 * i]);
        if !in_order {
            return None;
        }
        let template = dict.ptr();
        std::mem::forget(dict);
        Some(template)
    }
}

/// CPython's `_PyObject_GC_MAY_BE_TRACKED`: what makes a dict that holds the object need
/// tracking.
///
/// # Safety
/// `obj` live.
#[inline(always)]
unsafe fn may_be_tracked(obj: *mut PyObject) -> bool {
    // SAFETY: type queries on a live object.
    unsafe {
        let ty = Py_TYPE(obj);
        // `PyObject_IS_GC`, inline.
        let is_gc = PyType_IS_GC(ty) != 0 && (*ty).tp_is_gc.is_none_or(|is_gc| is_gc(obj) != 0);
        is_gc && (ty != crate::pyffi::tuple_type() || PyObject_GC_IsTracked(obj) != 0)
    }
}

/// Copy `template` and write the values of `items` into the copy's entries (see
/// `Caches::dict_from_shape`).
///
/// # Safety
/// GIL held; `template` a live template dict.
#[inline(never)]
unsafe fn fill_copy(template: *mut PyObject, items: &[*mut PyObject]) -> Result<Option<*mut PyObject>, ()> {
    // SAFETY: the copy is ours alone; its entries hold the template's keys in order (we
    // check each against ours) with `None` values, which we replace by the values we own.
    unsafe {
        let copy = PyDict_Copy(template);
        if copy.is_null() {
            return Err(());
        }
        let len = items.len() / 2;
        let matches = match crate::pyffi::dict_entry_slots(copy) {
            Some(slots) if slots.count == len && (0..len).all(|i| slots.key(i) == items[2 * i]) => Some(slots),
            _ => None,
        };
        let Some(slots) = matches else {
            Py_DECREF(copy);
            return Ok(None);
        };
        let mut holds_containers = false;
        for i in 0..len {
            let value = items[2 * i + 1];
            holds_containers |= may_be_tracked(value);
            let old = std::ptr::replace(slots.value_slot(i), value);
            Py_DECREF(old);
            Py_DECREF(items[2 * i]);
        }
        // A dict holding containers must be tracked by the collector, as inserting them
        // would have made it (the template, holding only None, is not).
        if holds_containers && PyObject_GC_IsTracked(copy) == 0 {
            PyObject_GC_Track(copy.cast());
        }
        Ok(Some(copy))
    }
}

/// Whether `slot` holds the string of `bytes` (whose first eight bytes are `head`).
///
/// # Safety
/// A non-null slot holds a live compact ASCII str of `slot.len` characters.
#[inline(always)]
unsafe fn slot_holds(slot: &StrSlot, bytes: &[u8], head: u64) -> bool {
    slot.head == head
        && slot.len == bytes.len()
        && !slot.obj.is_null()
        // SAFETY: per the caller.
        && (bytes.len() <= 8 || same_tail(unsafe { ascii_bytes(slot.obj) }, bytes))
}

/// Whether two byte strings of the same length above eight agree past their first eight
/// bytes (which the caller compared), a word at a time: keys are short, and a call of
/// `memcmp` costs more than comparing them.
#[inline(always)]
fn same_tail(a: &[u8], b: &[u8]) -> bool {
    let n = b.len();
    if a.len() != n {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
    let mut i = 8;
    while i + 8 <= n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    // The last (possibly overlapping) word covers the rest.
    word(a, n - 8) == word(b, n - 8)
}

/// Make the key `bytes` and keep it in `slot`, in place of what was there.
///
/// # Safety
/// GIL held; `bytes` ASCII.
#[inline(never)]
unsafe fn store_key(slot: &mut StrSlot, bytes: &[u8], head: u64) -> *mut PyObject {
    // SAFETY: GIL held; we own the slot's reference and hand out a second one.
    unsafe {
        let fresh = new_ascii(bytes);
        if fresh.is_null() {
            return fresh;
        }
        // Computed now, so that every dict insert of this key finds it cached.
        PyObject_Hash(fresh);
        Py_INCREF(fresh);
        let old = std::mem::replace(
            slot,
            StrSlot {
                obj: fresh,
                len: bytes.len(),
                head,
            },
        );
        if !old.obj.is_null() {
            Py_DECREF(old.obj);
        }
        fresh
    }
}

/// The storage of a compact ASCII `str`.
///
/// # Safety
/// `s` is a live compact ASCII str.
#[inline(always)]
unsafe fn ascii_bytes<'a>(s: *mut PyObject) -> &'a [u8] {
    // SAFETY: per the caller, DATA holds LENGTH one-byte units.
    unsafe {
        std::slice::from_raw_parts(PyUnicode_DATA(s) as *const u8, PyUnicode_GET_LENGTH(s) as usize)
    }
}

/// A new ASCII `str` holding `bytes`; null with an exception set on failure.
///
/// # Safety
/// GIL held; `bytes` is ASCII.
#[inline(always)]
pub unsafe fn new_ascii(bytes: &[u8]) -> *mut PyObject {
    // SAFETY: PyUnicode_New(n, 127) has room for n one-byte units.
    unsafe {
        let s = PyUnicode_New(bytes.len() as Py_ssize_t, 127);
        if !s.is_null() {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), PyUnicode_DATA(s) as *mut u8, bytes.len());
        }
        s
    }
}

/// A slot (of `slots`, a power of two) for `bytes`, whose first eight bytes are `head`: a
/// multiplicative hash of its first, middle and last eight bytes and its length.
#[inline(always)]
fn str_slot(bytes: &[u8], head: u64, slots: usize) -> usize {
    let n = bytes.len();
    let read8 = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    let (tail, middle) = if n > 8 { (read8(n - 8), read8(n / 2 - 4)) } else { (0, 0) };
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let h = (head ^ tail.rotate_left(21) ^ middle.rotate_left(42) ^ n as u64).wrapping_mul(K);
    (h >> 40) as usize & (slots - 1)
}

/// The process's caches, lent to one `loads` call at a time.
struct Shared {
    caches: UnsafeCell<Option<Box<Caches>>>,
    lent: UnsafeCell<bool>,
}

// SAFETY: only touched by `borrow` and `give_back`, which run with the GIL held, so never
// by two threads at once.
unsafe impl Sync for Shared {}

static SHARED: Shared = Shared {
    caches: UnsafeCell::new(None),
    lent: UnsafeCell::new(false),
};

/// The caches for one call, or `None` when they are already lent: a hook that calls
/// `loads` again then parses without them (and free-threaded builds never share them).
///
/// # Safety
/// GIL held. Give the caches back with `give_back`.
pub unsafe fn borrow() -> Option<Box<Caches>> {
    if cfg!(Py_GIL_DISABLED) {
        return None;
    }
    // SAFETY: the GIL serialises every access to SHARED (see `Shared`).
    unsafe {
        if *SHARED.lent.get() {
            return None;
        }
        *SHARED.lent.get() = true;
        let mut caches = (*SHARED.caches.get()).take().unwrap_or_else(|| Box::new(Caches::new()));
        caches.call += 1;
        caches.int_trial = IntTrial::START;
        Some(caches)
    }
}

/// Return the caches `borrow` lent.
///
/// # Safety
/// GIL held; `caches` came from `borrow`.
pub unsafe fn give_back(caches: Box<Caches>) {
    // SAFETY: as in `borrow`.
    unsafe {
        *SHARED.caches.get() = Some(caches);
        *SHARED.lent.get() = false;
    }
}
