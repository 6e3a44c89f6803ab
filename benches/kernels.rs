//! Criterion benchmarks of the escape and scan kernels, for every backend this CPU runs,
//! with `memcpy` of the same bytes beside them.
//!
//! Throughput is in bytes of *input* (a UCS-2 unit is two bytes), so a kernel and the
//! memcpy of its input are directly comparable. Groups are named `kernel/case`, with the
//! backend (or `memcpy`) as the function and the input size as the parameter:
//!
//! * `ascii`: clean printable ASCII (the common case for keys and most values);
//! * `esc64`: one escape (`"`, `\n`, `\\`, `\t`) at a random place in every 64 bytes;
//! * `esc10`: 10% of the units escapes, at random places;
//! * `latin`: Latin-1 text with 5% accented letters (Latin-1 kernels);
//! * `cjk`: CJK text (UTF-8 bytes for byte kernels, UCS-2 units for the UCS-2 ones);
//! * `emoji`: emoji (UTF-8 bytes, or UCS-4 units);
//! * `short16`: a batch of 1000 16-byte strings, each its own kernel call;
//! * `keys`: a batch of 1000 keys of 3 to 30 bytes, each its own kernel call;
//! * `short1-16`: a batch of 1000 strings of 1 to 16 bytes, mixed lengths.
//!
//! `clean_ascii_tail` is the serializer's path for short ASCII strings as it writes them:
//! `Kernel::copy_clean_ascii_tail` on each string (stored after a 16-byte header, as in a
//! CPython `str`), and `escape_u8` for those it declines (longer ones, or with escapes).
//!
//! For the batch cases a second row per backend, `<backend>+inl`, runs the same loop
//! compiled with the backend's target features, so the kernel's entry can inline into it
//! (as in a serializer instantiated per backend); the plain rows pay a call per string.
//!
//! Run briefly with
//! `cargo bench -p rjson-simd --bench kernels -- --warm-up-time 0.5 --measurement-time 1`,
//! and filter with a regex on `kernel/case/backend/size` as usual.

use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use rjson_simd::{ascii_escaped_bound_u32, dispatch, Backend, Kernel, WithKernel, SLACK};
use std::hint::black_box;

// ---------------------------------------------------------------------------------------
// Inputs.

/// A small deterministic generator (xorshift64*), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ESCAPES: [u8; 4] = [b'"', b'\n', b'\\', b'\t'];

fn ascii_text(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: &[u8] = b"the quick brown fox jumps over the lazy dog 0123456789 Lorem ipsum ";
    (0..len).map(|_| WORDS[rng.below(WORDS.len())]).collect()
}

/// ASCII with one escape per 64 bytes, at a random place in each 64.
fn esc64(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut text = ascii_text(rng, len);
    for start in (0..len).step_by(64) {
        let at = start + rng.below(64.min(len - start));
        text[at] = ESCAPES[rng.below(4)];
    }
    text
}

/// ASCII with 10% escapes.
fn esc10(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut text = ascii_text(rng, len);
    for b in text.iter_mut() {
        if rng.below(10) == 0 {
            *b = ESCAPES[rng.below(4)];
        }
    }
    text
}

/// Latin-1 text, 5% accented.
fn latin(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut text = ascii_text(rng, len);
    for b in text.iter_mut() {
        if rng.below(20) == 0 {
            *b = [0xE9, 0xE8, 0xE0, 0xFC, 0xF6, 0xE7][rng.below(6)];
        }
    }
    text
}

fn cjk_chars(rng: &mut Rng, count: usize) -> Vec<char> {
    (0..count)
        .map(|_| char::from_u32(0x4E00 + rng.below(0x5000) as u32).unwrap())
        .collect()
}

fn emoji_chars(rng: &mut Rng, count: usize) -> Vec<char> {
    (0..count)
        .map(|_| char::from_u32(0x1F600 + rng.below(0x50) as u32).unwrap())
        .collect()
}

/// UTF-8 bytes of `chars`, cut to `len` bytes at a character boundary (or under).
fn utf8_of(chars: &[char], len: usize) -> Vec<u8> {
    let mut s = String::new();
    for &c in chars {
        if s.len() + c.len_utf8() > len {
            break;
        }
        s.push(c);
    }
    s.into_bytes()
}

/// Widen bytes (ASCII or Latin-1) to UCS-2 units.
fn widen16(bytes: &[u8]) -> Vec<u16> {
    bytes.iter().map(|&b| b.into()).collect()
}

