//! The output buffer.
//!
//! A result of a size the thread has not produced before is assembled in a scratch buffer
//! that the thread reuses from call to call (no allocation, cache-hot pages) and copied
//! once, at the end, into an exactly sized `bytes` or `str`.
//!
//! A large `bytes` or ASCII `str` result (at least `DIRECT_MIN`) teaches the thread its
//! size: its next such call writes straight into a result object of that capacity
//! (`Store::Object`), which saves the final copy (`dumps_bytes` of gsoc-2018, 3 MiB: 1.29x
//! faster; of 64 ASCII strings of 8 KiB: 1.94x). The object keeps that capacity when the
//! result fits it closely; only its length field is set smaller. Shrinking it with
//! `realloc` instead was tried and measured slower: glibc serves a request larger than any
//! block freed before with a fresh `mmap`, so every large result page-faulted on every
//! call, while a block of a capacity freed before comes from the heap. A result that
//! outgrows its object moves to the scratch buffer and ends with the copy; long strings
//! are escaped in pieces that fit the room left (`quoted_pieces`), so that their worst
//! case (six bytes a unit) does not force that move.

use std::cell::Cell;

use pyo3_ffi::*;
use rjson_simd::SLACK;

use super::text::WideParts;

/// A thread keeps a scratch buffer up to this capacity for its next call; a larger one
/// (a result of many megabytes) is freed after use.
const KEEP_CAPACITY: usize = 8 << 20;
const INITIAL_CAPACITY: usize = 4096;
/// Results from this size on teach the thread to write its next one in place.
const DIRECT_MIN: usize = 16 << 10;
/// Capacities of in-place results are multiples of this, so that results of slightly
/// different sizes reuse one capacity (and one heap block).
const DIRECT_GRANULE: usize = 16 << 10;

/// What a thread keeps from one call to the next (one thread-local, one lookup).
struct Kept {
    scratch: Cell<Vec<u8>>,
    /// Capacity for the thread's next `bytes` or ASCII `str` result (0: use the scratch).
    direct_capacity: Cell<usize>,
}

thread_local! {
    static KEPT: Kept = const {
        Kept { scratch: Cell::new(Vec::new()), direct_capacity: Cell::new(0) }
    };
}

extern "C" {
    // Exported by every CPython we support, though not declared public by pyo3-ffi.
    fn _PyBytes_Resize(bytes: *mut *mut PyObject, size: Py_ssize_t) -> std::ffi::c_int;
}

/// The object a call returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Bytes,
    /// A `str` known to be ASCII (`ensure_ascii` with ASCII separators and indent).
    AsciiStr,
    /// A `str` of any characters (`ensure_ascii=False` with an ASCII layout): characters up
    /// to U+00FF as bytes, wider strings in `wide` (see `text`).
    Text,
    /// A `str` written as UTF-8 and decoded at the end: `ensure_ascii` with a non-ASCII
    /// indent or separator.
    Utf8Text,
}

impl Output {
    /// Whether a large result of this kind can be written into its final object.
    fn writes_in_place(self) -> bool {
        matches!(self, Output::Bytes | Output::AsciiStr)
    }
}

/// Where the bytes live.
enum Store {
    /// The thread's scratch vector. Its own length stays 0; `Buffer` tracks ours.
    Scratch(Vec<u8>),
    /// The result itself, a `bytes` (for `Output::Bytes`) or compact ASCII `str` (for
    /// `Output::AsciiStr`) that nobody else has seen.
    Object(*mut PyObject),
}

pub struct Buffer {
    /// The storage: bytes written from `start` up to `cursor`, room up to `end`. `store`
    /// owns it; we track the length here so that writes need no bounds bookkeeping. A
    /// write stores at `cursor` and moves it: one register, no index.
    start: *mut u8,
    cursor: *mut u8,
    end: *mut u8,
    store: Store,
    output: Output,
    /// The thread's `direct_capacity` when the call began.
    direct_capacity: usize,
    /// Whether a byte above 0x7F was written (else a `Text` or `Utf8Text` result is ASCII).
    pub non_ascii: bool,
    /// The UCS-2 and UCS-4 strings of a `Text` result.
    pub wide: WideParts,
}

