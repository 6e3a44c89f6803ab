//! The portable reference kernels. Every vector kernel is tested against these, so they
//! favour obviousness over speed: one code unit at a time, through one escape table.

use crate::{Backend, Kernel, Surrogate};

/// What follows the backslash when an ASCII byte must be escaped: the letter of a named
/// escape, `u` for `\u00XX`, or 0 when the byte is copied as it is.
pub static ESCAPE: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut c = 0;
    while c < 0x20 {
        table[c] = b'u';
        c += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A code unit of CPython's string storage: `u8`, `u16` or `u32`.
pub trait Unit: Copy {
    fn code(self) -> u32;
    fn from_ascii(byte: u8) -> Self;
}

impl Unit for u8 {
    #[inline(always)]
    fn code(self) -> u32 {
        self as u32
    }
    #[inline(always)]
    fn from_ascii(byte: u8) -> Self {
        byte
    }
}

impl Unit for u16 {
    #[inline(always)]
    fn code(self) -> u32 {
        self as u32
    }
    #[inline(always)]
    fn from_ascii(byte: u8) -> Self {
        byte as u16
    }
}

impl Unit for u32 {
    #[inline(always)]
    fn code(self) -> u32 {
        self
    }
    #[inline(always)]
    fn from_ascii(byte: u8) -> Self {
        byte as u32
    }
}

/// The escape letter for `code`, or 0 when `json` copies it (with `ensure_ascii=False`).
#[inline(always)]
pub fn escape_letter(code: u32) -> u8 {
    if code < 128 {
        ESCAPE[code as usize]
    } else {
        0
    }
}

/// Write `\uXXXX` for a code point or surrogate `code <= 0xFFFF`.
///
/// # Safety
/// `dst` is valid for 6 writes.
#[inline(always)]
pub unsafe fn write_u_escape<U: Unit>(dst: *mut U, code: u32) -> *mut U {
    let digits = [
        b'\\',
        b'u',
        HEX[(code >> 12) as usize & 15],
        HEX[(code >> 8) as usize & 15],
        HEX[(code >> 4) as usize & 15],
        HEX[code as usize & 15],
    ];
    for (i, d) in digits.iter().enumerate() {
        // SAFETY: the caller provides room for six units.
        unsafe { dst.add(i).write(U::from_ascii(*d)) };
    }
    // SAFETY: as above.
    unsafe { dst.add(6) }
}

/// Write the escape of an ASCII `code` whose letter is `letter` (non-zero).
///
/// # Safety
/// `dst` is valid for 6 writes.
#[inline(always)]
pub unsafe fn write_escape<U: Unit>(dst: *mut U, code: u32, letter: u8) -> *mut U {
    if letter == b'u' {
        // SAFETY: forwarded from the caller.
        unsafe { write_u_escape(dst, code) }
    } else {
        // SAFETY: two of the six units the caller provides.
        unsafe {
            dst.write(U::from_ascii(b'\\'));
            dst.add(1).write(U::from_ascii(letter));
            dst.add(2)
        }
    }
}

/// Escape units into units of the same width (`ensure_ascii=False`, same storage kind).
///
/// # Safety
/// `dst` is valid for `escaped_bound(src.len())` writes.
#[inline(always)]
unsafe fn escape_same_width<U: Unit>(src: &[U], dst: *mut U) -> usize {
    let mut out = dst;
    for &unit in src {
        let letter = escape_letter(unit.code());
        // SAFETY: each unit writes at most six, within the caller's bound.
        unsafe {
            if letter == 0 {
                out.write(unit);
                out = out.add(1);
            } else {
                out = write_escape(out, unit.code(), letter);
            }
        }
    }
    // SAFETY: `out` only moved forward from `dst` within one allocation.
    unsafe { out.offset_from(dst) as usize }
}

/// Escape code points into UTF-8; surrogates fail.
///
/// # Safety
/// `dst` is valid for `escaped_bound(src.len())` writes.
#[inline(always)]
unsafe fn escape_to_utf8<U: Unit>(src: &[U], dst: *mut u8) -> Result<usize, Surrogate> {
    let mut out = dst;
    for (index, &unit) in src.iter().enumerate() {
        let code = unit.code();
        // SAFETY: each code point writes at most six bytes, within the caller's bound.
        unsafe {
            if code < 0x80 {
                let letter = ESCAPE[code as usize];
                if letter == 0 {
                    out.write(code as u8);
                    out = out.add(1);
                } else {
                    out = write_escape(out, code, letter);
                }
            } else if code < 0x800 {
                out.write(0xC0 | (code >> 6) as u8);
                out.add(1).write(0x80 | (code & 0x3F) as u8);
                out = out.add(2);
            } else if (0xD800..0xE000).contains(&code) {
                return Err(Surrogate { index });
            } else if code < 0x10000 {
                out.write(0xE0 | (code >> 12) as u8);
                out.add(1).write(0x80 | ((code >> 6) & 0x3F) as u8);
                out.add(2).write(0x80 | (code & 0x3F) as u8);
                out = out.add(3);
            } else {
                out.write(0xF0 | (code >> 18) as u8);
                out.add(1).write(0x80 | ((code >> 12) & 0x3F) as u8);
                out.add(2).write(0x80 | ((code >> 6) & 0x3F) as u8);
                out.add(3).write(0x80 | (code & 0x3F) as u8);
                out = out.add(4);
            }
        }
    }
    // SAFETY: `out` only moved forward from `dst` within one allocation.
    Ok(unsafe { out.offset_from(dst) as usize })
}

/// `ensure_ascii` escape: printable ASCII copied, all else escaped.
///
/// # Safety
/// `dst` is valid for `escaped_bound` (`ascii_escaped_bound_u32` for `u32`) writes.
#[inline(always)]
unsafe fn escape_to_ascii<U: Unit>(src: &[U], dst: *mut u8) -> usize {
    let mut out = dst;
    for &unit in src {
        let code = unit.code();
        // SAFETY: each code point writes at most twelve bytes (six for those <= U+FFFF),
        // within the caller's bound.
        unsafe {
            if code < 0x7F {
                let letter = ESCAPE[code as usize];
                if letter == 0 {
                    out.write(code as u8);
                    out = out.add(1);
                } else {
                    out = write_escape(out, code, letter);
                }
            } else if code < 0x10000 {
                out = write_u_escape(out, code);
            } else {
                let offset = code - 0x10000;
                out = write_u_escape(out, 0xD800 | (offset >> 10));
                out = write_u_escape(out, 0xDC00 | (offset & 0x3FF));
            }
        }
    }
    // SAFETY: `out` only moved forward from `dst` within one allocation.
    unsafe { out.offset_from(dst) as usize }
}

/// The reference backend: no vector instructions.
#[derive(Clone, Copy, Default, Debug)]
pub struct Scalar;

impl Kernel for Scalar {
    const BACKEND: Backend = Backend::Scalar;

    unsafe fn escape_u8(src: &[u8], dst: *mut u8) -> usize {
        // SAFETY: forwarded contract.
        unsafe { escape_same_width(src, dst) }
    }

    unsafe fn escape_u16(src: &[u16], dst: *mut u16) -> usize {
        // SAFETY: forwarded contract.
        unsafe { escape_same_width(src, dst) }
    }

    unsafe fn escape_u32(src: &[u32], dst: *mut u32) -> usize {
        // SAFETY: forwarded contract.
        unsafe { escape_same_width(src, dst) }
    }

    unsafe fn latin1_to_utf8(src: &[u8], dst: *mut u8) -> usize {
        // SAFETY: forwarded contract; Latin-1 has no surrogates, so this cannot fail.
        unsafe { escape_to_utf8(src, dst).unwrap_or(0) }
    }

    unsafe fn ucs2_to_utf8(src: &[u16], dst: *mut u8) -> Result<usize, Surrogate> {
        // SAFETY: forwarded contract.
        unsafe { escape_to_utf8(src, dst) }
    }

    unsafe fn ucs4_to_utf8(src: &[u32], dst: *mut u8) -> Result<usize, Surrogate> {
        // SAFETY: forwarded contract.
        unsafe { escape_to_utf8(src, dst) }
    }

    unsafe fn ascii_from_u8(src: &[u8], dst: *mut u8) -> usize {
        // SAFETY: forwarded contract.
        unsafe { escape_to_ascii(src, dst) }
    }

    unsafe fn ascii_from_u16(src: &[u16], dst: *mut u8) -> usize {
        // SAFETY: forwarded contract.
        unsafe { escape_to_ascii(src, dst) }
    }

    unsafe fn ascii_from_u32(src: &[u32], dst: *mut u8) -> usize {
        // SAFETY: forwarded contract.
        unsafe { escape_to_ascii(src, dst) }
    }

    fn find_string_special(src: &[u8]) -> usize {
        src.iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
            .unwrap_or(src.len())
    }

    fn max_byte(src: &[u8]) -> u8 {
        src.iter().copied().max().unwrap_or(0)
    }
}

/// The number of characters in UTF-8 text: its bytes that are not continuation bytes
/// (80..BF). Eight bytes at a time: each byte's "not a continuation" bit (`!b7 | b6`)
/// summed in byte lanes, which are folded before they can overflow.
pub fn utf8_char_count(src: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const PAIRS: u64 = 0x00FF_00FF_00FF_00FF;
    let mut count = 0;
    let mut words = src.chunks_exact(8);
    loop {
        // At most 255 words into the byte lanes, each adding 0 or 1 to each.
        let mut lanes = 0u64;
        let mut taken = 0;
        for word in words.by_ref().take(255) {
            let w = u64::from_le_bytes(word.try_into().unwrap());
            lanes += ((!w >> 7) | (w >> 6)) & ONES;
            taken += 1;
        }
        let pairs = (lanes & PAIRS) + (lanes >> 8 & PAIRS);
        count += (pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48) as usize;
        if taken < 255 {
            break;
        }
    }
    count + words.remainder().iter().filter(|&&b| (b as i8) >= -0x40).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ascii_escaped_bound_u32, escaped_bound, SLACK};

    #[test]
    fn utf8_char_count_counts_non_continuation_bytes() {
        let bytes: Vec<u8> = (0..5000u32).map(|k| (k * 37 % 256) as u8).collect();
        for len in (0..300).chain([2039, 2040, 2041, 4999, 5000]) {
            for start in 0..9.min(bytes.len() - len.min(bytes.len())) {
                let s = &bytes[start..start + len];
                let want = s.iter().filter(|&&b| !(0x80..0xC0).contains(&b)).count();
                assert_eq!(utf8_char_count(s), want, "len {len} start {start}");
            }
        }
        assert_eq!(utf8_char_count(&[0x80; 4000]), 0);
        assert_eq!(utf8_char_count(&[0xFF; 4000]), 4000);
    }

    fn escape_str(s: &str) -> String {
        let mut out = vec![0u8; escaped_bound(s.len()) + SLACK];
        // SAFETY: `out` has the bound plus slack.
        let n = unsafe { Scalar::escape_u8(s.as_bytes(), out.as_mut_ptr()) };
        out.truncate(n);
        String::from_utf8(out).unwrap()
    }

    fn ascii_of(s: &str) -> String {
        let units: Vec<u32> = s.chars().map(|c| c as u32).collect();
        let mut out = vec![0u8; ascii_escaped_bound_u32(units.len()) + SLACK];
        // SAFETY: `out` has the bound plus slack.
        let n = unsafe { Scalar::ascii_from_u32(&units, out.as_mut_ptr()) };
        out.truncate(n);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn named_and_numeric_escapes() {
        assert_eq!(escape_str("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(escape_str("\x08\x09\x0a\x0c\x0d"), "\\b\\t\\n\\f\\r");
        assert_eq!(escape_str("\x00\x1f\x7f"), "\\u0000\\u001f\x7f");
        assert_eq!(escape_str("é"), "é");
    }

    #[test]
    fn ensure_ascii_escapes() {
        assert_eq!(ascii_of("\x7fé"), "\\u007f\\u00e9");
        assert_eq!(ascii_of("😀"), "\\ud83d\\ude00");
        assert_eq!(ascii_of("\u{ffff}"), "\\uffff");
    }

    #[test]
    fn utf8_transcoding_matches_std() {
        let text = "aé€😀\"\n";
        let units: Vec<u32> = text.chars().map(|c| c as u32).collect();
        let mut out = vec![0u8; escaped_bound(units.len()) + SLACK];
        // SAFETY: `out` has the bound plus slack.
        let n = unsafe { Scalar::ucs4_to_utf8(&units, out.as_mut_ptr()) }.unwrap();
        assert_eq!(&out[..n], "aé€😀\\\"\\n".as_bytes());
    }

    #[test]
    fn surrogates_fail_utf8() {
        let units = [0x61u16, 0xD800, 0x62];
        let mut out = vec![0u8; escaped_bound(3) + SLACK];
        // SAFETY: `out` has the bound plus slack.
        let err = unsafe { Scalar::ucs2_to_utf8(&units, out.as_mut_ptr()) };
        assert_eq!(err, Err(Surrogate { index: 1 }));
    }

    #[test]
    fn scans() {
        assert_eq!(Scalar::find_string_special(b"abc\"d"), 3);
        assert_eq!(Scalar::find_string_special(b"ab\x1f"), 2);
        assert_eq!(Scalar::find_string_special(b"abc"), 3);
        assert_eq!(Scalar::max_byte("aé".as_bytes()), 0xC3);
        assert_eq!(Scalar::max_byte(b""), 0);
    }
}
