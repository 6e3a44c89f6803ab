//! The parser's decoder of mixed UTF-8 (one to four bytes a character) into UCS-4, with
//! AVX2 (used by the AVX2 and AVX-512 backends): [`utf8_to_u32_avx2`].
//!
//! A window of 32 bytes gives 16 candidate positions, in two groups of eight. Each group's
//! eight 32-bit lanes hold, for byte `k` of the group, the four bytes from `k` in reverse
//! order (`b[k] << 24 | b[k+1] << 16 | b[k+2] << 8 | b[k+3]`), each byte already masked to
//! its payload bits, shifted right by the length the byte at `k` announces as a lead, and
//! folded into a code point by two multiply-adds. The lanes whose byte starts a character
//! (any byte that is not a continuation) are then packed to the front with one permute and
//! stored. The whole window is validated first from bitmasks: the continuation bytes must
//! be exactly those the leads announce (no byte F8..FF, no stray or missing continuation);
//! then each character's value must not be below its form's range (overlong) nor above
//! U+10FFFF. Surrogates pass, as `surrogatepass` lets them.

use core::arch::x86_64::*;

/// Payload bits a byte keeps, by its high nibble: ASCII 7, continuation 6, the leads of
/// two, three and four bytes 5, 4 and 3.
static PAYLOAD: [u8; 16] = [
    0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F, 0x3F, 0x3F, 0x3F, 0x1F, 0x1F, 0x0F, 0x07,
];
/// How far a lane starting with this lead is shifted right: by the bytes of the four that
/// are not its character's (continuations: any; their lanes are dropped).
static SHIFT: [u8; 16] = [24, 24, 24, 24, 24, 24, 24, 24, 0, 0, 0, 0, 16, 16, 8, 0];
/// log2 of the smallest code point of the form this lead starts; 32 (a shift to zero:
/// no smallest) for ASCII and continuations.
static MIN_BITS: [u8; 16] = [32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 7, 7, 11, 16];
/// Lane `k` (0..8, four in each 128-bit half) gathers bytes `k + 3, k + 2, k + 1, k`.
static REVERSE: [u8; 32] = [
    3, 2, 1, 0, 4, 3, 2, 1, 5, 4, 3, 2, 6, 5, 4, 3, //
    7, 6, 5, 4, 8, 7, 6, 5, 9, 8, 7, 6, 10, 9, 8, 7,
];
/// Lane `k` gets byte `k` alone.
static LEAD: [u8; 32] = [
    0, 0x80, 0x80, 0x80, 1, 0x80, 0x80, 0x80, 2, 0x80, 0x80, 0x80, 3, 0x80, 0x80, 0x80, //
    4, 0x80, 0x80, 0x80, 5, 0x80, 0x80, 0x80, 6, 0x80, 0x80, 0x80, 7, 0x80, 0x80, 0x80,
];
/// For each 8-bit mask of lanes, their indices in order, three bits each (the permute
/// that packs them to the front), and from bit 24 how many there are.
static PACK: [u32; 256] = pack_table();

const fn pack_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut mask = 0;
    while mask < 256 {
        let (mut lane, mut out) = (0, 0);
        while lane < 8 {
            if mask & (1 << lane) != 0 {
                table[mask] |= (lane as u32) << (3 * out);
                out += 1;
            }
            lane += 1;
        }
        table[mask] |= out << 24;
        mask += 1;
    }
    table
}

/// The per-byte views of a window: payload bytes, shift counts and smallest-value bits.
#[derive(Clone, Copy)]
struct Views {
    payload: __m256i,
    shift: __m256i,
    min_bits: __m256i,
}

/// Bitmasks of a window: bit `j` for byte `j`.
struct Masks {
    /// Bytes 80..FF.
    high: u32,
    /// Continuation bytes (80..BF).
    continuation: u32,
    /// Where the leads say continuation bytes belong.
    expected: u32,
    /// Bytes that are no part of UTF-8 (F8..FF).
    invalid: u32,
}

