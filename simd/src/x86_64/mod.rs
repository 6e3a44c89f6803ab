//! The x86-64 backends: [`Sse2`] (part of the x86-64 baseline, so always there),
//! [`Avx2`] and [`Avx512`] (AVX-512 BW + VL). Each is a zero-sized type implementing
//! [`Kernel`](crate::Kernel) with the generic algorithm of `crate::generic` over its own
//! 64-byte vector type; this module holds what they share: the 128-bit helpers for strings
//! shorter than 32 bytes, the AVX2 paths for CJK blocks (UCS-2 to UTF-8, and to
//! `\uXXXX` escapes) and for text of mixed UTF-8 lengths (eight code points to UTF-8),
//! and the parser's UTF-8 decoders (`utf8_decode`, and the SSSE3 CJK decoder here).

mod avx2;
mod avx512;
mod sse2;
mod utf8_decode;

pub use avx2::Avx2;
pub use avx512::Avx512;
pub use sse2::Sse2;

use crate::generic::{utf8_pack_index, Flags, UTF8_PACK};
use crate::scalar::Unit;
use core::arch::x86_64::*;
use core::sync::atomic::{AtomicU8, Ordering};

/// A cached yes/no, so that availability costs one load after the first call.
struct Detected(AtomicU8);

impl Detected {
    const fn new() -> Self {
        Detected(AtomicU8::new(0))
    }

    #[inline(always)]
    fn get(&self, detect: fn() -> bool) -> bool {
        match self.0.load(Ordering::Relaxed) {
            1 => false,
            2 => true,
            _ => {
                let yes = detect();
                self.0.store(1 + yes as u8, Ordering::Relaxed);
                yes
            }
        }
    }
}

/// 0xFF in each byte of `x` that `flags` flags, 0 elsewhere.
///
/// Signed compares do two jobs at once: `x < 0x20` as signed bytes is "control or
/// non-ASCII", and `x + 1 < 0x21` adds DEL (which wraps to -128).
///
/// # Safety
/// SSE2 (always present on x86-64).
#[inline(always)]
unsafe fn flag_bytes128(x: __m128i, flags: Flags) -> __m128i {
    // SAFETY: SSE2 register operations only.
    unsafe {
        let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        let low = match flags {
            Flags::Escape => _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1F)), x),
            Flags::NonAscii => _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
            Flags::Ascii => _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8(1)), _mm_set1_epi8(0x21)),
        };
        _mm_or_si128(_mm_or_si128(quote, backslash), low)
    }
}

/// The largest byte of `x`.
///
/// # Safety
/// SSE2.
#[inline(always)]
unsafe fn max_lane128(x: __m128i) -> u8 {
    // SAFETY: SSE2 register operations only.
    unsafe {
        let x = _mm_max_epu8(x, _mm_srli_si128::<8>(x));
        let x = _mm_max_epu8(x, _mm_srli_si128::<4>(x));
        let x = _mm_max_epu8(x, _mm_srli_si128::<2>(x));
        let x = _mm_max_epu8(x, _mm_srli_si128::<1>(x));
        _mm_cvtsi128_si32(x) as u8
    }
}

/// [`Vector::load_short`](crate::generic::Vector::load_short) for `4 <= len < 32` with
/// two 128-bit registers: halves of 16, 8 or 4 bytes read from both ends of the string.
///
/// # Safety
/// SSE2; `src` is valid for `len` reads; `4 <= len < 32`.
#[inline(always)]
unsafe fn load_short128(src: *const u8, len: usize, fill: u8) -> ([__m128i; 2], usize) {
    debug_assert!((4..32).contains(&len));
    // SAFETY: every read below lies in `src[0..len]`: 16-byte halves when `len >= 16`,
    // 8-byte halves when `len >= 8`, else 4-byte halves with `len >= 4`.
    unsafe {
        let pad = _mm_set1_epi8(fill as i8);
        if len >= 16 {
            let first = _mm_loadu_si128(src.cast());
            let last = _mm_loadu_si128(src.add(len - 16).cast());
            ([first, last], 16)
        } else if len >= 8 {
            let first = src.cast::<i64>().read_unaligned();
            let last = src.add(len - 8).cast::<i64>().read_unaligned();
            ([_mm_set_epi64x(last, first), pad], 8)
        } else {
            let first = src.cast::<i32>().read_unaligned();
            let last = src.add(len - 4).cast::<i32>().read_unaligned();
            let fill4 = i32::from_ne_bytes([fill; 4]);
            ([_mm_setr_epi32(first, last, fill4, fill4), pad], 4)
        }
    }
}

