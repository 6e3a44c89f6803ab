//! UTF-8 as `json.loads` reads bytes: `bytes.decode("utf-8", "surrogatepass")`, which
//! accepts well-formed UTF-8 and also the three-byte forms of surrogates
//! (`ED A0..BF 80..BF`), decoding each to a lone surrogate character.

use rjson_simd::Kernel;

/// A code unit of a `str`'s storage: what a decoded character is narrowed to.
pub trait Unit: Copy + 'static {
    /// The largest character the unit holds.
    const MAX: u32;
    fn from_char(c: u32) -> Self;
}

impl Unit for u8 {
    const MAX: u32 = 0xFF;
    #[inline(always)]
    fn from_char(c: u32) -> Self {
        c as u8
    }
}

impl Unit for u16 {
    const MAX: u32 = 0xFFFF;
    #[inline(always)]
    fn from_char(c: u32) -> Self {
        c as u16
    }
}

impl Unit for u32 {
    const MAX: u32 = 0x10FFFF;
    #[inline(always)]
    fn from_char(c: u32) -> Self {
        c
    }
}

#[inline(always)]
fn is_continuation(b: u8) -> bool {
    (b as i8) < -0x40
}

/// The multi-byte sequence at the start of `bytes` (whose first byte is >= 0x80): its code
/// point and length, or `None` when the decoder rejects it.
#[inline(always)]
pub fn decode_multi(bytes: &[u8]) -> Option<(u32, usize)> {
    let lead = *bytes.first()?;
    let tail = |i: usize| -> Option<u32> {
        let b = *bytes.get(i)?;
        is_continuation(b).then_some((b & 0x3F) as u32)
    };
    match lead {
        0xC2..=0xDF => Some((((lead & 0x1F) as u32) << 6 | tail(1)?, 2)),
        0xE0..=0xEF => {
            let b1 = tail(1)?;
            // E0 must be followed by A0..BF (shorter forms are overlong). ED A0..BF, the
            // surrogates, is what `surrogatepass` lets through.
            if lead == 0xE0 && b1 < 0x20 {
                return None;
            }
            Some((((lead & 0x0F) as u32) << 12 | b1 << 6 | tail(2)?, 3))
        }
        0xF0..=0xF4 => {
            let b1 = tail(1)?;
            // F0 needs 90..BF (else overlong), F4 needs 80..8F (else past U+10FFFF).
            if (lead == 0xF0 && b1 < 0x10) || (lead == 0xF4 && b1 >= 0x10) {
                return None;
            }
            Some((((lead & 0x07) as u32) << 18 | b1 << 12 | tail(2)? << 6 | tail(3)?, 4))
        }
        _ => None,
    }
}

/// Eight bytes from `bytes[i..]`, when there are eight, for the ASCII fast path.
#[inline(always)]
fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let chunk = bytes.get(i..i + 8)?;
    Some(u64::from_le_bytes(chunk.try_into().ok()?))
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The multi-byte sequence at `bytes[i..]` (whose first byte is >= 0x80): its code point
/// and length, or `None` when the decoder rejects it. As `decode_multi`, but where four
/// bytes are left, checked and decoded from one four-byte load: the fast path for
/// non-Latin text.
#[inline(always)]
pub fn decode_at(bytes: &[u8], i: usize) -> Option<(u32, usize)> {
    if let Some(chunk) = bytes.get(i..i + 4) {
        let word = u32::from_le_bytes(chunk.try_into().ok()?);
        // The lead's pattern and the continuations' 10xxxxxx, checked in little-endian
        // order; a code point below the form's range is overlong, one above U+10FFFF
        // invalid. (Surrogates pass, as `surrogatepass` lets them.) Two-byte sequences
        // (Latin-1 and the like) measured no faster this way than through `decode_multi`.
        if word & 0x00C0_C0F0 == 0x0080_80E0 {
            let c = (word & 0x0F) << 12 | (word >> 2) & 0x0FC0 | (word >> 16) & 0x3F;
            return (c >= 0x800).then_some((c, 3));
        }
        if word & 0xC0C0_C0F8 == 0x8080_80F0 {
            let c = (word & 0x07) << 18
                | (word << 4) & 0x3_F000
                | (word >> 10) & 0x0FC0
                | (word >> 24) & 0x3F;
            return (0x10000..=0x10FFFF).contains(&c).then_some((c, 4));
        }
    }
    decode_multi(&bytes[i..])
}

