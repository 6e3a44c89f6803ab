//! Every vector backend this host can run, checked against [`Scalar`] for every kernel.
//!
//! The runner ([`for_each_backend`]) instantiates a check once per available vector
//! backend through `dispatch`, and asserts it really got that backend. Sources are placed
//! in a buffer between `PROT_NONE` guard pages, so a read past either end of the slice
//! faults, and the rest of the buffer is poisoned with `"` so a kernel that peeks past its
//! slice without faulting also gives itself away. Destinations are filled with a sentinel,
//! and nothing may change before the destination or past the returned length plus `SLACK`.

use proptest::prelude::*;
use rjson_simd::{
    ascii_escaped_bound_u32, dispatch, escaped_bound, Backend, Kernel, Scalar, Surrogate,
    WithKernel, SLACK,
};

// ---------------------------------------------------------------------------------------
// The runner.

/// A check generic over the backend.
trait Check {
    fn check<K: Kernel>(&self);
}

struct Run<'a, C>(&'a C, Backend);

impl<C: Check> WithKernel for Run<'_, C> {
    type Output = ();
    fn run<K: Kernel>(self) {
        // `dispatch` falls back to scalar for an unavailable backend: make sure that did
        // not happen, or the test would pass vacuously.
        assert_eq!(K::BACKEND, self.1, "dispatch gave the wrong backend");
        self.0.check::<K>();
    }
}

/// The vector backends this host can run.
fn vector_backends() -> Vec<Backend> {
    Backend::available()
        .into_iter()
        .filter(|&b| b != Backend::Scalar)
        .collect()
}

/// Run `check` for every vector backend this host can run.
fn for_each_backend(check: &impl Check) {
    let backends = vector_backends();
    assert!(
        !backends.is_empty() || cfg!(not(any(target_arch = "x86_64", target_arch = "aarch64"))),
        "no vector backend on a vector architecture"
    );
    for backend in backends {
        dispatch(backend, Run(check, backend));
    }
}

