//! SSE2: four 128-bit registers per 64-byte block. SSE2 is part of x86-64 itself, so
//! this backend needs no detection; it is the floor under AVX2 and AVX-512.

use super::{flag_bytes128, load_short128, max_lane128, short_copy128};
use crate::generic::{Flags, Vector};
use core::arch::x86_64::*;

/// The SSE2 backend.
#[derive(Clone, Copy, Default, Debug)]
pub struct Sse2;

impl Sse2 {
    /// Always true: SSE2 is part of the x86-64 baseline.
    #[inline(always)]
    pub fn is_available() -> bool {
        true
    }
}

vector_kernel!(Sse2, crate::Backend::Sse2, V128x4, "sse2");

/// 64 bytes in four SSE2 registers.
#[derive(Clone, Copy)]
pub(crate) struct V128x4([__m128i; 4]);

/// Clamp unsigned 16-bit lanes to 0xFF: `x - saturating(x - 0xFF)` (SSE2 has no
/// unsigned 16-bit min).
///
/// # Safety
/// SSE2.
#[inline(always)]
unsafe fn clamp16(x: __m128i) -> __m128i {
    // SAFETY: SSE2 register operations only.
    unsafe { _mm_sub_epi16(x, _mm_subs_epu16(x, _mm_set1_epi16(0xFF))) }
}

/// Sixteen `u16` lanes to sixteen saturated bytes.
///
/// # Safety
/// SSE2.
#[inline(always)]
unsafe fn pack16(a: __m128i, b: __m128i) -> __m128i {
    // SAFETY: SSE2 register operations only; lanes are <= 0xFF after the clamp, so the
    // signed-input pack is exact.
    unsafe { _mm_packus_epi16(clamp16(a), clamp16(b)) }
}

/// Sixteen `u32` lanes to sixteen saturated bytes: the signed pack to 16 bits maps every
/// value above 0x7FFF to 0x7FFF or 0x8000, both of which clamp to 0xFF.
///
/// # Safety
/// SSE2.
#[inline(always)]
unsafe fn pack32(q: [__m128i; 4]) -> __m128i {
    // SAFETY: SSE2 register operations only.
    unsafe { pack16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3])) }
}

impl Vector for V128x4 {
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller provides 64 readable bytes.
        unsafe {
            V128x4([
                _mm_loadu_si128(p.cast()),
                _mm_loadu_si128(p.add(16).cast()),
                _mm_loadu_si128(p.add(32).cast()),
                _mm_loadu_si128(p.add(48).cast()),
            ])
        }
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: the caller provides 64 writable bytes.
        unsafe {
            _mm_storeu_si128(p.cast(), self.0[0]);
            _mm_storeu_si128(p.add(16).cast(), self.0[1]);
            _mm_storeu_si128(p.add(32).cast(), self.0[2]);
            _mm_storeu_si128(p.add(48).cast(), self.0[3]);
        }
    }

    #[inline(always)]
    unsafe fn narrow16(lo: Self, hi: Self) -> Self {
        // SAFETY: SSE2 register operations only.
        unsafe {
            V128x4([
                pack16(lo.0[0], lo.0[1]),
                pack16(lo.0[2], lo.0[3]),
                pack16(hi.0[0], hi.0[1]),
                pack16(hi.0[2], hi.0[3]),
            ])
        }
    }

    #[inline(always)]
    unsafe fn narrow32(q: [Self; 4]) -> Self {
        // SAFETY: SSE2 register operations only.
        unsafe {
            V128x4([
                pack32(q[0].0),
                pack32(q[1].0),
                pack32(q[2].0),
                pack32(q[3].0),
            ])
        }
    }

    #[inline(always)]
    unsafe fn flags(self, flags: Flags) -> u64 {
        // SAFETY: SSE2 register operations only.
        unsafe {
            let mut mask = 0u64;
            for (j, x) in self.0.into_iter().enumerate() {
                let bits = _mm_movemask_epi8(flag_bytes128(x, flags)) as u32 as u64;
                mask |= bits << (16 * j);
            }
            mask
        }
    }

    #[inline(always)]
    unsafe fn any(self, flags: Flags) -> bool {
        // SAFETY: SSE2 register operations only.
        unsafe {
            let [a, b, c, d] = self.0.map(|x| flag_bytes128(x, flags));
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0
        }
    }

    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        // SAFETY: SSE2 register operations only.
        unsafe {
            V128x4([
                _mm_max_epu8(self.0[0], other.0[0]),
                _mm_max_epu8(self.0[1], other.0[1]),
                _mm_max_epu8(self.0[2], other.0[2]),
                _mm_max_epu8(self.0[3], other.0[3]),
            ])
        }
    }

    #[inline(always)]
    unsafe fn max_lane(self) -> u8 {
        // SAFETY: SSE2 register operations only.
        unsafe {
            let [a, b, c, d] = self.0;
            max_lane128(_mm_max_epu8(_mm_max_epu8(a, b), _mm_max_epu8(c, d)))
        }
    }

    #[inline(always)]
    unsafe fn load_short(src: *const u8, len: usize, fill: u8) -> (Self, usize) {
        // SAFETY: `4 <= len < 64` and `src` is valid for `len` reads: two 32-byte halves
        // (four registers) when `len >= 32`, else `load_short128`'s reads.
        unsafe {
            if len >= 32 {
                let v = V128x4([
                    _mm_loadu_si128(src.cast()),
                    _mm_loadu_si128(src.add(16).cast()),
                    _mm_loadu_si128(src.add(len - 32).cast()),
                    _mm_loadu_si128(src.add(len - 16).cast()),
                ]);
                (v, 32)
            } else {
                let ([a, b], half) = load_short128(src, len, fill);
                let pad = _mm_set1_epi8(fill as i8);
                (V128x4([a, b, pad, pad]), half)
            }
        }
    }

    #[inline(always)]
    unsafe fn short_copy(src: *const u8, len: usize, flags: Flags, dst: *mut u8) -> bool {
        if len < 32 {
            // SAFETY: forwarded, with `4 <= len < 32`.
            return unsafe { short_copy128(src, len, flags, dst) };
        }
        // SAFETY: two 32-byte halves from both ends of `32 <= len < 64` bytes.
        unsafe {
            let (v, _) = Self::load_short(src, len, b' ');
            if v.any(flags) {
                return false;
            }
            _mm_storeu_si128(dst.cast(), v.0[0]);
            _mm_storeu_si128(dst.add(16).cast(), v.0[1]);
            _mm_storeu_si128(dst.add(len - 32).cast(), v.0[2]);
            _mm_storeu_si128(dst.add(len - 16).cast(), v.0[3]);
        }
        true
    }
}