/// Whether `bytes.decode("utf-8", "surrogatepass")` succeeds.
pub fn is_valid(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = word_at(bytes, i) {
            if word & HIGH_BITS == 0 {
                i += 8;
                continue;
            }
        }
        if bytes[i] < 0x80 {
            i += 1;
        } else {
            match decode_at(bytes, i) {
                Some((_, len)) => i += len,
                None => return false,
            }
        }
    }
    true
}

/// Decode `src` into `dst`, which has room for `cap` units; the number of characters
/// written, or `None` when the input is invalid, holds a character wider than `T`, or has
/// more than `cap` characters.
///
/// # Safety
/// `dst` is valid for `cap` writes of `T`.
#[inline(always)]
pub unsafe fn decode_into<T: Unit>(src: &[u8], dst: *mut T, cap: usize) -> Option<usize> {
    let mut i = 0;
    let mut n = 0;
    while i < src.len() {
        let b = src[i];
        if b < 0x80 {
            // An ASCII run: eight at a time while it lasts.
            if let Some(word) = word_at(src, i) {
                if word & HIGH_BITS == 0 && n + 8 <= cap {
                    for (k, &b) in src[i..i + 8].iter().enumerate() {
                        // SAFETY: n + 8 <= cap.
                        unsafe { *dst.add(n + k) = T::from_char(b as u32) };
                    }
                    i += 8;
                    n += 8;
                    continue;
                }
            }
            if n >= cap {
                return None;
            }
            // SAFETY: n < cap.
            unsafe { *dst.add(n) = T::from_char(b as u32) };
            n += 1;
            i += 1;
            continue;
        }
        let (c, len) = decode_at(src, i)?;
        if c > T::MAX || n >= cap {
            return None;
        }
        // SAFETY: n < cap.
        unsafe { *dst.add(n) = T::from_char(c) };
        n += 1;
        i += len;
    }
    Some(n)
}

/// `decode_into` into UCS-2, with runs of three-byte characters (CJK text) decoded by the
/// kernel's [`utf8_bmp3_to_u16`](Kernel::utf8_bmp3_to_u16), five characters per block.
/// The kernel declines anything but whole valid three-byte characters, so what it stops
/// before (and every error) is left to the scalar decoder. The kernel is called only where
/// [`bmp3_block_at`] sees two blocks' worth of three-byte characters; after its run, the
/// characters up to the next three-byte lead are decoded one at a time and the check is
/// made again; once it fails, `decode_into` does the rest. `decode_into`'s own loop is
/// left as it is: a kernel call, or a check for one, inside it measured 5 to 20% slower
/// on text of short runs (Korean words between spaces, strings of a few characters).
///
/// # Safety
/// `dst` is valid for `cap` writes; the CPU has `K`'s features.
#[inline(never)]
pub unsafe fn decode_bmp_into<K: Kernel>(src: &[u8], dst: *mut u16, cap: usize) -> Option<usize> {
    let mut i = 0;
    let mut n = 0;
    while bmp3_block_at(src, i) {
        // SAFETY: `dst + n` is valid for the `cap - n` units passed (n <= cap); the caller
        // vouches for the CPU.
        let (used, wrote) = unsafe { K::utf8_bmp3_to_u16(&src[i..], dst.add(n), cap - n) };
        if used == 0 {
            break;
        }
        i += used;
        n += wrote;
        // The characters the run stopped at, up to the next three-byte lead.
        while i < src.len() && src[i] & 0xF0 != 0xE0 {
            let b = src[i];
            let (c, len) = if b < 0x80 { (b as u32, 1) } else { decode_at(src, i)? };
            if c > 0xFFFF || n >= cap {
                return None;
            }
            // SAFETY: n < cap.
            unsafe { *dst.add(n) = c as u16 };
            n += 1;
            i += len;
        }
        if n >= cap {
            break;
        }
    }
    // SAFETY: `dst + n` is valid for `cap - n` writes (n <= cap).
    unsafe { decode_into::<u16>(&src[i..], dst.add(n), cap - n) }.map(|m| n + m)
}

