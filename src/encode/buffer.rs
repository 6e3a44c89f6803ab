//! The output buffer.
//!
//! Output is written once. Small results are assembled in a scratch buffer reused across a
//! thread's calls (cache-hot, no allocation) and copied into their `bytes` or `str` at the
//! end; a result that outgrows the scratch moves into the final object itself, which then
//! grows in place (`realloc`, which for large blocks remaps pages instead of copying).

use std::cell::Cell;

use pyo3_ffi::*;
use rjson_simd::SLACK;

/// Results up to this size are assembled in the scratch buffer; larger ones move into
/// their final object.
const SCRATCH_CAPACITY: usize = 128 << 10;
const INITIAL_CAPACITY: usize = 4096;

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// Length of this thread's last result that outgrew the scratch: a large result is
    /// usually followed by one of similar size, and allocating that much up front avoids
    /// growing (and, for heap blocks, copying) the object several times.
    static LAST_LARGE_LEN: Cell<usize> = const { Cell::new(0) };
}

extern "C" {
    // Exported by every CPython we support, though outside the limited API.
    fn _PyBytes_Resize(bytes: *mut *mut PyObject, size: Py_ssize_t) -> std::ffi::c_int;
}

/// The object a call returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Bytes,
    /// A `str` known to be ASCII (`ensure_ascii` with ASCII separators and indent).
    AsciiStr,
    /// A `str` that may hold anything: written as (surrogatepass) UTF-8, decoded at the end.
    Text,
}

/// Where the bytes live.
enum Store {
    Scratch(Vec<u8>),
    /// A `bytes` (for `Bytes` and `Text` output) or ASCII `str` (for `AsciiStr`) that we
    /// own, written in place and resized to the final length by `finish`.
    Object(*mut PyObject),
}

pub struct Buffer {
    /// Start of the storage: `len` bytes written, `cap` available.
    ptr: *mut u8,
    len: usize,
    cap: usize,
    store: Store,
    output: Output,
    /// Whether anything but ASCII was written (then a `Text` result must be decoded).
    pub non_ascii: bool,
}

impl Buffer {
    /// A buffer on the thread's scratch storage, or on a new one when a nested call (from a
    /// `default=` callback) already holds it.
    pub fn new(output: Output) -> Buffer {
        let mut scratch = SCRATCH.with(Cell::take);
        if scratch.capacity() == 0 {
            scratch.reserve(INITIAL_CAPACITY);
        }
        Buffer {
            ptr: scratch.as_mut_ptr(),
            len: 0,
            cap: scratch.capacity(),
            store: Store::Scratch(scratch),
            output,
            non_ascii: false,
        }
    }

