//! What the parser reads: UTF-8 bytes, or a `str`'s own storage (one, two or four bytes
//! a character). Each source knows how to find the end of a string body and how to make
//! the final `str` of a body with one copy.

use pyo3_ffi::*;
use rjson_simd::Kernel;

use super::cache::{new_ascii, MAX_CACHED_LEN};
use super::number::digit_run_u8;
use super::utf8::{self, Unit};

/// Why making a string failed.
pub enum StrError {
    /// Bytes that `bytes.decode` rejects.
    Utf8,
    /// A Python exception is set.
    Python,
}

pub trait Source: 'static {
    type Unit: Copy + Eq + Into<u32> + 'static;

    /// Index in `src` of the first `"`, `\` or character below U+0020, or `src.len()`.
    fn find_special<K: Kernel>(src: &[Self::Unit]) -> usize;

    /// A new `str` of a string body without escapes or specials.
    ///
    /// # Safety
    /// GIL held.
    unsafe fn plain_str<K: Kernel>(body: &[Self::Unit]) -> Result<*mut PyObject, StrError>;

    /// Append the characters of a run of a string body to `out`; the largest of them (or,
    /// when they are all ASCII, any value below 0x80: the kind is the same).
    fn push_chars(run: &[Self::Unit], out: &mut Vec<u32>) -> Result<u32, StrError>;

    /// Append `run`, a run of a string body free of specials, to `out` when all its
    /// characters are ASCII, and say whether they were (nothing appended when not).
    #[inline(always)]
    fn push_ascii<K: Kernel>(run: &[Self::Unit], out: &mut Vec<u8>) -> bool {
        if !run.iter().all(|&u| u.into() < 0x80) {
            return false;
        }
        out.extend(run.iter().map(|&u| u.into() as u8));
        true
    }

    /// Append to `out` the characters of the string body at `src[i..]` up to its first
    /// special or non-ASCII unit, and return that unit's index (`src.len()` if none).
    #[inline(always)]
    fn ascii_run<K: Kernel>(src: &[Self::Unit], i: usize, out: &mut Vec<u8>) -> usize {
        ascii_units(src, i, out)
    }

    /// The body as bytes, when it is a short ASCII one that the caches can hold.
    fn cacheable(body: &[Self::Unit]) -> Option<&[u8]>;

    /// The length of the string body at `src[start..]` when it is short, ASCII and free
    /// of escapes and control characters (its closing quote comes first), told inline
    /// without a kernel call, with its first eight bytes (zero-padded); `None` when it is
    /// not or cannot tell.
    #[inline(always)]
    fn short_ascii(_src: &[Self::Unit], _start: usize) -> Option<(usize, u64)> {
        None
    }

    /// The index of the first non-whitespace unit at or after `i`, where `src[i]` is
    /// whitespace.
    #[inline(always)]
    fn skip_whitespace(src: &[Self::Unit], mut i: usize) -> usize {
        while let Some(&u) = src.get(i) {
            match u.into() {
                0x20 | 0x0A | 0x0D | 0x09 => i += 1,
                _ => break,
            }
        }
        i
    }

    /// The text of a number span (ASCII) as bytes.
    fn ascii(span: &[Self::Unit]) -> std::borrow::Cow<'_, [u8]>;

    /// The run of digits at `src[i..]`: the index after it and `acc * 10^n + digits`
    /// (wrapping).
    #[inline(always)]
    fn digit_run(src: &[Self::Unit], mut i: usize, mut acc: u64) -> (usize, u64) {
        while let Some(&u) = src.get(i) {
            let d = u.into().wrapping_sub(b'0' as u32);
            if d >= 10 {
                break;
            }
            acc = acc.wrapping_mul(10).wrapping_add(d as u64);
            i += 1;
        }
        (i, acc)
    }
}

/// UTF-8 bytes (`bytes`, `bytearray`, `memoryview` input).
pub struct Utf8;
/// A `str` stored one byte a character (ASCII or Latin-1).
pub struct Latin1;
/// A `str` stored two bytes a character.
pub struct Ucs2;
/// A `str` stored four bytes a character.
pub struct Ucs4;

#[inline(always)]
fn is_special(unit: u32) -> bool {
    unit < 0x20 || unit == b'"' as u32 || unit == b'\\' as u32
}

/// Flags (high bit of each byte) on every `"`, `\\`, control and non-ASCII byte of `word`;
/// exact up to and including the first flagged byte (borrows only disturb later bytes).
#[inline(always)]
fn special_or_wide(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * b'"' as u64);
    let backslash = word ^ (ONES * b'\\' as u64);
    let quote_zero = quote.wrapping_sub(ONES) & !quote;
    let backslash_zero = backslash.wrapping_sub(ONES) & !backslash;
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (quote_zero | backslash_zero | control | word) & HIGH
}

