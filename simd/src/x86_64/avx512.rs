//! AVX-512 (F + BW + VL): one 512-bit register per 64-byte block.
//!
//! Compares yield a 64-bit mask directly, narrowing uses the saturating `vpmovus*`
//! conversions (which keep source order), and strings shorter than a block are read and
//! written with masked loads and stores, which never touch the bytes masked off.

use super::{
    ascii_u16_escapes_avx2, copy_clean_ascii_tail_ssse3, max_lane128, utf8_bmp3_avx2, utf8_bmp3_to_u16_ssse3, utf8_eight_avx2, utf8_latin1_ssse3, Detected,
};
use crate::generic::{Flags, Vector};
use crate::scalar::Unit;
use core::arch::x86_64::*;

/// The AVX-512 backend (BW and VL required).
#[derive(Clone, Copy, Default, Debug)]
pub struct Avx512;

impl Avx512 {
    /// Whether this CPU (and OS) run AVX-512 F, BW and VL, with BMI1, BMI2 and POPCNT.
    #[inline]
    pub fn is_available() -> bool {
        static DETECTED: Detected = Detected::new();
        DETECTED.get(|| {
            std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("bmi1")
                && std::is_x86_feature_detected!("bmi2")
                && std::is_x86_feature_detected!("popcnt")
        })
    }
}

vector_kernel!(
    Avx512,
    crate::Backend::Avx512,
    V512,
    "avx2,avx512f,avx512bw,avx512vl,bmi1,bmi2,popcnt"
);

/// 64 bytes in one AVX-512 register.
#[derive(Clone, Copy)]
pub(crate) struct V512(__m512i);

/// The mask of the low `len < 64` bytes.
#[inline(always)]
fn low_mask(len: usize) -> __mmask64 {
    debug_assert!(len < 64);
    (1u64 << len) - 1
}

impl Vector for V512 {
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller provides 64 readable bytes.
        unsafe { V512(_mm512_loadu_si512(p.cast())) }
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: the caller provides 64 writable bytes.
        unsafe { _mm512_storeu_si512(p.cast(), self.0) }
    }

    #[inline(always)]
    unsafe fn narrow16(lo: Self, hi: Self) -> Self {
        // SAFETY: AVX-512 BW register operations only.
        unsafe {
            let lo = _mm512_cvtusepi16_epi8(lo.0);
            let hi = _mm512_cvtusepi16_epi8(hi.0);
            V512(_mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi))
        }
    }

    #[inline(always)]
    unsafe fn narrow32(q: [Self; 4]) -> Self {
        // SAFETY: AVX-512 F register operations only.
        unsafe {
            let [a, b, c, d] = q.map(|x| _mm512_cvtusepi32_epi8(x.0));
            let v = _mm512_castsi128_si512(a);
            let v = _mm512_inserti32x4::<1>(v, b);
            let v = _mm512_inserti32x4::<2>(v, c);
            V512(_mm512_inserti32x4::<3>(v, d))
        }
    }

    #[inline(always)]
    unsafe fn flags(self, flags: Flags) -> u64 {
        // SAFETY: AVX-512 BW register operations only.
        unsafe {
            let x = self.0;
            let quote = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b'"' as i8));
            let backslash = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b'\\' as i8));
            let low = match flags {
                Flags::Escape => _mm512_cmplt_epu8_mask(x, _mm512_set1_epi8(0x20)),
                // Signed: below 0x20 or at least 0x80.
                Flags::NonAscii => _mm512_cmplt_epi8_mask(x, _mm512_set1_epi8(0x20)),
                // Signed: DEL + 1 wraps to -128.
                Flags::Ascii => _mm512_cmplt_epi8_mask(
                    _mm512_add_epi8(x, _mm512_set1_epi8(1)),
                    _mm512_set1_epi8(0x21),
                ),
            };
            quote | backslash | low
        }
    }

    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        // SAFETY: AVX-512 BW register operations only.
        unsafe { V512(_mm512_max_epu8(self.0, other.0)) }
    }

    #[inline(always)]
    unsafe fn max_lane(self) -> u8 {
        // SAFETY: AVX-512 F and AVX2 register operations only.
        unsafe {
            let x = _mm256_max_epu8(
                _mm512_castsi512_si256(self.0),
                _mm512_extracti64x4_epi64::<1>(self.0),
            );
            max_lane128(_mm_max_epu8(
                _mm256_castsi256_si128(x),
                _mm256_extracti128_si256::<1>(x),
            ))
        }
    }

    #[inline(always)]
    unsafe fn load_short(src: *const u8, len: usize, fill: u8) -> (Self, usize) {
        // SAFETY: the masked load reads only the `len` bytes its mask enables, all in
        // `src[0..len]`; the other lanes take `fill`.
        unsafe {
            let pad = _mm512_set1_epi8(fill as i8);
            let v = _mm512_mask_loadu_epi8(pad, low_mask(len), src.cast());
            (V512(v), 64)
        }
    }

    #[inline(always)]
    unsafe fn short_copy(src: *const u8, len: usize, flags: Flags, dst: *mut u8) -> bool {
        // SAFETY: the masked load reads, and the masked store writes, only the `len`
        // bytes the mask enables, in `src[0..len]` and `dst[0..len]`.
        unsafe {
            let (v, _) = Self::load_short(src, len, b' ');
            if v.flags(flags) != 0 {
                return false;
            }
            _mm512_mask_storeu_epi8(dst.cast(), low_mask(len), v.0);
        }
        true
    }

    #[inline(always)]
    unsafe fn utf8_bmp3(src: *const u16, dst: *mut u8) -> bool {
        // SAFETY: AVX2 is among this backend's features; forwarded bounds.
        unsafe { utf8_bmp3_avx2(src, dst) }
    }

    #[inline(always)]
    unsafe fn copy_clean_ascii_tail(end: *const u8, len: usize, ensure_ascii: bool, dst: *mut u8) -> bool {
        // SAFETY: AVX-512 (hence SSSE3) is among this backend's features; forwarded contract.
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
        // SAFETY: AVX-512 (hence SSSE3) is among this backend's features; forwarded contract.
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
