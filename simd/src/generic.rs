//! The one algorithm every vector backend shares, written once over the [`Vector`] trait.
//!
//! A backend supplies a 64-byte [`Vector`] (four SSE2 or NEON registers, two AVX2 ones,
//! one AVX-512 one) with a handful of operations: load, store, narrow wider units to bytes,
//! the bitmask of bytes that need attention, max, loads for strings shorter than a block,
//! and optionally two CJK fast paths. Everything else lives here, so each kernel's logic
//! exists once; the `vector_kernel!` macro (at the end) turns a backend's vector into a `Kernel`.
//!
//! ## Kernels as jobs
//!
//! The nine escape kernels are three [`Job`]s ([`Same`]: same-width escaping; [`Utf8`];
//! [`Ascii`]: `ensure_ascii`) over three source widths ([`Lanes`]: `u8`, `u16`, `u32`).
//! A job says which bytes it flags ([`Flags`]), how a block is stored (as it is, or
//! narrowed to bytes), and how a flagged unit is written. Wide units are narrowed to one
//! byte each with saturation, so the flags are always computed on 64 bytes.
//!
//! ## Store-then-fix-up
//!
//! The escape kernels work on blocks of 64 source units. Each block is loaded, stored to
//! `dst` unconditionally (as it is, or narrowed to bytes for the UTF-8 and `ensure_ascii`
//! kernels), and only then checked: clean blocks, the overwhelming majority in real text,
//! cost one load, one store and a few compares. When the block has flagged units, the
//! store was right up to the first of them; from there [`fix_block`] walks the bits of the
//! block's mask, writing each flagged unit's escape and copying the clean run after it
//! with one more whole-block store (the output has shifted, so the first store is stale
//! there). The mask is computed once per block however many escapes it holds.
//!
//! ## Never reading past the source
//!
//! Whole-block loads only happen where 64 units are in bounds. The last partial block is
//! done by loading the *last* 64 units (overlapping units already written) when they are
//! all clean, and otherwise through a zero-padded copy on the stack ([`padded`]). Strings
//! of bytes shorter than a block are checked and copied by [`Vector::short_copy`], which
//! covers them with two overlapping loads from both ends (or a masked load on AVX-512)
//! and never reads outside; if they need escapes they go through the padded copy too.
//!
//! ## Text that is mostly non-ASCII
//!
//! Store-then-fix-up pays per flagged unit, which suits text with a few escapes or
//! accents. For blocks that are mostly flagged, the UTF-8 kernels have block-wide paths
//! (all three-byte CJK: [`Job::dense`]; Latin-1: [`Job::mixed`]) and, for everything else
//! (emoji, CJK among ASCII), [`Job::eights`]: eight code points at a time read straight
//! from the source, each given its UTF-8 sequence in a 32-bit lane and packed by one byte
//! shuffle ([`Vector::utf8_eight`]). Short strings and tails go the same way, so they
//! need no padded copy. A group with an escape or a surrogate goes unit by unit.
//!
//! ## Writes past the end
//!
//! Block stores write up to 64 units past the current output position, and the escape
//! writers store 8 units for a 2- or 6-unit escape and 4 bytes for a 2- or 3-byte UTF-8
//! sequence. Every write starts at the current end of the output, so whatever lands past
//! it is either overwritten by what follows or lies past the final length, by less than
//! [`SLACK`](crate::SLACK) = 64 units.

use crate::scalar::{Unit, ESCAPE};
use crate::Surrogate;
use core::marker::PhantomData;

/// Source units per block: every [`Vector`] covers 64 bytes, and a block of wider units is
/// narrowed to one 64-byte vector.
pub(crate) const BLOCK: usize = 64;

/// Which bytes of a (narrowed) block a kernel must handle one by one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Flags {
    /// `"`, `\` and bytes below 0x20: what `ensure_ascii=False` escapes.
    Escape,
    /// [`Flags::Escape`] and every byte >= 0x80: what a UTF-8 transcoder cannot copy.
    NonAscii,
    /// [`Flags::NonAscii`] and 0x7F: what `ensure_ascii=True` escapes.
    Ascii,
}

impl Flags {
    /// Whether `code` is flagged: the scalar twin of [`Vector::flags`].
    #[inline(always)]
    pub(crate) fn test(self, code: u32) -> bool {
        let escape = code < 128 && ESCAPE[code as usize] != 0;
        match self {
            Flags::Escape => escape,
            Flags::NonAscii => escape || code >= 0x80,
            Flags::Ascii => escape || code >= 0x7F,
        }
    }
}

/// 64 bytes of vector registers and the few operations the kernels need.
///
/// Implementations are thin wrappers over one ISA's intrinsics. All methods are `unsafe`
/// because they execute that ISA's instructions: they may only be called from code
/// compiled with its target features, which is how the backends' entry points instantiate
/// the generic functions below. All methods are `#[inline(always)]` so that they inline
/// into those entry points.
pub(crate) trait Vector: Copy {
    /// Load 64 bytes from `p` (no alignment needed).
    ///
    /// # Safety
    /// `p` is valid for 64 bytes of reads.
    unsafe fn load(p: *const u8) -> Self;

    /// Store 64 bytes to `p` (no alignment needed).
    ///
    /// # Safety
    /// `p` is valid for 64 bytes of writes.
    unsafe fn store(self, p: *mut u8);

    /// Narrow 64 `u16` units, the first 32 in `lo` and the next 32 in `hi`, to 64 bytes,
    /// saturating: a unit above 0xFF becomes 0xFF. Saturation keeps every non-ASCII unit
    /// non-ASCII, so [`Flags`] mean the same on the narrowed bytes as on the units, and it
    /// never turns a unit into `"`, `\` or a control byte.
    unsafe fn narrow16(lo: Self, hi: Self) -> Self;

    /// Narrow 64 `u32` units, 16 in each of `q`, to 64 bytes, saturating as
    /// [`Vector::narrow16`] does.
    unsafe fn narrow32(q: [Self; 4]) -> Self;

    /// Bit `j` is set when byte `j` is flagged by `flags`.
    unsafe fn flags(self, flags: Flags) -> u64;