/// A batch of strings, each a separate kernel call.
fn batch(rng: &mut Rng, count: usize, min: usize, max: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            let len = min + rng.below(max - min + 1);
            ascii_text(rng, len)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Running a kernel.

/// One benchmarked input: a single slice of any width, or a batch of byte strings.
enum Input {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    Batch8(Vec<Vec<u8>>),
    Batch16(Vec<Vec<u16>>),
    /// Byte strings, each after a header of `HEADER` bytes in its own allocation.
    Headed(Vec<Vec<u8>>),
}

/// The bytes before each `Input::Headed` string (a CPython `str`'s header is 40 or more).
const HEADER: usize = 16;

/// `strings`, each after a header of `HEADER` bytes.
fn headed(strings: &[Vec<u8>]) -> Input {
    Input::Headed(strings.iter().map(|s| [&[b'h'; HEADER][..], s].concat()).collect())
}

impl Input {
    fn bytes(&self) -> usize {
        match self {
            Input::U8(v) => v.len(),
            Input::U16(v) => 2 * v.len(),
            Input::U32(v) => 4 * v.len(),
            Input::Batch8(b) => b.iter().map(|s| s.len()).sum(),
            Input::Batch16(b) => b.iter().map(|s| 2 * s.len()).sum(),
            Input::Headed(b) => b.iter().map(|s| s.len() - HEADER).sum(),
        }
    }

    fn units(&self) -> usize {
        match self {
            Input::U8(v) => v.len(),
            Input::U16(v) => v.len(),
            Input::U32(v) => v.len(),
            Input::Batch8(b) => b.iter().map(|s| s.len()).sum(),
            Input::Batch16(b) => b.iter().map(|s| s.len()).sum(),
            Input::Headed(b) => b.iter().map(|s| s.len() - HEADER).sum(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kern {
    EscapeU8,
    Latin1ToUtf8,
    AsciiFromU8,
    EscapeU16,
    Ucs2ToUtf8,
    AsciiFromU16,
    Ucs4ToUtf8,
    AsciiFromU32,
    FindStringSpecial,
    MaxByte,
    CleanAsciiTail,
}

impl Kern {
    fn name(self) -> &'static str {
        match self {
            Kern::EscapeU8 => "escape_u8",
            Kern::Latin1ToUtf8 => "latin1_to_utf8",
            Kern::AsciiFromU8 => "ascii_from_u8",
            Kern::EscapeU16 => "escape_u16",
            Kern::Ucs2ToUtf8 => "ucs2_to_utf8",
            Kern::AsciiFromU16 => "ascii_from_u16",
            Kern::Ucs4ToUtf8 => "ucs4_to_utf8",
            Kern::AsciiFromU32 => "ascii_from_u32",
            Kern::FindStringSpecial => "find_string_special",
            Kern::MaxByte => "max_byte",
            Kern::CleanAsciiTail => "clean_ascii_tail",
        }
    }
}

/// Output room for everything a kernel may write for `input` (units of 4 bytes, which
/// covers every destination width).
fn out_buffer(input: &Input) -> Vec<u32> {
    vec![0; ascii_escaped_bound_u32(input.units()) + SLACK * 1000 + 64 + 1024]
}

/// The first source byte of `input`.
fn source_ptr(input: &Input) -> usize {
    match input {
        Input::U8(v) => v.as_ptr() as usize,
        Input::U16(v) => v.as_ptr() as usize,
        Input::U32(v) => v.as_ptr() as usize,
        Input::Batch8(b) => b.first().map_or(0, |s| s.as_ptr() as usize),
        Input::Batch16(b) => b.first().map_or(0, |s| s.as_ptr() as usize),
        Input::Headed(b) => b.first().map_or(0, |s| s.as_ptr() as usize + HEADER),
    }
}

/// The part of `out` to write to: it starts half a page away from the source modulo
/// 4 KiB. glibc's `memcpy` (`rep movsb`) slows down by an order of magnitude on this
/// AMD machine when destination and source are close modulo 4 KiB, which otherwise
/// makes the memcpy baseline depend on where the allocator happened to put the buffers.
fn dst_slice<'a>(input: &Input, out: &'a mut [u32]) -> &'a mut [u32] {
    let delta = (out.as_ptr() as usize).wrapping_sub(source_ptr(input)) % 4096;
    let skip_bytes = (2048 + 4096 - delta) % 4096;
    &mut out[skip_bytes / 4..]
}

/// Run `kern` of backend `K` once over `input`, returning something to keep alive.
///
/// # Safety
/// `out` comes from `out_buffer(input)`; `K` comes from `dispatch`.
#[inline(always)]
unsafe fn run_once<K: Kernel>(kern: Kern, input: &Input, out: &mut [u32]) -> usize {
    let d8 = out.as_mut_ptr().cast::<u8>();
    let d16 = out.as_mut_ptr().cast::<u16>();
    // SAFETY: `out` has room for the bound of every kernel plus slack after each call of
    // a batch; `K` is available (the caller's contract).
    unsafe {
        match (kern, input) {
            (Kern::EscapeU8, Input::U8(s)) => K::escape_u8(s, d8),
            (Kern::Latin1ToUtf8, Input::U8(s)) => K::latin1_to_utf8(s, d8),
            (Kern::AsciiFromU8, Input::U8(s)) => K::ascii_from_u8(s, d8),
            (Kern::EscapeU16, Input::U16(s)) => K::escape_u16(s, d16),
            (Kern::Ucs2ToUtf8, Input::U16(s)) => K::ucs2_to_utf8(s, d8).unwrap_or(0),
            (Kern::AsciiFromU16, Input::U16(s)) => K::ascii_from_u16(s, d8),
            (Kern::Ucs4ToUtf8, Input::U32(s)) => K::ucs4_to_utf8(s, d8).unwrap_or(0),
            (Kern::AsciiFromU32, Input::U32(s)) => K::ascii_from_u32(s, d8),
            (Kern::FindStringSpecial, Input::U8(s)) => K::find_string_special(s),
            (Kern::MaxByte, Input::U8(s)) => K::max_byte(s) as usize,
            // Batches: one call per string, written one after another as a serializer
            // would write the keys of a dict.
            (Kern::FindStringSpecial, Input::Batch8(b)) => {
                b.iter().map(|s| K::find_string_special(black_box(s))).sum()
            }
            (_, Input::Batch8(b)) => {
                let mut at = 0;
                for s in b {
                    let s = black_box(s.as_slice());
                    let d = d8.add(at);
                    at += match kern {
                        Kern::EscapeU8 => K::escape_u8(s, d),
                        Kern::Latin1ToUtf8 => K::latin1_to_utf8(s, d),
                        Kern::AsciiFromU8 => K::ascii_from_u8(s, d),
                        _ => unreachable!(),
                    };
                }
                at
            }
            (_, Input::Batch16(b)) => {
                let mut at = 0;
                for s in b {
                    let s = black_box(s.as_slice());
                    let d = d8.add(at);
                    at += match kern {
                        Kern::Ucs2ToUtf8 => K::ucs2_to_utf8(s, d).unwrap_or(0),
                        Kern::AsciiFromU16 => K::ascii_from_u16(s, d),
                        _ => unreachable!(),
                    };
                }
                at
            }
            (Kern::CleanAsciiTail, Input::Headed(b)) => {
                let mut at = 0;
                for s in b {
                    let s = black_box(s.as_slice());
                    let (text, end) = (&s[HEADER..], s.as_ptr_range().end);
                    let d = d8.add(at);
                    // SAFETY (with the above): `HEADER` readable bytes precede every text,
                    // as `copy_clean_ascii_tail` needs, and the texts are ASCII.
                    at += if text.len() <= 16 && K::copy_clean_ascii_tail(end, text.len(), false, d) {
                        text.len()
                    } else {
                        K::escape_u8(text, d)
                    };
                }
                at
            }
            _ => unreachable!("{kern:?} does not take this input"),
        }
    }
}

/// The same bytes copied with `memcpy` (per string for batches).
fn memcpy_once(input: &Input, out: &mut [u32]) -> usize {
    let d8 = out.as_mut_ptr().cast::<u8>();
    let copy = |src: &[u8], at: usize| {
        // SAFETY: `out` is larger than the input; source and destination are distinct.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), d8.add(at), src.len()) };
        src.len()
    };
    let as_bytes = |s: &[u16]| {
        // SAFETY: reinterpreting initialised `u16`s as bytes.
        unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), 2 * s.len()) }
    };
    match input {
        Input::U8(s) => copy(black_box(s), 0),
        Input::U16(s) => copy(as_bytes(black_box(s)), 0),
        Input::U32(s) => {
            // SAFETY: reinterpreting initialised `u32`s as bytes.
            let b = unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), 4 * s.len()) };
            copy(black_box(b), 0)
        }
        Input::Batch8(b) => {
            let mut at = 0;
            for s in b {
                at += copy(black_box(s), at);
            }
            at
        }
        Input::Batch16(b) => {
            let mut at = 0;
            for s in b {
                at += copy(as_bytes(black_box(s)), at);
            }
            at
        }
        Input::Headed(b) => {
            let mut at = 0;
            for s in b {
                at += copy(black_box(&s[HEADER..]), at);
            }
            at
        }
    }
}