/// [`Vector::short_copy`](crate::generic::Vector::short_copy) for `4 <= len < 32` with
/// one or two 128-bit registers: 16-byte halves, or 8- or 4-byte halves combined into one
/// register (the small halves are stored back from general registers).
///
/// # Safety
/// SSE2; `src` is valid for `len` reads and `dst` for `len` writes; `4 <= len < 32`.
#[inline(always)]
unsafe fn short_copy128(src: *const u8, len: usize, flags: Flags, dst: *mut u8) -> bool {
    debug_assert!((4..32).contains(&len));
    // SAFETY: every access lies in `src[0..len]` or `dst[0..len]`: 16-byte halves when
    // `len >= 16`, 8-byte ones when `len >= 8`, else 4-byte ones with `len >= 4`.
    unsafe {
        if len >= 16 {
            let first = _mm_loadu_si128(src.cast());
            let last = _mm_loadu_si128(src.add(len - 16).cast());
            let both = _mm_or_si128(flag_bytes128(first, flags), flag_bytes128(last, flags));
            if _mm_movemask_epi8(both) != 0 {
                return false;
            }
            _mm_storeu_si128(dst.cast(), first);
            _mm_storeu_si128(dst.add(len - 16).cast(), last);
        } else if len >= 8 {
            let first = src.cast::<u64>().read_unaligned();
            let last = src.add(len - 8).cast::<u64>().read_unaligned();
            let v = _mm_set_epi64x(last as i64, first as i64);
            if _mm_movemask_epi8(flag_bytes128(v, flags)) != 0 {
                return false;
            }
            dst.cast::<u64>().write_unaligned(first);
            dst.add(len - 8).cast::<u64>().write_unaligned(last);
        } else {
            let first = src.cast::<u32>().read_unaligned();
            let last = src.add(len - 4).cast::<u32>().read_unaligned();
            // Both halves in every 8-byte lane: no filler to flag.
            let v = _mm_set1_epi64x((u64::from(first) | u64::from(last) << 32) as i64);
            if _mm_movemask_epi8(flag_bytes128(v, flags)) != 0 {
                return false;
            }
            dst.cast::<u32>().write_unaligned(first);
            dst.add(len - 4).cast::<u32>().write_unaligned(last);
        }
        true
    }
}

