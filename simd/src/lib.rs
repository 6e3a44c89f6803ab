//! Escape and scan kernels for JSON strings, with one implementation per CPU family.
//!
//! Everything here works on raw code units, never on Python objects:
//!
//! * **escape** kernels write the body of a JSON string literal (no quotes) for a run of
//!   code units, escaping exactly what Python's `json` module escapes;
//! * **scan** kernels find where a string body ends and how wide its characters are, for
//!   the parser.
//!
//! Each backend is a zero-sized type implementing [`Kernel`]. Callers are generic over
//! `K: Kernel` and pick one instantiation per call with [`dispatch`], so the choice of
//! backend is made once per `dumps`/`loads` call rather than once per string.
//!
//! ## Backends
//!
//! [`Scalar`] is the portable reference. The vector backends (`Sse2`, `Avx2`, `Avx512`
//! on x86-64; `Neon` on AArch64; each with `is_available()`) share one
//! store-then-fix-up algorithm written once over a small internal 64-byte vector trait
//! (`generic.rs`), each ISA supplying only loads, stores, compares, narrowing and masks.
//!
//! ## The output contract
//!
//! An escape kernel writes at most [`escaped_bound`] (or [`ascii_escaped_bound_u32`]) units
//! for its input, but vector kernels store whole blocks, so `dst` must be valid for that
//! bound **plus [`SLACK`] units**. Units past the returned length are unspecified.
//!
//! ## Calling a vector backend
//!
//! A vector backend's kernels execute its instructions, so its `unsafe` kernels may only
//! be called on a CPU that has them: take the backend from [`dispatch`] (or check
//! [`Backend::is_available`] / `Avx2::is_available()` first). Its safe scans check the CPU
//! themselves (one cached load) and fall back to [`Scalar`].
//!
//! Each kernel's entry is `#[inline]` and compiled with its backend's target features
//! (`"sse2"`, `"avx2,bmi1,bmi2,popcnt"`, `"avx2,avx512f,avx512bw,avx512vl,bmi1,bmi2,popcnt"`,
//! `"neon"`),
//! so code generic over `K: Kernel` and compiled with the same features (for example
//! inside a `#[target_feature]` function per backend) can inline the short-string path;
//! long strings and strings with escapes go to out-of-line functions.

#![deny(unsafe_op_in_unsafe_fn)]

#[macro_use]
mod generic;
pub mod scalar;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use aarch64::Neon;
pub use scalar::Scalar;
#[cfg(target_arch = "x86_64")]
pub use x86_64::{Avx2, Avx512, Sse2};

/// Units a kernel may store past the end of its real output (whole-block stores).
pub const SLACK: usize = 64;

/// Most units any escape kernel but [`Kernel::ascii_from_u32`] writes for `units` input units
/// (`\u001f` is six units; a BMP character is at most three UTF-8 bytes).
#[inline(always)]
pub const fn escaped_bound(units: usize) -> usize {
    units * 6
}

/// Most units [`Kernel::ascii_from_u32`] writes: an astral character is a surrogate pair,
/// `\ud83d\ude00`, twelve bytes.
#[inline(always)]
pub const fn ascii_escaped_bound_u32(units: usize) -> usize {
    units * 12
}

/// A lone surrogate found while transcoding to UTF-8, which cannot encode it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Surrogate {
    /// Index of the surrogate in the source units.
    pub index: usize,
}

/// The CPU families rjson has kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Avx512,
    Avx2,
    Sse2,
    Neon,
    Scalar,
}

impl Backend {
    /// Every backend, best first.
    pub const ALL: [Backend; 5] = [
        Backend::Avx512,
        Backend::Avx2,
        Backend::Sse2,
        Backend::Neon,
        Backend::Scalar,
    ];

    /// The name used by `rjson.simd_backend()` and the `RJSON_SIMD` variable.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Avx512 => "avx512",
            Backend::Avx2 => "avx2",
            Backend::Sse2 => "sse2",
            Backend::Neon => "neon",
            Backend::Scalar => "scalar",
        }
    }

    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Whether this CPU can run the backend (and this build has it).
    pub fn is_available(self) -> bool {
        match self {
            Backend::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => Avx512::is_available(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => Avx2::is_available(),
            #[cfg(target_arch = "x86_64")]
            Backend::Sse2 => Sse2::is_available(),
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => Neon::is_available(),
            _ => false,
        }
    }

    /// The backends this CPU can run, best first.
    pub fn available() -> Vec<Backend> {
        Backend::ALL
            .into_iter()
            .filter(|b| b.is_available())
            .collect()
    }

    /// The best backend this CPU can run.
    pub fn detect() -> Backend {
        Backend::ALL
            .into_iter()
            .find(|b| b.is_available())
            .unwrap_or(Backend::Scalar)
    }
}

