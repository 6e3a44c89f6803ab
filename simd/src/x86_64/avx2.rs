//! AVX2: two 256-bit registers per 64-byte block.
//!
//! AVX2's packs work within 128-bit halves, so narrowing ends with a cross-half permute.
//! BMI1/BMI2 and POPCNT are required alongside (every AVX2 CPU has them) so that mask
//! walking uses `tzcnt` and `blsr`, and bit counts one `popcnt` (without it, `count_ones`
//! is a dozen-instruction bit trick).

use super::{
    ascii_u16_escapes_avx2, copy_clean_ascii_tail_ssse3, load_short128, max_lane128, short_copy128, utf8_bmp3_avx2, utf8_bmp3_to_u16_ssse3, utf8_eight_avx2,
    utf8_latin1_ssse3, Detected,
};
use crate::generic::{Flags, Vector};
use crate::scalar::Unit;
use core::arch::x86_64::*;

/// The AVX2 backend.
#[derive(Clone, Copy, Default, Debug)]
pub struct Avx2;

impl Avx2 {
    /// Whether this CPU (and OS) run AVX2, BMI1, BMI2 and POPCNT.
    #[inline]
    pub fn is_available() -> bool {
        static DETECTED: Detected = Detected::new();
        DETECTED.get(|| {
            std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("bmi1")
                && std::is_x86_feature_detected!("bmi2")
                && std::is_x86_feature_detected!("popcnt")
        })
    }
}

vector_kernel!(Avx2, crate::Backend::Avx2, V256x2, "avx2,bmi1,bmi2,popcnt");

/// 64 bytes in two AVX2 registers.
#[derive(Clone, Copy)]
pub(crate) struct V256x2([__m256i; 2]);

/// 0xFF in each byte of `x` that `flags` flags (see `flag_bytes128`).
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn flag_bytes(x: __m256i, flags: Flags) -> __m256i {
    // SAFETY: AVX2 register operations only.
    unsafe {
        let quote = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'"' as i8));
        let backslash = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(b'\\' as i8));
        let low = match flags {
            Flags::Escape => _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(0x1F)), x),
            // Signed: below 0x20 or at least 0x80.
            Flags::NonAscii => _mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), x),
            // Signed: DEL + 1 wraps to -128.
            Flags::Ascii => _mm256_cmpgt_epi8(
                _mm256_set1_epi8(0x21),
                _mm256_add_epi8(x, _mm256_set1_epi8(1)),
            ),
        };
        _mm256_or_si256(_mm256_or_si256(quote, backslash), low)
    }
}

/// 32 `u16` lanes (in `a` then `b`) to 32 saturated bytes, in order.
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn pack16(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: AVX2 register operations only.
    unsafe {
        let max = _mm256_set1_epi16(0xFF);
        let packed = _mm256_packus_epi16(_mm256_min_epu16(a, max), _mm256_min_epu16(b, max));
        // The pack interleaves 128-bit halves: a.lo, b.lo, a.hi, b.hi.
        _mm256_permute4x64_epi64::<0b11_01_10_00>(packed)
    }
}

/// 32 `u32` lanes (8 in each of `q`, in order) to 32 saturated bytes, in order.
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn pack32(q: [__m256i; 4]) -> __m256i {
    // SAFETY: AVX2 register operations only.
    unsafe {
        let max = _mm256_set1_epi32(0xFF);
        let [a, b, c, d] = q.map(|x| _mm256_min_epu32(x, max));
        let packed = _mm256_packus_epi16(_mm256_packus_epi32(a, b), _mm256_packus_epi32(c, d));
        // Dword j of `packed` holds four bytes from a, b, c, d, a, b, c, d (low halves of
        // each source first, then high halves); put them back in source order.
        _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
    }
}