/// [`Vector::utf8_eight`](crate::generic::Vector::utf8_eight) with AVX2 (used by the AVX2
/// and AVX-512 backends). The eight code points are widened to 32-bit lanes; each lane gets
/// its UTF-8 sequence ending at the lane's top byte (continuation bytes everywhere, then
/// the lead byte put in place by length), and the lengths pick, per four lanes, the
/// shuffle in `UTF8_PACK` that packs the sequences together.
///
/// # Safety
/// AVX2; `src` is valid for 8 units of reads, `dst` for 48 writes.
#[inline(always)]
unsafe fn utf8_eight_avx2<U: Unit>(src: *const U, dst: *mut u8) -> Option<usize> {
    // SAFETY: AVX2 is enabled (the caller's contract); the loads read 8 units at `src`;
    // the two stores write 16 bytes at `dst` and at `dst + lo_len` (at most 16).
    unsafe {
        let c = match core::mem::size_of::<U>() {
            1 => _mm256_cvtepu8_epi32(_mm_loadl_epi64(src.cast())),
            2 => _mm256_cvtepu16_epi32(_mm_loadu_si128(src.cast())),
            _ => _mm256_loadu_si256(src.cast()),
        };
        let set = _mm256_set1_epi32;
        // Code points are at most U+10FFFF, so signed compares are exact.
        let escape = _mm256_or_si256(
            _mm256_cmpgt_epi32(set(0x20), c),
            _mm256_or_si256(_mm256_cmpeq_epi32(c, set(0x22)), _mm256_cmpeq_epi32(c, set(0x5C))),
        );
        let surrogate = _mm256_cmpeq_epi32(_mm256_and_si256(c, set(!0x7FF)), set(0xD800));
        let refused = _mm256_or_si256(escape, surrogate);
        if _mm256_testz_si256(refused, refused) == 0 {
            return None;
        }
        let two_plus = _mm256_cmpgt_epi32(c, set(0x7F));
        let three_plus = _mm256_cmpgt_epi32(c, set(0x7FF));
        let four = _mm256_cmpgt_epi32(c, set(0xFFFF));
        // Bytes 3, 2, 1, 0 of the lane: 80|c&3F, 80|(c>>6)&3F, 80|(c>>12)&3F, F0|c>>18.
        let sequence = _mm256_or_si256(
            _mm256_or_si256(
                _mm256_slli_epi32::<24>(_mm256_and_si256(c, set(0x3F))),
                _mm256_slli_epi32::<10>(_mm256_and_si256(c, set(0xFC0))),
            ),
            _mm256_or_si256(
                _mm256_srli_epi32::<4>(_mm256_and_si256(c, set(0x3F000))),
                _mm256_or_si256(_mm256_srli_epi32::<18>(c), set(0x8080_80F0u32 as i32)),
            ),
        );
        // A two-byte lead is byte 2 made C0|c>>6; a three-byte lead is byte 1 made E0|c>>12
        // (the high bits of both are zero for those lengths); ASCII is byte 3 alone.
        let two = _mm256_andnot_si256(three_plus, two_plus);
        let three = _mm256_andnot_si256(four, three_plus);
        let sequence = _mm256_or_si256(
            sequence,
            _mm256_or_si256(
                _mm256_and_si256(two, set(0x0040_0000)),
                _mm256_and_si256(three, set(0x0000_6000)),
            ),
        );
        let sequence = _mm256_blendv_epi8(_mm256_slli_epi32::<24>(c), sequence, two_plus);
        // Length classes (length - 1) in each lane's low byte, gathered into the first four
        // bytes of each 128-bit half.
        let classes = _mm256_sub_epi32(
            _mm256_setzero_si256(),
            _mm256_add_epi32(_mm256_add_epi32(two_plus, three_plus), four),
        );
        let gather = _mm256_setr_epi8(
            0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, //
            0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        );
        let classes = _mm256_shuffle_epi8(classes, gather);
        let (lo_index, lo_len) = utf8_pack_index(_mm256_cvtsi256_si32(classes) as u32);
        let (hi_index, hi_len) = utf8_pack_index(_mm256_extract_epi32::<4>(classes) as u32);
        let pack = _mm256_inserti128_si256::<1>(
            _mm256_castsi128_si256(_mm_loadu_si128(UTF8_PACK[lo_index].as_ptr().cast())),
            _mm_loadu_si128(UTF8_PACK[hi_index].as_ptr().cast()),
        );
        let packed = _mm256_shuffle_epi8(sequence, pack);
        _mm_storeu_si128(dst.cast(), _mm256_castsi256_si128(packed));
        _mm_storeu_si128(dst.add(lo_len).cast(), _mm256_extracti128_si256::<1>(packed));
        Some(lo_len + hi_len)
    }
}