/// Words `Source::short_ascii` reads before leaving a body to the kernels.
const SHORT_WORDS: usize = 2;

/// `Source::short_ascii` over bytes: up to `SHORT_WORDS` words, a word at a time.
#[inline(always)]
fn short_ascii_u8(src: &[u8], start: usize) -> Option<(usize, u64)> {
    let first = u64::from_le_bytes(src.get(start..start + 8)?.try_into().unwrap());
    let flags = special_or_wide(first);
    if flags != 0 {
        let n = (flags.trailing_zeros() / 8) as usize;
        // n < 8: keep the body's n bytes.
        return (src[start + n] == b'"').then_some((n, first & ((1u64 << (8 * n)) - 1)));
    }
    let mut i = start + 8;
    for _ in 1..SHORT_WORDS {
        let word = u64::from_le_bytes(src.get(i..i + 8)?.try_into().unwrap());
        let flags = special_or_wide(word);
        if flags != 0 {
            let end = i + (flags.trailing_zeros() / 8) as usize;
            return (src[end] == b'"').then_some((end - start, first));
        }
        i += 8;
    }
    None
}

/// Eight whitespace flags (high bit of each byte) for `word`, exact for every byte.
#[inline(always)]
fn whitespace_flags(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let equal = |byte: u8| {
        let t = word ^ (ONES * byte as u64);
        !(((t & LOW) + LOW) | t) & !LOW
    };
    equal(b' ') | equal(b'\n') | equal(b'\r') | equal(b'\t')
}

/// `Source::skip_whitespace` over bytes: indentation runs a word at a time.
#[inline(always)]
fn skip_whitespace_u8(src: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = src.get(i..i + 8) {
        let other = !whitespace_flags(u64::from_le_bytes(chunk.try_into().unwrap())) & 0x8080_8080_8080_8080;
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = src.get(i) {
        match b {
            b' ' | b'\n' | b'\r' | b'\t' => i += 1,
            _ => break,
        }
    }
    i
}

/// `Source::ascii_run` one unit at a time.
#[inline(always)]
fn ascii_units<U: Copy + Into<u32>>(src: &[U], mut i: usize, out: &mut Vec<u8>) -> usize {
    while let Some(&u) = src.get(i) {
        let c = u.into();
        if c >= 0x80 || is_special(c) {
            break;
        }
        out.push(c as u8);
        i += 1;
    }
    i
}

/// Words `ascii_run_u8` reads itself before handing a long run to the kernels.
const ASCII_RUN_WORDS: usize = 2;

/// `Source::push_ascii` over bytes.
#[inline(always)]
fn push_ascii_u8<K: Kernel>(run: &[u8], out: &mut Vec<u8>) -> bool {
    if K::max_byte(run) >= 0x80 {
        return false;
    }
    out.extend_from_slice(run);
    true
}

/// `Source::ascii_run` over bytes (UTF-8 or Latin-1, ASCII in both): a word at a time
/// for the short runs between escapes, then the kernels for a long run.
#[inline(always)]
fn ascii_run_u8<K: Kernel>(src: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    for _ in 0..ASCII_RUN_WORDS {
        let Some(chunk) = src.get(i..i + 8) else {
            // Fewer than eight bytes left: one at a time.
            return ascii_units(src, i, out);
        };
        let word = u64::from_le_bytes(chunk.try_into().unwrap());
        let flags = special_or_wide(word);
        out.reserve(8);
        let len = out.len();
        // The whole word is stored, then only the bytes before the first flagged one are
        // kept (the flag of the first is exact).
        let n = if flags == 0 { 8 } else { (flags.trailing_zeros() / 8) as usize };
        // SAFETY: eight bytes are reserved past `len`, and the `n <= 8` kept are written.
        unsafe {
            out.as_mut_ptr().add(len).cast::<u64>().write_unaligned(word.to_le());
            out.set_len(len + n);
        }
        i += n;
        if n < 8 {
            return i;
        }
    }
    let end = i + K::find_string_special(&src[i..]);
    let run = &src[i..end];
    if push_ascii_u8::<K>(run, out) {
        return end;
    }
    let n = run.iter().position(|&b| b >= 0x80).unwrap_or(run.len());
    out.extend_from_slice(&run[..n]);
    i + n
}

fn cacheable(body: &[u8]) -> Option<&[u8]> {
    (body.len() <= MAX_CACHED_LEN && body.is_ascii()).then_some(body)
}

/// A new `str` of `len` characters, the largest `maxchar`, filled by `fill` (which writes
/// units of the matching width and returns how many it wrote).
///
/// # Safety
/// GIL held; `maxchar` is the true largest character, so the kind is canonical.
#[inline(always)]
unsafe fn new_str<T: Unit>(
    len: usize,
    maxchar: u32,
    fill: impl FnOnce(*mut T, usize) -> Option<usize>,
) -> Result<*mut PyObject, StrError> {
    // SAFETY: PyUnicode_New gives room for `len` units of the kind `maxchar` selects,
    // which `T` matches by the callers' choice.
    unsafe {
        let s = PyUnicode_New(len as Py_ssize_t, maxchar);
        if s.is_null() {
            return Err(StrError::Python);
        }
        match fill(PyUnicode_DATA(s) as *mut T, len) {
            Some(written) if written == len => Ok(s),
            _ => {
                Py_DECREF(s);
                Err(StrError::Utf8)
            }
        }
    }
}

/// A `str` of characters given as units of any width, narrowed to the kind `maxchar`
/// selects.
///
/// # Safety
/// GIL held; `maxchar` is the largest of `chars`.
pub unsafe fn str_from_chars<C: Copy + Into<u32>>(
    chars: &[C],
    maxchar: u32,
) -> Result<*mut PyObject, StrError> {
    fn narrow<C: Copy + Into<u32>, T: Unit>(chars: &[C]) -> impl FnOnce(*mut T, usize) -> Option<usize> + '_ {
        move |dst, len| {
            for (i, &c) in chars.iter().enumerate().take(len) {
                // SAFETY: i < len, the room of the new string.
                unsafe { *dst.add(i) = T::from_char(c.into()) };
            }
            Some(chars.len())
        }
    }
    // SAFETY: the unit type matches the kind of `maxchar`.
    unsafe {
        match maxchar {
            0..=0xFF => new_str::<u8>(chars.len(), maxchar, narrow(chars)),
            0x100..=0xFFFF => new_str::<u16>(chars.len(), maxchar, narrow(chars)),
            _ => new_str::<u32>(chars.len(), maxchar, narrow(chars)),
        }
    }
}