/// One backend's kernels. Implemented by zero-sized types; see the crate docs for the
/// output contract every `unsafe fn escape…` shares, and for the CPU requirement of the
/// vector backends (their `unsafe` kernels may only run on a CPU that has them).
///
/// Escaping follows Python's `json`: `"` and `\` as `\"` and `\\`; `\b \f \n \r \t`
/// by name; every other code point below U+0020 as `\u00XX` with lowercase hex. The
/// `ascii_from_*` kernels (for `ensure_ascii=True`) also write U+007F and every non-ASCII
/// code point as `\uXXXX`, astral ones as a surrogate pair; everything else is copied.
pub trait Kernel: Copy + Default + 'static {
    const BACKEND: Backend;

    /// Escape one-byte units (ASCII, Latin-1 or UTF-8 bytes), copying bytes >= 0x20 other
    /// than `"` and `\` unchanged.
    ///
    /// # Safety
    /// `dst` is valid for `escaped_bound(src.len()) + SLACK` bytes of writes.
    unsafe fn escape_u8(src: &[u8], dst: *mut u8) -> usize;

    /// Escape UCS-2 units into UCS-2 units.
    ///
    /// # Safety
    /// `dst` is valid for `escaped_bound(src.len()) + SLACK` units of writes.
    unsafe fn escape_u16(src: &[u16], dst: *mut u16) -> usize;

    /// Escape UCS-4 units into UCS-4 units.
    ///
    /// # Safety
    /// `dst` is valid for `escaped_bound(src.len()) + SLACK` units of writes.
    unsafe fn escape_u32(src: &[u32], dst: *mut u32) -> usize;

    /// Escape Latin-1 text into UTF-8.
    ///
    /// # Safety
    /// `dst` is valid for `escaped_bound(src.len()) + SLACK` bytes of writes.
    unsafe fn latin1_to_utf8(src: &[u8], dst: *mut u8) -> usize;

    /// Escape UCS-2 text into UTF-8; fails on the first surrogate.
    ///
    /// # Safety
    /// `dst` is valid for `escaped_bound(src.len()) + SLACK` bytes of writes.
    unsafe fn ucs2_to_utf8(src: &[u16], dst: *mut u8) -> Result<usize, Surrogate>;

    /// Escape UCS-4 text into UTF-8; fails on the first surrogate.
    ///
    /// # Safety
    /// `dst` is valid for `escaped_bound(src.len()) + SLACK` bytes of writes.
    unsafe fn ucs4_to_utf8(src: &[u32], dst: *mut u8) -> Result<usize, Surrogate>;

    /// `ensure_ascii` escape of ASCII or Latin-1 text.
    ///
    /// # Safety
    /// `dst` is valid for `escaped_bound(src.len()) + SLACK` bytes of writes.
    unsafe fn ascii_from_u8(src: &[u8], dst: *mut u8) -> usize;

    /// `ensure_ascii` escape of UCS-2 text.
    ///
    /// # Safety
    /// `dst` is valid for `escaped_bound(src.len()) + SLACK` bytes of writes.
    unsafe fn ascii_from_u16(src: &[u16], dst: *mut u8) -> usize;

    /// `ensure_ascii` escape of UCS-4 text.
    ///
    /// # Safety
    /// `dst` is valid for `ascii_escaped_bound_u32(src.len()) + SLACK` bytes of writes.
    unsafe fn ascii_from_u32(src: &[u32], dst: *mut u8) -> usize;

    /// Index of the first `"`, `\` or byte below 0x20 in `src`, or `src.len()`.
    fn find_string_special(src: &[u8]) -> usize;

    /// The largest byte in `src` (0 when empty). Over well-formed UTF-8 it tells the
    /// widest character: < 0x80 ASCII, <= 0xC3 Latin-1, <= 0xEF BMP, else astral.
    fn max_byte(src: &[u8]) -> u8;

    /// The serializer's short-string fast path: if none of the `len <= 16` ASCII bytes
    /// that end at `end` needs an escape (`"`, `\`, control bytes; with `ensure_ascii`
    /// also DEL), copy them to `dst` and return true. Otherwise return false, having
    /// written nothing that matters: the caller escapes the string with [`escape_u8`] or
    /// [`ascii_from_u8`]. A backend without a byte shuffle always returns false.
    ///
    /// Where it is implemented it has no branch on the length, which the length-class
    /// branches of the escape kernels' short path mispredict on keys and values of mixed
    /// lengths: one 16-byte load that *ends* at `end`, the string's lanes picked out of
    /// its mask, one shuffle that moves them to the front, one store.
    ///
    /// [`escape_u8`]: Kernel::escape_u8
    /// [`ascii_from_u8`]: Kernel::ascii_from_u8
    ///
    /// # Safety
    /// The 16 bytes before `end` are readable and lie in one allocation (in a CPython
    /// compact ASCII `str`, the object's header precedes its text); the `len` bytes before
    /// `end` are ASCII; `len <= 16`; `dst` is valid for 16 bytes of writes; and the CPU
    /// has the backend's features (see the crate docs).
    #[inline(always)]
    unsafe fn copy_clean_ascii_tail(_end: *const u8, _len: usize, _ensure_ascii: bool, _dst: *mut u8) -> bool {
        false
    }

    /// The parser's CJK fast path: decode the run of three-byte UTF-8 characters
    /// (U+0800 to U+FFFF, surrogates included, as `surrogatepass` accepts them) at the
    /// start of `src` into UCS-2, five characters per 16-byte block, returning
    /// `(bytes consumed, units written)`. It stops before the first block that is not
    /// five whole valid three-byte characters, so `consumed` is always a multiple of 15
    /// ending on a character boundary; the caller decodes what follows. It reads only
    /// whole 16-byte blocks inside `src`, and stores 8 units per block (5 meaningful),
    /// stopping while fewer than 8 units of room are left. A backend without a byte
    /// shuffle returns `(0, 0)`.
    ///
    /// # Safety
    /// `dst` is valid for `cap` units of writes, and the CPU has the backend's features
    /// (see the crate docs).
    #[inline(always)]
    unsafe fn utf8_bmp3_to_u16(_src: &[u8], _dst: *mut u16, _cap: usize) -> (usize, usize) {
        (0, 0)
    }

    /// The parser's decoder of non-ASCII text into UCS-4: decode the UTF-8 at the start of
    /// `src` (characters of one to four bytes, as `bytes.decode("utf-8", "surrogatepass")`
    /// reads them: surrogates accepted) into `dst`, returning `(bytes consumed, characters
    /// written)`. It consumes only whole, valid characters, and stops before a window it
    /// cannot vouch for entirely, so what it leaves (the last bytes, and every error) is
    /// for the caller's scalar decoder, which finds the error where it is. It reads only
    /// inside `src`, and may store up to 16 units past the characters it reports, but never
    /// past `cap`. Where implemented (AVX2, AVX-512) it stops only at invalid input, when
    /// fewer than 16 bytes are left, or when fewer than 16 units of room are left; a
    /// backend without it returns `(0, 0)`.
    ///
    /// # Safety
    /// `dst` is valid for `cap` units of writes, and the CPU has the backend's features
    /// (see the crate docs).
    #[inline(always)]
    unsafe fn utf8_to_u32(_src: &[u8], _dst: *mut u32, _cap: usize) -> (usize, usize) {
        (0, 0)
    }

    /// The number of characters in `src`, valid UTF-8: its bytes that are not
    /// continuation bytes (80..BF). On any input, that count of bytes.
    #[inline(always)]
    fn utf8_char_count(src: &[u8]) -> usize {
        scalar::utf8_char_count(src)
    }
}

/// A computation generic over the kernel backend, run by [`dispatch`].
pub trait WithKernel {
    type Output;
    fn run<K: Kernel>(self) -> Self::Output;
}

/// Run `job` instantiated for `backend`. The caller guarantees that `backend` is available
/// (a `Backend` obtained from [`Backend::detect`] or checked with [`Backend::is_available`]);
/// an unavailable one falls back to scalar rather than execute instructions the CPU lacks.
#[inline]
pub fn dispatch<W: WithKernel>(backend: Backend, job: W) -> W::Output {
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 if Avx512::is_available() => job.run::<Avx512>(),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 if Avx2::is_available() => job.run::<Avx2>(),
        #[cfg(target_arch = "x86_64")]
        Backend::Sse2 => job.run::<Sse2>(),
        #[cfg(target_arch = "aarch64")]
        Backend::Neon if Neon::is_available() => job.run::<Neon>(),
        _ => job.run::<Scalar>(),
    }
}