impl Vector for V256x2 {
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller provides 64 readable bytes.
        unsafe {
            V256x2([
                _mm256_loadu_si256(p.cast()),
                _mm256_loadu_si256(p.add(32).cast()),
            ])
        }
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: the caller provides 64 writable bytes.
        unsafe {
            _mm256_storeu_si256(p.cast(), self.0[0]);
            _mm256_storeu_si256(p.add(32).cast(), self.0[1]);
        }
    }

    #[inline(always)]
    unsafe fn narrow16(lo: Self, hi: Self) -> Self {
        // SAFETY: AVX2 register operations only.
        unsafe { V256x2([pack16(lo.0[0], lo.0[1]), pack16(hi.0[0], hi.0[1])]) }
    }

    #[inline(always)]
    unsafe fn narrow32(q: [Self; 4]) -> Self {
        // SAFETY: AVX2 register operations only.
        unsafe {
            V256x2([
                pack32([q[0].0[0], q[0].0[1], q[1].0[0], q[1].0[1]]),
                pack32([q[2].0[0], q[2].0[1], q[3].0[0], q[3].0[1]]),
            ])
        }
    }

    #[inline(always)]
    unsafe fn flags(self, flags: Flags) -> u64 {
        // SAFETY: AVX2 register operations only.
        unsafe {
            let lo = _mm256_movemask_epi8(flag_bytes(self.0[0], flags)) as u32 as u64;
            let hi = _mm256_movemask_epi8(flag_bytes(self.0[1], flags)) as u32 as u64;
            lo | hi << 32
        }
    }

    #[inline(always)]
    unsafe fn any(self, flags: Flags) -> bool {
        // SAFETY: AVX2 register operations only.
        unsafe {
            let both = _mm256_or_si256(flag_bytes(self.0[0], flags), flag_bytes(self.0[1], flags));
            _mm256_movemask_epi8(both) != 0
        }
    }

    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        // SAFETY: AVX2 register operations only.
        unsafe {
            V256x2([
                _mm256_max_epu8(self.0[0], other.0[0]),
                _mm256_max_epu8(self.0[1], other.0[1]),
            ])
        }
    }

    #[inline(always)]
    unsafe fn max_lane(self) -> u8 {
        // SAFETY: AVX2 register operations only.
        unsafe {
            let x = _mm256_max_epu8(self.0[0], self.0[1]);
            max_lane128(_mm_max_epu8(
                _mm256_castsi256_si128(x),
                _mm256_extracti128_si256::<1>(x),
            ))
        }
    }

    #[inline(always)]
    unsafe fn load_short(src: *const u8, len: usize, fill: u8) -> (Self, usize) {
        // SAFETY: `4 <= len < 64` and `src` is valid for `len` reads: two 32-byte halves
        // when `len >= 32`, else `load_short128`'s reads.
        unsafe {
            let pad = _mm256_set1_epi8(fill as i8);
            if len >= 32 {
                let first = _mm256_loadu_si256(src.cast());
                let last = _mm256_loadu_si256(src.add(len - 32).cast());
                (V256x2([first, last]), 32)
            } else {
                let ([a, b], half) = load_short128(src, len, fill);
                (V256x2([_mm256_setr_m128i(a, b), pad]), half)
            }
        }
    }

    #[inline(always)]
    unsafe fn short_copy(src: *const u8, len: usize, flags: Flags, dst: *mut u8) -> bool {
        if len < 32 {
            // SAFETY: forwarded, with `4 <= len < 32`; AVX2 implies SSE2.
            return unsafe { short_copy128(src, len, flags, dst) };
        }
        // SAFETY: two 32-byte halves from both ends of `32 <= len < 64` bytes.
        unsafe {
            let first = _mm256_loadu_si256(src.cast());
            let last = _mm256_loadu_si256(src.add(len - 32).cast());
            if V256x2([first, last]).any(flags) {
                return false;
            }
            _mm256_storeu_si256(dst.cast(), first);
            _mm256_storeu_si256(dst.add(len - 32).cast(), last);
        }
        true
    }

    #[inline(always)]
    unsafe fn utf8_bmp3(src: *const u16, dst: *mut u8) -> bool {
        // SAFETY: AVX2 enabled; forwarded bounds.
        unsafe { utf8_bmp3_avx2(src, dst) }
    }

    #[inline(always)]
    unsafe fn copy_clean_ascii_tail(end: *const u8, len: usize, ensure_ascii: bool, dst: *mut u8) -> bool {
        // SAFETY: AVX2 (hence SSSE3) is among this backend's features; forwarded contract.
        unsafe { copy_clean_ascii_tail_ssse3(end, len, ensure_ascii, dst) }
    }

    #[inline(always)]
    unsafe fn utf8_char_count(src: &[u8]) -> usize {
        // SAFETY: AVX2 is among this backend's features.
        unsafe { super::utf8_decode::utf8_char_count_avx2(src) }
    }

    #[inline(always)]
    unsafe fn utf8_to_u32(src: &[u8], dst: *mut u32, cap: usize) -> (usize, usize) {
        // SAFETY: AVX2 is among this backend's features; forwarded contract.
        unsafe { super::utf8_decode::utf8_to_u32_avx2(src, dst, cap) }
    }

    #[inline(always)]
    unsafe fn utf8_bmp3_to_u16(src: &[u8], dst: *mut u16, cap: usize) -> (usize, usize) {
        // SAFETY: AVX2 (hence SSSE3) is among this backend's features; forwarded contract.
        unsafe { utf8_bmp3_to_u16_ssse3(src, dst, cap) }
    }

    #[inline(always)]
    unsafe fn utf8_latin1(src: *const u8, dst: *mut u8) -> Option<usize> {
        // SAFETY: AVX2 (hence SSSE3) is among this backend's features; forwarded bounds.
        unsafe { utf8_latin1_ssse3(src, dst) }
    }

    #[inline(always)]
    unsafe fn ascii_u16_escapes(src: *const u16, dst: *mut u8) -> bool {
        // SAFETY: AVX2 is among this backend's features; forwarded bounds.
        unsafe { ascii_u16_escapes_avx2(src, dst) }
    }

    const UTF8_EIGHT: bool = true;

    #[inline(always)]
    unsafe fn utf8_eight<U: Unit>(src: *const U, dst: *mut u8) -> Option<usize> {
        // SAFETY: AVX2 is among this backend's features; forwarded bounds.
        unsafe { utf8_eight_avx2(src, dst) }
    }
}