    /// Whether any byte is flagged: the clean-block test, which can be cheaper than
    /// building the whole mask.
    #[inline(always)]
    unsafe fn any(self, flags: Flags) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { self.flags(flags) != 0 }
    }

    /// Bytewise unsigned maximum.
    unsafe fn max(self, other: Self) -> Self;

    /// The largest byte.
    unsafe fn max_lane(self) -> u8;

    /// Cover a string of `4 <= len < 64` bytes without reading outside it. Returns the
    /// vector and `half`: bytes `0..half` of the vector are `src[0..half]`, bytes
    /// `half..2 * half` are `src[len - half..len]`, every other byte is `fill`
    /// (`half >= len` means the vector holds `src` in place, with `fill` after it).
    ///
    /// # Safety
    /// `src` is valid for `len` bytes of reads and `4 <= len < 64`.
    unsafe fn load_short(src: *const u8, len: usize, fill: u8) -> (Self, usize);

    /// If none of the `4 <= len < 64` bytes at `src` is flagged by `flags`, copy them to
    /// `dst` and return true; otherwise write nothing and return false. The short-string
    /// fast path: each backend covers the string with the fewest registers it can (two
    /// overlapping halves from both ends, or a masked load) and reads nothing outside it.
    ///
    /// # Safety
    /// `src` is valid for `len` reads, `dst` for `len` writes, `4 <= len < 64`.
    unsafe fn short_copy(src: *const u8, len: usize, flags: Flags, dst: *mut u8) -> bool;

    /// Transcode 64 UCS-2 units to UTF-8 if they are all three-byte characters (U+0800 to
    /// U+FFFF, no surrogates), writing 192 bytes; return false, having written nothing,
    /// otherwise. The fast path for CJK text; backends without a shuffle leave it out.
    ///
    /// # Safety
    /// `src` is valid for 64 units of reads, `dst` for 192 + 16 bytes of writes.
    #[inline(always)]
    unsafe fn utf8_bmp3(_src: *const u16, _dst: *mut u8) -> bool {
        false
    }

    /// [`Kernel::copy_clean_ascii_tail`](crate::Kernel::copy_clean_ascii_tail); backends
    /// without a byte shuffle leave it out.
    ///
    /// # Safety
    /// As there.
    #[inline(always)]
    unsafe fn copy_clean_ascii_tail(_end: *const u8, _len: usize, _ensure_ascii: bool, _dst: *mut u8) -> bool {
        false
    }

    /// [`Kernel::utf8_bmp3_to_u16`](crate::Kernel::utf8_bmp3_to_u16); backends without a
    /// byte shuffle leave it out.
    ///
    /// # Safety
    /// As there.
    #[inline(always)]
    unsafe fn utf8_bmp3_to_u16(_src: &[u8], _dst: *mut u16, _cap: usize) -> (usize, usize) {
        (0, 0)
    }

    /// [`Kernel::utf8_to_u32`](crate::Kernel::utf8_to_u32); backends without the
    /// instructions for it leave it out.
    ///
    /// # Safety
    /// As there.
    #[inline(always)]
    unsafe fn utf8_to_u32(_src: &[u8], _dst: *mut u32, _cap: usize) -> (usize, usize) {
        (0, 0)
    }

    /// [`Kernel::utf8_char_count`](crate::Kernel::utf8_char_count); backends without a
    /// faster way leave it to the scalar one.
    ///
    /// # Safety
    /// The backend's features are enabled in the calling code.
    #[inline(always)]
    unsafe fn utf8_char_count(src: &[u8]) -> usize {
        crate::scalar::utf8_char_count(src)
    }

    /// Transcode 64 Latin-1 bytes, none of which needs an escape, to UTF-8 (64 to 128
    /// bytes), returning the count written. The fast path for accented text; backends
    /// without a byte shuffle leave it out (`None`, having written nothing).
    ///
    /// # Safety
    /// `src` is valid for 64 reads, `dst` for 128 + 16 bytes of writes; `src` holds no
    /// byte that `Flags::Escape` flags.
    #[inline(always)]
    unsafe fn utf8_latin1(_src: *const u8, _dst: *mut u8) -> Option<usize> {
        None
    }

    /// Write 64 UCS-2 units as `\uXXXX` escapes (384 bytes) if they are all at least
    /// U+007F (which `ensure_ascii` writes that way, surrogates included); return false,
    /// having written nothing, otherwise. The fast path for CJK text under
    /// `ensure_ascii=True`; backends without a byte shuffle leave it out.
    ///
    /// # Safety
    /// `src` is valid for 64 units of reads, `dst` for 384 + 16 bytes of writes.
    #[inline(always)]
    unsafe fn ascii_u16_escapes(_src: *const u16, _dst: *mut u8) -> bool {
        false
    }

    /// Whether [`Vector::utf8_eight`] is implemented.
    const UTF8_EIGHT: bool = false;

    /// Transcode eight units of `U` (Latin-1, UCS-2 or UCS-4) to UTF-8 (8 to 32 bytes) if
    /// none needs an escape and none is a surrogate, returning the count written; `None`,
    /// having written nothing, otherwise. The path for text of mixed UTF-8 lengths
    /// (emoji, CJK among ASCII); backends without a byte shuffle leave it out.
    ///
    /// # Safety
    /// `src` is valid for 8 units of reads, `dst` for 32 + 16 bytes of writes.
    #[inline(always)]
    unsafe fn utf8_eight<U: Unit>(_src: *const U, _dst: *mut u8) -> Option<usize> {
        None
    }
}

/// For [`Vector::utf8_eight`]: from the length classes (UTF-8 length minus one) of four
/// code points, one per byte of `classes` (first code point in the low byte), the index of
/// their packing shuffle in [`UTF8_PACK`] and their total UTF-8 length.
#[allow(dead_code)] // used by the backends with a byte shuffle
#[inline(always)]
pub(crate) fn utf8_pack_index(classes: u32) -> (usize, usize) {
    // The multiplier moves class `i` (bits `8i..8i + 2`) to bit `24 + 2i` (shifts of
    // 24 - 6i); every other product lands either at or above bit 32 (dropped) or below
    // bit 24, where their sum stays under 2^24, so nothing carries into the index.
    let index = classes.wrapping_mul(0x0104_1040) >> 24;
    // Byte 3 of this product is the sum of the four classes (each at most 3, no carries).
    let len = 4 + (classes.wrapping_mul(0x0101_0101) >> 24);
    (index as usize, len as usize)
}

/// Byte shuffles that pack four 32-bit lanes, each holding a UTF-8 sequence that ends at
/// the lane's top byte, into consecutive bytes; indexed by [`utf8_pack_index`]. Unused
/// positions are 0x80 (zero for both `pshufb` and `tbl`).
#[allow(dead_code)] // used by the backends with a byte shuffle
pub(crate) static UTF8_PACK: [[u8; 16]; 256] = utf8_pack_table();

const fn utf8_pack_table() -> [[u8; 16]; 256] {
    let mut table = [[0x80u8; 16]; 256];
    let mut index = 0;
    while index < 256 {
        let mut at = 0;
        let mut lane = 0;
        while lane < 4 {
            let len = ((index >> (2 * lane)) & 3) + 1;
            let mut byte = 4 - len;
            while byte < 4 {
                table[index][at] = (4 * lane + byte) as u8;
                at += 1;
                byte += 1;
            }
            lane += 1;
        }
        index += 1;
    }
    table
}

/// A source code unit: how a block of 64 of them is loaded, stored as it is, and narrowed.
pub(crate) trait Lanes: Unit + Default {
    /// The registers holding 64 units.
    type Raw<V: Vector>: Copy;

    /// # Safety
    /// `p` is valid for 64 units of reads; `V`'s features are enabled.
    unsafe fn load_raw<V: Vector>(p: *const Self) -> Self::Raw<V>;

    /// # Safety
    /// `p` is valid for 64 units of writes; `V`'s features are enabled.
    unsafe fn store_raw<V: Vector>(raw: Self::Raw<V>, p: *mut Self);

    /// # Safety
    /// `V`'s features are enabled.
    unsafe fn narrow<V: Vector>(raw: Self::Raw<V>) -> V;

    /// If `src` is fewer than 64 one-byte units none of which `flags` flags, copy them to
    /// `dst` and return true; otherwise write nothing and return false. Wider units
    /// return false.
    ///
    /// # Safety
    /// `src` is valid for `len` reads, `dst` for `len` writes, `len < 64`, `V`'s
    /// features are enabled, and when `Self` is `u8` so is the destination's unit.
    #[inline(always)]
    unsafe fn short_clean<V: Vector, D>(
        _src: *const Self,
        _len: usize,
        _flags: Flags,
        _dst: *mut D,
    ) -> bool {
        false
    }
}

impl Lanes for u8 {
    type Raw<V: Vector> = V;

    #[inline(always)]
    unsafe fn load_raw<V: Vector>(p: *const u8) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { V::load(p) }
    }

    #[inline(always)]
    unsafe fn store_raw<V: Vector>(raw: V, p: *mut u8) {
        // SAFETY: forwarded from the caller.
        unsafe { raw.store(p) }
    }

    #[inline(always)]
    unsafe fn narrow<V: Vector>(raw: V) -> V {
        raw
    }

    #[inline(always)]
    unsafe fn short_clean<V: Vector, D>(
        src: *const u8,
        len: usize,
        flags: Flags,
        dst: *mut D,
    ) -> bool {
        let dst = dst.cast::<u8>();
        if len < 4 {
            // Keys like "id" or "x": a vector load would need a padded copy, and three
            // table lookups are cheaper.
            for j in 0..len {
                // SAFETY: `j < len`.
                if flags.test(unsafe { *src.add(j) }.into()) {
                    return false;
                }
            }
            if len > 0 {
                // First, middle and last byte cover every length from 1 to 3.
                // SAFETY: all three indices are below `len`, readable at `src` and
                // writable at `dst` (the caller guarantees the destination is bytes).
                unsafe {
                    *dst = *src;
                    *dst.add(len / 2) = *src.add(len / 2);
                    *dst.add(len - 1) = *src.add(len - 1);
                }
            }
            return true;
        }
        // SAFETY: `4 <= len < 64`, `len` bytes readable at `src` and writable at `dst`.
        unsafe { V::short_copy(src, len, flags, dst) }
    }
}