impl Source for Utf8 {
    type Unit = u8;

    #[inline(always)]
    fn short_ascii(src: &[u8], start: usize) -> Option<(usize, u64)> {
        short_ascii_u8(src, start)
    }

    #[inline(always)]
    fn skip_whitespace(src: &[u8], i: usize) -> usize {
        skip_whitespace_u8(src, i)
    }

    #[inline(always)]
    fn digit_run(src: &[u8], i: usize, acc: u64) -> (usize, u64) {
        digit_run_u8(src, i, acc)
    }

    #[inline(always)]
    fn find_special<K: Kernel>(src: &[u8]) -> usize {
        K::find_string_special(src)
    }

    #[inline(always)]
    unsafe fn plain_str<K: Kernel>(body: &[u8]) -> Result<*mut PyObject, StrError> {
        let max = K::max_byte(body);
        if max < 0x80 {
            // SAFETY: ASCII.
            let s = unsafe { new_ascii(body) };
            return if s.is_null() { Err(StrError::Python) } else { Ok(s) };
        }
        // SAFETY: forwarded.
        unsafe { utf8_str::<K>(body, max) }
    }

    fn push_chars(run: &[u8], out: &mut Vec<u32>) -> Result<u32, StrError> {
        utf8::push_chars(run, out).ok_or(StrError::Utf8)
    }

    #[inline(always)]
    fn push_ascii<K: Kernel>(run: &[u8], out: &mut Vec<u8>) -> bool {
        push_ascii_u8::<K>(run, out)
    }

    #[inline(always)]
    fn ascii_run<K: Kernel>(src: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
        ascii_run_u8::<K>(src, i, out)
    }

    #[inline(always)]
    fn cacheable(body: &[u8]) -> Option<&[u8]> {
        cacheable(body)
    }

    fn ascii(span: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(span)
    }
}

