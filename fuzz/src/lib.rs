//! The checks behind the fuzz targets: every vector backend this CPU can run against the
//! scalar reference, for every kernel of the `Kernel` trait.
//!
//! For each input and each available vector backend, every kernel of the input's width is
//! run twice over (source placed alone in an exactly sized heap block, so that AddressSanitizer
//! catches a read on either side of it; and shifted to an alignment the input chooses, with
//! `"` poisoning the units before it, so that a peek before the slice changes the result),
//! into a destination of exactly `dst_off + bound + SLACK` units filled with a sentinel.
//! A backend fails when
//!
//! * its result differs from the scalar kernel's (the units up to the returned length, or
//!   the index of the surrogate reported),
//! * it returns a length over the kernel's bound, or writes before its destination
//!   (AddressSanitizer catches a write past `bound + SLACK`),
//! * its scans (`find_string_special`, `max_byte`) differ from the scalar ones.
//!
//! The scalar results themselves are checked against properties that hold by definition:
//! UTF-8 output is valid UTF-8, `ensure_ascii` output is ASCII, and a surrogate is reported
//! exactly when the source has one, at the first one.

use std::sync::OnceLock;

use rjson_simd::{
    ascii_escaped_bound_u32, dispatch, escaped_bound, Backend, Kernel, Scalar, Surrogate,
    WithKernel, SLACK,
};

/// The vector backends this CPU can run (scalar is the reference, not a subject).
pub fn vector_backends() -> &'static [Backend] {
    static BACKENDS: OnceLock<Vec<Backend>> = OnceLock::new();
    BACKENDS.get_or_init(|| {
        let found: Vec<Backend> = Backend::available()
            .into_iter()
            .filter(|&b| b != Backend::Scalar)
            .collect();
        eprintln!(
            "rjson-fuzz: vector backends under test: {:?}",
            found.iter().map(|b| b.name()).collect::<Vec<_>>()
        );
        found
    })
}

/// A code unit of CPython's string storage.
pub trait Unit: Copy + PartialEq + std::fmt::Debug + Into<u32> + 'static {
    /// Fills destinations, so that a write shows.
    const SENTINEL: Self;
    /// The poison placed before a shifted source (`"`, which every kernel escapes).
    const QUOTE: Self;
    /// The kernels that take units of this width.
    const KERNELS: [Kern; 3];
    fn view(src: &[Self]) -> View<'_>;
}

/// A source slice of a known width.
#[derive(Clone, Copy)]
pub enum View<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
}

impl Unit for u8 {
    const SENTINEL: u8 = 0xEE;
    const QUOTE: u8 = b'"';
    const KERNELS: [Kern; 3] = [Kern::EscapeU8, Kern::Latin1ToUtf8, Kern::AsciiFromU8];
    fn view(src: &[u8]) -> View<'_> {
        View::U8(src)
    }
}

impl Unit for u16 {
    const SENTINEL: u16 = 0xEEEE;
    const QUOTE: u16 = 0x22;
    const KERNELS: [Kern; 3] = [Kern::EscapeU16, Kern::Ucs2ToUtf8, Kern::AsciiFromU16];
    fn view(src: &[u16]) -> View<'_> {
        View::U16(src)
    }
}

impl Unit for u32 {
    const SENTINEL: u32 = 0xEEEE_EEEE;
    const QUOTE: u32 = 0x22;
    const KERNELS: [Kern; 3] = [Kern::EscapeU32, Kern::Ucs4ToUtf8, Kern::AsciiFromU32];
    fn view(src: &[u32]) -> View<'_> {
        View::U32(src)
    }
}

/// One kernel of the `Kernel` trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kern {
    EscapeU8,
    Latin1ToUtf8,
    AsciiFromU8,
    EscapeU16,
    Ucs2ToUtf8,
    AsciiFromU16,
    EscapeU32,
    Ucs4ToUtf8,
    AsciiFromU32,
}

/// What a kernel produced: its output units, or the index of the surrogate it reported.
type Outcome = Result<Vec<u32>, usize>;

/// Run `kernel` into a fresh destination of exactly `dst_off + bound + SLACK` units of `D`
/// (so that AddressSanitizer sees a write past the bound), the kernel's output starting
/// `dst_off` units in; checks the length against the bound and that nothing before the
/// output was written.
fn run_into<D: Unit>(
    bound: usize,
    dst_off: usize,
    what: &dyn Fn() -> String,
    kernel: impl FnOnce(*mut D) -> Result<usize, Surrogate>,
) -> Outcome {
    let mut buf = vec![D::SENTINEL; dst_off + bound + SLACK];
    // SAFETY: `buf` holds `dst_off + bound + SLACK` units, so the pointer is in bounds and
    // has `bound + SLACK` units after it, as every escape kernel requires.
    let result = kernel(unsafe { buf.as_mut_ptr().add(dst_off) });
    if let Some(i) = buf[..dst_off].iter().position(|&u| u != D::SENTINEL) {
        panic!("{}: wrote {} units before its destination", what(), dst_off - i);
    }
    match result {
        Ok(n) => {
            assert!(n <= bound, "{}: returned length {n} over the bound {bound}", what());
            Ok(buf[dst_off..dst_off + n].iter().map(|&u| u.into()).collect())
        }
        Err(s) => Err(s.index),
    }
}