/// [`Vector::utf8_bmp3`](crate::generic::Vector::utf8_bmp3) with AVX2 (used by the AVX2
/// and AVX-512 backends): eight units at a time are widened to 32 bits, each lane becomes
/// its three UTF-8 bytes, and a byte shuffle packs four lanes' bytes into 12.
///
/// # Safety
/// AVX2; `src` is valid for 64 reads, `dst` for 196 writes.
#[inline(always)]
unsafe fn utf8_bmp3_avx2(src: *const u16, dst: *mut u8) -> bool {
    // SAFETY: AVX2 is enabled (the caller's contract); the loads read `src[0..64]`.
    unsafe {
        let p = src.cast::<__m256i>();
        let units = [
            _mm256_loadu_si256(p),
            _mm256_loadu_si256(p.add(1)),
            _mm256_loadu_si256(p.add(2)),
            _mm256_loadu_si256(p.add(3)),
        ];
        // Three-byte characters have a non-zero top five bits, and are not surrogates.
        let top = _mm256_set1_epi16(0xF800u16 as i16);
        let surrogate = _mm256_set1_epi16(0xD800u16 as i16);
        let mut bad = _mm256_setzero_si256();
        for x in units {
            let t = _mm256_and_si256(x, top);
            let two_or_less = _mm256_cmpeq_epi16(t, _mm256_setzero_si256());
            let in_surrogates = _mm256_cmpeq_epi16(t, surrogate);
            bad = _mm256_or_si256(bad, _mm256_or_si256(two_or_less, in_surrogates));
        }
        if _mm256_movemask_epi8(bad) != 0 {
            return false;
        }
        // Bytes 0..2 of each 32-bit lane, of each 128-bit half, packed to the front.
        let pack = _mm256_setr_epi8(
            0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, //
            0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
        );
        let lead = _mm256_set1_epi32(0x0080_80E0);
        let mid = _mm256_set1_epi32(0x3F00);
        let low = _mm256_set1_epi32(0x3F_0000);
        let mut out = dst;
        for x in units {
            for eight in [_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x)] {
                let c = _mm256_cvtepu16_epi32(eight);
                // Little-endian lane: E0|c>>12, 80|(c>>6)&3F, 80|c&3F, 0.
                let b0 = _mm256_srli_epi32::<12>(c);
                let b1 = _mm256_and_si256(_mm256_slli_epi32::<2>(c), mid);
                let b2 = _mm256_and_si256(_mm256_slli_epi32::<16>(c), low);
                let bytes = _mm256_or_si256(_mm256_or_si256(b0, b1), _mm256_or_si256(b2, lead));
                let packed = _mm256_shuffle_epi8(bytes, pack);
                // 12 useful bytes in each half; the 4 after them are overwritten next.
                _mm_storeu_si128(out.cast(), _mm256_castsi256_si128(packed));
                _mm_storeu_si128(out.add(12).cast(), _mm256_extracti128_si256::<1>(packed));
                out = out.add(24);
            }
        }
        true
    }
}