impl Lanes for u16 {
    type Raw<V: Vector> = [V; 2];

    #[inline(always)]
    unsafe fn load_raw<V: Vector>(p: *const u16) -> [V; 2] {
        let p = p.cast::<u8>();
        // SAFETY: 64 units are 128 bytes, all valid for reads by the caller's contract.
        unsafe { [V::load(p), V::load(p.add(64))] }
    }

    #[inline(always)]
    unsafe fn store_raw<V: Vector>(raw: [V; 2], p: *mut u16) {
        let p = p.cast::<u8>();
        // SAFETY: 64 units are 128 bytes, all valid for writes by the caller's contract.
        unsafe {
            raw[0].store(p);
            raw[1].store(p.add(64));
        }
    }

    #[inline(always)]
    unsafe fn narrow<V: Vector>(raw: [V; 2]) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { V::narrow16(raw[0], raw[1]) }
    }
}

impl Lanes for u32 {
    type Raw<V: Vector> = [V; 4];

    #[inline(always)]
    unsafe fn load_raw<V: Vector>(p: *const u32) -> [V; 4] {
        let p = p.cast::<u8>();
        // SAFETY: 64 units are 256 bytes, all valid for reads by the caller's contract.
        unsafe {
            [
                V::load(p),
                V::load(p.add(64)),
                V::load(p.add(128)),
                V::load(p.add(192)),
            ]
        }
    }

    #[inline(always)]
    unsafe fn store_raw<V: Vector>(raw: [V; 4], p: *mut u32) {
        let p = p.cast::<u8>();
        // SAFETY: 64 units are 256 bytes, all valid for writes by the caller's contract.
        unsafe {
            raw[0].store(p);
            raw[1].store(p.add(64));
            raw[2].store(p.add(128));
            raw[3].store(p.add(192));
        }
    }

    #[inline(always)]
    unsafe fn narrow<V: Vector>(raw: [V; 4]) -> V {
        // SAFETY: forwarded from the caller.
        unsafe { V::narrow32(raw) }
    }
}

// ---------------------------------------------------------------------------------------
// Escape tables: one load gives a whole escape sequence and its length.

/// The escape of ASCII code `c` as it is written when `c` is flagged, padded to 8 units,
/// with its length (2 or 6) in the last unit. Codes that are never flagged get `\u00XX`
/// too (only U+007F matters: `ensure_ascii` escapes it, `ESCAPE` does not name it; the
/// entries from 0x80 up only pad the table).
const fn escape_entry(c: usize) -> [u8; 8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let letter = if c < 128 { ESCAPE[c] } else { 0 };
    if letter != 0 && letter != b'u' {
        [b'\\', letter, 0, 0, 0, 0, 0, 2]
    } else {
        [b'\\', b'u', b'0', b'0', HEX[c >> 4], HEX[c & 15], 0, 6]
    }
}

macro_rules! escape_table {
    ($t:ty) => {{
        let mut table = [[0 as $t; 8]; 256];
        let mut c = 0;
        while c < 256 {
            let entry = escape_entry(c);
            let mut j = 0;
            while j < 8 {
                table[c][j] = entry[j] as $t;
                j += 1;
            }
            c += 1;
        }
        table
    }};
}

// 256 entries rather than 128, so that a byte indexes them without a mask.
static ESC8: [[u8; 8]; 256] = escape_table!(u8);
static ESC16: [[u16; 8]; 256] = escape_table!(u16);
static ESC32: [[u32; 8]; 256] = escape_table!(u32);

/// Two lowercase hex digits for every byte, first digit in the low byte.
static HEX2: [u16; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut table = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = HEX[b >> 4] as u16 | (HEX[b & 15] as u16) << 8;
        b += 1;
    }
    table
};

/// An output code unit: where its escape table lives.
pub(crate) trait Out: Unit + 'static {
    fn escapes() -> &'static [[Self; 8]; 256];
}

impl Out for u8 {
    #[inline(always)]
    fn escapes() -> &'static [[u8; 8]; 256] {
        &ESC8
    }
}

impl Out for u16 {
    #[inline(always)]
    fn escapes() -> &'static [[u16; 8]; 256] {
        &ESC16
    }
}

impl Out for u32 {
    #[inline(always)]
    fn escapes() -> &'static [[u32; 8]; 256] {
        &ESC32
    }
}

/// Write the escape of ASCII code `code` (`"`, `\`, a control character or DEL).
///
/// # Safety
/// `code < 256` (only ASCII codes are meaningful); `dst` is valid for 8 writes.
#[inline(always)]
unsafe fn write_ascii_escape<D: Out>(dst: *mut D, code: u32) -> *mut D {
    debug_assert!(code < 128);
    // SAFETY: `code < 256` indexes the table.
    let entry = unsafe { D::escapes().get_unchecked(code as usize) };
    // SAFETY: the caller provides 8 units; the entry's last unit is its length (2 or 6).
    unsafe {
        dst.cast::<[D; 8]>().write_unaligned(*entry);
        dst.add(entry[7].code() as usize)
    }
}

/// Write `\uXXXX` for `code <= 0xFFFF` (lower bits only, as the scalar kernel does).
///
/// # Safety
/// `dst` is valid for 8 writes.
#[inline(always)]
unsafe fn write_u_escape(dst: *mut u8, code: u32) -> *mut u8 {
    let hi = HEX2[(code >> 8) as usize & 0xFF] as u64;
    let lo = HEX2[code as usize & 0xFF] as u64;
    let bytes = u64::from(b'\\') | u64::from(b'u') << 8 | hi << 16 | lo << 32;
    // SAFETY: the caller provides 8 bytes; the last two are scratch.
    unsafe {
        dst.cast::<u64>().write_unaligned(bytes.to_le());
        dst.add(6)
    }
}

/// Write the UTF-8 form of `code >= 0x80` that is not a surrogate.
///
/// # Safety
/// `dst` is valid for 4 writes.
#[inline(always)]
unsafe fn write_utf8(dst: *mut u8, code: u32) -> *mut u8 {
    let (bytes, len) = if code < 0x800 {
        (0x80C0 | (code >> 6) | (code & 0x3F) << 8, 2)
    } else if code < 0x10000 {
        (
            0x8080E0 | (code >> 12) | ((code >> 6) & 0x3F) << 8 | (code & 0x3F) << 16,
            3,
        )
    } else {
        (
            0x808080F0
                | (code >> 18)
                | ((code >> 12) & 0x3F) << 8
                | ((code >> 6) & 0x3F) << 16
                | (code & 0x3F) << 24,
            4,
        )
    };
    // SAFETY: the caller provides 4 bytes; those past `len` are scratch. (For code points
    // above U+10FFFF, which Python never stores, the low byte may spill into the next one
    // exactly as the scalar kernel's `0xF0 | code >> 18` does not: such input is garbage.)
    unsafe {
        dst.cast::<u32>().write_unaligned(bytes.to_le());
        dst.add(len)
    }
}

// ---------------------------------------------------------------------------------------
// Jobs: what a kernel does with a block and with a flagged unit.

/// One escape kernel: its source and destination units, which units it flags, and how
/// it writes them.
pub(crate) trait Job {
    type Src: Lanes;
    type Dst: Unit;
    const FLAGS: Flags;

    /// Store a loaded block to `dst`: its units as they are, or its narrowed bytes.
    ///
    /// # Safety
    /// `dst` is valid for 64 units of writes; `V`'s features are enabled.
    unsafe fn store<V: Vector>(raw: <Self::Src as Lanes>::Raw<V>, bytes: V, dst: *mut Self::Dst);

    /// Write a flagged unit (at `index` in the source).
    ///
    /// # Safety
    /// `dst` is valid for 12 writes (8 for UTF-8 and units below 0x10000).
    unsafe fn write_flagged(
        code: u32,
        index: usize,
        dst: *mut Self::Dst,
    ) -> Result<*mut Self::Dst, Surrogate>;