/// Run kernel `kern` of backend `K` on `src` (of the width `kern` takes).
fn exec<K: Kernel, T: Unit>(kern: Kern, src: &[T], dst_off: usize) -> Outcome {
    let n = src.len();
    let bound = escaped_bound(n);
    let what = || format!("{:?} {kern:?} len {n} dst+{dst_off}", K::BACKEND);
    let (s8, s16, s32) = match T::view(src) {
        View::U8(s) => (Some(s), None, None),
        View::U16(s) => (None, Some(s), None),
        View::U32(s) => (None, None, Some(s)),
    };
    // SAFETY: every call gets a destination with `bound + SLACK` units from `run_into`
    // (`ascii_escaped_bound_u32` for `ascii_from_u32`), and `K` was instantiated by
    // `dispatch` for a backend this CPU runs, or is `Scalar`.
    unsafe {
        match (kern, s8, s16, s32) {
            (Kern::EscapeU8, Some(s), _, _) => run_into(bound, dst_off, &what, |d| Ok(K::escape_u8(s, d))),
            (Kern::Latin1ToUtf8, Some(s), _, _) => {
                run_into(bound, dst_off, &what, |d| Ok(K::latin1_to_utf8(s, d)))
            }
            (Kern::AsciiFromU8, Some(s), _, _) => {
                run_into(bound, dst_off, &what, |d| Ok(K::ascii_from_u8(s, d)))
            }
            (Kern::EscapeU16, _, Some(s), _) => run_into(bound, dst_off, &what, |d| Ok(K::escape_u16(s, d))),
            (Kern::Ucs2ToUtf8, _, Some(s), _) => run_into(bound, dst_off, &what, |d| K::ucs2_to_utf8(s, d)),
            (Kern::AsciiFromU16, _, Some(s), _) => {
                run_into(bound, dst_off, &what, |d| Ok(K::ascii_from_u16(s, d)))
            }
            (Kern::EscapeU32, _, _, Some(s)) => run_into(bound, dst_off, &what, |d| Ok(K::escape_u32(s, d))),
            (Kern::Ucs4ToUtf8, _, _, Some(s)) => run_into(bound, dst_off, &what, |d| K::ucs4_to_utf8(s, d)),
            (Kern::AsciiFromU32, _, _, Some(s)) => {
                let bound = ascii_escaped_bound_u32(n);
                run_into(bound, dst_off, &what, |d| Ok(K::ascii_from_u32(s, d)))
            }
            _ => unreachable!("{kern:?} does not take units of this width"),
        }
    }
}

/// Properties of the reference output that hold by definition.
fn check_reference<T: Unit>(kern: Kern, src: &[T], out: &Outcome) {
    let first_surrogate = src
        .iter()
        .position(|&u| (0xD800..0xE000).contains(&u.into()));
    match kern {
        Kern::Latin1ToUtf8 | Kern::Ucs2ToUtf8 | Kern::Ucs4ToUtf8 => match out {
            Ok(units) => {
                assert!(
                    kern == Kern::Latin1ToUtf8 || first_surrogate.is_none(),
                    "scalar {kern:?} accepted a surrogate"
                );
                let bytes: Vec<u8> = units.iter().map(|&u| u as u8).collect();
                assert!(std::str::from_utf8(&bytes).is_ok(), "scalar {kern:?} wrote invalid UTF-8");
            }
            Err(index) => assert_eq!(Some(*index), first_surrogate, "scalar {kern:?} surrogate index"),
        },
        Kern::AsciiFromU8 | Kern::AsciiFromU16 | Kern::AsciiFromU32 => {
            let units = out.as_ref().expect("ensure_ascii kernels do not fail");
            assert!(units.iter().all(|&u| (0x20..0x7F).contains(&u)), "scalar {kern:?} wrote non-ASCII or a control");
        }
        Kern::EscapeU8 | Kern::EscapeU16 | Kern::EscapeU32 => {
            let units = out.as_ref().expect("escape kernels do not fail");
            assert!(units.iter().all(|&u| u >= 0x20), "scalar {kern:?} left a control character");
        }
    }
}

struct Compare<'a, T> {
    src: &'a [T],
    dst_off: usize,
    backend: Backend,
}