#[test]
fn backends_are_wired() {
    let names: Vec<&str> = vector_backends().iter().map(|b| b.name()).collect();
    eprintln!("vector backends under test: {names:?}; depth {:?}", depth());
    #[cfg(target_arch = "x86_64")]
    {
        assert!(Backend::Sse2.is_available());
        assert_eq!(
            Backend::Avx2.is_available(),
            std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("bmi1")
                && std::is_x86_feature_detected!("bmi2")
                && std::is_x86_feature_detected!("popcnt")
        );
        assert_eq!(
            Backend::Avx512.is_available(),
            std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("bmi2")
                && std::is_x86_feature_detected!("popcnt")
        );
        assert!(!Backend::Neon.is_available());
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert!(Backend::Neon.is_available());
        assert!(!Backend::Sse2.is_available());
    }
    assert_eq!(Backend::detect(), Backend::available()[0]);
    if std::env::var_os("RJSON_SIMD_REQUIRE").is_some() {
        // Emulator runs name the backends they expect to exercise.
        let want = std::env::var("RJSON_SIMD_REQUIRE").unwrap();
        for name in want.split(',').filter(|n| !n.is_empty()) {
            assert!(
                names.contains(&name),
                "backend {name} required but not available"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Guarded source buffers.

/// A read-write region with an inaccessible page on each side.
struct Arena {
    base: *mut u8,
    page: usize,
    rw: usize,
}

impl Arena {
    fn new(rw_pages: usize) -> Arena {
        // SAFETY: plain FFI calls; the results are checked.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            let rw = rw_pages * page;
            let total = rw + 2 * page;
            let map = libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(map, libc::MAP_FAILED);
            let base = (map as *mut u8).add(page);
            let ok = libc::mprotect(base.cast(), rw, libc::PROT_READ | libc::PROT_WRITE);
            assert_eq!(ok, 0);
            Arena { base, page, rw }
        }
    }

    /// Copy `data` into the arena `gap` units before the trailing guard page (so with
    /// `gap == 0` the slice ends at the guard), poisoning what lies around it.
    fn place_end<T: Copy>(&mut self, data: &[T], gap: usize, poison: T) -> &[T] {
        let size = std::mem::size_of::<T>();
        let units = self.rw / size;
        assert!(data.len() + gap <= units);
        self.place_at(data, units - gap - data.len(), poison)
    }

    /// Copy `data` into the arena `gap` units after the leading guard page.
    fn place_start<T: Copy>(&mut self, data: &[T], gap: usize, poison: T) -> &[T] {
        self.place_at(data, gap, poison)
    }

    fn place_at<T: Copy>(&mut self, data: &[T], at: usize, poison: T) -> &[T] {
        let units = self.rw / std::mem::size_of::<T>();
        // SAFETY: the read-write region holds `units` aligned `T`s (page-aligned base).
        let all = unsafe { std::slice::from_raw_parts_mut(self.base.cast::<T>(), units) };
        // Poison a neighbourhood (a whole-block read either side would see it).
        let lo = at.saturating_sub(256);
        let hi = (at + data.len() + 256).min(units);
        all[lo..hi].fill(poison);
        all[at..at + data.len()].copy_from_slice(data);
        &all[at..at + data.len()]
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe {
            libc::munmap(self.base.sub(self.page).cast(), self.rw + 2 * self.page);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running one kernel.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kern {
    EscapeU8,
    EscapeU16,
    EscapeU32,
    Latin1ToUtf8,
    Ucs2ToUtf8,
    Ucs4ToUtf8,
    AsciiFromU8,
    AsciiFromU16,
    AsciiFromU32,
}

const U8_KERNELS: [Kern; 3] = [Kern::EscapeU8, Kern::Latin1ToUtf8, Kern::AsciiFromU8];
const U16_KERNELS: [Kern; 3] = [Kern::EscapeU16, Kern::Ucs2ToUtf8, Kern::AsciiFromU16];
const U32_KERNELS: [Kern; 3] = [Kern::EscapeU32, Kern::Ucs4ToUtf8, Kern::AsciiFromU32];

/// Output units, or the index of the surrogate reported.
type Outcome = Result<Vec<u32>, usize>;

/// Units written past the slack zone are caught in this many guard units.
const GUARD: usize = 64;

trait Sentinel: Copy + PartialEq + Into<u32> + std::fmt::Debug {
    const SENTINEL: Self;
}
impl Sentinel for u8 {
    const SENTINEL: u8 = 0xEE;
}
impl Sentinel for u16 {
    const SENTINEL: u16 = 0xEEEE;
}
impl Sentinel for u32 {
    const SENTINEL: u32 = 0xEEEE_EEEE;
}

/// Call `kernel` on a sentinel-filled destination at unit offset `dst_off` with room for
/// `bound + SLACK`, and check that it wrote nothing outside `[0, len + SLACK)` (or
/// `[0, bound + SLACK)` after a failure).
fn with_dst<D: Sentinel>(
    bound: usize,
    dst_off: usize,
    what: &dyn Fn() -> String,
    kernel: impl FnOnce(*mut D) -> Result<usize, Surrogate>,
) -> Outcome {
    let mut buf = vec![D::SENTINEL; dst_off + bound + SLACK + GUARD];
    // SAFETY: `dst_off + bound + SLACK` units are in `buf`.
    let result = kernel(unsafe { buf.as_mut_ptr().add(dst_off) });
    let limit = match result {
        Ok(n) => {
            assert!(n <= bound, "{}: length {n} over the bound {bound}", what());
            dst_off + n + SLACK
        }
        Err(_) => dst_off + bound + SLACK,
    };
    if let Some(i) = buf[..dst_off].iter().position(|&u| u != D::SENTINEL) {
        panic!(
            "{}: wrote before the destination at {}",
            what(),
            i as isize - dst_off as isize
        );
    }
    if let Some(i) = buf[limit..].iter().position(|&u| u != D::SENTINEL) {
        panic!("{}: wrote past length + SLACK, at +{}", what(), i);
    }
    match result {
        Ok(n) => Ok(buf[dst_off..dst_off + n]
            .iter()
            .map(|&u| u.into())
            .collect()),
        Err(s) => Err(s.index),
    }
}

/// A source of any width.
#[derive(Clone, Copy)]
enum Src<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::U8(s) => s.len(),
            Src::U16(s) => s.len(),
            Src::U32(s) => s.len(),
        }
    }
}

/// Run `kern` of backend `K` on `src`, with the destination at unit offset `dst_off`.
fn exec<K: Kernel>(kern: Kern, src: Src<'_>, dst_off: usize) -> Outcome {
    let n = src.len();
    let bound = escaped_bound(n);
    let what = || format!("{:?} {kern:?} len {n} dst+{dst_off}", K::BACKEND);
    // SAFETY: (every call) `with_dst` provides `bound + SLACK` units at the pointer, and
    // the `dispatch` that instantiated `K` checked that this CPU runs it.
    unsafe {
        match (kern, src) {
            (Kern::EscapeU8, Src::U8(s)) => {
                with_dst(bound, dst_off, &what, |d| Ok(K::escape_u8(s, d)))
            }
            (Kern::Latin1ToUtf8, Src::U8(s)) => {
                with_dst(bound, dst_off, &what, |d| Ok(K::latin1_to_utf8(s, d)))
            }
            (Kern::AsciiFromU8, Src::U8(s)) => {
                with_dst(bound, dst_off, &what, |d| Ok(K::ascii_from_u8(s, d)))
            }
            (Kern::EscapeU16, Src::U16(s)) => {
                with_dst(bound, dst_off, &what, |d| Ok(K::escape_u16(s, d)))
            }
            (Kern::Ucs2ToUtf8, Src::U16(s)) => {
                with_dst(bound, dst_off, &what, |d| K::ucs2_to_utf8(s, d))
            }
            (Kern::AsciiFromU16, Src::U16(s)) => {
                with_dst(bound, dst_off, &what, |d| Ok(K::ascii_from_u16(s, d)))
            }
            (Kern::EscapeU32, Src::U32(s)) => {
                with_dst(bound, dst_off, &what, |d| Ok(K::escape_u32(s, d)))
            }
            (Kern::Ucs4ToUtf8, Src::U32(s)) => {
                with_dst(bound, dst_off, &what, |d| K::ucs4_to_utf8(s, d))
            }
            (Kern::AsciiFromU32, Src::U32(s)) => {
                let bound = ascii_escaped_bound_u32(n);
                with_dst(bound, dst_off, &what, |d| Ok(K::ascii_from_u32(s, d)))
            }
            _ => panic!("{kern:?} does not take this source width"),
        }
    }
}

/// Check backend `K` against `Scalar` on one input.
fn agree<K: Kernel>(kern: Kern, src: Src<'_>, dst_off: usize, context: &dyn Fn() -> String) {
    let want = exec::<Scalar>(kern, src, 0);
    let got = exec::<K>(kern, src, dst_off);
    if got != want {
        let show = |o: &Outcome| match o {
            Ok(units) => format!("Ok({:?})", units_to_text(units)),
            Err(i) => format!("Err(Surrogate {{ index: {i} }})"),
        };
        panic!(
            "{:?} {kern:?} disagrees with Scalar ({}), dst+{dst_off}\n  got:  {}\n  want: {}",
            K::BACKEND,
            context(),
            show(&got),
            show(&want)
        );
    }
}

fn units_to_text(units: &[u32]) -> String {
    units
        .iter()
        .map(|&u| match char::from_u32(u) {
            Some(c) if (' '..='~').contains(&c) => c.to_string(),
            _ => format!("<{u:x}>"),
        })
        .collect()
}

/// Check the scans of backend `K` against `Scalar`.
fn agree_scans<K: Kernel>(src: &[u8], context: &dyn Fn() -> String) {
    assert_eq!(
        K::find_string_special(src),
        Scalar::find_string_special(src),
        "{:?} find_string_special ({})",
        K::BACKEND,
        context()
    );
    assert_eq!(
        K::max_byte(src),
        Scalar::max_byte(src),
        "{:?} max_byte ({})",
        K::BACKEND,
        context()
    );
}

// ---------------------------------------------------------------------------------------
// Inputs.

/// The units that matter, for one-byte sources: everything any kernel escapes, DEL, and
/// both ends of the non-ASCII range.
fn special_u8() -> Vec<u8> {
    let mut units: Vec<u8> = (0..0x20).collect();
    units.extend([b'"', b'\\', b' ', b'~', 0x7F, 0x80, 0xC3, 0xE9, 0xFF]);
    units
}

/// For UCS-2: the one-byte specials, plus units whose low byte is special (the vector
/// code must compare whole units), the UTF-8 length boundaries, and the four surrogate
/// boundaries.
fn special_u16() -> Vec<u16> {
    let mut units: Vec<u16> = special_u8().into_iter().map(u16::from).collect();
    units.extend([
        0x100, 0x122, 0x15C, 0x10A, 0x7FF, 0x800, 0x4E2D, 0x8022, 0xFF0A, 0xFFFF, 0xD800, 0xDBFF,
        0xDC00, 0xDFFF, 0xE000,
    ]);
    units
}

/// For UCS-4: the UCS-2 specials and astral code points (one with a special low half).
fn special_u32() -> Vec<u32> {
    let mut units: Vec<u32> = special_u16().into_iter().map(u32::from).collect();
    units.extend([0x10000, 0x1F600, 0x10022, 0x1005C, 0x10FFFF]);
    units
}

/// Clean base text of `len` units: printable ASCII, a non-ASCII filler of the width, or
/// characters of every UTF-8 length the width holds, mixed.
#[derive(Clone, Copy, Debug)]
enum Base {
    Ascii,
    Wide,
    Mixed,
}

/// The UTF-8 length class (length - 1, below `classes`) of unit `i` of `Base::Mixed`.
/// Each run of four units spells a different combination of classes (for every
/// combination, 1024 units are enough), the unit the byte-shuffle kernels pack by.
fn mixed_class(i: usize, classes: usize) -> usize {
    let combination = (i / 4 * 7) % 256;
    (combination >> (2 * (i % 4))) % 4 % classes
}

/// A character of UTF-8 length class `class`, varied by `i`.
fn of_class(class: usize, i: usize) -> u32 {
    let i = i as u32;
    [u32::from(b'a') + i % 26, 0xC0 + i % 64, 0x4E00 + i % 0x5000, 0x1F600 + i % 80][class]
}

fn base_u8(base: Base, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| match base {
            Base::Ascii => b'a' + (i % 26) as u8,
            Base::Wide => 0xC0 + (i % 64) as u8,
            Base::Mixed => of_class(mixed_class(i, 2), i) as u8,
        })
        .collect()
}

fn base_u16(base: Base, len: usize) -> Vec<u16> {
    (0..len)
        .map(|i| match base {
            Base::Ascii => u16::from(b'a') + (i % 26) as u16,
            // CJK: the three-byte UTF-8 path.
            Base::Wide => 0x4E00 + ((i * 37) % 0x5000) as u16,
            Base::Mixed => of_class(mixed_class(i, 3), i) as u16,
        })
        .collect()
}

fn base_u32(base: Base, len: usize) -> Vec<u32> {
    (0..len)
        .map(|i| match base {
            Base::Ascii => u32::from(b'a') + (i % 26) as u32,
            // Emoji and CJK mixed: four- and three-byte UTF-8.
            Base::Wide => {
                if i % 3 == 0 {
                    0x1F600 + (i % 80) as u32
                } else {
                    0x4E00 + i as u32
                }
            }
            Base::Mixed => of_class(mixed_class(i, 4), i),
        })
        .collect()
}

/// Largest length the exhaustive tests cover (four blocks).
const MAX_LEN: usize = 256;

/// Units a source can be shifted by (every alignment of a 64-byte vector, for bytes).
const ALIGNS: usize = 64;

/// Every length and every source and destination alignment, clean and wide text, with
/// the source against either guard page.
struct Alignments;

impl Check for Alignments {
    fn check<K: Kernel>(&self) {
        let depth = depth();
        let mut arena = Arena::new(4);
        for base in [Base::Ascii, Base::Wide, Base::Mixed] {
            for len in 0..=MAX_LEN {
                let (d8, d16, d32) = (base_u8(base, len), base_u16(base, len), base_u32(base, len));
                for align in aligns_for(len, depth) {
                    let dst_off = (align * 7) % ALIGNS;
                    let ctx = || format!("{base:?} len {len} src align {align}");
                    // Against the trailing guard page at `align` units' distance, and
                    // against the leading one.
                    for end in [true, false] {
                        let s8 = if end {
                            arena.place_end(&d8, align, b'"')
                        } else {
                            arena.place_start(&d8, align, b'"')
                        };
                        for kern in U8_KERNELS {
                            agree::<K>(kern, Src::U8(s8), dst_off, &ctx);
                        }
                        agree_scans::<K>(s8, &ctx);
                        let s16 = if end {
                            arena.place_end(&d16, align, 0x22)
                        } else {
                            arena.place_start(&d16, align, 0x22)
                        };
                        for kern in U16_KERNELS {
                            agree::<K>(kern, Src::U16(s16), dst_off, &ctx);
                        }
                        let s32 = if end {
                            arena.place_end(&d32, align, 0x22)
                        } else {
                            arena.place_start(&d32, align, 0x22)
                        };
                        for kern in U32_KERNELS {
                            agree::<K>(kern, Src::U32(s32), dst_off, &ctx);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn every_length_and_alignment() {
    for_each_backend(&Alignments);
}

/// How much ground the exhaustive tests cover.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Depth {
    /// An unoptimised build (about 20 times slower): every length, but the full products
    /// of alignments and of specials only for the shorter ones (see below).
    Quick,
    /// An optimised build: every alignment of every length, every special at every
    /// position up to 72 units, rotating specials beyond.
    Normal,
    /// `RJSON_SIMD_TEST_FULL=1`: every special at every position of every length.
    Full,
}

fn depth() -> Depth {
    if std::env::var_os("RJSON_SIMD_TEST_FULL").is_some_and(|v| v != "0") {
        Depth::Full
    } else if env!("RJSON_SIMD_OPT_LEVEL") == "0" {
        Depth::Quick
    } else {
        Depth::Normal
    }
}

/// The source alignments tried for strings of length `len`.
fn aligns_for(len: usize, depth: Depth) -> Vec<usize> {
    if depth != Depth::Quick || len <= 80 {
        (0..ALIGNS).collect()
    } else {
        // Around the 16- and 32-byte boundaries of the vectors, and a few in between.
        vec![0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63]
    }
}

/// The specials tried at position `pos` of a string of length `len`.
fn specials_at<T: Copy>(all: &[T], len: usize, pos: usize, depth: Depth) -> Vec<T> {
    let product_up_to = match depth {
        Depth::Full => usize::MAX,
        Depth::Normal => 72,
        Depth::Quick => 20,
    };
    if len <= product_up_to {
        all.to_vec()
    } else if depth == Depth::Quick {
        vec![all[(len * 5 + pos) % all.len()]]
    } else {
        // Two per position, rotating, so every special visits every position across
        // neighbouring lengths.
        let n = all.len();
        vec![all[(len * 5 + pos) % n], all[(len * 11 + pos * 3 + 1) % n]]
    }
}

/// Each special unit at each position of each length, in clean and wide text, and a
/// second one right after it or a block later (to exercise several flags in one mask).
struct Specials;

impl Check for Specials {
    fn check<K: Kernel>(&self) {
        let depth = depth();
        let mut arena = Arena::new(4);
        let (sp8, sp16, sp32) = (special_u8(), special_u16(), special_u32());
        for base in [Base::Ascii, Base::Wide, Base::Mixed] {
            for len in 1..=MAX_LEN {
                let (b8, b16, b32) = (base_u8(base, len), base_u16(base, len), base_u32(base, len));
                for pos in 0..len {
                    let second = [pos + 1, pos + 64, pos + 13]
                        .into_iter()
                        .find(|&p| p < len && (len + pos) % 3 == 0);
                    let ctx = |unit: u32| {
                        move || format!("{base:?} len {len} unit {unit:#x} at {pos} (+{second:?})")
                    };
                    let dst_off = pos % 5;
                    for &s in &specials_at(&sp8, len, pos, depth) {
                        let mut d = b8.clone();
                        d[pos] = s;
                        if let Some(p) = second {
                            d[p] = b'\n';
                        }
                        let src = arena.place_end(&d, len % 3, b'"');
                        for kern in U8_KERNELS {
                            agree::<K>(kern, Src::U8(src), dst_off, &ctx(s.into()));
                        }
                        agree_scans::<K>(src, &ctx(s.into()));
                    }
                    for &s in &specials_at(&sp16, len, pos, depth) {
                        let mut d = b16.clone();
                        d[pos] = s;
                        if let Some(p) = second {
                            d[p] = 0xDC00;
                        }
                        let src = arena.place_end(&d, len % 3, 0x22);
                        for kern in U16_KERNELS {
                            agree::<K>(kern, Src::U16(src), dst_off, &ctx(s.into()));
                        }
                    }
                    for &s in &specials_at(&sp32, len, pos, depth) {
                        let mut d = b32.clone();
                        d[pos] = s;
                        if let Some(p) = second {
                            d[p] = 0x1F600;
                        }
                        let src = arena.place_end(&d, len % 3, 0x22);
                        for kern in U32_KERNELS {
                            agree::<K>(kern, Src::U32(src), dst_off, &ctx(s));
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn every_special_unit_at_every_position() {
    for_each_backend(&Specials);
}

/// Dense escapes: every unit, or every other unit, special; and runs of each length
/// between escapes.
struct Dense;

impl Check for Dense {
    fn check<K: Kernel>(&self) {
        let mut arena = Arena::new(4);
        let sp8 = special_u8();
        let sp16 = special_u16();
        let sp32 = special_u32();
        for len in 0..=MAX_LEN {
            for gap in [1usize, 2, 3, 7, 31, 63] {
                let ctx = || format!("dense len {len} gap {gap}");
                let d8: Vec<u8> = (0..len)
                    .map(|i| {
                        if i % gap == 0 {
                            sp8[i % sp8.len()]
                        } else {
                            b'x'
                        }
                    })
                    .collect();
                let src = arena.place_end(&d8, 0, b'"');
                for kern in U8_KERNELS {
                    agree::<K>(kern, Src::U8(src), 0, &ctx);
                }
                agree_scans::<K>(src, &ctx);
                // Surrogates last, so the UTF-8 kernels get past the other specials.
                let d16: Vec<u16> = (0..len)
                    .map(|i| {
                        if i % gap == 0 {
                            sp16[i % (sp16.len() - 5)]
                        } else {
                            0x4E00
                        }
                    })
                    .collect();
                let src = arena.place_end(&d16, 0, 0x22);
                for kern in U16_KERNELS {
                    agree::<K>(kern, Src::U16(src), 0, &ctx);
                }
                let d32: Vec<u32> = (0..len)
                    .map(|i| {
                        if i % gap == 0 {
                            sp32[i % sp32.len()]
                        } else {
                            0x1F600
                        }
                    })
                    .collect();
                let src = arena.place_end(&d32, 0, 0x22);
                for kern in U32_KERNELS {
                    agree::<K>(kern, Src::U32(src), 0, &ctx);
                }
            }
        }
    }
}

#[test]
fn dense_escapes() {
    for_each_backend(&Dense);
}

/// A long input (several KiB) with a few specials, past the exhaustive lengths.
struct Long;

impl Check for Long {
    fn check<K: Kernel>(&self) {
        let mut arena = Arena::new(64);
        for len in [1000usize, 4096, 10_000] {
            for base in [Base::Ascii, Base::Wide, Base::Mixed] {
                let ctx = || format!("long {base:?} len {len}");
                let mut d8 = base_u8(base, len);
                let mut d16 = base_u16(base, len);
                let mut d32 = base_u32(base, len);
                for (k, p) in [3usize, 64, 700, len - 1].into_iter().enumerate() {
                    d8[p] = [b'"', b'\\', 0x1F, 0x7F][k];
                    d16[p] = [0x22, 0xE9, 0x0A, 0xFFFF][k];
                    d32[p] = [0x22, 0x1F600, 0x0A, 0x5C][k];
                }
                let src = arena.place_end(&d8, 1, b'"');
                for kern in U8_KERNELS {
                    agree::<K>(kern, Src::U8(src), 3, &ctx);
                }
                agree_scans::<K>(src, &ctx);
                let src = arena.place_end(&d16, 1, 0x22);
                for kern in U16_KERNELS {
                    agree::<K>(kern, Src::U16(src), 3, &ctx);
                }
                let src = arena.place_end(&d32, 1, 0x22);
                for kern in U32_KERNELS {
                    agree::<K>(kern, Src::U32(src), 3, &ctx);
                }
            }
        }
    }
}

#[test]
fn long_inputs() {
    for_each_backend(&Long);
}

// ---------------------------------------------------------------------------------------
// The serializer's short-string fast path.

/// `copy_clean_ascii_tail` against its definition: every length up to 16, each byte that
/// needs an escape (and DEL, which only `ensure_ascii` escapes) at every position, with
/// bytes before the string that would be flagged (they must be ignored), the string
/// ending at a guard page or a few bytes before it.
struct CleanTail;

fn needs_escape(b: u8, ensure_ascii: bool) -> bool {
    b == b'"' || b == b'\\' || b < 0x20 || (ensure_ascii && b >= 0x7F)
}

impl Check for CleanTail {
    fn check<K: Kernel>(&self) {
        // Backends with a byte shuffle implement it; the others always decline.
        let implemented = matches!(K::BACKEND, Backend::Avx2 | Backend::Avx512);
        let mut arena = Arena::new(4);
        for len in 0..=16usize {
            let plain: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut strings = vec![plain.clone()];
            for pos in 0..len {
                for b in [b'"', b'\\', 0x00, 0x0A, 0x1F, 0x20, 0x7E, 0x7F] {
                    let mut s = plain.clone();
                    s[pos] = b;
                    strings.push(s);
                }
            }
            for s in &strings {
                for before in [b'"', b'\\', 0x01, 0x7F, 0xFF, b'a'] {
                    for gap in [0, 1, 7, 15] {
                        let mut bytes = vec![before; 16];
                        bytes.extend_from_slice(s);
                        let placed = arena.place_end(&bytes, gap, b'"');
                        let end = placed.as_ptr_range().end;
                        for ensure_ascii in [false, true] {
                            let mut dst = [0xEEu8; 16];
                            // SAFETY: the 16 bytes before `end` are in `placed`; `s` is
                            // ASCII and at most 16 bytes; `dst` has 16 bytes.
                            let copied =
                                unsafe { K::copy_clean_ascii_tail(end, len, ensure_ascii, dst.as_mut_ptr()) };
                            let clean = s.iter().all(|&b| !needs_escape(b, ensure_ascii));
                            let ctx = format!("{s:?} before {before:#x} gap {gap} ensure_ascii {ensure_ascii}");
                            assert_eq!(copied, clean && implemented, "{ctx}");
                            if copied {
                                assert_eq!(&dst[..len], &s[..], "{ctx}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn clean_ascii_tail_copy() {
    for_each_backend(&CleanTail);
}

// ---------------------------------------------------------------------------------------
// Random inputs.

/// One random input, checked on every backend with the given offsets.
struct Random {
    bytes: Vec<u8>,
    wide16: Vec<u16>,
    wide32: Vec<u32>,
    gap: usize,
    dst_off: usize,
}

impl Check for Random {
    fn check<K: Kernel>(&self) {
        let mut arena = Arena::new(4);
        let ctx = || format!("random, gap {} dst+{}", self.gap, self.dst_off);
        let src = arena.place_end(&self.bytes, self.gap, b'"');
        for kern in U8_KERNELS {
            agree::<K>(kern, Src::U8(src), self.dst_off, &ctx);
        }
        agree_scans::<K>(src, &ctx);
        let src = arena.place_end(&self.wide16, self.gap, 0x22);
        for kern in U16_KERNELS {
            agree::<K>(kern, Src::U16(src), self.dst_off, &ctx);
        }
        let src = arena.place_end(&self.wide32, self.gap, 0x22);
        for kern in U32_KERNELS {
            agree::<K>(kern, Src::U32(src), self.dst_off, &ctx);
        }
    }
}

/// Strings that look like JSON text: mostly ASCII letters, some escapes, some non-ASCII.
fn texty() -> impl Strategy<Value = String> {
    let unit = prop_oneof![
        8 => proptest::char::range('a', 'z'),
        2 => proptest::sample::select(vec!['"', '\\', '\n', '\t', '\u{1}', '\u{1f}', '\u{7f}']),
        2 => proptest::char::range('\u{80}', '\u{7ff}'),
        2 => proptest::char::range('\u{4e00}', '\u{9fff}'),
        1 => proptest::char::range('\u{1f600}', '\u{1f64f}'),
        1 => any::<char>(),
    ];
    proptest::collection::vec(unit, 0..300).prop_map(|v| v.into_iter().collect())
}

/// UTF-16 code units, surrogates included (paired or lone).
fn any_u16s() -> impl Strategy<Value = Vec<u16>> {
    let unit = prop_oneof![
        4 => 0x20u16..0x7F,
        1 => 0u16..0x20,
        2 => 0x80u16..0x800,
        3 => 0x800u16..=0xFFFF,
        1 => 0xD800u16..0xE000,
    ];
    proptest::collection::vec(unit, 0..300)
}

/// UCS-4 units: any code point, surrogates included.
fn any_u32s() -> impl Strategy<Value = Vec<u32>> {
    let unit = prop_oneof![
        4 => 0x20u32..0x7F,
        1 => 0u32..0x20,
        2 => 0x80u32..0x10000,
        1 => 0xD800u32..0xE000,
        2 => 0x10000u32..=0x10FFFF,
    ];
    proptest::collection::vec(unit, 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random UTF-8 text: its bytes, and its code points as UCS-2 (BMP only) and UCS-4.
    #[test]
    fn random_utf8_text(s in texty(), gap in 0usize..64, dst_off in 0usize..64) {
        let wide32: Vec<u32> = s.chars().map(|c| c as u32).collect();
        let wide16: Vec<u16> = s.chars().filter(|&c| (c as u32) < 0x10000).map(|c| c as u16).collect();
        for_each_backend(&Random { bytes: s.into_bytes(), wide16, wide32, gap, dst_off });
    }

    /// Random Latin-1 (any bytes).
    #[test]
    fn random_latin1(bytes in proptest::collection::vec(any::<u8>(), 0..300), gap in 0usize..64, dst_off in 0usize..64) {
        let wide16 = bytes.iter().map(|&b| b.into()).collect();
        let wide32 = bytes.iter().map(|&b| b.into()).collect();
        for_each_backend(&Random { bytes, wide16, wide32, gap, dst_off });
    }

    /// Random accented Latin-1 text with nothing to escape (or rarely one escape), mixing
    /// ASCII and non-ASCII bytes in every block: the shape the shuffle transcoders take.
    #[test]
    fn random_latin1_text(
        bytes in proptest::collection::vec(prop_oneof![
            8 => 0x20u8..=0x7E,
            8 => 0x80u8..=0xFF,
            1 => any::<u8>(),
        ], 0..600),
        gap in 0usize..64,
        dst_off in 0usize..64,
    ) {
        let wide16 = bytes.iter().map(|&b| b.into()).collect();
        let wide32 = bytes.iter().map(|&b| b.into()).collect();
        for_each_backend(&Random { bytes, wide16, wide32, gap, dst_off });
    }

    /// Random UCS-2 arrays, surrogates included.
    #[test]
    fn random_ucs2(units in any_u16s(), gap in 0usize..64, dst_off in 0usize..64) {
        let wide32 = units.iter().map(|&u| u.into()).collect();
        let bytes = units.iter().map(|&u| u as u8).collect();
        for_each_backend(&Random { bytes, wide16: units, wide32, gap, dst_off });
    }

    /// Random UCS-4 arrays of code points, surrogates included.
    #[test]
    fn random_ucs4(units in any_u32s(), gap in 0usize..64, dst_off in 0usize..64) {
        let wide16 = units.iter().map(|&u| u as u16).collect();
        let bytes = units.iter().map(|&u| u as u8).collect();
        for_each_backend(&Random { bytes, wide16, wide32: units, gap, dst_off });
    }
}

// ---------------------------------------------------------------------------------------
// Spot checks of the reference itself, through a vector backend, on known answers.

struct Known;

impl Check for Known {
    fn check<K: Kernel>(&self) {
        let text = "key\"with\\escapes\nand é€😀 and \u{7f}";
        let units: Vec<u32> = text.chars().map(|c| c as u32).collect();
        let mut out = vec![0u8; ascii_escaped_bound_u32(units.len()) + SLACK];
        // SAFETY: `out` has the bound plus slack; `K` came from `dispatch`.
        let n = unsafe { K::ascii_from_u32(&units, out.as_mut_ptr()) };
        assert_eq!(
            std::str::from_utf8(&out[..n]).unwrap(),
            "key\\\"with\\\\escapes\\nand \\u00e9\\u20ac\\ud83d\\ude00 and \\u007f"
        );
        // SAFETY: as above (the UTF-8 bound is smaller).
        let n = unsafe { K::ucs4_to_utf8(&units, out.as_mut_ptr()) }.unwrap();
        assert_eq!(
            std::str::from_utf8(&out[..n]).unwrap(),
            "key\\\"with\\\\escapes\\nand é€😀 and \u{7f}"
        );
        let lone = [0x61u16; 100]
            .iter()
            .copied()
            .chain([0xDC00])
            .collect::<Vec<_>>();
        // SAFETY: as above.
        let err = unsafe { K::ucs2_to_utf8(&lone, out.as_mut_ptr()) };
        assert_eq!(err, Err(Surrogate { index: 100 }));
        assert_eq!(
            K::find_string_special(b"0123456789abcdef0123456789\x00"),
            26
        );
        assert_eq!(K::max_byte("aaaa€".as_bytes()), 0xE2);
    }
}

#[test]
fn known_answers() {
    for_each_backend(&Known);
}

// ---------------------------------------------------------------------------------------
// The parser's CJK fast path.

/// One three-byte character at the start of `b` as `surrogatepass` UTF-8 decodes it.
fn bmp3_ref(b: &[u8]) -> Option<u16> {
    if b.len() < 3 || b[0] & 0xF0 != 0xE0 || b[1] & 0xC0 != 0x80 || b[2] & 0xC0 != 0x80 {
        return None;
    }
    let c = ((b[0] & 0x0F) as u16) << 12 | ((b[1] & 0x3F) as u16) << 6 | (b[2] & 0x3F) as u16;
    (c >= 0x800).then_some(c)
}

/// What `utf8_bmp3_to_u16` must return: whole 16-byte blocks (inside `src`) of five valid
/// three-byte characters, while 8 units of room are left, and their characters.
fn bmp3_expected(src: &[u8], cap: usize) -> (usize, Vec<u16>) {
    let (mut i, mut out) = (0, Vec::new());
    while i + 16 <= src.len() && out.len() + 8 <= cap {
        let block: Option<Vec<u16>> = (0..5).map(|k| bmp3_ref(&src[i + 3 * k..])).collect();
        match block {
            Some(chars) => out.extend(chars),
            None => break,
        }
        i += 15;
    }
    (i, out)
}

/// `utf8_bmp3_to_u16` against a scalar decoder: every source length up to 256 bytes at
/// every alignment (the source ending at a guard page, or up to 15 bytes before it), with
/// each kind of disruption (ASCII, two-byte, four-byte, a bad continuation, an overlong
/// E0 80 80, and the surrogate ED A0 80, which must be accepted) at every byte position,
/// and rooms around the 8-unit threshold (a sentinel checks nothing is written past it).
struct Bmp3;

impl Check for Bmp3 {
    fn check<K: Kernel>(&self) {
        let implemented = matches!(K::BACKEND, Backend::Avx2 | Backend::Avx512);
        let mut arena = Arena::new(4);
        // Characters across the three-byte range, surrogates and both ends included.
        let chars: Vec<u8> = (0..100u32)
            .flat_map(|k| {
                let c = match k % 7 {
                    0 => 0x0800 + k,
                    1 => 0xFFFF - k,
                    2 => 0xD800 + 13 * k,
                    _ => 0x4E00 + 211 * k,
                };
                [0xE0 | (c >> 12) as u8, 0x80 | (c >> 6 & 0x3F) as u8, 0x80 | (c & 0x3F) as u8]
            })
            .collect();
        let disruptions: [&[u8]; 7] = [
            b"a",
            "\u{e9}".as_bytes(),
            "\u{1F600}".as_bytes(),
            b"\xe4\x41\x80",
            b"\xe4\xb8\xc0",
            b"\xe0\x80\x80",
            b"\xed\xa0\x80",
        ];
        let mut checked = 0usize;
        let mut nonzero = 0usize;
        for len in 0..=256usize {
            let mut cases: Vec<(Vec<u8>, Vec<usize>)> =
                vec![(chars[..len].to_vec(), vec![0, 7, 8, 12, 13, 17, 18, len / 3, len])];
            for pos in 0..len {
                for d in disruptions {
                    let mut s = chars[..pos].to_vec();
                    s.extend_from_slice(d);
                    s.extend_from_slice(&chars[pos..]);
                    s.truncate(len);
                    cases.push((s, vec![len]));
                }
            }
            for (s, caps) in &cases {
                for gap in 0..16 {
                    let src = arena.place_end(s, gap, 0xE4);
                    for &cap in caps {
                        let mut dst = vec![0xBEEFu16; cap + 16];
                        // SAFETY: `dst` holds `cap` units (and more); the backend is
                        // available (run by `for_each_backend`).
                        let (used, wrote) = unsafe { K::utf8_bmp3_to_u16(src, dst.as_mut_ptr(), cap) };
                        let ctx = || format!("{s:x?} gap {gap} cap {cap}");
                        let (want_used, want) = if implemented { bmp3_expected(s, cap) } else { (0, vec![]) };
                        assert_eq!((used, wrote), (want_used, want.len()), "{}", ctx());
                        assert_eq!(&dst[..wrote], &want[..], "{}", ctx());
                        // A prefix of whole characters, as the scalar decoder reads it.
                        assert_eq!(used, 3 * wrote, "{}", ctx());
                        for k in 0..wrote {
                            assert_eq!(bmp3_ref(&s[3 * k..]), Some(dst[k]), "{}", ctx());
                        }
                        assert!(dst[cap..].iter().all(|&u| u == 0xBEEF), "wrote past cap: {}", ctx());
                        checked += 1;
                        nonzero += (wrote != 0) as usize;
                    }
                }
            }
        }
        assert!(checked > 100_000);
        assert_eq!(nonzero != 0, implemented, "the kernel never decoded anything");
    }
}

#[test]
fn utf8_bmp3_to_u16_decodes_three_byte_runs() {
    for_each_backend(&Bmp3);
}

// ---------------------------------------------------------------------------------------
// The parser's decoder of mixed UTF-8 into UCS-4.

/// The character at the start of `b` as `bytes.decode("utf-8", "surrogatepass")` reads
/// it, and its length; written from the definition, byte by byte.
fn utf8_ref(b: &[u8]) -> Option<(u32, usize)> {
    let lead = *b.first()?;
    let (len, init, min) = match lead {
        0x00..=0x7F => return Some((lead as u32, 1)),
        0xC0..=0xDF => (2, (lead & 0x1F) as u32, 0x80),
        0xE0..=0xEF => (3, (lead & 0x0F) as u32, 0x800),
        0xF0..=0xF7 => (4, (lead & 0x07) as u32, 0x10000),
        _ => return None,
    };
    let mut c = init;
    for k in 1..len {
        let t = *b.get(k)?;
        if t & 0xC0 != 0x80 {
            return None;
        }
        c = c << 6 | (t & 0x3F) as u32;
    }
    (min..=0x10FFFF).contains(&c).then_some((c, len))
}

/// Every character of `b` while they are valid, and the index of the first invalid byte
/// sequence (or `b.len()`).
fn utf8_ref_all(b: &[u8]) -> (Vec<(u32, usize)>, usize) {
    let (mut i, mut out) = (0, Vec::new());
    while let Some((c, len)) = utf8_ref(&b[i..]) {
        out.push((c, i));
        i += len;
    }
    (out, i)
}

/// `utf8_to_u32` against the reference: text of characters of every length (the ends of
/// each form's range, surrogates, NUL, U+10FFFF) in runs that mix lengths in every order,
/// of every length up to 160 bytes at 32 alignments (ending at a guard page or up to 31
/// bytes before it), with each kind of invalid sequence (stray and missing continuations,
/// each overlong form, above U+10FFFF, F5..FF) at every byte position, with ample room and
/// with rooms around the 8- and 16-unit thresholds. What it consumes must be a prefix of
/// whole characters, decoded exactly; on valid text with room it must leave fewer than 16
/// bytes; it must never consume past an error nor write past its room.
struct ToU32;

impl Check for ToU32 {
    fn check<K: Kernel>(&self) {
        let implemented = matches!(K::BACKEND, Backend::Avx2 | Backend::Avx512);
        let mut arena = Arena::new(4);
        let sample: [u32; 24] = [
            0x41, 0x1F600, 0x20, 0xE9, 0x4E2D, 0x10FFFF, 0x00, 0x7F, 0x80, 0x7FF, 0x800, 0x1F64F,
            0xFFFF, 0xD800, 0xDFFF, 0x10000, 0x61, 0x62, 0x100, 0x1F601, 0x3000, 0x1F602, 0x63, 0xFFFD,
        ];
        let mut text = Vec::new();
        for k in 0..200 {
            let c = sample[(k * 7 + k / 24) % sample.len()];
            text.extend(match char::from_u32(c) {
                Some(ch) => ch.to_string().into_bytes(),
                // Surrogates, as `surrogatepass` writes them.
                None => vec![0xE0 | (c >> 12) as u8, 0x80 | (c >> 6 & 0x3F) as u8, 0x80 | (c & 0x3F) as u8],
            });
        }
        // Mostly ASCII: runs of 31 to 45 letters between emoji (the all-ASCII windows).
        let mut ascii = Vec::new();
        for k in 0..8 {
            ascii.extend((0..31 + 2 * k).map(|j| b'a' + (j % 26) as u8));
            ascii.extend("\u{1F600}".as_bytes());
        }
        let disruptions: [&[u8]; 14] = [
            b"\x80",
            b"\xbf",
            b"\xc0\x80",
            b"\xc1\xbf",
            b"\xc3",
            b"\xe0\x9f\xbf",
            b"\xe4\xb8",
            b"\xed\xa0",
            b"\xf0\x8f\xbf\xbf",
            b"\xf0\x9f\x98",
            b"\xf4\x90\x80\x80",
            b"\xf5\x80\x80\x80",
            b"\xf8\x88\x80\x80\x80",
            b"\xff",
        ];
        for base in [&text, &ascii] {
            Self::check_base::<K>(&mut arena, base, &disruptions, implemented);
        }
    }
}

impl ToU32 {
    fn check_base<K: Kernel>(arena: &mut Arena, text: &[u8], disruptions: &[&[u8]], implemented: bool) {
        let mut checked = 0usize;
        let mut nonzero = 0usize;
        for len in 0..=160usize {
            let mut cases: Vec<Vec<u8>> = vec![text[..len].to_vec()];
            for pos in 0..len {
                for &d in disruptions {
                    let mut s = text[..pos].to_vec();
                    s.extend_from_slice(d);
                    s.extend_from_slice(&text[pos..]);
                    s.truncate(len);
                    cases.push(s);
                }
            }
            for s in &cases {
                let (chars, valid_to) = utf8_ref_all(s);
                let ample = chars.len() + 32;
                for gap in 0..32 {
                    let src = arena.place_end(s, gap, 0x80);
                    let caps = if gap == 0 { vec![0, 7, 8, 15, 16, 17, 24, 31, 32, 33, chars.len(), ample] } else { vec![ample] };
                    for cap in caps {
                        let mut dst = vec![0xDEAD_BEEFu32; cap + 16];
                        // SAFETY: `dst` holds `cap` units (and more); the backend is
                        // available (run by `for_each_backend`).
                        let (used, wrote) = unsafe { K::utf8_to_u32(src, dst.as_mut_ptr(), cap) };
                        let ctx = || format!("{s:x?} gap {gap} cap {cap} -> ({used}, {wrote})");
                        assert!(used <= valid_to && wrote <= chars.len(), "{}", ctx());
                        let end = chars.get(wrote).map_or(valid_to, |&(_, at)| at);
                        assert_eq!(used, end, "not a prefix of whole characters: {}", ctx());
                        let want: Vec<u32> = chars[..wrote].iter().map(|&(c, _)| c).collect();
                        assert_eq!(&dst[..wrote], &want[..], "{}", ctx());
                        assert!(dst[cap..].iter().all(|&u| u == 0xDEAD_BEEF), "wrote past cap: {}", ctx());
                        if !implemented {
                            assert_eq!((used, wrote), (0, 0), "{}", ctx());
                        } else if valid_to == s.len() && cap == ample {
                            assert!(s.len() - used < 16, "stopped early on valid text: {}", ctx());
                        }
                        checked += 1;
                        nonzero += (wrote != 0) as usize;
                    }
                }
            }
        }
        assert!(checked > 100_000);
        assert_eq!(nonzero != 0, implemented, "the kernel never decoded anything");
    }
}

#[test]
fn utf8_to_u32_decodes_mixed_text() {
    for_each_backend(&ToU32);
}

/// `utf8_char_count` against the definition (bytes outside 80..BF): every length up to
/// 600 bytes (past the 32-byte blocks) at 32 alignments, over bytes of every value, and
/// long runs of continuations and of leads (past the 255 blocks a byte counter holds).
struct CharCount;

impl Check for CharCount {
    fn check<K: Kernel>(&self) {
        let mut arena = Arena::new(4);
        let bytes: Vec<u8> = (0..700u32).map(|k| (k * 151 + k / 256) as u8).collect();
        let want = |s: &[u8]| s.iter().filter(|&&b| !(0x80..0xC0).contains(&b)).count();
        for len in 0..=600 {
            for gap in 0..32 {
                let s = &bytes[gap..gap + len];
                let src = arena.place_end(s, gap, 0x41);
                assert_eq!(K::utf8_char_count(src), want(s), "len {len} gap {gap}");
            }
        }
        for (len, byte) in [(10_000, 0x80), (10_000, 0xBF), (10_001, 0xC0), (8160, 0x7F), (8191, 0xF0), (8193, 0x00)] {
            let s = vec![byte; len];
            assert_eq!(K::utf8_char_count(&s), want(&s), "{len} x {byte:x}");
        }
    }
}

#[test]
fn utf8_char_count_counts_characters() {
    for_each_backend(&CharCount);
}
