//! The output buffer.
//!
//! Output is assembled in a scratch buffer that a thread reuses from call to call (no
//! allocation, cache-hot pages) and copied once, at the end, into an exactly sized `bytes`
//! or `str`.
//!
//! Writing straight into a growing result object was tried and measured slower: its
//! growth and final shrink make glibc serve every large result with a fresh `mmap`
//! (page faults on each call), while an exactly sized block of a size seen before comes
//! from the heap. The final copy runs at memory speed.

use std::cell::Cell;

use pyo3_ffi::*;
use rjson_simd::SLACK;

use super::text::WideParts;

/// A thread keeps a scratch buffer up to this capacity for its next call; a larger one
/// (a result of many megabytes) is freed after use.
const KEEP_CAPACITY: usize = 8 << 20;
const INITIAL_CAPACITY: usize = 4096;

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
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

pub struct Buffer {
    /// The storage: bytes written from `start` up to `cursor`, room up to `end`. `scratch`
    /// owns it (its own length stays 0; we track ours here so that writes need no bounds
    /// bookkeeping). A write stores at `cursor` and moves it: one register, no index.
    start: *mut u8,
    cursor: *mut u8,
    end: *mut u8,
    scratch: Vec<u8>,
    output: Output,
    /// Whether a byte above 0x7F was written (else a `Text` or `Utf8Text` result is ASCII).
    pub non_ascii: bool,
    /// The UCS-2 and UCS-4 strings of a `Text` result.
    pub wide: WideParts,
}

impl Buffer {
    /// A buffer on the thread's scratch storage, or on a new one when a nested call (from a
    /// `default=` callback) already holds it.
    pub fn new(output: Output) -> Buffer {
        let mut scratch = SCRATCH.with(Cell::take);
        if scratch.capacity() == 0 {
            scratch.reserve(INITIAL_CAPACITY);
        }
        let start = scratch.as_mut_ptr();
        Buffer {
            start,
            cursor: start,
            // SAFETY: one past the end of the vector's allocation.
            end: unsafe { start.add(scratch.capacity()) },
            scratch,
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
        if (self.end as usize) - (self.cursor as usize) < additional {
            self.grow(additional);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, additional: usize) {
        let len = self.len();
        // SAFETY: the vector's first `len` bytes are ours and initialised; it is left empty
        // again, with the three pointers moved onto its (maybe moved) storage.
        unsafe {
            self.scratch.set_len(len);
            self.scratch.reserve(additional);
            self.scratch.set_len(0);
            self.start = self.scratch.as_mut_ptr();
            self.cursor = self.start.add(len);
            self.end = self.start.add(self.scratch.capacity());
        }
    }

    /// The current length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.cursor as usize - self.start as usize
    }

    /// The result object, or null with an exception set.
    pub fn finish(self) -> *mut PyObject {
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

    /// Write `"`, the escaped body produced by `kernel`, and `"`; the kernel may write up to
    /// `bound` bytes (plus the kernels' `SLACK`).
    #[inline(always)]
    pub fn quoted<E>(
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
    /// The storage goes back to the thread for its next call.
    fn drop(&mut self) {
        let mut scratch = std::mem::take(&mut self.scratch);
        if scratch.capacity() > KEEP_CAPACITY {
            return;
        }
        scratch.clear();
        SCRATCH.with(|kept| {
            let previous = kept.take();
            kept.set(if previous.capacity() >= scratch.capacity() { previous } else { scratch });
        });
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