    /// Write a unit that is not flagged (so it is copied, narrowed to a byte if need be).
    ///
    /// # Safety
    /// `dst` is valid for 1 write.
    unsafe fn write_clean(unit: Self::Src, dst: *mut Self::Dst) -> *mut Self::Dst;

    /// Output units per source unit of [`Job::dense`] (every unit it writes takes the
    /// same number); 0 for jobs without it.
    const DENSE_WIDTH: usize = 0;

    /// A block in which every unit is flagged, written faster than unit by unit if the
    /// kernel knows how; `None`, having written nothing, otherwise.
    ///
    /// # Safety
    /// `src` is valid for 64 reads, `dst` for `6 * 64` writes plus slack; `V`'s features
    /// are enabled.
    #[inline(always)]
    unsafe fn dense<V: Vector>(
        _src: *const Self::Src,
        _dst: *mut Self::Dst,
    ) -> Option<*mut Self::Dst> {
        None
    }

    /// A block with flagged units, written faster than by fixing them one by one if the
    /// kernel knows how; `None`, having written nothing, otherwise.
    ///
    /// # Safety
    /// As for [`Job::dense`]; `bytes` is the block's narrowed units.
    #[inline(always)]
    unsafe fn mixed<V: Vector>(
        _src: *const Self::Src,
        _bytes: V,
        _dst: *mut Self::Dst,
    ) -> Option<*mut Self::Dst> {
        None
    }

    /// Whether [`Job::eights`] can do anything with `V`.
    #[inline(always)]
    fn has_eights<V: Vector>() -> bool {
        false
    }

    /// Write the units of `s[..n]` eight at a time, for as long as a group needs no
    /// escape, if the kernel knows how: the units done and the new end of the output.
    ///
    /// # Safety
    /// `s` is valid for `n` reads, `dst` for their output plus slack; `V`'s features are
    /// enabled.
    #[inline(always)]
    unsafe fn eights<V: Vector>(
        _s: *const Self::Src,
        _n: usize,
        dst: *mut Self::Dst,
    ) -> (usize, *mut Self::Dst) {
        (0, dst)
    }
}

/// Escape into units of the same width (`ensure_ascii=False`, same storage kind).
pub(crate) struct Same<U>(PhantomData<U>);

/// Escape into UTF-8 (`dumps_bytes`, or a `str` written as UTF-8).
pub(crate) struct Utf8<U>(PhantomData<U>);

/// Escape into ASCII (`ensure_ascii=True`).
pub(crate) struct Ascii<U>(PhantomData<U>);

impl<U: Lanes + Out> Job for Same<U> {
    type Src = U;
    type Dst = U;
    const FLAGS: Flags = Flags::Escape;

    #[inline(always)]
    unsafe fn store<V: Vector>(raw: U::Raw<V>, _bytes: V, dst: *mut U) {
        // SAFETY: forwarded from the caller.
        unsafe { U::store_raw::<V>(raw, dst) }
    }

    #[inline(always)]
    unsafe fn write_flagged(code: u32, _index: usize, dst: *mut U) -> Result<*mut U, Surrogate> {
        // `Flags::Escape` flags exactly the ASCII units that `ESCAPE` names.
        debug_assert!(Flags::Escape.test(code));
        // SAFETY: flagged units are ASCII; the caller provides 8 units.
        Ok(unsafe { write_ascii_escape(dst, code & 0xFF) })
    }

    #[inline(always)]
    unsafe fn write_clean(unit: U, dst: *mut U) -> *mut U {
        // SAFETY: the caller provides one unit.
        unsafe {
            dst.write(unit);
            dst.add(1)
        }
    }
}

/// Store the narrowed bytes of a block (the UTF-8 and ASCII kernels write bytes).
#[inline(always)]
unsafe fn store_bytes<V: Vector>(bytes: V, dst: *mut u8) {
    // SAFETY: forwarded from the caller.
    unsafe { bytes.store(dst) }
}

impl<U: Lanes> Job for Utf8<U> {
    type Src = U;
    type Dst = u8;
    const FLAGS: Flags = Flags::NonAscii;
    // UCS-2 blocks of three-byte characters (`utf8_bmp3`).
    const DENSE_WIDTH: usize = if core::mem::size_of::<U>() == 2 { 3 } else { 0 };

    #[inline(always)]
    unsafe fn store<V: Vector>(_raw: U::Raw<V>, bytes: V, dst: *mut u8) {
        // SAFETY: forwarded from the caller.
        unsafe { store_bytes(bytes, dst) }
    }

    #[inline(always)]
    unsafe fn write_flagged(code: u32, index: usize, dst: *mut u8) -> Result<*mut u8, Surrogate> {
        if code < 0x80 {
            // SAFETY: ASCII; the caller provides 8 bytes.
            Ok(unsafe { write_ascii_escape(dst, code) })
        } else if code & !0x7FF == 0xD800 {
            Err(Surrogate { index })
        } else {
            // SAFETY: the caller provides 8 bytes.
            Ok(unsafe { write_utf8(dst, code) })
        }
    }

    #[inline(always)]
    unsafe fn write_clean(unit: U, dst: *mut u8) -> *mut u8 {
        // SAFETY: the caller provides one byte; clean units are ASCII.
        unsafe {
            dst.write(unit.code() as u8);
            dst.add(1)
        }
    }

    #[inline(always)]
    unsafe fn dense<V: Vector>(src: *const U, dst: *mut u8) -> Option<*mut u8> {
        if core::mem::size_of::<U>() != 2 {
            return None;
        }
        // SAFETY: `U` is `u16` (checked above); the caller provides 64 units of reads and
        // 384 bytes of writes, more than the 208 `utf8_bmp3` needs.
        unsafe { V::utf8_bmp3(src.cast::<u16>(), dst).then(|| dst.add(192)) }
    }

    #[inline(always)]
    unsafe fn mixed<V: Vector>(src: *const U, bytes: V, dst: *mut u8) -> Option<*mut u8> {
        // Latin-1 with accents but nothing to escape: transcode the block in registers.
        // SAFETY: target features enabled (the caller's contract).
        if core::mem::size_of::<U>() != 1 || unsafe { bytes.any(Flags::Escape) } {
            return None;
        }
        // SAFETY: `U` is `u8` (checked above) and the block has no escapes; the caller
        // provides 64 reads and 384 bytes of writes, more than the 144 needed.
        unsafe { V::utf8_latin1(src.cast::<u8>(), dst).map(|n| dst.add(n)) }
    }

    #[inline(always)]
    fn has_eights<V: Vector>() -> bool {
        V::UTF8_EIGHT
    }

    #[inline(always)]
    unsafe fn eights<V: Vector>(s: *const U, n: usize, dst: *mut u8) -> (usize, *mut u8) {
        let mut i = 0;
        let mut out = dst;
        while i + 8 <= n {
            // SAFETY: 8 units in bounds at `i`; eight units' share of the output bound
            // (6 bytes each) plus slack covers the 32 + 16 bytes written.
            match unsafe { V::utf8_eight(s.add(i), out) } {
                // SAFETY: `written` bytes were written at `out`.
                Some(written) => out = unsafe { out.add(written) },
                None => break,
            }
            i += 8;
        }
        (i, out)
    }
}

impl<U: Lanes> Job for Ascii<U> {
    type Src = U;
    type Dst = u8;
    const FLAGS: Flags = Flags::Ascii;
    // UCS-2 blocks written as `\uXXXX` (`ascii_u16_escapes`).
    const DENSE_WIDTH: usize = if core::mem::size_of::<U>() == 2 { 6 } else { 0 };

    #[inline(always)]
    unsafe fn store<V: Vector>(_raw: U::Raw<V>, bytes: V, dst: *mut u8) {
        // SAFETY: forwarded from the caller.
        unsafe { store_bytes(bytes, dst) }
    }