/// The batch loops again, compiled with the backend's target features so that the
/// kernel's entry inlines into them: how a serializer instantiated per backend (as the
/// design has it) calls the kernels. Shows the per-call overhead the plain rows pay.
#[inline(always)]
unsafe fn batch_inlined<K: Kernel>(kern: Kern, input: &Input, out: &mut [u32]) -> usize {
    // SAFETY: forwarded.
    unsafe { run_once::<K>(kern, input, out) }
}

/// A batch loop compiled for one backend.
type Runner = unsafe fn(Kern, &Input, &mut [u32]) -> usize;

/// Run `batch_inlined::<K>` inside a function with `K`'s target features.
fn inlined_runner<K: Kernel>() -> Option<Runner> {
    #[cfg(target_arch = "x86_64")]
    {
        use rjson_simd::{Avx2, Avx512, Sse2};
        #[target_feature(enable = "sse2")]
        unsafe fn sse2(kern: Kern, input: &Input, out: &mut [u32]) -> usize {
            // SAFETY: forwarded.
            unsafe { batch_inlined::<Sse2>(kern, input, out) }
        }
        #[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
        unsafe fn avx2(kern: Kern, input: &Input, out: &mut [u32]) -> usize {
            // SAFETY: forwarded.
            unsafe { batch_inlined::<Avx2>(kern, input, out) }
        }
        #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,bmi1,bmi2,popcnt")]
        unsafe fn avx512(kern: Kern, input: &Input, out: &mut [u32]) -> usize {
            // SAFETY: forwarded.
            unsafe { batch_inlined::<Avx512>(kern, input, out) }
        }
        match K::BACKEND {
            Backend::Sse2 => return Some(sse2),
            Backend::Avx2 => return Some(avx2),
            Backend::Avx512 => return Some(avx512),
            _ => {}
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        #[target_feature(enable = "neon")]
        unsafe fn neon(kern: Kern, input: &Input, out: &mut [u32]) -> usize {
            // SAFETY: forwarded.
            unsafe { batch_inlined::<rjson_simd::Neon>(kern, input, out) }
        }
        if K::BACKEND == Backend::Neon {
            return Some(neon);
        }
    }
    None
}

struct BenchOne<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, criterion::measurement::WallTime>,
    kern: Kern,
    input: &'a Input,
    param: &'a str,
}