/// A `str` of non-ASCII UTF-8 whose largest byte is `max`. That byte tells the kind
/// exactly (for valid input): a lead byte up to C3 starts characters up to U+00FF, up to
/// EF characters up to U+FFFF (from U+0100 on for C4 and above), F0 and above astral ones.
///
/// # Safety
/// GIL held; the CPU has `K`'s features.
#[inline(never)]
unsafe fn utf8_str<K: Kernel>(body: &[u8], max: u8) -> Result<*mut PyObject, StrError> {
    let len = K::utf8_char_count(body);
    // SAFETY: each unit type matches the kind its maxchar selects, the decoders write at
    // most `len` units, and the caller vouches for `K`'s CPU features.
    unsafe {
        match max {
            0x80..=0xC3 => new_str::<u8>(len, 0xFF, |dst, cap| utf8::decode_latin1_into(body, dst, cap)),
            0xC4..=0xEF => new_str::<u16>(len, 0xFFFF, |dst, cap| {
                // CJK text (starting with two blocks of three-byte characters) through the
                // kernel; the rest, unchanged, through the general loop.
                if utf8::bmp3_block_at(body, 0) {
                    utf8::decode_bmp_into::<K>(body, dst, cap)
                } else {
                    utf8::decode_into(body, dst, cap)
                }
            }),
            _ => new_str::<u32>(len, 0x10FFFF, |dst, cap| utf8::decode_wide_into::<K>(body, dst, cap)),
        }
    }
}

impl Source for Latin1 {
    type Unit = u8;

    #[inline(always)]
    fn short_ascii(src: &[u8], start: usize) -> Option<(usize, u64)> {
        short_ascii_u8(src, start)
    }

    #[inline(always)]
    fn skip_whitespace(src: &[u8], i: usize) -> usize {
        skip_whitespace_u8(src, i)
    }

    #[inline(always)]
    fn digit_run(src: &[u8], i: usize, acc: u64) -> (usize, u64) {
        digit_run_u8(src, i, acc)
    }

    #[inline(always)]
    fn find_special<K: Kernel>(src: &[u8]) -> usize {
        K::find_string_special(src)
    }

    #[inline(always)]
    unsafe fn plain_str<K: Kernel>(body: &[u8]) -> Result<*mut PyObject, StrError> {
        let max = K::max_byte(body) as u32;
        // SAFETY: one-byte units for a one-byte kind.
        unsafe {
            new_str::<u8>(body.len(), max, |dst, len| {
                std::ptr::copy_nonoverlapping(body.as_ptr(), dst, len);
                Some(len)
            })
        }
    }

    fn push_chars(run: &[u8], out: &mut Vec<u32>) -> Result<u32, StrError> {
        out.extend(run.iter().map(|&b| b as u32));
        Ok(run.iter().copied().max().unwrap_or(0) as u32)
    }

    #[inline(always)]
    fn push_ascii<K: Kernel>(run: &[u8], out: &mut Vec<u8>) -> bool {
        push_ascii_u8::<K>(run, out)
    }

    #[inline(always)]
    fn ascii_run<K: Kernel>(src: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
        ascii_run_u8::<K>(src, i, out)
    }

    #[inline(always)]
    fn cacheable(body: &[u8]) -> Option<&[u8]> {
        cacheable(body)
    }

    fn ascii(span: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(span)
    }
}

/// `Source` for the wide kinds: every unit is a character; a body's string takes the
/// narrowest kind its largest character allows.
macro_rules! wide_source {
    ($name:ident, $unit:ty, $narrower_max:expr) => {
        impl Source for $name {
            type Unit = $unit;

            fn find_special<K: Kernel>(src: &[$unit]) -> usize {
                src.iter().position(|&u| is_special(u as u32)).unwrap_or(src.len())
            }

            unsafe fn plain_str<K: Kernel>(body: &[$unit]) -> Result<*mut PyObject, StrError> {
                let max = body.iter().copied().max().unwrap_or(0) as u32;
                if max > $narrower_max {
                    // The source's own kind: a plain copy.
                    // SAFETY: units of this kind for this kind.
                    return unsafe {
                        new_str::<$unit>(body.len(), max, |dst, len| {
                            std::ptr::copy_nonoverlapping(body.as_ptr(), dst, len);
                            Some(len)
                        })
                    };
                }
                // SAFETY: `max` is the largest character.
                unsafe { str_from_chars(body, max) }
            }

            fn push_chars(run: &[$unit], out: &mut Vec<u32>) -> Result<u32, StrError> {
                out.extend(run.iter().map(|&u| u as u32));
                Ok(run.iter().copied().max().unwrap_or(0) as u32)
            }

            fn cacheable(_body: &[$unit]) -> Option<&[u8]> {
                None
            }

            fn ascii(span: &[$unit]) -> std::borrow::Cow<'_, [u8]> {
                std::borrow::Cow::Owned(span.iter().map(|&u| u as u8).collect())
            }
        }
    };
}

wide_source!(Ucs2, u16, 0xFF);
wide_source!(Ucs4, u32, 0xFFFF);