impl<T: Unit> WithKernel for Compare<'_, T> {
    type Output = ();

    fn run<K: Kernel>(self) {
        // `dispatch` falls back to scalar for a backend the CPU lacks: that would compare
        // scalar with itself and pass vacuously.
        assert_eq!(K::BACKEND, self.backend, "dispatch gave another backend");
        for kern in T::KERNELS {
            let want = exec::<Scalar, T>(kern, self.src, 0);
            check_reference(kern, self.src, &want);
            let mut got = exec::<K, T>(kern, self.src, self.dst_off);
            if inject_fault() {
                corrupt(&mut got);
            }
            assert_eq!(
                got,
                want,
                "{:?} {kern:?} disagrees with scalar on {} units (dst+{}): {:?}",
                K::BACKEND,
                self.src.len(),
                self.dst_off,
                self.src
            );
        }
        if let View::U8(bytes) = T::view(self.src) {
            assert_eq!(
                K::find_string_special(bytes),
                Scalar::find_string_special(bytes),
                "{:?} find_string_special on {bytes:?}",
                K::BACKEND
            );
            assert_eq!(K::max_byte(bytes), Scalar::max_byte(bytes), "{:?} max_byte on {bytes:?}", K::BACKEND);
        }
    }
}

/// `RJSON_FUZZ_INJECT_FAULT=1`: pretend the vector kernels write a backslash as `/`, so
/// that `scripts/fuzz` can check that each target does fail on a wrong kernel.
fn inject_fault() -> bool {
    static INJECT: OnceLock<bool> = OnceLock::new();
    *INJECT.get_or_init(|| std::env::var_os("RJSON_FUZZ_INJECT_FAULT").is_some_and(|v| v == "1"))
}

fn corrupt(outcome: &mut Outcome) {
    if let Ok(units) = outcome {
        if let Some(u) = units.iter_mut().find(|u| **u == u32::from(b'\\')) {
            *u = u32::from(b'/');
        }
    }
}

/// Check every backend on `units` as they lie (the caller's slice) with the destination
/// `dst_off` units into its buffer.
pub fn check_slice<T: Unit>(units: &[T], dst_off: usize) {
    for &backend in vector_backends() {
        dispatch(backend, Compare { src: units, dst_off, backend });
    }
}

/// Check every backend on `units` placed two ways: alone in an exactly sized heap block,
/// and `align` units into a block whose first units are poisoned with `"`.
pub fn check_units<T: Unit>(units: &[T], align: usize, dst_off: usize) {
    let exact: Vec<T> = units.to_vec();
    debug_assert_eq!(exact.capacity(), exact.len());
    check_slice(&exact, dst_off);
    if align > 0 {
        let mut shifted = vec![T::QUOTE; align];
        shifted.extend_from_slice(units);
        check_slice(&shifted[align..], (dst_off + 1) % 64);
    }
}

/// Units worth meeting often: both ends of each UTF-8 length class, the surrogate block's
/// edges, units whose low byte is a special ASCII byte (the vector code must compare whole
/// units), line separators, BOM, noncharacters, and astral code points.
pub const NOTABLE: [u32; 40] = [
    0x7F, 0x80, 0x9F, 0xA0, 0xC3, 0xE9, 0xFF, 0x100, 0x10A, 0x122, 0x15C, 0x17F, 0x7FF, 0x800,
    0x2028, 0x2029, 0x4E2D, 0x8022, 0x5C5C, 0xD7FF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D, 0xDE00,
    0xE000, 0xFEFF, 0xFF0A, 0xFFFE, 0xFFFF, 0x10000, 0x1F600, 0x10022, 0x1005C, 0x1000A, 0xEFFFF,
    0x10FFFE, 0x10FFFF, 0x0,
];

/// Decode fuzz bytes into code units no wider than `max` (0xFFFF or 0x10FFFF), in one of
/// two modes chosen by the caller:
///
/// * raw: each unit from `width` little-endian bytes, reduced modulo `max + 1`;
/// * biased: a byte below 0x80 is that ASCII unit (the escapes live there), 0x80–0xBF a
///   notable unit, and 0xC0–0xFF takes the next `width` bytes as a raw unit.
pub fn decode_units(bytes: &[u8], biased: bool, width: usize, max: u32) -> Vec<u32> {
    let raw = |chunk: &[u8]| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        u32::from_le_bytes(word) % (max + 1)
    };
    let mut out = Vec::with_capacity(bytes.len());
    if !biased {
        out.extend(bytes.chunks(width).map(raw));
        return out;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match b {
            0x00..=0x7F => out.push(b as u32),
            0x80..=0xBF => {
                let unit = NOTABLE[(b - 0x80) as usize % NOTABLE.len()];
                out.push(unit.min(max));
            }
            _ => {
                let end = (i + width).min(bytes.len());
                out.push(raw(&bytes[i..end]));
                i = end;
            }
        }
    }
    out
}

/// The first two bytes of a structured input: (biased decoding, source alignment in units,
/// destination offset in units), and the rest.
pub fn split_control(data: &[u8]) -> Option<((bool, usize, usize), &[u8])> {
    match data {
        [a, b, rest @ ..] => Some(((a & 1 == 1, (a >> 1) as usize % 64, *b as usize % 64), rest)),
        _ => None,
    }
}
