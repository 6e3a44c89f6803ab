//! Number text to Python `int` and `float`, as `json` converts it: `int(text)` and
//! `float(text)` of the exact span its scanner matched.
//!
//! The scanner accumulates the digits as it goes, eight at a time where it can; a float is
//! then made from (digits, decimal exponent) with Clinger's exact fast path, else the
//! Eisel-Lemire algorithm, else (for the rare inputs those cannot decide, or more than 19
//! significant digits) Rust's own parser over the text; all three are correctly rounded,
//! as `float()` is.

use pyo3_ffi::*;

use super::pow5::{LARGEST_POWER, POWERS_OF_FIVE, SMALLEST_POWER};

/// The value of an integer's text from its digit count and its digits as `digit_run`
/// accumulated them (exact up to 19 digits), when it fits an `i64`; longer or larger
/// integers go through `PyLong_FromString`.
#[inline(always)]
pub fn i64_value(int_digits: usize, digits: u64, negative: bool) -> Option<i64> {
    // Magnitudes up to 2^63 when negative: -2^63 is the one beyond `i64::MAX` that still
    // fits. No branch on the sign (ints of mixed signs would mispredict it): `&`, not `&&`,
    // and the sign applied as `(x ^ m) - m` with `m` all ones for a negative number.
    let fits = (int_digits <= 19) & (digits <= i64::MAX as u64 + negative as u64);
    let mask = -(negative as i64);
    fits.then_some(((digits as i64) ^ mask).wrapping_sub(mask))
}

/// Floats with at most this many digits (leading zeros included) have exact digits in a
/// `u64`.
pub const FAST_FLOAT_DIGITS: usize = 19;

/// `10^n` for `n <= 8`.
const SMALL_POWERS: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// Powers of ten that are exact in an `f64`.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The run of ASCII digits at `src[i..]`: the index after it, and `acc * 10^n + digits`
/// (wrapping; exact while the caller's digit count stays small).
#[inline(always)]
pub fn digit_run_u8(src: &[u8], mut i: usize, mut acc: u64) -> (usize, u64) {
    while let Some(chunk) = src.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap());
        // Each byte's digit value, and a flag in the high nibble of every byte that is
        // not a digit. A carry from `+ 6` only leaves a byte that is already flagged, so
        // it can only disturb bytes after the first non-digit.
        let values = word ^ 0x3030_3030_3030_3030;
        let not_digit = (values | values.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0;
        if not_digit == 0 {
            acc = acc.wrapping_mul(100_000_000).wrapping_add(eight_digits(values));
            i += 8;
            continue;
        }
        let n = (not_digit.trailing_zeros() / 8) as usize;
        if n > 0 {
            // Shifting the n digits to the top leaves leading zeros below them.
            let value = eight_digits(values << (64 - 8 * n));
            acc = acc.wrapping_mul(SMALL_POWERS[n]).wrapping_add(value);
        }
        return (i + n, acc);
    }
    while let Some(&b) = src.get(i) {
        let d = b.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        acc = acc.wrapping_mul(10).wrapping_add(d as u64);
        i += 1;
    }
    (i, acc)
}

/// The value of eight digit values, one a byte, the first in the lowest byte.
#[inline(always)]
fn eight_digits(values: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    // Pairs of digits, then pairs of pairs, by multiplication.
    let pairs = values.wrapping_mul(10).wrapping_add(values >> 8);
    ((pairs & MASK).wrapping_mul(MUL1).wrapping_add(((pairs >> 16) & MASK).wrapping_mul(MUL2))) >> 32
}

/// The float `digits * 10^exponent` (negated when `negative`), or `None` when neither
/// fast method can round it (then the text decides).
#[inline(always)]
pub fn float_from_parts(digits: u64, exponent: i64, negative: bool) -> Option<f64> {
    let value = if digits == 0 {
        0.0
    } else if digits <= 1 << 53 && (-22..=22).contains(&exponent) {
        // Clinger: both operands exact, so one IEEE operation rounds correctly.
        let m = digits as f64;
        if exponent >= 0 {
            m * EXACT_POWERS[exponent as usize]
        } else {
            m / EXACT_POWERS[(-exponent) as usize]
        }
    } else {
        eisel_lemire(exponent, digits)?
    };
    // `value` is +0, positive or +inf: setting the sign bit negates it, with no branch on
    // the sign (floats of mixed signs would mispredict it).
    Some(f64::from_bits(value.to_bits() | (negative as u64) << 63))
}

/// The correctly rounded value of a JSON number's text (ASCII), as `float()` gives it.
#[cold]
pub fn parse_float_text(text: &[u8]) -> f64 {
    // SAFETY: number spans are ASCII.
    let text = unsafe { std::str::from_utf8_unchecked(text) };
    // Rust's parser is correctly rounded for any input, however long.
    text.parse::<f64>().unwrap_or(f64::NAN)
}

