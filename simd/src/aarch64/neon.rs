//! NEON: four 128-bit registers per 64-byte block.
//!
//! NEON has no movemask; the 64-bit mask of a block is built by weighting each byte of
//! the four compare results with its bit (1, 2, .., 128) and summing neighbours with three
//! rounds of pairwise adds. The clean-block test avoids that with one horizontal max.
//! Narrowing uses the saturating `uqxtn`, and the CJK path the interleaving `st3`.

use crate::generic::{utf8_pack_index, Flags, Vector, UTF8_PACK};
use crate::scalar::Unit;
use core::arch::aarch64::*;

/// The NEON backend.
#[derive(Clone, Copy, Default, Debug)]
pub struct Neon;

impl Neon {
    /// Whether this CPU runs NEON (every AArch64 Linux CPU does).
    #[inline]
    pub fn is_available() -> bool {
        std::arch::is_aarch64_feature_detected!("neon")
    }
}

vector_kernel!(Neon, crate::Backend::Neon, V128x4, "neon");

/// 64 bytes in four NEON registers.
#[derive(Clone, Copy)]
pub(crate) struct V128x4([uint8x16_t; 4]);

/// 0xFF in each byte of `x` that `flags` flags, 0 elsewhere.
///
/// # Safety
/// NEON.
#[inline(always)]
unsafe fn flag_bytes(x: uint8x16_t, flags: Flags) -> uint8x16_t {
    // SAFETY: NEON register operations only.
    unsafe {
        let quote = vceqq_u8(x, vdupq_n_u8(b'"'));
        let backslash = vceqq_u8(x, vdupq_n_u8(b'\\'));
        let low = match flags {
            Flags::Escape => vcltq_u8(x, vdupq_n_u8(0x20)),
            // Signed: below 0x20 or at least 0x80.
            Flags::NonAscii => vcltq_s8(vreinterpretq_s8_u8(x), vdupq_n_s8(0x20)),
            // Signed: DEL + 1 wraps to -128.
            Flags::Ascii => vcltq_s8(
                vreinterpretq_s8_u8(vaddq_u8(x, vdupq_n_u8(1))),
                vdupq_n_s8(0x21),
            ),
        };
        vorrq_u8(vorrq_u8(quote, backslash), low)
    }
}

/// Sixteen `u16` lanes (in `a` then `b`) to sixteen saturated bytes.
///
/// # Safety
/// NEON.
#[inline(always)]
unsafe fn pack16(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: NEON register operations only.
    unsafe {
        let lo = vqmovn_u16(vreinterpretq_u16_u8(a));
        vqmovn_high_u16(lo, vreinterpretq_u16_u8(b))
    }
}

/// Sixteen `u32` lanes (four in each of `q`) to sixteen saturated bytes.
///
/// # Safety
/// NEON.
#[inline(always)]
unsafe fn pack32(q: [uint8x16_t; 4]) -> uint8x16_t {
    // SAFETY: NEON register operations only.
    unsafe {
        let [a, b, c, d] = q.map(|x| vreinterpretq_u32_u8(x));
        let ab = vqmovn_high_u32(vqmovn_u32(a), b);
        let cd = vqmovn_high_u32(vqmovn_u32(c), d);
        vqmovn_high_u16(vqmovn_u16(ab), cd)
    }
}

impl Vector for V128x4 {
    #[inline(always)]
    unsafe fn load(p: *const u8) -> Self {
        // SAFETY: the caller provides 64 readable bytes.
        unsafe {
            V128x4([
                vld1q_u8(p),
                vld1q_u8(p.add(16)),
                vld1q_u8(p.add(32)),
                vld1q_u8(p.add(48)),
            ])
        }
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut u8) {
        // SAFETY: the caller provides 64 writable bytes.
        unsafe {
            vst1q_u8(p, self.0[0]);
            vst1q_u8(p.add(16), self.0[1]);
            vst1q_u8(p.add(32), self.0[2]);
            vst1q_u8(p.add(48), self.0[3]);
        }
    }