/// [`Vector::ascii_u16_escapes`](crate::generic::Vector::ascii_u16_escapes) with AVX2
/// (used by the AVX2 and AVX-512 backends). Per eight units: the nibbles of each byte
/// become hex digits through a 16-entry byte shuffle, the two digit vectors are
/// interleaved so each unit's four digits are adjacent, and two more shuffles spread
/// them, two units per 16-byte store, after a `\u` prefix.
///
/// # Safety
/// AVX2; `src` is valid for 64 reads, `dst` for 400 writes.
#[inline(always)]
unsafe fn ascii_u16_escapes_avx2(src: *const u16, dst: *mut u8) -> bool {
    // SAFETY: AVX2 is enabled (the caller's contract); the loads read `src[0..64]`, the
    // stores write `dst[0..388]`.
    unsafe {
        let p = src.cast::<__m256i>();
        let units = [
            _mm256_loadu_si256(p),
            _mm256_loadu_si256(p.add(1)),
            _mm256_loadu_si256(p.add(2)),
            _mm256_loadu_si256(p.add(3)),
        ];
        // All at least U+007F: max(x, 0x7F) == x.
        let del = _mm256_set1_epi16(0x7F);
        let mut ok = _mm256_set1_epi8(-1);
        for x in units {
            ok = _mm256_and_si256(ok, _mm256_cmpeq_epi16(_mm256_max_epu16(x, del), x));
        }
        if _mm256_movemask_epi8(ok) != -1 {
            return false;
        }
        let hex = _mm_setr_epi8(
            b'0' as i8, b'1' as i8, b'2' as i8, b'3' as i8, b'4' as i8, b'5' as i8, b'6' as i8,
            b'7' as i8, b'8' as i8, b'9' as i8, b'a' as i8, b'b' as i8, b'c' as i8, b'd' as i8,
            b'e' as i8, b'f' as i8,
        );
        let nibble = _mm_set1_epi8(0x0F);
        // Each unit's digits arrive as the dword [n1, n0, n3, n2] (n3 the top nibble);
        // these put two units' digits in order after a `\u` each, in 12 bytes.
        let first_two = _mm_setr_epi8(-1, -1, 2, 3, 0, 1, -1, -1, 6, 7, 4, 5, -1, -1, -1, -1);
        let last_two = _mm_setr_epi8(-1, -1, 10, 11, 8, 9, -1, -1, 14, 15, 12, 13, -1, -1, -1, -1);
        let prefix = _mm_setr_epi8(
            b'\\' as i8,
            b'u' as i8,
            0,
            0,
            0,
            0,
            b'\\' as i8,
            b'u' as i8,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        );
        let mut out = dst;
        for x in units {
            for eight in [_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x)] {
                let low = _mm_shuffle_epi8(hex, _mm_and_si128(eight, nibble));
                let high = _mm_shuffle_epi8(hex, _mm_and_si128(_mm_srli_epi16::<4>(eight), nibble));
                for four in [_mm_unpacklo_epi8(high, low), _mm_unpackhi_epi8(high, low)] {
                    let a = _mm_or_si128(_mm_shuffle_epi8(four, first_two), prefix);
                    let b = _mm_or_si128(_mm_shuffle_epi8(four, last_two), prefix);
                    _mm_storeu_si128(out.cast(), a);
                    _mm_storeu_si128(out.add(12).cast(), b);
                    out = out.add(24);
                }
            }
        }
        true
    }
}

/// For each mask of the non-ASCII bytes among eight Latin-1 bytes: the byte shuffle that
/// packs their interleaved (lead, continuation) pairs into UTF-8, keeping a pair's
/// continuation byte only where its bit is set. Unused positions select zero (0x80).
static LATIN1_PACK: [[u8; 16]; 256] = latin1_pack_table();

const fn latin1_pack_table() -> [[u8; 16]; 256] {
    let mut table = [[0x80u8; 16]; 256];
    let mut mask = 0;
    while mask < 256 {
        let mut out = 0;
        let mut unit = 0;
        while unit < 8 {
            table[mask][out] = 2 * unit as u8;
            out += 1;
            if mask & (1 << unit) != 0 {
                table[mask][out] = 2 * unit as u8 + 1;
                out += 1;
            }
            unit += 1;
        }
        mask += 1;
    }
    table
}

/// Shuffle controls for [`copy_clean_ascii_tail_ssse3`]: the 16 bytes from `16 - len` are
/// `16 - len, …, 15` followed by `len` bytes with the top bit set (which zero their lane),
/// moving the last `len` lanes of a register to the front.
static TAIL_TO_FRONT: [u8; 32] = {
    let mut window = [0x80u8; 32];
    let mut i = 0;
    while i < 16 {
        window[i] = i as u8;
        i += 1;
    }
    window
};

