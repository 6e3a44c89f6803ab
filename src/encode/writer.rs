//! The output buffer and the three ways a `str` is written into it.
//!
//! Output is assembled in one byte buffer, reused across calls of a thread, and copied once
//! into the final `bytes` or `str` object (see `mod.rs`). What differs between the targets
//! is only how strings are escaped, which is the `StrMode`:
//!
//! | mode | used for | non-ASCII | lone surrogate |
//! |---|---|---|---|
//! | `AsciiMode` | `ensure_ascii=True` | `\uXXXX` | `\udXXX` |
//! | `Utf8Mode` | `dumps_bytes` | UTF-8 | fails (`UnicodeEncodeError`) |
//! | `TextMode` | `dumps(ensure_ascii=False)` | UTF-8 | kept, as "surrogatepass" UTF-8 |

use std::cell::Cell;

use rjson_simd::{ascii_escaped_bound_u32, escaped_bound, Kernel, Surrogate, SLACK};

use crate::pyffi::StrData;

/// Buffers above this capacity are freed after the call rather than kept for the next.
const KEEP_CAPACITY: usize = 16 << 20;
const INITIAL_CAPACITY: usize = 4096;

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

pub struct Buffer {
    bytes: Vec<u8>,
    /// Whether anything but ASCII was written (then a `str` result must be decoded).
    pub non_ascii: bool,
}

impl Buffer {
    /// The thread's scratch buffer, or a new one when a nested call (from a `default=`
    /// callback) already holds it.
    pub fn take() -> Buffer {
        let mut bytes = SCRATCH.with(Cell::take);
        if bytes.capacity() == 0 {
            bytes.reserve(INITIAL_CAPACITY);
        }
        Buffer {
            bytes,
            non_ascii: false,
        }
    }

    /// Return the storage for the thread's next call.
    pub fn give_back(mut self) {
        if self.bytes.capacity() <= KEEP_CAPACITY {
            self.bytes.clear();
            SCRATCH.with(|scratch| {
                if scratch.take().capacity() < self.bytes.capacity() {
                    scratch.set(std::mem::take(&mut self.bytes));
                }
            });
        }
    }

    #[inline(always)]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    #[inline(always)]
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.non_ascii = false;
    }

    #[inline(always)]
    pub fn push(&mut self, byte: u8) {
        self.bytes.push(byte);
    }

    /// Append `bytes`; inlined without a `memcpy` call when short (separators, numbers,
    /// literals), which is most of what the encoder writes outside strings.
    #[inline(always)]
    pub fn extend(&mut self, bytes: &[u8]) {
        if bytes.len() > SMALL {
            self.bytes.extend_from_slice(bytes);
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
        self.bytes.reserve(max);
        let len = self.bytes.len();
        // SAFETY: `reserve` made `max` bytes of spare capacity after `len`; `write` stays
        // within them and initialises what it reports.
        unsafe {
            let written = write(self.bytes.as_mut_ptr().add(len));
            debug_assert!(written <= max);
            self.bytes.set_len(len + written);
        }
    }

    /// Write `"`, the escaped body produced by `kernel`, and `"`; the kernel may write up to
    /// `bound` bytes (plus the kernels' `SLACK`).
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

/// How a `str` is escaped into the buffer.
pub trait StrMode {
    /// Write `data` as a quoted JSON string. Fails only in `Utf8Mode`, on a lone surrogate.
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate>;
}

pub struct AsciiMode;
pub struct Utf8Mode;
pub struct TextMode;

impl StrMode for AsciiMode {
    #[inline(always)]
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate> {
        // SAFETY (all arms): `quoted` gives each kernel the bound its contract names.
        let never = match data {
            StrData::Ascii(units) | StrData::Ucs1(units) => buf
                .quoted(escaped_bound(units.len()), |dst| unsafe {
                    Ok::<_, ()>(K::ascii_from_u8(units, dst))
                }),
            StrData::Ucs2(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                Ok(K::ascii_from_u16(units, dst))
            }),
            StrData::Ucs4(units) => buf.quoted(ascii_escaped_bound_u32(units.len()), |dst| unsafe {
                Ok(K::ascii_from_u32(units, dst))
            }),
        };
        debug_assert!(never.is_ok());
        Ok(())
    }
}