/// `decode_into` into UCS-4, through the kernel's [`utf8_to_u32`](Kernel::utf8_to_u32),
/// which decodes all but the last few bytes of valid text (of any mix of lengths) and
/// stops before any error; what it leaves goes through `decode_into`, which finds the
/// error where there is one.
///
/// # Safety
/// `dst` is valid for `cap` writes; the CPU has `K`'s features.
#[inline(always)]
pub unsafe fn decode_wide_into<K: Kernel>(src: &[u8], dst: *mut u32, cap: usize) -> Option<usize> {
    // SAFETY: `dst` is valid for `cap` writes; the caller vouches for the CPU.
    let (used, wrote) = unsafe { K::utf8_to_u32(src, dst, cap) };
    // SAFETY: the kernel wrote at most `cap` units, so `dst + wrote` is valid for the
    // `cap - wrote` writes passed.
    unsafe { decode_into::<u32>(&src[used..], dst.add(wrote), cap - wrote) }.map(|m| wrote + m)
}

/// The fewest bytes left for which [`decode_bmp_into`] calls the kernel.
pub const BMP3_MIN: usize = 32;

/// Whether at least [`BMP3_MIN`] bytes are left at `i` and the 30 from `i` have the byte
/// pattern of ten three-byte characters (two of the kernel's blocks): its own first test,
/// made here so that text it would decline or stop in after one block (Korean words
/// between spaces, short runs between ASCII) costs no call, which measured 3 to 7% slower
/// on such text when made for one block.
#[inline(always)]
pub fn bmp3_block_at(src: &[u8], i: usize) -> bool {
    const MASK: [u64; 2] = [0xC0F0_C0C0_F0C0_C0F0, 0x00C0_C0F0_C0C0_F0C0];
    const WANT: [u64; 2] = [0x80E0_8080_E080_80E0, 0x0080_80E0_8080_E080];
    let block = |at: usize| match (word_at(src, at), word_at(src, at + 8)) {
        (Some(lo), Some(hi)) => lo & MASK[0] == WANT[0] && hi & MASK[1] == WANT[1],
        _ => false,
    };
    src.len().saturating_sub(i) >= BMP3_MIN && block(i) && block(i + 15)
}

/// `decode_into` for text whose bytes are all below 0xC4, into Latin-1: every multi-byte
/// sequence then is a C2 or C3 lead and one continuation byte, decoded without the general
/// decoder's dispatch (10% faster `loads` of accented text; a branch-free variant measured
/// slower, its index a dependency chain where the branches let the CPU run ahead).
///
/// # Safety
/// `dst` is valid for `cap` writes.
#[inline(always)]
pub unsafe fn decode_latin1_into(src: &[u8], dst: *mut u8, cap: usize) -> Option<usize> {
    let mut i = 0;
    let mut n = 0;
    while i < src.len() {
        // `decode_into`'s ASCII step, kept apart: one helper for both measured 5% slower
        // here, however it stored the word.
        if let Some(word) = word_at(src, i) {
            if word & HIGH_BITS == 0 && n + 8 <= cap {
                // SAFETY: n + 8 <= cap.
                unsafe { dst.add(n).cast::<u64>().write_unaligned(word.to_le()) };
                i += 8;
                n += 8;
                continue;
            }
        }
        if n >= cap {
            return None;
        }
        let b = src[i];
        let c = if b < 0x80 {
            i += 1;
            b
        } else {
            // C0 and C1 would be overlong, 80 to BF are not leads; above C3 is excluded.
            let next = *src.get(i + 1)?;
            if !(0xC2..=0xC3).contains(&b) || !is_continuation(next) {
                return None;
            }
            i += 2;
            b << 6 | (next & 0x3F)
        };
        // SAFETY: n < cap.
        unsafe { *dst.add(n) = c };
        n += 1;
    }
    Some(n)
}