/// The masks of the bytes of `v`.
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn masks(v: __m256i) -> Masks {
    // SAFETY: AVX2 by the caller.
    unsafe {
        // As signed bytes, 80..BF are -128..-65, C0.. are -64..: `> -65` picks the leads
        // of two bytes or more (and ASCII, removed by `high`), and so on.
        let at_least = |byte: i8| _mm256_movemask_epi8(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(byte - 1))) as u32;
        let high = _mm256_movemask_epi8(v) as u32;
        let two = at_least(0xC0u8 as i8) & high;
        let three = at_least(0xE0u8 as i8) & high;
        let four = at_least(0xF0u8 as i8) & high;
        let invalid = at_least(0xF8u8 as i8) & high;
        Masks {
            high,
            continuation: high & !two,
            expected: two << 1 | three << 2 | four << 3,
            invalid,
        }
    }
}

/// The views of the bytes of `v`.
///
/// # Safety
/// AVX2.
#[inline(always)]
unsafe fn views(v: __m256i) -> Views {
    // SAFETY: AVX2 by the caller; the tables are 16 bytes each.
    unsafe {
        let nibbles = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
        let table = |t: &[u8; 16]| _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().cast()));
        Views {
            payload: _mm256_and_si256(v, _mm256_shuffle_epi8(table(&PAYLOAD), nibbles)),
            shift: _mm256_shuffle_epi8(table(&SHIFT), nibbles),
            min_bits: _mm256_shuffle_epi8(table(&MIN_BITS), nibbles),
        }
    }
}

/// Decode the characters that start at bytes `0..8` of a group (`leads`, bit `k` for byte
/// `k`) whose views hold the group's bytes `0..16` in both 128-bit halves, and store them
/// (eight lanes) at `dst`; their count, or `None` (nothing stored) when one is overlong or
/// above U+10FFFF.
///
/// # Safety
/// AVX2; `dst` is valid for 8 writes; the group's continuation bytes are the ones its
/// leads announce.
#[inline(always)]
unsafe fn group(views: Views, leads: u32, dst: *mut u32) -> Option<usize> {
    // SAFETY: AVX2 by the caller; the tables are 32 bytes each and `PACK` is indexed by
    // an 8-bit mask; the store writes the 8 units `dst` is valid for.
    unsafe {
        let lane_table = |t: &[u8; 32]| _mm256_loadu_si256(t.as_ptr().cast());
        let bytes = _mm256_shuffle_epi8(views.payload, lane_table(&REVERSE));
        let shift = _mm256_shuffle_epi8(views.shift, lane_table(&LEAD));
        let min_bits = _mm256_shuffle_epi8(views.min_bits, lane_table(&LEAD));
        let bytes = _mm256_srlv_epi32(bytes, shift);
        // Bytes 3, 2, 1, 0 of a lane (lead first) hold 3, 6, 6, 6 payload bits: pairs
        // combined as `low + 64 * high`, then the two halves as `low + 4096 * high`.
        let pairs = _mm256_maddubs_epi16(bytes, _mm256_set1_epi16(0x4001));
        let chars = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x1000_0001));
        let min = _mm256_sllv_epi32(_mm256_set1_epi32(1), min_bits);
        let bad = _mm256_or_si256(
            _mm256_cmpgt_epi32(min, chars),
            _mm256_cmpgt_epi32(chars, _mm256_set1_epi32(0x10FFFF)),
        );
        if _mm256_movemask_ps(_mm256_castsi256_ps(bad)) as u32 & leads != 0 {
            return None;
        }
        let pack = PACK[leads as usize];
        let order = _mm256_srlv_epi32(_mm256_set1_epi32(pack as i32), _mm256_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21));
        let packed = _mm256_permutevar8x32_epi32(chars, _mm256_and_si256(order, _mm256_set1_epi32(7)));
        _mm256_storeu_si256(dst.cast(), packed);
        Some((pack >> 24) as usize)
    }
}