    #[inline(always)]
    unsafe fn write_flagged(code: u32, _index: usize, dst: *mut u8) -> Result<*mut u8, Surrogate> {
        // SAFETY: (all arms) the caller provides 12 bytes, 8 for codes below 0x10000.
        Ok(unsafe {
            if code < 0x80 {
                write_ascii_escape(dst, code)
            } else if code < 0x10000 {
                write_u_escape(dst, code)
            } else {
                let offset = code - 0x10000;
                let dst = write_u_escape(dst, 0xD800 | (offset >> 10));
                write_u_escape(dst, 0xDC00 | (offset & 0x3FF))
            }
        })
    }

    #[inline(always)]
    unsafe fn write_clean(unit: U, dst: *mut u8) -> *mut u8 {
        // SAFETY: the caller provides one byte; clean units are printable ASCII.
        unsafe {
            dst.write(unit.code() as u8);
            dst.add(1)
        }
    }

    #[inline(always)]
    unsafe fn dense<V: Vector>(src: *const U, dst: *mut u8) -> Option<*mut u8> {
        if core::mem::size_of::<U>() != 2 {
            return None;
        }
        // SAFETY: `U` is `u16` (checked above); the caller provides 64 units of reads and
        // 384 bytes of writes plus slack, more than the 400 `ascii_u16_escapes` needs.
        unsafe { V::ascii_u16_escapes(src.cast::<u16>(), dst).then(|| dst.add(384)) }
    }
}

// ---------------------------------------------------------------------------------------
// The escape driver.

/// Mask of the low `n < 64` bits.
#[inline(always)]
fn low_bits(n: usize) -> u64 {
    debug_assert!(n < 64);
    (1u64 << n) - 1
}

/// An escape kernel compiled as its own function (with the backend's target features).
pub(crate) type Escaper<J> =
    unsafe fn(&[<J as Job>::Src], *mut <J as Job>::Dst) -> Result<usize, Surrogate>;

/// Escape `src` into `dst` with kernel `J` on vector `V`: the entry point, meant to be
/// inlined into its caller. It does clean strings shorter than a block itself, with no
/// stack frame, and hands everything else to two out-of-line functions the backend
/// compiles from [`escape_long`] and [`escape_short_slow`], so that the short path stays
/// a few instructions long.
///
/// # Safety
/// `dst` is valid for the kernel's bound plus [`SLACK`](crate::SLACK) units of writes;
/// `V`'s target features are enabled in the calling code; `long` and `short_slow` are
/// [`escape_long`] and [`escape_short_slow`] for the same `V` and `J`.
#[inline(always)]
pub(crate) unsafe fn escape<V: Vector, J: Job>(
    src: &[J::Src],
    dst: *mut J::Dst,
    long: Escaper<J>,
    short_slow: Escaper<J>,
) -> Result<usize, Surrogate> {
    let len = src.len();
    if len >= BLOCK {
        // SAFETY: forwarded.
        return unsafe { long(src, dst) };
    }
    // One-byte units: the common case of dict keys and short values, checked and copied
    // straight from registers.
    // SAFETY: `len < 64`; `src` is valid for `len` reads and `dst` for more than `len`
    // writes; for one-byte sources every kernel writes bytes.
    if unsafe { J::Src::short_clean::<V, J::Dst>(src.as_ptr(), len, J::FLAGS, dst) } {
        return Ok(len);
    }
    // SAFETY: forwarded.
    unsafe { short_slow(src, dst) }
}

/// Escape a string of at least one block.
///
/// # Safety
/// `src.len() >= 64`, and as for [`escape`].
#[inline(always)]
pub(crate) unsafe fn escape_long<V: Vector, J: Job>(
    src: &[J::Src],
    dst: *mut J::Dst,
) -> Result<usize, Surrogate> {
    let len = src.len();
    let s = src.as_ptr();
    debug_assert!(len >= BLOCK);
    let mut i = 0;
    let mut out = dst;
    // While two blocks are left, every copy the fix-up makes can read a whole block.
    while i + 2 * BLOCK <= len {
        // SAFETY: `i + 128 <= len`; `out` has room for the block's output plus slack
        // (every unit so far wrote at least one unit, so `out` is within the bound for
        // the units before `i`); the features are enabled (the caller's contract).
        out = unsafe { escape_block::<V, J, false>(s, len, i, out)? };
        i += BLOCK;
    }
    if i + BLOCK <= len {
        // SAFETY: as above, with `i + 64 <= len` (hence `BOUNDED`).
        out = unsafe { escape_block::<V, J, true>(s, len, i, out)? };
        i += BLOCK;
    }
    if i < len {
        // SAFETY: `len >= 64`, `i` is where the last full block ended.
        out = unsafe { escape_tail::<V, J>(s, len, i, out)? };
    }
    // SAFETY: `out` only moved forward from `dst` within the caller's buffer.
    Ok(unsafe { out.offset_from(dst) } as usize)
}

/// Escape the 64 units at `i` to `out`; returns the new end of the output.
///
/// # Safety
/// `i + 64 <= len` (`i + 128 <= len` unless `BOUNDED`), `s` is valid for `len` reads,
/// `out` has room for the block's output plus slack, and `V`'s features are enabled.
#[inline(always)]
unsafe fn escape_block<V: Vector, J: Job, const BOUNDED: bool>(
    s: *const J::Src,
    len: usize,
    i: usize,
    out: *mut J::Dst,
) -> Result<*mut J::Dst, Surrogate> {
    // SAFETY: 64 units in bounds at `i`; room for 64 at `out`.
    let raw = unsafe { J::Src::load_raw::<V>(s.add(i)) };
    // SAFETY: target features enabled.
    let bytes = unsafe { J::Src::narrow::<V>(raw) };
    // Store first: for a clean block that is all there is to do.
    // SAFETY: room for 64 units at `out`.
    unsafe { J::store::<V>(raw, bytes, out) };
    // SAFETY: target features enabled.
    if unsafe { !bytes.any(J::FLAGS) } {
        // SAFETY: 64 units were written.
        return Ok(unsafe { out.add(BLOCK) });
    }
    // Have the register allocator spill here rather than in the clean loop.
    cold_path();
    // SAFETY: forwarded.
    unsafe { fix_flagged::<V, J, BOUNDED>(s, len, i, out, bytes) }
}

/// Marks the path that calls it as unlikely, like `core::hint::cold_path` (stable only
/// since Rust 1.95): a call to a `#[cold]` function makes LLVM treat its block as cold.
#[cold]
#[inline(always)]
fn cold_path() {}

/// Escape a string shorter than a block that the inline path did not finish: one with
/// flagged units, or of wide units.
///
/// # Safety
/// `src.len() < 64`, and as for [`escape`].
#[inline(always)]
pub(crate) unsafe fn escape_short_slow<V: Vector, J: Job>(
    src: &[J::Src],
    dst: *mut J::Dst,
) -> Result<usize, Surrogate> {
    let len = src.len();
    let s = src.as_ptr();
    let end = if J::has_eights::<V>() {
        // SAFETY: forwarded.
        unsafe { flagged_units::<V, J>(s, len, dst, 0)? }
    } else if len < SHORT_SCALAR_MAX {
        // SAFETY: forwarded.
        unsafe { scalar_units::<J>(s, len, dst, 0)? }
    } else {
        // SAFETY: `len < 64` units readable; room as the caller guarantees.
        unsafe { padded::<V, J>(s, len, dst, 0)? }
    };
    // SAFETY: `end` only moved forward from `dst` within the caller's buffer.
    Ok(unsafe { end.offset_from(dst) } as usize)
}