impl Buffer {
    /// A buffer in a result object when the thread's last result says this one will be
    /// large; else on the thread's scratch storage, or on a new one when a nested call (from
    /// a `default=` callback) already holds it.
    ///
    /// The caller holds the GIL.
    pub fn new(output: Output) -> Buffer {
        KEPT.with(|kept| {
            let direct_capacity = if output.writes_in_place() { kept.direct_capacity.get() } else { 0 };
            if direct_capacity != 0 {
                // SAFETY: GIL held (callers are Python entry points); the object is new.
                if let Some((object, data)) = unsafe { new_result(output, direct_capacity) } {
                    let store = Store::Object(object);
                    return Buffer::on(store, data, direct_capacity, output, direct_capacity);
                }
            }
            let mut scratch = kept.scratch.take();
            if scratch.capacity() == 0 {
                scratch.reserve(INITIAL_CAPACITY);
            }
            let (data, capacity) = (scratch.as_mut_ptr(), scratch.capacity());
            Buffer::on(Store::Scratch(scratch), data, capacity, output, direct_capacity)
        })
    }

    fn on(store: Store, data: *mut u8, capacity: usize, output: Output, direct_capacity: usize) -> Buffer {
        Buffer {
            direct_capacity,
            start: data,
            cursor: data,
            // SAFETY: one past the end of the storage `store` owns.
            end: unsafe { data.add(capacity) },
            store,
            output,
            non_ascii: false,
            wide: WideParts::default(),
        }
    }