/// [`Kernel::utf8_to_u32`](crate::Kernel::utf8_to_u32) with AVX2: 32-byte windows (16
/// character starts each, or 32 ASCII characters widened) while 32 bytes are left, then
/// 16-byte ones (8 starts).
///
/// # Safety
/// AVX2, and the contract of `Kernel::utf8_to_u32`.
#[inline(always)]
pub(super) unsafe fn utf8_to_u32_avx2(src: &[u8], dst: *mut u32, cap: usize) -> (usize, usize) {
    let mut i = 0;
    let mut n = 0;
    // SAFETY: AVX2 by the caller. Every load reads `src[i..i + 32]` or `src[i..i + 16]`,
    // inside `src` by the loop conditions; every group stores 8 units at `dst + n` or
    // `dst + n + 8` at most (a group writes at most 8 characters), inside the `cap` units
    // `dst` is valid for by the loop conditions (`n + 16 <= cap`, `n + 8 <= cap`); the
    // ASCII step stores 32 units at `dst + n`, under its own `n + 32 <= cap`.
    unsafe {
        while i + 32 <= src.len() && n + 16 <= cap {
            let v = _mm256_loadu_si256(src.as_ptr().add(i).cast());
            let m = masks(v);
            if m.high == 0 && n + 32 <= cap {
                // All ASCII (the text around an emoji): widened, 32 characters.
                let lo = _mm256_castsi256_si128(v);
                let hi = _mm256_extracti128_si256(v, 1);
                let out = dst.add(n).cast::<__m256i>();
                _mm256_storeu_si256(out, _mm256_cvtepu8_epi32(lo));
                _mm256_storeu_si256(out.add(1), _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
                _mm256_storeu_si256(out.add(2), _mm256_cvtepu8_epi32(hi));
                _mm256_storeu_si256(out.add(3), _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
                i += 32;
                n += 32;
                continue;
            }
            let leads = !m.continuation;
            // The window takes the characters starting at bytes 0..16; they end by byte
            // 18, so the next start is at 16..=19. Its bytes are checked up to and
            // including that start, where no continuation may be expected.
            let next = 16 + (leads >> 16).trailing_zeros() as usize;
            if next > 19 || ((m.expected ^ m.continuation) | m.invalid) & ((2 << next) - 1) != 0 {
                break;
            }
            let all = views(v);
            // Group 0 sees bytes 0..16, group 1 bytes 8..24, in both halves.
            let half = |x: __m256i, from: i32| match from {
                0 => _mm256_permute4x64_epi64(x, 0b01_00_01_00),
                _ => _mm256_permute4x64_epi64(x, 0b10_01_10_01),
            };
            let first = Views {
                payload: half(all.payload, 0),
                shift: half(all.shift, 0),
                min_bits: half(all.min_bits, 0),
            };
            let second = Views {
                payload: half(all.payload, 1),
                shift: half(all.shift, 1),
                min_bits: half(all.min_bits, 1),
            };
            let Some(a) = group(first, leads & 0xFF, dst.add(n)) else { break };
            let Some(b) = group(second, leads >> 8 & 0xFF, dst.add(n + a)) else { break };
            i += next;
            n += a + b;
        }
        while i + 16 <= src.len() && n + 8 <= cap {
            let v = _mm256_broadcastsi128_si256(_mm_loadu_si128(src.as_ptr().add(i).cast()));
            let m = masks(v);
            let leads = !m.continuation & 0xFFFF;
            let next = 8 + (leads >> 8).trailing_zeros() as usize;
            if next > 11 || ((m.expected ^ m.continuation) | m.invalid) & ((2 << next) - 1) != 0 {
                break;
            }
            let Some(a) = group(views(v), leads & 0xFF, dst.add(n)) else { break };
            i += next;
            n += a;
        }
    }
    (i, n)
}

/// [`Kernel::utf8_char_count`](crate::Kernel::utf8_char_count) with AVX2: per 32 bytes,
/// one compare flags the bytes that are not continuations (as signed bytes, 80..BF are
/// the ones below -64), subtracted (-1 each) from byte counters that are summed every 255
/// blocks and at the end; the last bytes by the scalar count.
///
/// # Safety
/// AVX2.
#[inline(always)]
pub(super) unsafe fn utf8_char_count_avx2(src: &[u8]) -> usize {
    let mut i = 0;
    let mut count = 0;
    // SAFETY: AVX2 by the caller; every load reads `src[i..i + 32]`, inside `src` by the
    // loop conditions.
    unsafe {
        let starts = _mm256_set1_epi8(-65);
        while i + 32 <= src.len() {
            let mut lanes = _mm256_setzero_si256();
            let mut blocks = 0;
            while blocks < 255 && i + 32 <= src.len() {
                let v = _mm256_loadu_si256(src.as_ptr().add(i).cast());
                lanes = _mm256_sub_epi8(lanes, _mm256_cmpgt_epi8(v, starts));
                i += 32;
                blocks += 1;
            }
            let sums = _mm256_sad_epu8(lanes, _mm256_setzero_si256());
            let sums = _mm_add_epi64(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
            count += (_mm_cvtsi128_si64(sums) + _mm_extract_epi64(sums, 1)) as usize;
        }
    }
    count + crate::scalar::utf8_char_count(&src[i..])
}