/// Finish the block of 64 units at `i`, stored at `out`, in which `bytes` has flags.
///
/// # Safety
/// `i + 64 <= len`, `s` is valid for `len` reads (and, unless `BOUNDED`, for
/// `i + 128`), `out` has room for the block's output plus slack, and `bytes` are the
/// block's narrowed units.
#[inline(always)]
unsafe fn fix_flagged<V: Vector, J: Job, const BOUNDED: bool>(
    s: *const J::Src,
    len: usize,
    i: usize,
    out: *mut J::Dst,
    bytes: V,
) -> Result<*mut J::Dst, Surrogate> {
    // SAFETY: target features enabled.
    let mask = unsafe { bytes.flags(J::FLAGS) };
    // SAFETY: 64 units in bounds at `i`.
    let b = unsafe { s.add(i) };
    // SAFETY: 64 units in bounds; the output has room for six per unit.
    if let Some(end) = unsafe { J::mixed::<V>(b, bytes, out) } {
        return Ok(end);
    }
    if mask == u64::MAX {
        // Every unit flagged: CJK, or other text without a single ASCII character.
        // SAFETY: 64 units in bounds; the output has room for six per unit.
        if let Some(end) = unsafe { J::dense::<V>(b, out) } {
            return Ok(end);
        }
        if !J::has_eights::<V>() {
            // No vector path for it: write the units one after another, without the mask.
            let mut out = out;
            for k in 0..BLOCK {
                // SAFETY: `k < 64`; room for each unit's output.
                out = unsafe { J::write_flagged((*b.add(k)).code(), i + k, out)? };
            }
            return Ok(out);
        }
    }
    if J::has_eights::<V>() && mask.count_ones() > EIGHTS_MIN_FLAGGED {
        // Mostly flagged (emoji, CJK among ASCII): eight units at a time beats fixing
        // each flagged unit after a block copy.
        // SAFETY: 64 units in bounds; the output has room for six per unit.
        return unsafe { flagged_units::<V, J>(b, BLOCK, out, i) };
    }
    // SAFETY: forwarded; the block was stored at `out`.
    unsafe { fix_block::<V, J, BOUNDED>(b, len - i, BLOCK, out, mask, i, bytes) }
}

/// Above this many flagged units in a block, [`flagged_units`] beats [`fix_block`].
const EIGHTS_MIN_FLAGGED: u32 = 16;

/// Finish a block already stored at `out` whose flagged units are `mask` (non-zero).
///
/// The block store put every unit up to the first flagged one in place. From there, each
/// flagged unit's escape is written, and the clean run after it is copied with one
/// whole-block load and store (the output has shifted by then, so the first store is
/// stale there). Unit `j` of the block lands at `out + j` plus the extra units the
/// escapes before it took; so the run's length is never needed, except to copy it unit
/// by unit when a whole block cannot be read (`BOUNDED`).
///
/// For the kernels that narrow to bytes, runs are copied from the block's narrowed
/// bytes (`bytes`, stored once to the stack), which is cheaper than loading and
/// narrowing the source again for each run.
///
/// `b[..end]` is the block; `readable` units may be read from `b`; `base` is the block's
/// index in the source, for `Surrogate` errors.
///
/// # Safety
/// `b` is valid for `readable` reads, `end <= readable`, `end <= 64`, `mask` has no bit
/// at or above `end`, `out` has room for the block's output plus slack; unless `BOUNDED`,
/// `readable >= end + 64` (so every run copy can read a whole block).
#[inline(always)]
unsafe fn fix_block<V: Vector, J: Job, const BOUNDED: bool>(
    b: *const J::Src,
    readable: usize,
    end: usize,
    out: *mut J::Dst,
    mut mask: u64,
    base: usize,
    bytes: V,
) -> Result<*mut J::Dst, Surrogate> {
    debug_assert!(mask != 0 && end <= BLOCK && (BOUNDED || readable >= end + BLOCK));
    let narrowing = core::mem::size_of::<J::Src>() != core::mem::size_of::<J::Dst>();
    // The narrowed block and a second block, so that a copy starting anywhere in the
    // first reads initialised bytes. (Unused, and optimised away, when not narrowing.)
    let mut narrowed = [0u8; 2 * BLOCK];
    if narrowing {
        // SAFETY: 64 bytes fit the buffer.
        unsafe { bytes.store(narrowed.as_mut_ptr()) };
    }
    // Where unit 0 would land given the escapes so far: unit `j` lands at `origin + j`
    // until the next escape. (Kept as an address, not a count, to save an instruction
    // per escape; it may point before `out`, so it is only ever offset, never read.)
    let mut origin = out;
    loop {
        let k = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        // SAFETY: `k < end`, so the unit is in bounds and its output within the room.
        let (at, code) = unsafe { (origin.wrapping_add(k), (*b.add(k)).code()) };
        // SAFETY: room for the escape (within the bound plus slack).
        let after = unsafe { J::write_flagged(code, base + k, at)? };
        origin = after.wrapping_sub(k + 1);
        // Copy the run after unit `k`. An empty run costs a wasted copy; when the output
        // is bytes that is cheaper than a mispredicted branch in escape-dense text; for
        // wider output (two or four registers per copy) the branch wins.
        let next_flagged = (mask >> k) & 2 != 0;
        if core::mem::size_of::<J::Dst>() == 1 || !next_flagged {
            let p = k + 1;
            if narrowing {
                // SAFETY: `p <= 64`, so 64 bytes are readable at `narrowed[p..]`; room for
                // 64 bytes (the output is bytes when narrowing) at `after`.
                unsafe { V::load(narrowed.as_ptr().add(p)).store(after.cast::<u8>()) };
            } else if !BOUNDED || p + BLOCK <= readable {
                // SAFETY: 64 units readable at `b + p` (see the contract); room for 64
                // units at `after`.
                unsafe {
                    let raw = J::Src::load_raw::<V>(b.add(p));
                    J::store::<V>(raw, J::Src::narrow::<V>(raw), after);
                }
            } else {
                let next = if mask == 0 {
                    end
                } else {
                    mask.trailing_zeros() as usize
                };
                for j in p..next {
                    // SAFETY: `j < end`; room for the run at `after`.
                    unsafe { J::write_clean(*b.add(j), after.add(j - p)) };
                }
            }
        }
        if mask == 0 {
            return Ok(origin.wrapping_add(end));
        }
    }
}

/// Escape the last `len - i < 64` units of a string at least one block long.
///
/// # Safety
/// `64 <= len`, `len - 64 <= i < len`, the units before `i` were written ending at `out`.
#[inline(always)]
unsafe fn escape_tail<V: Vector, J: Job>(
    s: *const J::Src,
    len: usize,
    i: usize,
    out: *mut J::Dst,
) -> Result<*mut J::Dst, Surrogate> {
    let rest = len - i;
    // SAFETY: `len >= 64`, so the last 64 units are in bounds.
    let raw = unsafe { J::Src::load_raw::<V>(s.add(len - BLOCK)) };
    // SAFETY: target features enabled.
    let bytes = unsafe { J::Src::narrow::<V>(raw) };
    // SAFETY: target features enabled.
    if unsafe { !bytes.any(J::FLAGS) } {
        // All of the last 64 units are clean, so the `64 - rest` of them already written
        // occupy exactly the `64 - rest` output units before `out` (one each): store the
        // whole block ending where the string's output ends. It rewrites those units with
        // the same values and never touches anything earlier.
        // SAFETY: at least `i >= 64 - rest` units were written before `out`.
        unsafe { J::store::<V>(raw, bytes, out.sub(BLOCK - rest)) };
        // SAFETY: `rest` units were written.
        return Ok(unsafe { out.add(rest) });
    }
    // SAFETY: target features enabled.
    if J::DENSE_WIDTH != 0 && unsafe { bytes.flags(J::FLAGS) } == u64::MAX {
        // If the dense path takes the last 64 units, each of them has an output of
        // `DENSE_WIDTH` units, so the `64 - rest` already written occupy exactly that many
        // times as many output units before `out`: write the whole block from there,
        // rewriting those with the same values.
        // SAFETY: the last 64 units are in bounds; those before `i` were written by this
        // call, so `at` is inside its output; the dense writes end at most
        // `DENSE_WIDTH * rest` units (plus 16) past `out`, within the bound plus slack.
        let at = unsafe { out.sub(J::DENSE_WIDTH * (BLOCK - rest)) };
        if let Some(end) = unsafe { J::dense::<V>(s.add(len - BLOCK), at) } {
            return Ok(end);
        }
    }
    if J::has_eights::<V>() {
        // SAFETY: `rest` units readable at `i`; room as for the block.
        return unsafe { flagged_units::<V, J>(s.add(i), rest, out, i) };
    }
    // SAFETY: `rest < 64` units readable at `i`.
    unsafe { padded::<V, J>(s.add(i), rest, out, i) }
}