/// Append the characters of `src` to `out`; the largest of them when one is non-ASCII,
/// else some value below 0x80 (all of which select the same kind), or `None` when the
/// input is invalid.
pub fn push_chars(src: &[u8], out: &mut Vec<u32>) -> Option<u32> {
    out.reserve(src.len());
    let start = out.len();
    // SAFETY: `src.len()` units are reserved and each byte yields at most one character;
    // the length is set to what was written.
    unsafe {
        let dst = out.as_mut_ptr().add(start);
        let mut max = 0;
        let mut i = 0;
        let mut n = 0;
        while i < src.len() {
            // ASCII eight at a time while it lasts (the text around the odd non-ASCII
            // character of a mostly ASCII string).
            if let Some(word) = word_at(src, i) {
                if word & HIGH_BITS == 0 {
                    for k in 0..8 {
                        *dst.add(n + k) = (word >> (8 * k)) as u8 as u32;
                    }
                    i += 8;
                    n += 8;
                    continue;
                }
            }
            let b = src[i];
            let (c, len) = if b < 0x80 { (b as u32, 1) } else { decode_at(src, i)? };
            *dst.add(n) = c;
            max = max.max(c);
            n += 1;
            i += len;
        }
        out.set_len(start + n);
        Some(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rjson_simd::scalar::utf8_char_count;

    fn python_like(bytes: &[u8]) -> Option<Vec<u32>> {
        let mut out = Vec::new();
        push_chars(bytes, &mut out)?;
        Some(out)
    }

    #[test]
    fn accepts_utf8_and_encoded_surrogates() {
        let s = "aé€😀";
        assert_eq!(
            python_like(s.as_bytes()).unwrap(),
            s.chars().map(|c| c as u32).collect::<Vec<_>>()
        );
        assert_eq!(python_like(b"\xed\xa0\x80").unwrap(), vec![0xD800]);
        assert_eq!(python_like(b"\xed\xbf\xbf").unwrap(), vec![0xDFFF]);
        assert!(is_valid(b"\xed\xa0\xbd\xed\xb8\x80"));
    }

    #[test]
    fn push_chars_across_ascii_words() {
        for before in 0..20 {
            for after in [0, 1, 7, 8, 9, 17] {
                let s = format!("{}é€😀{}", "a".repeat(before), "z".repeat(after));
                let mut out = vec![7];
                assert_eq!(push_chars(s.as_bytes(), &mut out), Some(0x1F600));
                assert_eq!(out[1..], s.chars().map(|c| c as u32).collect::<Vec<_>>()[..]);
                assert_eq!(out[0], 7);
                let mut bad = s.clone().into_bytes();
                bad.insert(before + after, 0xFF);
                assert_eq!(push_chars(&bad, &mut Vec::new()), None);
            }
        }
        let mut out = Vec::new();
        assert!(push_chars(b"0123456789abcdef", &mut out).unwrap() < 0x80);
        assert_eq!(out, b"0123456789abcdef".iter().map(|&b| b as u32).collect::<Vec<_>>());
    }

    #[test]
    fn rejects_what_python_rejects() {
        for bad in [
            &b"\x80"[..],
            b"\xc0\x80",
            b"\xc1\xbf",
            b"\xe0\x80\x80",
            b"\xe0\x9f\xbf",
            b"\xf0\x80\x80\x80",
            b"\xf0\x8f\xbf\xbf",
            b"\xf4\x90\x80\x80",
            b"\xf5\x80\x80\x80",
            b"\xff",
            b"\xed\xa0",
            b"\xe2\x82",
            b"\xc3",
            b"\xed\xa0\x41",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
            assert!(python_like(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn latin1_decoder_agrees_with_the_general_one() {
        let every: String = (0u32..=0xFF).filter_map(char::from_u32).collect();
        let mut cases: Vec<Vec<u8>> = vec![every.clone().into_bytes()];
        for cut in 0..40 {
            cases.push(every.as_bytes()[cut..cut + 60].to_vec());
        }
        let bad: [&[u8]; 7] = [b"\x80", b"abc\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xc2A", b"caf\xc3", b"\xc3\xc3\xa9"];
        cases.extend(bad.iter().map(|b| b.to_vec()));
        for case in cases {
            let mut fast = vec![0u8; case.len() + 8];
            let mut general = vec![0u8; case.len() + 8];
            let cap = case.len();
            // SAFETY: both buffers have room for `cap` units.
            let (a, b) = unsafe {
                (
                    decode_latin1_into(&case, fast.as_mut_ptr(), cap),
                    decode_into::<u8>(&case, general.as_mut_ptr(), cap),
                )
            };
            assert_eq!(a, b, "{case:?}");
            if let Some(n) = a {
                assert_eq!(fast[..n], general[..n], "{case:?}");
            }
        }
    }

    /// `decode_bmp_into` (with this CPU's best backend, and with scalar, whose kernel
    /// declines) agrees with `decode_into`: CJK text of many lengths with a disruption at
    /// every byte position, and with one unit too little room.
    #[test]
    fn bmp_decoder_agrees_with_the_general_one() {
        struct Check<'a>(&'a [u8], usize);
        impl rjson_simd::WithKernel for Check<'_> {
            type Output = Option<Vec<u16>>;
            fn run<K: Kernel>(self) -> Self::Output {
                let mut buf = vec![0u16; self.1 + 8];
                // SAFETY: the buffer has room for `self.1` units; `dispatch` picked an
                // available backend.
                let n = unsafe { decode_bmp_into::<K>(self.0, buf.as_mut_ptr(), self.1) }?;
                Some(buf[..n].to_vec())
            }
        }
        let text: String = (0..80u32).filter_map(|k| char::from_u32(0x4E00 + 97 * k)).collect();
        let disruptions: [&[u8]; 7] =
            [b"a", "\u{e9}".as_bytes(), "\u{1F600}".as_bytes(), b"\xe4\x41\x80", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xff"];
        for chars in [0, 9, 10, 11, 15, 16, 21, 40, 80] {
            let body = &text.as_bytes()[..3 * chars];
            let mut cases = vec![body.to_vec()];
            for pos in 0..=body.len() {
                for d in disruptions {
                    cases.push([&body[..pos], d, &body[pos..]].concat());
                }
            }
            for case in &cases {
                let len = utf8_char_count(case);
                for cap in [len, len.saturating_sub(1)] {
                    let mut general = vec![0u16; cap + 8];
                    // SAFETY: the buffer has room for `cap` units.
                    let want = unsafe { decode_into::<u16>(case, general.as_mut_ptr(), cap) }
                        .map(|n| general[..n].to_vec());
                    for backend in [rjson_simd::Backend::detect(), rjson_simd::Backend::Scalar] {
                        let got = rjson_simd::dispatch(backend, Check(case, cap));
                        assert_eq!(got, want, "{case:x?} cap {cap} {backend:?}");
                    }
                }
            }
        }
    }

    /// `decode_wide_into` (with this CPU's best backend, and with scalar, whose kernel
    /// declines) agrees with `decode_into` and with the reference decoder: text of
    /// characters of every length, of many lengths, with an invalid sequence at every
    /// byte position, with exact room and one unit too little.
    #[test]
    fn wide_decoder_agrees_with_the_general_one() {
        struct Check<'a>(&'a [u8], usize);
        impl rjson_simd::WithKernel for Check<'_> {
            type Output = Option<Vec<u32>>;
            fn run<K: Kernel>(self) -> Self::Output {
                let mut buf = vec![0u32; self.1 + 8];
                // SAFETY: the buffer has room for `self.1` units; `dispatch` picked an
                // available backend.
                let n = unsafe { decode_wide_into::<K>(self.0, buf.as_mut_ptr(), self.1) }?;
                Some(buf[..n].to_vec())
            }
        }
        let text: String = (0..60u32)
            .map(|k| match k % 4 {
                0 => char::from_u32(0x1F600 + k).unwrap(),
                1 => ['a', '\u{e9}', '\u{4e2d}', '\u{10FFFF}', ' '][(k / 4 % 5) as usize],
                _ => char::from_u32(0x1F640 - k).unwrap(),
            })
            .collect();
        let disruptions: [&[u8]; 8] = [
            b"\x80",
            b"\xc0\x80",
            b"\xe0\x9f\xbf",
            b"\xe4\xb8",
            b"\xf0\x8f\xbf\xbf",
            b"\xf0\x9f\x98",
            b"\xf4\x90\x80\x80",
            b"\xff",
        ];
        // Mostly ASCII: runs of 31 to 45 letters between emoji.
        let ascii: String = (0..6).map(|k| "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"[..31 + 2 * k].to_string() + "\u{1F600}").collect();
        for (text, end) in [&text, &ascii]
            .into_iter()
            .flat_map(|t| (0..=t.len()).filter(|&e| t.is_char_boundary(e)).map(move |e| (t, e)))
        {
            let body = &text.as_bytes()[..end];
            let mut cases = vec![body.to_vec()];
            for pos in (0..=end).step_by(if end < 80 { 1 } else { 3 }) {
                for d in disruptions {
                    cases.push([&body[..pos], d, &body[pos..]].concat());
                }
            }
            for case in &cases {
                let len = utf8_char_count(case);
                for cap in [len, len.saturating_sub(1)] {
                    let mut general = vec![0u32; cap + 8];
                    // SAFETY: the buffer has room for `cap` units.
                    let want = unsafe { decode_into::<u32>(case, general.as_mut_ptr(), cap) }
                        .map(|n| general[..n].to_vec());
                    if cap == len && case.len() == body.len() {
                        let chars: Vec<u32> = std::str::from_utf8(case).unwrap().chars().map(|c| c as u32).collect();
                        assert_eq!(want.as_deref(), Some(&chars[..]));
                    }
                    for backend in [rjson_simd::Backend::detect(), rjson_simd::Backend::Scalar] {
                        let got = rjson_simd::dispatch(backend, Check(case, cap));
                        assert_eq!(got, want, "{case:x?} cap {cap} {backend:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn decodes_into_each_width() {
        let s = "plain ascii text, then é";
        let mut buf = vec![0u8; 64];
        // SAFETY: the buffer has 64 units.
        let n = unsafe { decode_into::<u8>(s.as_bytes(), buf.as_mut_ptr(), 64) }.unwrap();
        assert_eq!(n, utf8_char_count(s.as_bytes()));
        assert_eq!(&buf[..n], s.chars().map(|c| c as u8).collect::<Vec<_>>().as_slice());
        // A character wider than the unit is refused, as is overflowing the room.
        // SAFETY: as above.
        assert!(unsafe { decode_into::<u8>("€".as_bytes(), buf.as_mut_ptr(), 64) }.is_none());
        // SAFETY: as above.
        assert!(unsafe { decode_into::<u8>(b"abcdefghij", buf.as_mut_ptr(), 9) }.is_none());
    }
}