    #[inline(always)]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `start..cursor` is initialised storage we own.
        unsafe { std::slice::from_raw_parts(self.start, self.len()) }
    }

    /// Make room for `additional` more bytes.
    #[inline(always)]
    pub fn reserve(&mut self, additional: usize) {
        if self.room() < additional {
            self.grow(additional);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, additional: usize) {
        let len = self.len();
        let mut scratch = match std::mem::replace(&mut self.store, Store::Scratch(Vec::new())) {
            Store::Scratch(scratch) => scratch,
            // The result outgrew its object: carry on in the scratch, as for a new size.
            Store::Object(object) => {
                let mut scratch = KEPT.with(|kept| kept.scratch.take());
                scratch.reserve(len + additional);
                // SAFETY: the object's first `len` bytes are initialised and the vector has
                // room for them; we own the object's only reference and drop it after.
                unsafe {
                    std::ptr::copy_nonoverlapping(self.start, scratch.as_mut_ptr(), len);
                    Py_DECREF(object);
                }
                scratch
            }
        };
        // SAFETY: the vector's first `len` bytes are ours and initialised; it is left empty
        // again, with the three pointers moved onto its (maybe moved) storage.
        unsafe {
            scratch.set_len(len);
            scratch.reserve(additional);
            scratch.set_len(0);
            self.start = scratch.as_mut_ptr();
            self.cursor = self.start.add(len);
            self.end = self.start.add(scratch.capacity());
        }
        self.store = Store::Scratch(scratch);
    }

    /// The current length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.cursor as usize - self.start as usize
    }

    /// The result object, or null with an exception set.
    pub fn finish(mut self) -> *mut PyObject {
        let (len, capacity) = (self.len(), self.end as usize - self.start as usize);
        let object = match self.store {
            Store::Object(object) => Some(object),
            Store::Scratch(_) => None,
        };
        if self.output.writes_in_place() {
            let next = next_direct_capacity(len, object.map(|_| capacity));
            if next != self.direct_capacity {
                KEPT.with(|kept| kept.direct_capacity.set(next));
            }
        }
        if let Some(object) = object {
            // Handed out: `drop` must not free it.
            self.store = Store::Scratch(Vec::new());
            // SAFETY: our own object, its first `len` bytes written (ASCII for a `str`).
            return unsafe { end_result(object, self.output, len, capacity) };
        }
        let bytes = self.as_slice();
        // SAFETY: (all arms) GIL held; the bytes are ours, initialised, and of the kind each
        // constructor needs (ASCII where `non_ascii` is false; wide parts placed in order).
        unsafe {
            match self.output {
                Output::Text if !self.wide.is_empty() => self.wide.build_str(bytes),
                Output::Text | Output::Utf8Text if !self.non_ascii => ascii_str(bytes),
                Output::Text => latin1_str(bytes),
                Output::Utf8Text => PyUnicode_DecodeUTF8(
                    bytes.as_ptr().cast(),
                    bytes.len() as Py_ssize_t,
                    std::ptr::null(),
                ),
                Output::AsciiStr => ascii_str(bytes),
                Output::Bytes => {
                    PyBytes_FromStringAndSize(bytes.as_ptr().cast(), bytes.len() as Py_ssize_t)
                }
            }
        }
    }

    #[inline(always)]
    pub fn push(&mut self, byte: u8) {
        self.reserve(1);
        // SAFETY: one byte reserved.
        unsafe {
            self.cursor.write(byte);
            self.cursor = self.cursor.add(1);
        }
    }

    /// Append `bytes`; inlined without a `memcpy` call when short (separators, numbers,
    /// literals), which is most of what the encoder writes outside strings.
    #[inline(always)]
    pub fn extend(&mut self, bytes: &[u8]) {
        if bytes.len() > SMALL {
            // SAFETY: copies exactly `bytes.len()` bytes into as many reserved.
            unsafe {
                self.write_with(bytes.len(), |dst| {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
                    bytes.len()
                })
            }
            return;
        }
        // SAFETY: `copy_small` writes exactly `bytes.len()` <= SMALL bytes, and
        // `write_with` reserved that many.
        unsafe {
            self.write_with(SMALL, |dst| {
                copy_small(bytes, dst);
                bytes.len()
            })
        }
    }

    /// Append the first `len` (<= 8) bytes of `word` with one eight-byte store.
    #[inline(always)]
    pub fn extend_word(&mut self, word: &[u8; 8], len: usize) {
        debug_assert!(len <= 8);
        self.reserve(8);
        // SAFETY: eight bytes reserved; the bytes past `len` are scratch, overwritten next.
        unsafe {
            (self.cursor as *mut [u8; 8]).write_unaligned(*word);
            self.cursor = self.cursor.add(len.min(8));
        }
    }

    /// Append up to `SMALL` bytes one at a time: for text another routine has just stored
    /// (a float's digits), where wider loads would stall on store-to-load forwarding.
    #[inline(always)]
    pub fn extend_bytewise(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.len() <= SMALL);
        // SAFETY: writes `bytes.len()` <= SMALL bytes into the SMALL reserved.
        unsafe {
            self.write_with(SMALL, |dst| {
                for (i, &b) in bytes.iter().enumerate().take(SMALL) {
                    dst.add(i).write(b);
                }
                bytes.len().min(SMALL)
            })
        }
    }

    /// Let `write` fill up to `max` bytes at the end, and keep the count it returns.
    ///
    /// # Safety
    /// `write` writes at most `max` bytes from the pointer it is given, initialises every
    /// byte below the count it returns, and returns at most `max`.
    #[inline(always)]
    pub unsafe fn write_with(&mut self, max: usize, write: impl FnOnce(*mut u8) -> usize) {
        self.reserve(max);
        // `reserve` made `max` bytes of room at `cursor`; by the caller's contract `write`
        // stays within them and initialises what it reports.
        let written = write(self.cursor);
        debug_assert!(written <= max);
        // SAFETY: `written <= max` bytes were reserved and are now initialised.
        unsafe { self.cursor = self.cursor.add(written) };
    }

    /// Write `"`, the `len <= 16` bytes that `copy` stores (it may store 16), and `"`, if
    /// `copy` returns true; otherwise keep nothing. Returns what `copy` returned.
    #[inline(always)]
    pub fn quoted_clean_short(&mut self, len: usize, copy: impl FnOnce(*mut u8) -> bool) -> bool {
        debug_assert!(len <= 16);
        let mut copied = false;
        // SAFETY: a quote, the 16 bytes `copy` may store after it, and the closing quote
        // after the `len <= 16` that count: 18 bytes at most. Nothing is kept unless `copy`
        // wrote the string.
        unsafe {
            self.write_with(18, |dst| {
                dst.write(b'"');
                copied = copy(dst.add(1));
                if !copied {
                    return 0;
                }
                dst.add(1 + len).write(b'"');
                len + 2
            });
        }
        copied
    }

    /// Write `units` escaped by `kernel` between quotes. `kernel(piece, dst)` writes the
    /// escaped `piece` at `dst`, which has room for `bound(piece.len())` bytes plus the
    /// kernels' `SLACK`, and returns the count written. `bound` is linear (six or twelve
    /// bytes per unit).
    #[inline(always)]
    pub fn quoted_units<U, E>(
        &mut self,
        units: &[U],
        bound: fn(usize) -> usize,
        mut kernel: impl FnMut(&[U], *mut u8) -> Result<usize, E>,
    ) -> Result<(), E> {
        if bound(units.len()) + SLACK + 2 > self.room() {
            return self.quoted_pieces(units, bound, kernel);
        }
        self.quoted(bound(units.len()), #[inline(always)] |dst| kernel(units, dst))
    }

    /// `quoted_units` for a string whose worst case does not fit the room left: escaped a
    /// piece at a time, each piece as long as the room allows, so that the output grows
    /// only when it is really full. A result written in place (see the module docs) then
    /// stays in its object: reserving six bytes per unit of a 1 MiB string would not fit
    /// it. Every kernel escapes unit by unit, so the pieces join up to the same text.
    #[cold]
    #[inline(never)]
    fn quoted_pieces<U, E>(
        &mut self,
        units: &[U],
        bound: fn(usize) -> usize,
        mut kernel: impl FnMut(&[U], *mut u8) -> Result<usize, E>,
    ) -> Result<(), E> {
        /// The shortest piece worth a kernel call; with less room than that, grow.
        const MIN_PIECE_UNITS: usize = 1024;
        self.push(b'"');
        let mut rest = units;
        while !rest.is_empty() {
            let fits = self.room().saturating_sub(SLACK + 1) / bound(1);
            let (piece, after) = rest.split_at(fits.max(MIN_PIECE_UNITS).min(rest.len()));
            let mut result = Ok(());
            // SAFETY: the kernel writes at most `bound(piece.len()) + SLACK` bytes (its
            // contract, as `quoted_units` states it), which `write_with` reserves; the count
            // it returns covers exactly the initialised bytes.
            unsafe {
                self.write_with(bound(piece.len()) + SLACK, |dst| match kernel(piece, dst) {
                    Ok(n) => n,
                    Err(e) => {
                        result = Err(e);
                        0
                    }
                });
            }
            result?;
            rest = after;
        }
        self.push(b'"');
        Ok(())
    }

    /// Bytes that can be written before the storage must grow.
    #[inline(always)]
    fn room(&self) -> usize {
        self.end as usize - self.cursor as usize
    }

    /// Write `"`, the escaped body produced by `kernel`, and `"`; the kernel may write up to
    /// `bound` bytes (plus the kernels' `SLACK`). `quoted_units`' path for a string whose
    /// worst case fits the room left.
    #[inline(always)]
    fn quoted<E>(
        &mut self,
        bound: usize,
        kernel: impl FnOnce(*mut u8) -> Result<usize, E>,
    ) -> Result<(), E> {
        let mut result = Ok(());
        // SAFETY: we write one quote, then the kernel writes at most `bound + SLACK` (its
        // contract, given a destination of that size), then one quote: `bound + SLACK + 2`
        // in all. The count reported covers exactly the initialised bytes.
        unsafe {
            // Inlined by hint: compiled out of line, it put a call between the encoder and
            // the kernel for every string.
            self.write_with(bound + SLACK + 2, #[inline(always)] |dst| {
                dst.write(b'"');
                match kernel(dst.add(1)) {
                    Ok(n) => {
                        dst.add(1 + n).write(b'"');
                        n + 2
                    }
                    Err(e) => {
                        result = Err(e);
                        0
                    }
                }
            });
        }
        result
    }
}