/// Escape `n < 64` units through a zero-padded copy on the stack, so that whole blocks
/// can be loaded without reading past the source. The padding is never reported: the
/// mask is cut to `n` bits and runs are copied only up to `n`.
///
/// # Safety
/// `s` is valid for `n` reads, `n < 64`, `out` has room for the units' output plus slack.
#[inline(always)]
unsafe fn padded<V: Vector, J: Job>(
    s: *const J::Src,
    n: usize,
    out: *mut J::Dst,
    base: usize,
) -> Result<*mut J::Dst, Surrogate> {
    debug_assert!(n < BLOCK);
    // Two blocks: the first holds the units; the second lets a run copy starting anywhere
    // in the first load a whole block.
    let mut buf = [J::Src::default(); 2 * BLOCK];
    // SAFETY: `n <= 128` units fit; source and stack buffer do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(s, buf.as_mut_ptr(), n) };
    let b = buf.as_ptr();
    // SAFETY: the buffer holds 128 initialised units.
    let raw = unsafe { J::Src::load_raw::<V>(b) };
    // SAFETY: target features enabled.
    let bytes = unsafe { J::Src::narrow::<V>(raw) };
    // SAFETY: the output has room for `n` units plus slack (64).
    unsafe { J::store::<V>(raw, bytes, out) };
    // SAFETY: target features enabled.
    let mask = unsafe { bytes.flags(J::FLAGS) } & low_bits(n);
    if mask == 0 {
        // SAFETY: `n` units were written.
        return Ok(unsafe { out.add(n) });
    }
    if 2 * mask.count_ones() as usize > n {
        // Mostly flagged (the tail of CJK text, a short string of emoji): unit by unit
        // beats a whole-block copy after each flagged unit (CJK strings of 100
        // characters: 1.4x).
        // (Jobs with `Job::eights` never get here: their short strings and tails go
        // through `flagged_units` instead of this padded copy.)
        // SAFETY: forwarded; what the block store wrote is overwritten from `out` on.
        return unsafe { scalar_units::<J>(s, n, out, base) };
    }
    // SAFETY: 128 units readable in `buf`, so whole-block copies from anywhere in the
    // block are in bounds; the block is `buf[0..n]`.
    unsafe { fix_block::<V, J, false>(b, 2 * BLOCK, n, out, mask, base, bytes) }
}

/// Below this many units, a short string that is not all clean is done unit by unit,
/// which beats filling the padded block.
const SHORT_SCALAR_MAX: usize = 16;

/// Escape `n` units of which many are flagged: eight at a time through [`Job::eights`]
/// where the kernel has it, the group that needs an escape (and the last few units)
/// unit by unit.
///
/// # Safety
/// As for [`scalar_units`], and `V`'s features are enabled.
#[inline(always)]
unsafe fn flagged_units<V: Vector, J: Job>(
    s: *const J::Src,
    n: usize,
    mut out: *mut J::Dst,
    base: usize,
) -> Result<*mut J::Dst, Surrogate> {
    let mut i = 0;
    while i < n {
        // SAFETY: `n - i` units readable at `i`; room for their output plus slack.
        let (done, end) = unsafe { J::eights::<V>(s.add(i), n - i, out) };
        i += done;
        let k = (n - i).min(8);
        // SAFETY: `k` units readable at `i`; room as above.
        out = unsafe { scalar_units::<J>(s.add(i), k, end, base + i)? };
        i += k;
    }
    Ok(out)
}