    #[inline(always)]
    unsafe fn narrow16(lo: Self, hi: Self) -> Self {
        // SAFETY: NEON register operations only.
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
        // SAFETY: NEON register operations only.
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
        const WEIGHTS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
        // SAFETY: NEON register operations, and a 16-byte load of a constant.
        unsafe {
            let weights = vld1q_u8(WEIGHTS.as_ptr());
            let [a, b, c, d] = self.0.map(|x| vandq_u8(flag_bytes(x, flags), weights));
            // Each round sums neighbouring bytes; distinct weights make the sums ORs.
            // After three, byte j holds the bits of bytes 8j..8j+8.
            let sum = vpaddq_u8(vpaddq_u8(a, b), vpaddq_u8(c, d));
            let sum = vpaddq_u8(sum, sum);
            vgetq_lane_u64::<0>(vreinterpretq_u64_u8(sum))
        }
    }

    #[inline(always)]
    unsafe fn any(self, flags: Flags) -> bool {
        // SAFETY: NEON register operations only.
        unsafe {
            let [a, b, c, d] = self.0.map(|x| flag_bytes(x, flags));
            vmaxvq_u8(vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d))) != 0
        }
    }

    #[inline(always)]
    unsafe fn max(self, other: Self) -> Self {
        // SAFETY: NEON register operations only.
        unsafe {
            V128x4([
                vmaxq_u8(self.0[0], other.0[0]),
                vmaxq_u8(self.0[1], other.0[1]),
                vmaxq_u8(self.0[2], other.0[2]),
                vmaxq_u8(self.0[3], other.0[3]),
            ])
        }
    }

    #[inline(always)]
    unsafe fn max_lane(self) -> u8 {
        // SAFETY: NEON register operations only.
        unsafe {
            let [a, b, c, d] = self.0;
            vmaxvq_u8(vmaxq_u8(vmaxq_u8(a, b), vmaxq_u8(c, d)))
        }
    }

    #[inline(always)]
    unsafe fn load_short(src: *const u8, len: usize, fill: u8) -> (Self, usize) {
        debug_assert!((4..64).contains(&len));
        // SAFETY: every read lies in `src[0..len]`: 32-byte halves when `len >= 32`,
        // 16-byte ones when `len >= 16`, 8-byte ones when `len >= 8`, else 4-byte ones.
        unsafe {
            let pad = vdupq_n_u8(fill);
            if len >= 32 {
                let v = V128x4([
                    vld1q_u8(src),
                    vld1q_u8(src.add(16)),
                    vld1q_u8(src.add(len - 32)),
                    vld1q_u8(src.add(len - 16)),
                ]);
                (v, 32)
            } else if len >= 16 {
                (
                    V128x4([vld1q_u8(src), vld1q_u8(src.add(len - 16)), pad, pad]),
                    16,
                )
            } else if len >= 8 {
                let v = vcombine_u8(vld1_u8(src), vld1_u8(src.add(len - 8)));
                (V128x4([v, pad, pad, pad]), 8)
            } else {
                let first = src.cast::<u32>().read_unaligned() as u64;
                let last = src.add(len - 4).cast::<u32>().read_unaligned() as u64;
                // Little-endian: byte 0 of `first` is lane 0.
                let halves = vcreate_u8(first | last << 32);
                let v = vcombine_u8(halves, vdup_n_u8(fill));
                (V128x4([v, pad, pad, pad]), 4)
            }
        }
    }

    #[inline(always)]
    unsafe fn short_copy(src: *const u8, len: usize, flags: Flags, dst: *mut u8) -> bool {
        debug_assert!((4..64).contains(&len));
        // SAFETY: every access lies in `src[0..len]` or `dst[0..len]`: 32-byte halves
        // when `len >= 32`, 16-byte ones when `len >= 16`, 8-byte ones when `len >= 8`,
        // else 4-byte ones.
        unsafe {
            if len >= 32 {
                let (v, _) = Self::load_short(src, len, b' ');
                if v.any(flags) {
                    return false;
                }
                vst1q_u8(dst, v.0[0]);
                vst1q_u8(dst.add(16), v.0[1]);
                vst1q_u8(dst.add(len - 32), v.0[2]);
                vst1q_u8(dst.add(len - 16), v.0[3]);
            } else if len >= 16 {
                let first = vld1q_u8(src);
                let last = vld1q_u8(src.add(len - 16));
                let both = vorrq_u8(flag_bytes(first, flags), flag_bytes(last, flags));
                if vmaxvq_u8(both) != 0 {
                    return false;
                }
                vst1q_u8(dst, first);
                vst1q_u8(dst.add(len - 16), last);
            } else if len >= 8 {
                let first = src.cast::<u64>().read_unaligned();
                let last = src.add(len - 8).cast::<u64>().read_unaligned();
                let v = vcombine_u8(vcreate_u8(first), vcreate_u8(last));
                if vmaxvq_u8(flag_bytes(v, flags)) != 0 {
                    return false;
                }
                dst.cast::<u64>().write_unaligned(first);
                dst.add(len - 8).cast::<u64>().write_unaligned(last);
            } else {
                let first = src.cast::<u32>().read_unaligned();
                let last = src.add(len - 4).cast::<u32>().read_unaligned();
                // Little-endian: byte 0 of `first` is lane 0; both halves in each lane.
                let v = vreinterpretq_u8_u64(vdupq_n_u64(u64::from(first) | u64::from(last) << 32));
                if vmaxvq_u8(flag_bytes(v, flags)) != 0 {
                    return false;
                }
                dst.cast::<u32>().write_unaligned(first);
                dst.add(len - 4).cast::<u32>().write_unaligned(last);
            }
        }
        true
    }

    #[inline(always)]
    unsafe fn utf8_bmp3(src: *const u16, dst: *mut u8) -> bool {
        // SAFETY: NEON; the loads read `src[0..64]`, the stores write `dst[0..192]`.
        unsafe {
            let units: [uint16x8_t; 8] = core::array::from_fn(|j| vld1q_u16(src.add(8 * j)));
            // Three-byte characters have a non-zero top five bits and are not surrogates.
            let top = vdupq_n_u16(0xF800);
            let mut bad = vdupq_n_u16(0);
            for x in units {
                let t = vandq_u16(x, top);
                let two_or_less = vceqq_u16(t, vdupq_n_u16(0));
                let in_surrogates = vceqq_u16(t, vdupq_n_u16(0xD800));
                bad = vorrq_u16(bad, vorrq_u16(two_or_less, in_surrogates));
            }
            if vmaxvq_u16(bad) != 0 {
                return false;
            }
            let six_bits = vdupq_n_u8(0x3F);
            for g in 0..4 {
                let (a, b) = (units[2 * g], units[2 * g + 1]);
                let lead = vcombine_u8(
                    vmovn_u16(vshrq_n_u16::<12>(a)),
                    vmovn_u16(vshrq_n_u16::<12>(b)),
                );
                let mid = vcombine_u8(vshrn_n_u16::<6>(a), vshrn_n_u16::<6>(b));
                let low = vcombine_u8(vmovn_u16(a), vmovn_u16(b));
                let bytes = uint8x16x3_t(
                    vorrq_u8(lead, vdupq_n_u8(0xE0)),
                    vorrq_u8(vandq_u8(mid, six_bits), vdupq_n_u8(0x80)),
                    vorrq_u8(vandq_u8(low, six_bits), vdupq_n_u8(0x80)),
                );
                // `st3` interleaves the three byte streams: lead, mid, low per unit.
                vst3q_u8(dst.add(48 * g), bytes);
            }
            true
        }
    }

    const UTF8_EIGHT: bool = true;

    /// Each half of four code points as the x86 version does it (see `utf8_eight_avx2`):
    /// every lane holds its UTF-8 sequence ending at its top byte, and `tbl` packs them.
    #[inline(always)]
    unsafe fn utf8_eight<U: Unit>(src: *const U, dst: *mut u8) -> Option<usize> {
        // SAFETY: NEON; the loads read 8 units at `src`; the stores write 16 bytes at
        // `dst` and at `dst + len` of the first half (at most 16).
        unsafe {
            let halves: [uint32x4_t; 2] = match core::mem::size_of::<U>() {
                1 => {
                    let w = vmovl_u8(vld1_u8(src.cast()));
                    [vmovl_u16(vget_low_u16(w)), vmovl_high_u16(w)]
                }
                2 => {
                    let w = vld1q_u16(src.cast());
                    [vmovl_u16(vget_low_u16(w)), vmovl_high_u16(w)]
                }
                _ => [vld1q_u32(src.cast()), vld1q_u32(src.cast::<u32>().add(4))],
            };
            let set = vdupq_n_u32;
            let mut refused = set(0);
            for c in halves {
                let escape = vorrq_u32(
                    vcltq_u32(c, set(0x20)),
                    vorrq_u32(vceqq_u32(c, set(0x22)), vceqq_u32(c, set(0x5C))),
                );
                let surrogate = vceqq_u32(vandq_u32(c, set(!0x7FF)), set(0xD800));
                refused = vorrq_u32(refused, vorrq_u32(escape, surrogate));
            }
            if vmaxvq_u32(refused) != 0 {
                return None;
            }
            let mut out = dst;
            for c in halves {
                let two_plus = vcgtq_u32(c, set(0x7F));
                let three_plus = vcgtq_u32(c, set(0x7FF));
                let four = vcgtq_u32(c, set(0xFFFF));
                let sequence = vorrq_u32(
                    vorrq_u32(
                        vshlq_n_u32::<24>(vandq_u32(c, set(0x3F))),
                        vshlq_n_u32::<10>(vandq_u32(c, set(0xFC0))),
                    ),
                    vorrq_u32(
                        vshrq_n_u32::<4>(vandq_u32(c, set(0x3F000))),
                        vorrq_u32(vshrq_n_u32::<18>(c), set(0x8080_80F0)),
                    ),
                );
                let two = vbicq_u32(two_plus, three_plus);
                let three = vbicq_u32(three_plus, four);
                let sequence = vorrq_u32(
                    sequence,
                    vorrq_u32(vandq_u32(two, set(0x0040_0000)), vandq_u32(three, set(0x0000_6000))),
                );
                let sequence = vbslq_u32(two_plus, sequence, vshlq_n_u32::<24>(c));
                // Length classes (0 minus the all-ones masks), one byte per lane.
                let classes = vsubq_u32(set(0), vaddq_u32(vaddq_u32(two_plus, three_plus), four));
                let narrow = vmovn_u32(classes);
                let bytes = vmovn_u16(vcombine_u16(narrow, narrow));
                let (index, len) = utf8_pack_index(vget_lane_u32::<0>(vreinterpret_u32_u8(bytes)));
                let pack = vld1q_u8(UTF8_PACK[index].as_ptr());
                vst1q_u8(out, vqtbl1q_u8(vreinterpretq_u8_u32(sequence), pack));
                out = out.add(len);
            }
            Some(out.offset_from(dst) as usize)
        }
    }

    #[inline(always)]
    unsafe fn ascii_u16_escapes(src: *const u16, dst: *mut u8) -> bool {
        const HEX: [u8; 16] = *b"0123456789abcdef";
        // Each unit's digits arrive as [n1, n0, n3, n2] (n3 the top nibble); these put two
        // units' digits in order after a `\u` each, in 12 bytes (0xFF selects zero).
        const FIRST_TWO: [u8; 16] = [
            255, 255, 2, 3, 0, 1, 255, 255, 6, 7, 4, 5, 255, 255, 255, 255,
        ];
        const LAST_TWO: [u8; 16] = [
            255, 255, 10, 11, 8, 9, 255, 255, 14, 15, 12, 13, 255, 255, 255, 255,
        ];
        const PREFIX: [u8; 16] = [b'\\', b'u', 0, 0, 0, 0, b'\\', b'u', 0, 0, 0, 0, 0, 0, 0, 0];
        // SAFETY: NEON; the loads read `src[0..64]` and four 16-byte constants, the
        // stores write `dst[0..388]`.
        unsafe {
            let units: [uint16x8_t; 8] = core::array::from_fn(|j| vld1q_u16(src.add(8 * j)));
            let mut low = vdupq_n_u16(0x7F);
            for x in units {
                low = vminq_u16(low, x);
            }
            if vminvq_u16(low) < 0x7F {
                return false;
            }
            let hex = vld1q_u8(HEX.as_ptr());
            let first_two = vld1q_u8(FIRST_TWO.as_ptr());
            let last_two = vld1q_u8(LAST_TWO.as_ptr());
            let prefix = vld1q_u8(PREFIX.as_ptr());
            let nibble = vdupq_n_u8(0x0F);
            let mut out = dst;
            for x in units {
                let bytes = vreinterpretq_u8_u16(x);
                let lo = vqtbl1q_u8(hex, vandq_u8(bytes, nibble));
                let hi = vqtbl1q_u8(
                    hex,
                    vandq_u8(vreinterpretq_u8_u16(vshrq_n_u16::<4>(x)), nibble),
                );
                for four in [vzip1q_u8(hi, lo), vzip2q_u8(hi, lo)] {
                    vst1q_u8(out, vorrq_u8(vqtbl1q_u8(four, first_two), prefix));
                    vst1q_u8(out.add(12), vorrq_u8(vqtbl1q_u8(four, last_two), prefix));
                    out = out.add(24);
                }
            }
            true
        }
    }
}