impl Drop for Buffer {
    /// The scratch storage goes back to the thread for its next call; a result object that
    /// was never handed out (the call failed) is freed.
    fn drop(&mut self) {
        let mut scratch = match std::mem::replace(&mut self.store, Store::Scratch(Vec::new())) {
            Store::Scratch(scratch) => scratch,
            Store::Object(object) => {
                // SAFETY: we own the only reference; the GIL is held during any call.
                unsafe { Py_DECREF(object) };
                return;
            }
        };
        if scratch.capacity() == 0 || scratch.capacity() > KEEP_CAPACITY {
            return;
        }
        scratch.clear();
        KEPT.with(|kept| {
            let previous = kept.scratch.take();
            let larger = if previous.capacity() >= scratch.capacity() { previous } else { scratch };
            kept.scratch.set(larger);
        });
    }
}

/// The capacity for the thread's next in-place result, after one of `len` bytes written
/// in place into `in_place` bytes of capacity (or in the scratch, for `None`): the same as
/// before while the results fit it closely (so that its heap block is reused), else `len`
/// with room to grow. 0 for a result too small to be worth it.
fn next_direct_capacity(len: usize, in_place: Option<usize>) -> usize {
    match in_place {
        _ if len < DIRECT_MIN => 0,
        Some(capacity) if len <= capacity && len >= capacity / 2 => capacity,
        _ => (len + len / 8).next_multiple_of(DIRECT_GRANULE),
    }
}