impl StrMode for Utf8Mode {
    #[inline(always)]
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate> {
        // SAFETY (all arms): `quoted` gives each kernel the bound its contract names.
        match data {
            StrData::Ascii(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                Ok(K::escape_u8(units, dst))
            }),
            StrData::Ucs1(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                Ok(K::latin1_to_utf8(units, dst))
            }),
            StrData::Ucs2(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                K::ucs2_to_utf8(units, dst)
            }),
            StrData::Ucs4(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                K::ucs4_to_utf8(units, dst)
            }),
        }
    }
}

impl StrMode for TextMode {
    #[inline(always)]
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate> {
        if !matches!(data, StrData::Ascii(_)) {
            buf.non_ascii = true;
        }
        match data {
            StrData::Ucs2(units) => write_text_with_surrogates::<K, u16>(buf, units),
            StrData::Ucs4(units) => write_text_with_surrogates::<K, u32>(buf, units),
            _ => Utf8Mode::write_str::<K>(buf, data),
        }
    }
}

/// Units the UTF-8 transcoders take; lets `TextMode` treat UCS-2 and UCS-4 alike.
trait WideUnit: Copy + Into<u32> {
    /// # Safety
    /// As `Kernel::ucs2_to_utf8` / `ucs4_to_utf8`.
    unsafe fn to_utf8<K: Kernel>(src: &[Self], dst: *mut u8) -> Result<usize, Surrogate>;
}

impl WideUnit for u16 {
    #[inline(always)]
    unsafe fn to_utf8<K: Kernel>(src: &[u16], dst: *mut u8) -> Result<usize, Surrogate> {
        // SAFETY: forwarded contract.
        unsafe { K::ucs2_to_utf8(src, dst) }
    }
}

impl WideUnit for u32 {
    #[inline(always)]
    unsafe fn to_utf8<K: Kernel>(src: &[u32], dst: *mut u8) -> Result<usize, Surrogate> {
        // SAFETY: forwarded contract.
        unsafe { K::ucs4_to_utf8(src, dst) }
    }
}

/// UTF-8 in which a lone surrogate is written as its three-byte form, as Python's
/// "surrogatepass" error handler writes it, so that decoding gives the same `str` back.
fn write_text_with_surrogates<K: Kernel, U: WideUnit>(
    buf: &mut Buffer,
    units: &[U],
) -> Result<(), Surrogate> {
    buf.push(b'"');
    let mut rest = units;
    loop {
        let mut failed_at = None;
        // SAFETY: the transcoder writes at most `escaped_bound(rest.len()) + SLACK` bytes;
        // on failure we report nothing written and redo the clean prefix below.
        unsafe {
            buf.write_with(escaped_bound(rest.len()) + SLACK, |dst| {
                match U::to_utf8::<K>(rest, dst) {
                    Ok(n) => n,
                    Err(Surrogate { index }) => {
                        failed_at = Some(index);
                        0
                    }
                }
            });
        }
        let Some(index) = failed_at else { break };
        let clean = &rest[..index];
        // SAFETY: `clean` holds no surrogate (the kernel stops at the first), so this
        // cannot fail; the bound is as above.
        unsafe {
            buf.write_with(escaped_bound(clean.len()) + SLACK, |dst| {
                U::to_utf8::<K>(clean, dst).unwrap_or(0)
            });
        }
        let code: u32 = rest[index].into();
        buf.extend(&[
            0xE0 | (code >> 12) as u8,
            0x80 | ((code >> 6) & 0x3F) as u8,
            0x80 | (code & 0x3F) as u8,
        ]);
        rest = &rest[index + 1..];
    }
    buf.push(b'"');
    Ok(())
}