    #[inline(always)]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr[..len]` is initialised storage we own.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// Make room for `additional` more bytes.
    #[inline(always)]
    pub fn reserve(&mut self, additional: usize) {
        if self.cap - self.len < additional {
            self.grow(additional);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, additional: usize) {
        let wanted = (self.len + additional).max(self.cap * 2);
        match &mut self.store {
            Store::Scratch(scratch) if wanted <= SCRATCH_CAPACITY => {
                // SAFETY: the vector's first `len` bytes are ours and initialised; it is
                // left empty again, with `ptr` pointing at its (maybe moved) storage.
                unsafe {
                    scratch.set_len(self.len);
                    scratch.reserve(wanted - self.len);
                    scratch.set_len(0);
                }
                self.ptr = scratch.as_mut_ptr();
                self.cap = scratch.capacity();
            }
            Store::Scratch(_) => {
                let expected = LAST_LARGE_LEN.with(Cell::get);
                self.move_to_object(wanted.max(expected + expected / 8));
            }
            Store::Object(object) => {
                let mut object = *object;
                // SAFETY: we own the only reference to this object, which nobody has seen.
                unsafe {
                    if resize(&mut object, self.output, wanted) != 0 {
                        // The resize freed the object: nothing is left to write into.
                        self.store = Store::Scratch(Vec::new());
                        out_of_memory();
                    }
                    self.ptr = object_data(object, self.output);
                }
                self.store = Store::Object(object);
                self.cap = wanted;
            }
        }
    }

    /// Leave the scratch buffer for an object of `capacity` bytes holding what is written.
    fn move_to_object(&mut self, capacity: usize) {
        // SAFETY: a fresh object of `capacity` bytes, into which we copy our `len` bytes.
        unsafe {
            let object = match self.output {
                Output::AsciiStr => PyUnicode_New(capacity as Py_ssize_t, 127),
                _ => PyBytes_FromStringAndSize(std::ptr::null(), capacity as Py_ssize_t),
            };
            if object.is_null() {
                out_of_memory();
            }
            let data = object_data(object, self.output);
            std::ptr::copy_nonoverlapping(self.ptr, data, self.len);
            if let Store::Scratch(scratch) = std::mem::replace(&mut self.store, Store::Object(object)) {
                give_back(scratch);
            }
            self.ptr = data;
            self.cap = capacity;
        }
    }

    /// The result object, or null with an exception set.
    pub fn finish(mut self) -> *mut PyObject {
        // A `Text` result with no non-ASCII byte is simply an ASCII `str`.
        let output = if self.output == Output::Text && !self.non_ascii {
            Output::AsciiStr
        } else {
            self.output
        };
        // SAFETY: objects built from our own initialised bytes; a stored object is ours
        // alone and is handed to the caller (or freed by a failed resize).
        unsafe {
            if let Store::Object(object) = self.store {
                LAST_LARGE_LEN.with(|last| last.set(self.len));
                if output == self.output && output != Output::Text {
                    self.store = Store::Scratch(Vec::new());
                    let mut object = object;
                    return if resize(&mut object, output, self.len) == 0 {
                        object
                    } else {
                        std::ptr::null_mut()
                    };
                }
            }
            new_object(self.as_slice(), output)
        }
    }

    #[inline(always)]
    pub fn push(&mut self, byte: u8) {
        self.reserve(1);
        // SAFETY: one byte reserved.
        unsafe { self.ptr.add(self.len).write(byte) };
        self.len += 1;
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
        unsafe { (self.ptr.add(self.len) as *mut [u8; 8]).write_unaligned(*word) };
        self.len += len.min(8);
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
        // SAFETY: `reserve` made `max` bytes of room after `len`; `write` stays within them
        // and initialises what it reports.
        let written = write(unsafe { self.ptr.add(self.len) });
        debug_assert!(written <= max);
        self.len += written;
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
            self.write_with(bound + SLACK + 2, |dst| {
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
    /// The scratch goes back to the thread; an object never handed out is freed.
    fn drop(&mut self) {
        match std::mem::replace(&mut self.store, Store::Scratch(Vec::new())) {
            Store::Scratch(scratch) => give_back(scratch),
            // SAFETY: we own the only reference.
            Store::Object(object) => unsafe { Py_DECREF(object) },
        }
    }
}

/// Keep `scratch` for the thread's next call, unless a larger one is already kept.
fn give_back(mut scratch: Vec<u8>) {
    if scratch.capacity() == 0 || scratch.capacity() > SCRATCH_CAPACITY {
        return;
    }
    scratch.clear();
    SCRATCH.with(|kept| {
        let previous = kept.take();
        kept.set(if previous.capacity() >= scratch.capacity() { previous } else { scratch });
    });
}

/// Resize an output object we own to `len` bytes; non-zero (object freed) on failure.
///
/// # Safety
/// `*object` is a fresh `bytes` (or, for `AsciiStr`, compact ASCII `str`) with one reference.
unsafe fn resize(object: &mut *mut PyObject, output: Output, len: usize) -> std::ffi::c_int {
    // SAFETY: per the caller; both functions may move the object and update the pointer.
    unsafe {
        match output {
            Output::AsciiStr => PyUnicode_Resize(object, len as Py_ssize_t),
            _ => _PyBytes_Resize(object, len as Py_ssize_t),
        }
    }
}

/// Where an output object's bytes start.
///
/// # Safety
/// `object` is a `bytes`, or (for `AsciiStr`) a compact ASCII `str`.
unsafe fn object_data(object: *mut PyObject, output: Output) -> *mut u8 {
    // SAFETY: per the caller.
    unsafe {
        match output {
            Output::AsciiStr => PyUnicode_DATA(object) as *mut u8,
            _ => PyBytes_AsString(object) as *mut u8,
        }
    }
}

/// A new result object holding `bytes`.
///
/// # Safety
/// GIL held. For `AsciiStr`, `bytes` is ASCII; for `Text`, (surrogatepass) UTF-8.
unsafe fn new_object(bytes: &[u8], output: Output) -> *mut PyObject {
    let len = bytes.len() as Py_ssize_t;
    // SAFETY: `PyUnicode_New(len, 127)` has room for `len` ASCII bytes, all of which we
    // write; the other constructors copy from `bytes`.
    unsafe {
        match output {
            Output::Bytes => PyBytes_FromStringAndSize(bytes.as_ptr().cast(), len),
            Output::AsciiStr => {
                let text = PyUnicode_New(len, 127);
                if !text.is_null() {
                    let data = PyUnicode_DATA(text) as *mut u8;
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
                }
                text
            }
            Output::Text => {
                PyUnicode_DecodeUTF8(bytes.as_ptr().cast(), len, c"surrogatepass".as_ptr())
            }
        }
    }
}

/// Growing the output failed. The writer has nowhere left to write and its callers cannot
/// be unwound cheaply mid-value, so this is treated as the allocation failure it is.
#[cold]
fn out_of_memory() -> ! {
    std::alloc::handle_alloc_error(std::alloc::Layout::new::<u8>())
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