/// A new result object with room for `capacity` bytes, and where they start; `None` (no
/// exception set) when it cannot be allocated.
///
/// # Safety
/// GIL held; `output` writes in place.
unsafe fn new_result(output: Output, capacity: usize) -> Option<(*mut PyObject, *mut u8)> {
    // SAFETY: GIL held; each constructor with a null source leaves the bytes to us.
    unsafe {
        let (object, data) = match output {
            Output::AsciiStr => {
                let object = PyUnicode_New(capacity as Py_ssize_t, 127);
                (object, if object.is_null() { None } else { Some(PyUnicode_DATA(object)) })
            }
            _ => {
                let object = PyBytes_FromStringAndSize(std::ptr::null(), capacity as Py_ssize_t);
                (object, if object.is_null() { None } else { Some(PyBytes_AsString(object).cast()) })
            }
        };
        match data {
            Some(data) => Some((object, data.cast())),
            None => {
                // The scratch path will report an allocation failure if there really is one.
                PyErr_Clear();
                None
            }
        }
    }
}

/// Make `object` (of `capacity` bytes) the result of its first `len`: its length is set in
/// place, or, when most of it is unused, it is shrunk. Returns it, or null with an
/// exception set (the object is then freed).
///
/// # Safety
/// GIL held; `object` came from `new_result(output, capacity)`, nobody else holds it, and
/// its first `len <= capacity` bytes are written (ASCII for a `str`).
unsafe fn end_result(object: *mut PyObject, output: Output, len: usize, capacity: usize) -> *mut PyObject {
    let mut object = object;
    // SAFETY: per the caller. A fresh object has no cached hash or other derived state, so
    // setting a smaller length and its terminating NUL makes it a valid object of that
    // length; the allocator frees blocks without their size, so the unused tail is freed
    // with them. The resize functions may move the object and update the pointer.
    unsafe {
        if len < capacity / 2 {
            let failed = match output {
                Output::AsciiStr => PyUnicode_Resize(&mut object, len as Py_ssize_t),
                _ => _PyBytes_Resize(&mut object, len as Py_ssize_t),
            };
            return if failed == 0 { object } else { std::ptr::null_mut() };
        }
        let data: *mut u8 = match output {
            Output::AsciiStr => {
                (*object.cast::<PyASCIIObject>()).length = len as Py_ssize_t;
                PyUnicode_DATA(object).cast()
            }
            _ => {
                (*object.cast::<PyVarObject>()).ob_size = len as Py_ssize_t;
                PyBytes_AsString(object).cast()
            }
        };
        data.add(len).write(0);
        object
    }
}