impl WithKernel for BenchOne<'_, '_> {
    type Output = ();
    fn run<K: Kernel>(self) {
        let BenchOne {
            group,
            kern,
            input,
            param,
        } = self;
        let mut buffer = out_buffer(input);
        let out = dst_slice(input, &mut buffer);
        let id = BenchmarkId::new(K::BACKEND.name(), param);
        group.bench_function(id, |b| {
            // SAFETY: `out` comes from `out_buffer(input)`; `K` from `dispatch`.
            b.iter(|| unsafe { run_once::<K>(kern, black_box(input), black_box(&mut *out)) })
        });
        let batch = matches!(input, Input::Batch8(_) | Input::Batch16(_) | Input::Headed(_));
        if let (true, Some(runner)) = (batch, inlined_runner::<K>()) {
            let id = BenchmarkId::new(format!("{}+inl", K::BACKEND.name()), param);
            group.bench_function(id, |b| {
                // SAFETY: as above; the runner has `K`'s features, which `dispatch`
                // checked this CPU has.
                b.iter(|| unsafe { runner(kern, black_box(input), black_box(&mut *out)) })
            });
        }
    }
}

/// Benchmark `kern` on `input` for every backend, and memcpy beside them.
fn bench(c: &mut Criterion, kern: Kern, case: &str, param: &str, input: &Input) {
    let mut group = c.benchmark_group(format!("{}/{case}", kern.name()));
    group.throughput(Throughput::Bytes(input.bytes() as u64));
    for backend in Backend::available() {
        dispatch(
            backend,
            BenchOne {
                group: &mut group,
                kern,
                input,
                param,
            },
        );
    }
    let mut buffer = out_buffer(input);
    let out = dst_slice(input, &mut buffer);
    group.bench_function(BenchmarkId::new("memcpy", param), |b| {
        b.iter(|| memcpy_once(black_box(input), black_box(&mut *out)))
    });
    group.finish();
}

fn size_name(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{}MiB", b >> 20),
        b if b >= 1 << 10 => format!("{}KiB", b >> 10),
        b => format!("{b}B"),
    }
}

const ALL_SIZES: [usize; 7] = [16, 64, 256, 1 << 10, 4 << 10, 64 << 10, 1 << 20];
const SOME_SIZES: [usize; 3] = [256, 64 << 10, 1 << 20];
const TARGET: usize = 64 << 10;