/// [`Kernel::copy_clean_ascii_tail`](crate::Kernel::copy_clean_ascii_tail) with SSSE3
/// (used by the AVX2 and AVX-512 backends): the 16 bytes before `end` in one register, of
/// which the string is the last `len` lanes (the lanes before it belong to whatever
/// precedes it in memory, and their flags are shifted out of the mask); one shuffle moves
/// the string to the front.
///
/// Covering strings up to 32 bytes the same way (a second, overlapping load for the
/// string's head; still no branch on the length) was measured: 4% slower on the corpora,
/// and a list of short strings gained 1.44x instead of 1.67x.
///
/// # Safety
/// SSSE3 (implied by AVX2), and the contract of `Kernel::copy_clean_ascii_tail`.
#[inline(always)]
unsafe fn copy_clean_ascii_tail_ssse3(end: *const u8, len: usize, ensure_ascii: bool, dst: *mut u8) -> bool {
    debug_assert!(len <= 16);
    let outside = 16 - len;
    // SAFETY: SSSE3 is enabled; the load reads the 16 bytes before `end`, readable per the
    // contract; `outside <= 16` keeps the control load inside the 32-byte table; the store
    // writes the 16 bytes `dst` is valid for.
    unsafe {
        let v = _mm_loadu_si128(end.sub(16).cast());
        let flags = if ensure_ascii { Flags::Ascii } else { Flags::Escape };
        if (_mm_movemask_epi8(flag_bytes128(v, flags)) as u32) >> outside != 0 {
            return false;
        }
        let to_front = _mm_loadu_si128(TAIL_TO_FRONT.as_ptr().add(outside).cast());
        _mm_storeu_si128(dst.cast(), _mm_shuffle_epi8(v, to_front));
        true
    }
}

/// [`Vector::utf8_latin1`](crate::generic::Vector::utf8_latin1) with SSSE3 (used by the
/// AVX2 and AVX-512 backends). Per 16 bytes: every byte becomes a (lead, continuation)
/// pair, the lead being the byte itself for ASCII and `0xC0 | b >> 6` otherwise; the pairs
/// of each eight bytes are interleaved into one register and `LATIN1_PACK` drops the
/// continuation bytes of the ASCII ones.
///
/// # Safety
/// SSSE3 (implied by AVX2); `src` is valid for 64 reads, `dst` for 144 writes.
#[inline(always)]
unsafe fn utf8_latin1_ssse3(src: *const u8, dst: *mut u8) -> Option<usize> {
    // SAFETY: SSSE3 is enabled (the caller's contract); loads read `src[0..64]`; each
    // store writes 16 bytes at `out`, which stays below `dst + 128` before it.
    unsafe {
        let mut out = dst;
        for chunk in 0..4 {
            let v = _mm_loadu_si128(src.add(16 * chunk).cast());
            let non_ascii = _mm_movemask_epi8(v) as u32;
            let is_non_ascii = _mm_cmplt_epi8(v, _mm_setzero_si128());
            let top_bits = _mm_and_si128(_mm_srli_epi16::<6>(v), _mm_set1_epi8(0x03));
            let two_byte_lead = _mm_or_si128(top_bits, _mm_set1_epi8(0xC0u8 as i8));
            let lead = _mm_or_si128(
                _mm_and_si128(is_non_ascii, two_byte_lead),
                _mm_andnot_si128(is_non_ascii, v),
            );
            let continuation = _mm_or_si128(
                _mm_and_si128(v, _mm_set1_epi8(0x3F)),
                _mm_set1_epi8(0x80u8 as i8),
            );
            let halves = [
                (_mm_unpacklo_epi8(lead, continuation), non_ascii & 0xFF),
                (_mm_unpackhi_epi8(lead, continuation), non_ascii >> 8),
            ];
            for (pairs, mask) in halves {
                let pack = _mm_loadu_si128(LATIN1_PACK[mask as usize].as_ptr().cast());
                _mm_storeu_si128(out.cast(), _mm_shuffle_epi8(pairs, pack));
                out = out.add(8 + mask.count_ones() as usize);
            }
        }
        Some(out.offset_from(dst) as usize)
    }
}