/// Eisel and Lemire's algorithm ("Number Parsing at a Gigabyte per Second"), as in Rust's
/// `core::num::dec2flt::lemire`: `w * 10^q` for a nonzero `w`, or `None` when a 128-bit
/// product cannot decide the rounding.
#[inline(always)]
fn eisel_lemire(q: i64, w: u64) -> Option<f64> {
    const SIG_BITS: i32 = 52;
    const MINIMUM_EXPONENT: i32 = -1023;
    const INFINITE_POWER: i32 = 0x7FF;
    if q < SMALLEST_POWER {
        return Some(0.0);
    }
    if q > LARGEST_POWER {
        return Some(f64::INFINITY);
    }
    let lz = w.leading_zeros() as i32;
    let w = w << lz;
    let (lo, hi) = product_approx(q, w, SIG_BITS as u32 + 3);
    if lo == u64::MAX && !(-27..=55).contains(&q) {
        return None;
    }
    let upper_bit = (hi >> 63) as i32;
    let mut mantissa = hi >> (upper_bit + 64 - SIG_BITS - 3);
    let mut power2 = power(q as i32) + upper_bit - lz - MINIMUM_EXPONENT;
    if power2 <= 0 {
        if -power2 + 1 >= 64 {
            return Some(0.0);
        }
        // Subnormal.
        mantissa >>= -power2 + 1;
        mantissa += mantissa & 1;
        mantissa >>= 1;
        let biased = (mantissa >= (1u64 << SIG_BITS)) as u64;
        return Some(f64::from_bits(mantissa | biased << SIG_BITS));
    }
    // Exactly halfway between two floats with an even lower one: round down.
    if lo <= 1
        && (-4..=23).contains(&q)
        && mantissa & 3 == 1
        && (mantissa << (upper_bit + 64 - SIG_BITS - 3)) == hi
    {
        mantissa &= !1;
    }
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if mantissa >= (2u64 << SIG_BITS) {
        mantissa = 1u64 << SIG_BITS;
        power2 += 1;
    }
    mantissa &= !(1u64 << SIG_BITS);
    if power2 >= INFINITE_POWER {
        return Some(f64::INFINITY);
    }
    Some(f64::from_bits(mantissa | (power2 as u64) << SIG_BITS))
}

/// floor(log2(10^q)) + 63, for q in the table's range.
#[inline(always)]
fn power(q: i32) -> i32 {
    (q.wrapping_mul(152_170 + 65536) >> 16) + 63
}

/// The high 128 bits of `w * 5^q` (from the table), precise to `precision` bits.
#[inline(always)]
fn product_approx(q: i64, w: u64, precision: u32) -> (u64, u64) {
    let mask = u64::MAX >> precision;
    let (lo5, hi5) = POWERS_OF_FIVE[(q - SMALLEST_POWER) as usize];
    let first = (w as u128) * (hi5 as u128);
    let (mut first_lo, mut first_hi) = (first as u64, (first >> 64) as u64);
    if first_hi & mask == mask {
        let second_hi = (((w as u128) * (lo5 as u128)) >> 64) as u64;
        first_lo = first_lo.wrapping_add(second_hi);
        if second_hi > first_lo {
            first_hi += 1;
        }
    }
    (first_lo, first_hi)
}

/// `int(text)` for text longer than the fast path: through `PyLong_FromString`, which
/// raises `ValueError` past the interpreter's digit limit exactly as `json` does.
///
/// # Safety
/// GIL held; `text` is ASCII.
#[cold]
pub unsafe fn long_int(text: &[u8]) -> *mut PyObject {
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text);
    buf.push(0);
    // SAFETY: a NUL-terminated buffer that outlives the call.
    unsafe { PyLong_FromString(buf.as_ptr().cast(), std::ptr::null_mut(), 10) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The (digits, exponent) a JSON number's text gives the fast paths.
    fn parts(text: &str) -> Option<(u64, i64, bool)> {
        let negative = text.starts_with('-');
        let body = text.trim_start_matches('-');
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(e) => (&body[..e], body[e + 1..].parse::<i64>().ok()?),
            None => (body, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = format!("{int}{frac}");
        if digits.len() > FAST_FLOAT_DIGITS {
            return None;
        }
        Some((digits.parse().ok()?, exponent - frac.len() as i64, negative))
    }

    #[test]
    fn fast_paths_agree_with_std() {
        for text in [
            "0.1", "-0.0", "1e22", "1e23", "123456789012345678e-5", "9007199254740993",
            "9007199254740993.0", "1.7976931348623157e308", "1e400", "-1e400", "1e-400",
            "4.9e-324", "2.4703282292062327e-324", "2.2250738585072011e-308", "0.30000000000000004",
            "-65.613616999999977", "1E+5", "10e-1", "0.000001", "5e-324", "1.5e300", "123.456e-7",
        ] {
            let std: f64 = text.parse().unwrap();
            let (digits, exponent, negative) = parts(text).unwrap();
            let ours = float_from_parts(digits, exponent, negative).unwrap_or_else(|| parse_float_text(text.as_bytes()));
            assert_eq!(ours.to_bits(), std.to_bits(), "{text}");
        }
    }

    #[test]
    fn digit_runs() {
        for text in ["0", "7", "12345678", "123456789", "1234567890123456789", "12a", "9999999999999999x"] {
            let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
            let (end, value) = digit_run_u8(text.as_bytes(), 0, 0);
            assert_eq!(end, digits.len(), "{text}");
            assert_eq!(value, digits.parse::<u64>().unwrap(), "{text}");
        }
    }
}
