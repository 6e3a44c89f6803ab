//! The `str` result of `dumps(ensure_ascii=False)`, written in code units rather than UTF-8.
//!
//! The byte buffer holds every character up to U+00FF as one byte (structure, numbers,
//! ASCII and Latin-1 strings: a Latin-1 string is escaped byte for byte, at memory speed).
//! A UCS-2 or UCS-4 string is escaped in its own width into a side vector and remembered as
//! a [`WidePart`] at its place in the byte buffer. `finish` then builds the `str` once, in
//! the narrowest kind that holds every character: a memcpy when nothing was wider than a
//! byte, else the byte runs widened and the wide parts copied between them.
//!
//! (Writing UTF-8 and decoding it at the end, the obvious way, spent 60% of `dumps` in
//! CPython's UTF-8 decoder on non-ASCII text, and transcoded every character twice.)

use pyo3_ffi::*;
use rjson_simd::{escaped_bound, Kernel, SLACK};

/// Where a wide string's escaped units go: before byte `at` of the byte buffer.
#[derive(Clone, Copy)]
struct WidePart {
    at: usize,
    /// Its units are `ucs2[start..end]` or `ucs4[start..end]`.
    start: usize,
    end: usize,
    ucs4: bool,
}

/// The escaped UCS-2 and UCS-4 strings of a text result, in order.
#[derive(Default)]
pub struct WideParts {
    ucs2: Vec<u16>,
    ucs4: Vec<u32>,
    parts: Vec<WidePart>,
}

/// A code-unit width the kernels escape in place: `u16` or `u32`.
trait WideUnit: Copy + Into<u32> + 'static {
    const UCS4: bool;
    fn units(parts: &mut WideParts) -> &mut Vec<Self>;
    /// # Safety
    /// As `Kernel::escape_u16` / `escape_u32`.
    unsafe fn escape<K: Kernel>(src: &[Self], dst: *mut Self) -> usize;
}

impl WideUnit for u16 {
    const UCS4: bool = false;
    fn units(parts: &mut WideParts) -> &mut Vec<u16> {
        &mut parts.ucs2
    }
    #[inline(always)]
    unsafe fn escape<K: Kernel>(src: &[u16], dst: *mut u16) -> usize {
        // SAFETY: forwarded contract.
        unsafe { K::escape_u16(src, dst) }
    }
}

impl WideUnit for u32 {
    const UCS4: bool = true;
    fn units(parts: &mut WideParts) -> &mut Vec<u32> {
        &mut parts.ucs4
    }
    #[inline(always)]
    unsafe fn escape<K: Kernel>(src: &[u32], dst: *mut u32) -> usize {
        // SAFETY: forwarded contract.
        unsafe { K::escape_u32(src, dst) }
    }
}

impl WideParts {
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Escape a UCS-2 string's body, to go before byte `at`.
    pub fn push_ucs2<K: Kernel>(&mut self, at: usize, units: &[u16]) {
        self.push::<K, u16>(at, units);
    }

    /// Escape a UCS-4 string's body, to go before byte `at`.
    pub fn push_ucs4<K: Kernel>(&mut self, at: usize, units: &[u32]) {
        self.push::<K, u32>(at, units);
    }

    #[inline(always)]
    fn push<K: Kernel, U: WideUnit>(&mut self, at: usize, units: &[U]) {
        let vec = U::units(self);
        let start = vec.len();
        vec.reserve(escaped_bound(units.len()) + SLACK);
        // SAFETY: the spare capacity holds the kernel's bound plus its slack; the kernel
        // initialises the `written` units it reports, which are then within capacity.
        unsafe {
            let written = U::escape::<K>(units, vec.as_mut_ptr().add(start));
            vec.set_len(start + written);
        }
        let end = vec.len();
        self.parts.push(WidePart { at, start, end, ucs4: U::UCS4 });
    }

    /// The `str` of `bytes` (characters up to U+00FF, one per byte) with the parts put in
    /// their places; null with an exception set on failure. Only for a non-empty `self`.
    ///
    /// # Safety
    /// GIL held; every part's `at` is within `bytes` and the parts are in order.
    pub unsafe fn build_str(&self, bytes: &[u8]) -> *mut PyObject {
        // The parts tile the two vectors, and no wide string is empty (an empty `str` is
        // ASCII): their lengths give the total and whether any part is UCS-4.
        let wide = self.ucs2.len() + self.ucs4.len();
        let ucs4 = !self.ucs4.is_empty();
        // A UCS-2 (UCS-4) string holds a character above U+00FF (U+FFFF), so this is the
        // narrowest kind for the whole text, as CPython requires of a `str`.
        let maxchar = if ucs4 { 0x10FFFF } else { 0xFFFF };
        // SAFETY: GIL held.
        let text = unsafe { PyUnicode_New((bytes.len() + wide) as Py_ssize_t, maxchar) };
        if text.is_null() {
            return text;
        }
        // SAFETY: a new compact str of the kind `maxchar` gives, with room for exactly the
        // units the stitch writes.
        unsafe {
            let data = PyUnicode_DATA(text);
            if ucs4 {
                self.stitch(bytes, data.cast::<u32>());
            } else {
                self.stitch(bytes, data.cast::<u16>());
            }
        }
        text
    }

    /// Write the byte runs widened and the parts copied, in order, to `dst`.
    ///
    /// # Safety
    /// `dst` is valid for `bytes.len()` plus all parts' units of writes; no part is UCS-4
    /// unless `T` is `u32`.
    unsafe fn stitch<T: TextUnit>(&self, bytes: &[u8], dst: *mut T) {
        let mut out = dst;
        let mut from = 0;
        for part in &self.parts {
            // SAFETY: (all calls) the caller's bound covers every unit written.
            unsafe {
                out = copy_converted(&bytes[from..part.at], out, T::from);
                out = if part.ucs4 {
                    copy_converted(&self.ucs4[part.start..part.end], out, T::from_ucs4)
                } else {
                    copy_converted(&self.ucs2[part.start..part.end], out, T::from)
                };
            }
            from = part.at;
        }
        // SAFETY: as above.
        unsafe { copy_converted(&bytes[from..], out, T::from) };
    }
}

/// A unit of the result's storage: `u16` (UCS-2) or `u32` (UCS-4).
trait TextUnit: Copy + From<u8> + From<u16> {
    /// Only called for `u32`: UCS-4 parts make the result UCS-4.
    fn from_ucs4(unit: u32) -> Self;
}

impl TextUnit for u16 {
    fn from_ucs4(unit: u32) -> u16 {
        debug_assert!(false, "a UCS-4 part in a UCS-2 result");
        unit as u16
    }
}

impl TextUnit for u32 {
    fn from_ucs4(unit: u32) -> u32 {
        unit
    }
}

/// Copy `src` to `dst`, each unit converted by `convert`; returns the end of what was
/// written. (A plain loop: the compiler vectorises it, and makes it a memcpy for equal
/// widths.)
///
/// # Safety
/// `dst` is valid for `src.len()` writes.
#[inline(always)]
unsafe fn copy_converted<S: Copy, T>(src: &[S], dst: *mut T, convert: impl Fn(S) -> T) -> *mut T {
    for (i, &s) in src.iter().enumerate() {
        // SAFETY: `i < src.len()`, and `dst[..src.len()]` is valid for writes (it may be
        // uninitialised, hence raw writes rather than a slice).
        unsafe { dst.add(i).write(convert(s)) };
    }
    // SAFETY: within the caller's bound.
    unsafe { dst.add(src.len()) }
}