fn kernels(c: &mut Criterion) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let short16 = batch(&mut rng, 1000, 16, 16);
    let keys = batch(&mut rng, 1000, 3, 30);
    let mixed16 = batch(&mut rng, 1000, 1, 16);
    let widen_batch = |b: &[Vec<u8>]| b.iter().map(|s| widen16(s)).collect::<Vec<_>>();

    // Byte kernels.
    for kern in [
        Kern::EscapeU8,
        Kern::Latin1ToUtf8,
        Kern::AsciiFromU8,
        Kern::FindStringSpecial,
    ] {
        let sizes: &[usize] = match kern {
            Kern::EscapeU8 | Kern::FindStringSpecial => &ALL_SIZES,
            _ => &SOME_SIZES,
        };
        for &size in sizes {
            let input = Input::U8(ascii_text(&mut rng, size));
            bench(c, kern, "ascii", &size_name(size), &input);
        }
        let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
        if kern != Kern::FindStringSpecial {
            // A scan stops at the first escape: these cases say nothing about it.
            cases.push(("esc64", esc64(&mut rng, TARGET)));
            cases.push(("esc10", esc10(&mut rng, TARGET)));
        }
        match kern {
            Kern::Latin1ToUtf8 | Kern::AsciiFromU8 => {
                cases.push(("latin", latin(&mut rng, TARGET)))
            }
            _ => {
                cases.push(("cjk", utf8_of(&cjk_chars(&mut rng, TARGET), TARGET)));
                cases.push(("emoji", utf8_of(&emoji_chars(&mut rng, TARGET), TARGET)));
            }
        }
        for (case, data) in cases {
            bench(c, kern, case, &size_name(TARGET), &Input::U8(data));
        }
        if kern != Kern::AsciiFromU8 {
            bench(
                c,
                kern,
                "short16",
                "1000x16B",
                &Input::Batch8(short16.clone()),
            );
            bench(c, kern, "keys", "1000x3-30B", &Input::Batch8(keys.clone()));
            bench(c, kern, "short1-16", "1000x1-16B", &Input::Batch8(mixed16.clone()));
        }
    }
    for (case, param, strings) in [
        ("short16", "1000x16B", &short16),
        ("keys", "1000x3-30B", &keys),
        ("short1-16", "1000x1-16B", &mixed16),
    ] {
        bench(c, Kern::CleanAsciiTail, case, param, &headed(strings));
    }

    // UCS-2 kernels.
    for kern in [Kern::Ucs2ToUtf8, Kern::AsciiFromU16, Kern::EscapeU16] {
        let sizes: &[usize] = if kern == Kern::EscapeU16 {
            &[TARGET]
        } else {
            &SOME_SIZES
        };
        for &size in sizes {
            let input = Input::U16(widen16(&ascii_text(&mut rng, size / 2)));
            bench(c, kern, "ascii", &size_name(size), &input);
        }
        if kern == Kern::EscapeU16 {
            continue;
        }
        let units = TARGET / 2;
        let cases = [
            ("esc64", widen16(&esc64(&mut rng, units))),
            ("esc10", widen16(&esc10(&mut rng, units))),
            (
                "cjk",
                cjk_chars(&mut rng, units)
                    .iter()
                    .map(|&c| c as u16)
                    .collect(),
            ),
        ];
        for (case, data) in cases {
            bench(c, kern, case, &size_name(TARGET), &Input::U16(data));
        }
        bench(
            c,
            kern,
            "short16",
            "1000x16B",
            &Input::Batch16(widen_batch(&short16)),
        );
        bench(
            c,
            kern,
            "keys",
            "1000x3-30B",
            &Input::Batch16(widen_batch(&keys)),
        );
    }

    // UCS-4 kernels: emoji (astral text is stored as UCS-4).
    for kern in [Kern::Ucs4ToUtf8, Kern::AsciiFromU32] {
        let units = TARGET / 4;
        let emoji: Vec<u32> = emoji_chars(&mut rng, units)
            .iter()
            .map(|&c| c as u32)
            .collect();
        bench(c, kern, "emoji", &size_name(TARGET), &Input::U32(emoji));
        let ascii: Vec<u32> = ascii_text(&mut rng, units)
            .iter()
            .map(|&b| b.into())
            .collect();
        bench(c, kern, "ascii", &size_name(TARGET), &Input::U32(ascii));
    }

    // The parser's width probe.
    for &size in &SOME_SIZES {
        let input = Input::U8(utf8_of(&cjk_chars(&mut rng, size), size));
        bench(c, Kern::MaxByte, "cjk", &size_name(size), &input);
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