/// Unit-by-unit escape, for the few units where vectors do not pay.
///
/// # Safety
/// `s` is valid for `len` reads; `out` has room for the output plus slack. (`base` is
/// the index of `s[0]` in the string, for `Surrogate` errors.)
#[inline(always)]
unsafe fn scalar_units<J: Job>(
    s: *const J::Src,
    len: usize,
    mut out: *mut J::Dst,
    base: usize,
) -> Result<*mut J::Dst, Surrogate> {
    for j in 0..len {
        // SAFETY: `j < len`.
        let unit = unsafe { *s.add(j) };
        let code = unit.code();
        // SAFETY: every unit's output is within the bound plus slack.
        out = unsafe {
            if J::FLAGS.test(code) {
                J::write_flagged(code, base + j, out)?
            } else {
                J::write_clean(unit, out)
            }
        };
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Scans.

/// Index of the first `"`, `\` or control byte, or `src.len()`.
///
/// # Safety
/// `V`'s target features are enabled in the calling code.
#[inline(always)]
pub(crate) unsafe fn find_string_special<V: Vector>(src: &[u8]) -> usize {
    let len = src.len();
    let s = src.as_ptr();
    if len < BLOCK {
        if len < 4 {
            return src
                .iter()
                .position(|&b| Flags::Escape.test(b.into()))
                .unwrap_or(len);
        }
        // SAFETY: `4 <= len < 64`; spaces are not special.
        let (v, half) = unsafe { V::load_short(s, len, b' ') };
        // SAFETY: target features enabled.
        let mask = unsafe { v.flags(Flags::Escape) };
        if mask == 0 {
            return len;
        }
        let j = mask.trailing_zeros() as usize;
        // Bytes `half..2 * half` of the vector are `src[len - half..]`. A hit there is
        // past `half` in the string, else the first half would have had it first.
        return if j < half { j } else { j + len - 2 * half };
    }
    let mut i = 0;
    while i + BLOCK <= len {
        // SAFETY: 64 bytes in bounds at `i`.
        let v = unsafe { V::load(s.add(i)) };
        // SAFETY: target features enabled.
        if unsafe { v.any(Flags::Escape) } {
            // SAFETY: target features enabled.
            return i + unsafe { v.flags(Flags::Escape) }.trailing_zeros() as usize;
        }
        i += BLOCK;
    }
    if i < len {
        // The last 64 bytes overlap clean ones already scanned, so the first hit among
        // them is the first hit at or after `i`.
        // SAFETY: `len >= 64`.
        let v = unsafe { V::load(s.add(len - BLOCK)) };
        // SAFETY: target features enabled.
        let mask = unsafe { v.flags(Flags::Escape) };
        if mask != 0 {
            return len - BLOCK + mask.trailing_zeros() as usize;
        }
    }
    len
}

/// The largest byte of `src`, 0 when empty.
///
/// # Safety
/// `V`'s target features are enabled in the calling code.
#[inline(always)]
pub(crate) unsafe fn max_byte<V: Vector>(src: &[u8]) -> u8 {
    let len = src.len();
    let s = src.as_ptr();
    if len < BLOCK {
        if len < 4 {
            return src.iter().copied().max().unwrap_or(0);
        }
        // SAFETY: `4 <= len < 64`; the zero fill cannot raise the maximum, and the
        // overlapping halves only repeat bytes.
        return unsafe { V::load_short(s, len, 0).0.max_lane() };
    }
    // SAFETY: `len >= 64`; target features enabled.
    let mut acc = unsafe { V::load(s) };
    let mut i = BLOCK;
    while i + BLOCK <= len {
        // SAFETY: 64 bytes in bounds at `i`.
        acc = unsafe { acc.max(V::load(s.add(i))) };
        i += BLOCK;
    }
    if i < len {
        // Overlapping bytes were already counted; max does not mind.
        // SAFETY: `len >= 64`.
        acc = unsafe { acc.max(V::load(s.add(len - BLOCK))) };
    }
    // SAFETY: target features enabled.
    unsafe { acc.max_lane() }
}

// ---------------------------------------------------------------------------------------
// The `Kernel` implementation every vector backend shares.

/// Unwrap the result of a kernel that cannot fail (no surrogates reach it).
#[inline(always)]
pub(crate) fn infallible(result: Result<usize, Surrogate>) -> usize {
    match result {
        Ok(n) => n,
        // Only the UTF-8 transcoders of UCS-2 and UCS-4 report surrogates.
        Err(_) => unreachable!("this kernel has no failure"),
    }
}

/// Implement [`Kernel`](crate::Kernel) for the zero-sized backend type `$ty` with the
/// generic algorithm over vector `$vector`. Each method is a thin `#[inline]` shim around
/// an inner function compiled with `$features`, into which the generic code inlines.
macro_rules! vector_kernel {
    ($ty:ty, $backend:expr, $vector:ty, $features:literal) => {
        impl $crate::Kernel for $ty {
            const BACKEND: $crate::Backend = $backend;

            vector_kernel!(@escape $ty, $vector, $features, escape_u8, u8, u8, Same<u8>, usize);
            vector_kernel!(@escape $ty, $vector, $features, escape_u16, u16, u16, Same<u16>, usize);
            vector_kernel!(@escape $ty, $vector, $features, escape_u32, u32, u32, Same<u32>, usize);
            vector_kernel!(@escape $ty, $vector, $features, latin1_to_utf8, u8, u8, Utf8<u8>, usize);
            vector_kernel!(@escape $ty, $vector, $features, ucs2_to_utf8, u16, u8, Utf8<u16>,
                Result<usize, $crate::Surrogate>);
            vector_kernel!(@escape $ty, $vector, $features, ucs4_to_utf8, u32, u8, Utf8<u32>,
                Result<usize, $crate::Surrogate>);
            vector_kernel!(@escape $ty, $vector, $features, ascii_from_u8, u8, u8, Ascii<u8>, usize);
            vector_kernel!(@escape $ty, $vector, $features, ascii_from_u16, u16, u8, Ascii<u16>, usize);
            vector_kernel!(@escape $ty, $vector, $features, ascii_from_u32, u32, u8, Ascii<u32>, usize);

            #[inline]
            fn find_string_special(src: &[u8]) -> usize {
                #[target_feature(enable = $features)]
                #[inline]
                unsafe fn imp(src: &[u8]) -> usize {
                    // SAFETY: the features are enabled in this function.
                    unsafe { $crate::generic::find_string_special::<$vector>(src) }
                }
                // A safe function: check the CPU rather than trust the caller.
                if <$ty>::is_available() {
                    // SAFETY: the CPU has the features.
                    unsafe { imp(src) }
                } else {
                    <$crate::Scalar as $crate::Kernel>::find_string_special(src)
                }
            }

            #[inline]
            unsafe fn copy_clean_ascii_tail(end: *const u8, len: usize, ensure_ascii: bool, dst: *mut u8) -> bool {
                #[target_feature(enable = $features)]
                #[inline]
                unsafe fn imp(end: *const u8, len: usize, ensure_ascii: bool, dst: *mut u8) -> bool {
                    // SAFETY: forwarded; the features are enabled here.
                    unsafe {
                        <$vector as $crate::generic::Vector>::copy_clean_ascii_tail(end, len, ensure_ascii, dst)
                    }
                }
                debug_assert!(<$ty>::is_available());
                // SAFETY: the caller's contract, including the CPU's (see `Kernel`).
                unsafe { imp(end, len, ensure_ascii, dst) }
            }

            #[inline]
            unsafe fn utf8_bmp3_to_u16(src: &[u8], dst: *mut u16, cap: usize) -> (usize, usize) {
                #[target_feature(enable = $features)]
                #[inline]
                unsafe fn imp(src: &[u8], dst: *mut u16, cap: usize) -> (usize, usize) {
                    // SAFETY: forwarded; the features are enabled here.
                    unsafe { <$vector as $crate::generic::Vector>::utf8_bmp3_to_u16(src, dst, cap) }
                }
                debug_assert!(<$ty>::is_available());
                // SAFETY: the caller's contract, including the CPU's (see `Kernel`).
                unsafe { imp(src, dst, cap) }
            }

            #[inline]
            unsafe fn utf8_to_u32(src: &[u8], dst: *mut u32, cap: usize) -> (usize, usize) {
                #[target_feature(enable = $features)]
                #[inline]
                unsafe fn imp(src: &[u8], dst: *mut u32, cap: usize) -> (usize, usize) {
                    // SAFETY: forwarded; the features are enabled here.
                    unsafe { <$vector as $crate::generic::Vector>::utf8_to_u32(src, dst, cap) }
                }
                debug_assert!(<$ty>::is_available());
                // SAFETY: the caller's contract, including the CPU's (see `Kernel`).
                unsafe { imp(src, dst, cap) }
            }

            #[inline]
            fn utf8_char_count(src: &[u8]) -> usize {
                #[target_feature(enable = $features)]
                #[inline]
                unsafe fn imp(src: &[u8]) -> usize {
                    // SAFETY: the features are enabled in this function.
                    unsafe { <$vector as $crate::generic::Vector>::utf8_char_count(src) }
                }
                if <$ty>::is_available() {
                    // SAFETY: the CPU has the features.
                    unsafe { imp(src) }
                } else {
                    $crate::scalar::utf8_char_count(src)
                }
            }

            #[inline]
            fn max_byte(src: &[u8]) -> u8 {
                #[target_feature(enable = $features)]
                #[inline]
                unsafe fn imp(src: &[u8]) -> u8 {
                    // SAFETY: the features are enabled in this function.
                    unsafe { $crate::generic::max_byte::<$vector>(src) }
                }
                if <$ty>::is_available() {
                    // SAFETY: the CPU has the features.
                    unsafe { imp(src) }
                } else {
                    <$crate::Scalar as $crate::Kernel>::max_byte(src)
                }
            }
        }
    };
    (@escape $ty:ty, $vector:ty, $features:literal, $name:ident, $src:ty, $dst:ty, $job:ty, usize) => {
        vector_kernel!(@escape $ty, $vector, $features, $name, $src, $dst, $job, usize,
            $crate::generic::infallible);
    };
    (@escape $ty:ty, $vector:ty, $features:literal, $name:ident, $src:ty, $dst:ty, $job:ty,
        $ret:ty) => {
        vector_kernel!(@escape $ty, $vector, $features, $name, $src, $dst, $job, $ret,
            core::convert::identity);
    };
    (@escape $ty:ty, $vector:ty, $features:literal, $name:ident, $src:ty, $dst:ty, $job:ty,
        $ret:ty, $convert:path) => {
        #[inline]
        unsafe fn $name(src: &[$src], dst: *mut $dst) -> $ret {
            use $crate::generic::*;
            use $crate::Surrogate;
            #[target_feature(enable = $features)]
            unsafe fn long_tf(src: &[$src], dst: *mut $dst) -> Result<usize, Surrogate> {
                // SAFETY: forwarded; the features are enabled here.
                unsafe { escape_long::<$vector, $job>(src, dst) }
            }
            #[target_feature(enable = $features)]
            unsafe fn short_slow_tf(src: &[$src], dst: *mut $dst) -> Result<usize, Surrogate> {
                // SAFETY: forwarded; the features are enabled here.
                unsafe { escape_short_slow::<$vector, $job>(src, dst) }
            }
            // Call barriers. rustc inlines a `#[target_feature]` function into a caller
            // with the same features even when it is marked `#[inline(never)]`, which
            // would put the long loop's stack frame back on the short path; a plain
            // `#[inline(never)]` function in between keeps them apart (one extra jump).
            #[inline(never)]
            unsafe fn long(src: &[$src], dst: *mut $dst) -> Result<usize, Surrogate> {
                // SAFETY: forwarded; only reached from `imp`, so the CPU has the features.
                unsafe { long_tf(src, dst) }
            }
            #[inline(never)]
            unsafe fn short_slow(src: &[$src], dst: *mut $dst) -> Result<usize, Surrogate> {
                // SAFETY: forwarded; only reached from `imp`, so the CPU has the features.
                unsafe { short_slow_tf(src, dst) }
            }
            // `#[inline]` so that a caller compiled with the same features (a serializer
            // instantiated per backend) can take the short path without a call.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn imp(src: &[$src], dst: *mut $dst) -> Result<usize, Surrogate> {
                // SAFETY: forwarded; the features are enabled here; the helpers match.
                unsafe { escape::<$vector, $job>(src, dst, long, short_slow) }
            }
            debug_assert!(<$ty>::is_available());
            // SAFETY: the caller's contract on `dst`, and on the CPU (see `Kernel`).
            $convert(unsafe { imp(src, dst) })
        }
    };
}