/// A `str` of the ASCII `bytes`, or null with an exception set.
///
/// # Safety
/// GIL held; `bytes` is ASCII.
unsafe fn ascii_str(bytes: &[u8]) -> *mut PyObject {
    // SAFETY: forwarded; 127 makes a compact ASCII str, as CPython requires for this text.
    unsafe { str_of_bytes(bytes, 127) }
}

/// A `str` whose characters are the bytes (Latin-1), or null with an exception set.
///
/// # Safety
/// GIL held; some byte is above 0x7F (so that a one-byte non-ASCII str is canonical).
unsafe fn latin1_str(bytes: &[u8]) -> *mut PyObject {
    // SAFETY: forwarded.
    unsafe { str_of_bytes(bytes, 255) }
}

/// # Safety
/// GIL held; `maxchar` (127 or 255) is the narrowest bound of the bytes' characters.
unsafe fn str_of_bytes(bytes: &[u8], maxchar: Py_UCS4) -> *mut PyObject {
    // SAFETY: a one-byte-kind str with room for `bytes.len()` characters, all written.
    unsafe {
        let text = PyUnicode_New(bytes.len() as Py_ssize_t, maxchar);
        if !text.is_null() {
            let data = PyUnicode_DATA(text) as *mut u8;
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
        }
        text
    }
}

/// Longest run `extend` copies inline.
const SMALL: usize = 32;

/// Copy up to `SMALL` bytes with at most two overlapping loads and stores of one width,
/// reading and writing only inside `src` and `dst[..src.len()]`.
///
/// # Safety
/// `dst` is valid for `src.len()` writes and does not overlap `src`.
#[inline(always)]
unsafe fn copy_small(src: &[u8], dst: *mut u8) {
    let n = src.len();
    let s = src.as_ptr();
    // SAFETY: each pair of accesses covers [0, w) and [n - w, n) with w <= n, so every
    // load is inside `src` and every store inside `dst[..n]`.
    unsafe {
        if n >= 16 {
            let head = (s as *const u128).read_unaligned();
            let tail = (s.add(n - 16) as *const u128).read_unaligned();
            (dst as *mut u128).write_unaligned(head);
            (dst.add(n - 16) as *mut u128).write_unaligned(tail);
        } else if n >= 8 {
            let head = (s as *const u64).read_unaligned();
            let tail = (s.add(n - 8) as *const u64).read_unaligned();
            (dst as *mut u64).write_unaligned(head);
            (dst.add(n - 8) as *mut u64).write_unaligned(tail);
        } else if n >= 4 {
            let head = (s as *const u32).read_unaligned();
            let tail = (s.add(n - 4) as *const u32).read_unaligned();
            (dst as *mut u32).write_unaligned(head);
            (dst.add(n - 4) as *mut u32).write_unaligned(tail);
        } else if n >= 2 {
            let head = (s as *const u16).read_unaligned();
            let tail = (s.add(n - 2) as *const u16).read_unaligned();
            (dst as *mut u16).write_unaligned(head);
            (dst.add(n - 2) as *mut u16).write_unaligned(tail);
        } else if n == 1 {
            dst.write(*s);
        }
    }
}