/// Byte masks and expected values of five three-byte UTF-8 characters in 15 bytes (the
/// 16th byte is not looked at): leads `1110xxxx`, continuations `10xxxxxx`.
static BMP3_MASK: [u8; 16] = [
    0xF0, 0xC0, 0xC0, 0xF0, 0xC0, 0xC0, 0xF0, 0xC0, 0xC0, 0xF0, 0xC0, 0xC0, 0xF0, 0xC0, 0xC0, 0x00,
];
static BMP3_WANT: [u8; 16] = [
    0xE0, 0x80, 0x80, 0xE0, 0x80, 0x80, 0xE0, 0x80, 0x80, 0xE0, 0x80, 0x80, 0xE0, 0x80, 0x80, 0x00,
];
/// Shuffle controls gathering, into the five low 16-bit lanes, each character's lead and
/// first continuation (as the lane's high and low byte), and its last continuation (as
/// the low byte; 0x80 zeroes a byte).
static BMP3_HEAD: [u8; 16] = [1, 0, 4, 3, 7, 6, 10, 9, 13, 12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80];
static BMP3_LAST: [u8; 16] = [2, 0x80, 5, 0x80, 8, 0x80, 11, 0x80, 14, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80];

/// [`Kernel::utf8_bmp3_to_u16`](crate::Kernel::utf8_bmp3_to_u16) with SSSE3 (used by the
/// AVX2 and AVX-512 backends). Per 16-byte block: the byte patterns checked with one mask
/// and compare, the (lead, first continuation) pairs and the last continuations gathered
/// into 16-bit lanes by two shuffles, combined as `(lead & 0x0F) << 12 | (c1 & 0x3F) << 6
/// | c2 & 0x3F`, overlong forms (below U+0800: E0 80..9F) refused, eight lanes stored.
///
/// # Safety
/// SSSE3 (implied by AVX2), and the contract of `Kernel::utf8_bmp3_to_u16`.
#[inline(always)]
unsafe fn utf8_bmp3_to_u16_ssse3(src: &[u8], dst: *mut u16, cap: usize) -> (usize, usize) {
    let mut i = 0;
    let mut n = 0;
    // SAFETY: SSSE3 is enabled; the tables are 16 bytes each; every load reads
    // `src[i..i + 16]`, inside `src` by the loop condition; every store writes
    // `dst[n..n + 8]`, inside the `cap` units `dst` is valid for by the loop condition.
    unsafe {
        let mask = _mm_loadu_si128(BMP3_MASK.as_ptr().cast());
        let want = _mm_loadu_si128(BMP3_WANT.as_ptr().cast());
        let head = _mm_loadu_si128(BMP3_HEAD.as_ptr().cast());
        let last = _mm_loadu_si128(BMP3_LAST.as_ptr().cast());
        while i + 16 <= src.len() && n + 8 <= cap {
            let v = _mm_loadu_si128(src.as_ptr().add(i).cast());
            if _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(v, mask), want)) != 0xFFFF {
                break;
            }
            // Lanes 0..5: `lead << 8 | c1`, and `c2`.
            let pairs = _mm_shuffle_epi8(v, head);
            let low = _mm_shuffle_epi8(v, last);
            // `pairs << 4` puts the lead's low nibble at bits 12..16; `pairs << 6` puts
            // c1's six bits at 6..12.
            let hi = _mm_and_si128(_mm_slli_epi16(pairs, 4), _mm_set1_epi16(0xF000u16 as i16));
            let mid = _mm_and_si128(_mm_slli_epi16(pairs, 6), _mm_set1_epi16(0x0FC0));
            let lo = _mm_and_si128(low, _mm_set1_epi16(0x003F));
            let c = _mm_or_si128(_mm_or_si128(hi, mid), lo);
            // Overlong: below U+0800, bits 11..16 all clear; lanes 5..8 (zero) ignored.
            let small = _mm_cmpeq_epi16(_mm_srli_epi16(c, 11), _mm_setzero_si128());
            if _mm_movemask_epi8(small) & 0x3FF != 0 {
                break;
            }
            _mm_storeu_si128(dst.add(n).cast(), c);
            i += 15;
            n += 5;
        }
    }
    (i, n)
}
