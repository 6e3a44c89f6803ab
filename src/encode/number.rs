//! Numbers as `int.__repr__` and `float.__repr__` write them.

use super::buffer::Buffer;

/// Longest `float.__repr__`: `-2.2250738585072014e-308` is 24 bytes.
const FLOAT_MAX_LEN: usize = 32;

/// Longest `i64`: `-9223372036854775808` is 20 bytes.
const INT_MAX_LEN: usize = 20;

/// "00" to "99", the two-digit pairs integers are written with.
static PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
};

/// Write `value` in decimal straight into the buffer.
///
/// Written here rather than through `itoa` because `itoa` formats into a buffer of its
/// own: copying that out costs a store-to-load forwarding stall per number, which was the
/// largest single cost of writing number-heavy documents.
#[inline(always)]
pub fn write_i64(buf: &mut Buffer, value: i64) {
    // SAFETY: `write_decimal` writes exactly the count it returns, at most INT_MAX_LEN.
    // (Without the hint the closure was compiled out of line, and the call per number cost
    // ints 7% more instructions.)
    unsafe {
        buf.write_with(INT_MAX_LEN, #[inline(always)] |dst| {
            if value < 0 {
                dst.write(b'-');
                1 + write_decimal(dst.add(1), value.unsigned_abs())
            } else {
                write_decimal(dst, value as u64)
            }
        })
    }
}

/// Number of decimal digits of `value`, from its bit length (no loop).
#[inline(always)]
fn decimal_len(value: u64) -> usize {
    static POWERS: [u64; 20] = {
        let mut table = [0u64; 20];
        let mut i = 1;
        table[0] = 1;
        while i < 20 {
            table[i] = table[i - 1] * 10;
            i += 1;
        }
        table
    };
    // log10(2) ~ 1233 / 4096: a guess that is exact or one short. (`| 1` makes 0 one
    // digit long and changes no other count: every 10^k - 1 is odd.)
    let value = value | 1;
    let bits = 64 - value.leading_zeros() as usize;
    let guess = (bits * 1233) >> 12;
    guess + (value >= POWERS[guess]) as usize
}

/// Write the decimal digits of `value` at `dst`, returning their count.
///
/// With no loop and, below 10^8, no branch: the digits of numbers of mixed lengths (as in
/// most documents) would otherwise cost a mispredicted loop exit each. Eight digits are
/// made at once in the lanes of one word ([`eight_digits`]); the leading zeros are shifted
/// out and the word stored whole.
///
/// # Safety
/// `dst` is valid for `max(decimal_len(value), 8)` writes (at most 20); the bytes past the
/// returned count are unspecified.
#[inline(always)]
unsafe fn write_decimal(dst: *mut u8, value: u64) -> usize {
    const E8: u64 = 100_000_000;
    let len = decimal_len(value);
    // SAFETY: each store writes 8 bytes inside `dst[..max(len, 8)]`: a leading part of
    // `lead` digits is stored at `dst`, then full chunks of eight at `lead`, `lead + 8`,
    // which end at `len`; later stores overwrite what an earlier one wrote past its digits.
    unsafe {
        if value < E8 {
            store_leading(dst, value as u32, len);
        } else if value < E8 * E8 {
            let lead = len - 8;
            store_leading(dst, (value / E8) as u32, lead);
            store_eight(dst.add(lead), (value % E8) as u32);
        } else {
            let lead = len - 16;
            store_leading(dst, (value / (E8 * E8)) as u32, lead);
            let rest = value % (E8 * E8);
            store_eight(dst.add(lead), (rest / E8) as u32);
            store_eight(dst.add(lead + 8), (rest % E8) as u32);
        }
    }
    len
}

/// The eight decimal digits of `value < 10^8` as ASCII, the leading one in the lowest
/// byte (little-endian order, as they are stored). Lanes of one word are split in turn:
/// into two four-digit halves, each into two pairs, each pair into two digits; the
/// multiply-shift quotients are exact in these ranges, and no lane overflows into the next.
#[inline(always)]
fn eight_digits(value: u32) -> u64 {
    let halves = (value / 10_000) as u64 | ((value % 10_000) as u64) << 32;
    // v / 100 = (v * 5243) >> 19 for v < 43,699; each product fits its 32-bit lane.
    let hundreds = ((halves * 5243) >> 19) & 0x0000_007F_0000_007F;
    let pairs = hundreds | (halves - hundreds * 100) << 16;
    // v / 10 = (v * 103) >> 10 for v < 179; each product fits its 16-bit lane.
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F;
    let digits = tens | (pairs - tens * 10) << 8;
    digits | 0x3030_3030_3030_3030
}

/// Store the `len` (1 to 8) digits of `value` at `dst`, as an 8-byte word.
///
/// # Safety
/// `dst` is valid for 8 writes; `value` has `len` digits, `1 <= len <= 8`.
#[inline(always)]
unsafe fn store_leading(dst: *mut u8, value: u32, len: usize) {
    let word = eight_digits(value) >> (8 * (8 - len));
    // SAFETY: 8 bytes writable at `dst`.
    unsafe { dst.cast::<u64>().write_unaligned(word.to_le()) }
}

/// Store the eight digits of `value < 10^8`, leading zeros included.
///
/// # Safety
/// `dst` is valid for 8 writes.
#[inline(always)]
unsafe fn store_eight(dst: *mut u8, value: u32) {
    // SAFETY: 8 bytes writable at `dst`.
    unsafe { dst.cast::<u64>().write_unaligned(eight_digits(value).to_le()) }
}

/// Writes finite floats exactly as `float.__repr__` does.
///
/// A value with at most four decimals (prices, percentages, most numbers a person typed)
/// is laid out directly (`short_decimal`); any other goes through `zmij`. The check costs
/// a multiply and a divide, which documents of long digits (coordinates, measurements)
/// would pay on every float for nothing (numbers: 3.5% slower), so after a run of misses
/// it is tried only on every 64th float until it hits again.
#[derive(Default)]
pub struct FloatWriter {
    misses: u32,
}

impl FloatWriter {
    const MISSES_BEFORE_BACKING_OFF: u32 = 8;
    const RETRY_EVERY: u32 = 64;

    #[inline(always)]
    pub fn write(&mut self, buf: &mut Buffer, value: f64) {
        let misses = self.misses;
        if misses < Self::MISSES_BEFORE_BACKING_OFF || misses % Self::RETRY_EVERY == 0 {
            if let Some(scaled) = short_decimal(value) {
                self.misses = 0;
                write_short_decimal(buf, value.is_sign_negative(), scaled);
                return;
            }
        }
        self.misses = misses.wrapping_add(1);
        write_f64_general(buf, value);
    }
}

/// Write any finite value as `float.__repr__` does, from `zmij`'s shortest digits.
///
/// `zmij` finds the same shortest round-trip digits as Python (both pick the closest of the
/// shortest candidates) and lays them out as Python does for every value from 1e-4 up;
/// below that Python always writes an exponent of at least two digits (`1e-05`, `1e-07`)
/// where `zmij` writes `0.00001` or `1e-7`, so those few values are rewritten.
///
/// The decision is made on the value, not by reading the text back: reading `zmij`'s
/// freshly stored bytes with wider loads stalls store-to-load forwarding.
#[inline(always)]
fn write_f64_general(buf: &mut Buffer, value: f64) {
    let mut text = zmij::Buffer::new();
    let formatted = text.format_finite(value).as_bytes();
    if value.abs() >= 1e-4 || value == 0.0 {
        buf.extend_bytewise(formatted);
    } else {
        write_below_1e4(buf, formatted);
    }
}

/// Values with at most this many decimals take the short-decimal path (its layout stores
/// the fraction's digits as one four-byte word).
const SHORT_DECIMALS: usize = 4;
/// 10^SHORT_DECIMALS: what a short decimal is counted in units of the inverse of.
const SHORT_UNIT: u64 = 10u64.pow(SHORT_DECIMALS as u32);
const SHORT_SCALE: f64 = SHORT_UNIT as f64;
/// Magnitudes below 2^39 have an ulp of at most 2^-14, less than 10^-4: no two numbers
/// with four decimals round to the same double there.
const SHORT_LIMIT: f64 = (1u64 << 39) as f64;

/// `|value| * 10^4` as an integer, when `value` is the double nearest to that many
/// ten-thousandths and `10^-4 <= |value| < 2^39`: prices, percentages and most numbers a
/// person typed.
///
/// Such a number is then `value`'s repr, with its trailing zeros dropped. It rounds to
/// `value`; any other string that does (a shorter one, or one as short and closer) would
/// be a second number within an ulp of it whose last digit is at 10^-4 or above (leading
/// digits cannot change within 10^-4 of it), so a second multiple of 10^-4 rounding to
/// `value`, which `SHORT_LIMIT` rules out. And from 1e-4 up to 1e16, Python writes the
/// digits without an exponent. Checking costs a multiply and a divide; `zmij`'s general
/// search costs about 300 instructions, and its layout a `memmove`.
#[inline(always)]
fn short_decimal(value: f64) -> Option<u64> {
    let magnitude = value.abs();
    // Written so that NaN is refused too (callers pass finite values, but the unchecked
    // conversion below must never see one).
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(magnitude < SHORT_LIMIT) {
        return None;
    }
    // Rounded to nearest (if the product was inexact the check below fails). Through
    // `i64`, whose conversions are single instructions: the value is below 2^53.
    // SAFETY: `magnitude < 2^39`, so the sum is finite, non-negative and below 2^53.
    let scaled: i64 = unsafe { (magnitude * SHORT_SCALE + 0.5).to_int_unchecked() };
    // IEEE division is correctly rounded: this is the double nearest `scaled / 10^4`.
    (scaled != 0 && scaled as f64 / SHORT_SCALE == magnitude).then_some(scaled as u64)
}

/// Write `[-]int.frac` for `scaled` ten-thousandths, as `float.__repr__` does: the
/// fraction without trailing zeros, but at least one digit.
#[inline(always)]
fn write_short_decimal(buf: &mut Buffer, negative: bool, scaled: u64) {
    let (integer, fraction) = (scaled / SHORT_UNIT, (scaled % SHORT_UNIT) as u32);
    // The four fraction digits, the first in the low byte; as digit values (not ASCII)
    // the trailing zeros are the word's high zero bytes.
    let digits = (eight_digits(fraction) >> 32) as u32;
    let trailing_zeros = ((digits ^ 0x3030_3030).leading_zeros() / 8) as usize;
    let fraction_len = (SHORT_DECIMALS - trailing_zeros).max(1);
    // SAFETY: at most 1 + 12 + 1 + 4 bytes (an integer part below 2^39 has at most 12
    // digits; `write_decimal` may store 8 at its start), all within FLOAT_MAX_LEN; the
    // count returned covers exactly the bytes written in order.
    unsafe {
        buf.write_with(FLOAT_MAX_LEN, #[inline(always)] |dst| {
            let mut at = usize::from(negative);
            dst.write(b'-');
            at += write_decimal(dst.add(at), integer);
            dst.add(at).write(b'.');
            dst.add(at + 1).cast::<u32>().write_unaligned(digits.to_le());
            at + 1 + fraction_len
        })
    }
}

/// Rewrite `zmij`'s text of a value below 1e-4 in Python's layout.
#[cold]
fn write_below_1e4(buf: &mut Buffer, formatted: &[u8]) {
    let (sign, body) = match formatted.split_first() {
        Some((b'-', body)) => (&b"-"[..], body),
        _ => (&b""[..], formatted),
    };
    if body.starts_with(b"0.") {
        write_small_as_exponent(buf, sign, body);
    } else if let Some(at) = find_short_negative_exponent(body) {
        buf.extend(sign);
        buf.extend(&body[..at]);
        buf.push(b'0');
        buf.extend(&body[at..]);
    } else {
        buf.extend(formatted);
    }
}

/// Position of the single exponent digit in `…e-D`, where Python writes `…e-0D`.
#[inline(always)]
fn find_short_negative_exponent(body: &[u8]) -> Option<usize> {
    let n = body.len();
    (n >= 3 && body[n - 3] == b'e' && body[n - 2] == b'-').then_some(n - 1)
}

/// Rewrite `0.0000ddd` (value below 1e-4) as `d.dde-XX`.
fn write_small_as_exponent(buf: &mut Buffer, sign: &[u8], body: &[u8]) {
    let fraction = &body[2..];
    let zeros = fraction.iter().take_while(|&&b| b == b'0').count();
    let digits = &fraction[zeros..];
    let exponent = zeros + 1;
    let mut out = [0u8; FLOAT_MAX_LEN];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        out[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    put(sign);
    put(&digits[..1]);
    if digits.len() > 1 {
        put(b".");
        put(&digits[1..]);
    }
    put(b"e-");
    // The exponent is 5..=324: two or three digits.
    if exponent >= 100 {
        put(&[b'0' + (exponent / 100) as u8]);
    }
    put(&PAIRS[(exponent % 100) * 2..][..2]);
    buf.extend(&out[..len]);
}

#[cfg(test)]
mod tests {
    use super::super::buffer::Output;
    use super::*;

    /// `value`'s text by the short-decimal path where it applies, and by `zmij`'s.
    fn both_reprs(value: f64) -> (String, String) {
        let text = |write: fn(&mut Buffer, f64)| {
            let mut buf = Buffer::new(Output::Bytes);
            write(&mut buf, value);
            String::from_utf8(buf.as_slice().to_vec()).unwrap()
        };
        (text(|buf, value| FloatWriter::default().write(buf, value)), text(write_f64_general))
    }

    #[test]
    fn short_decimals_match_the_general_path() {
        let mut values = vec![
            1e-4, 1.5e-4, 0.0001, 0.00015, 0.001, 0.01, 0.1, 0.3, 0.5, 1.0, 9.9999, 10.0,
            97.5, 99999.9999, 1e11, 5e11, SHORT_LIMIT, 123456789012.3456,
        ];
        // every ten-thousandth up to 20, and numbers of 0 to 4 decimals at every magnitude
        // up to past the limit, as the nearest doubles to their decimal text
        values.extend((1..=200_000u32).map(|k| f64::from(k) / 1e4));
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..300_000 {
            let digits = next() % 16 + 1;
            let int = next() % 10u64.pow(digits as u32);
            let decimals = (next() % 5) as usize;
            let frac = next() % 10_000;
            let text = format!("{int}.{:04}", frac);
            values.push(text[..text.len() - 4 + decimals].parse().unwrap());
        }
        // raw bit patterns (nearly all take the general path in both) and the doubles on
        // either side of short decimals (which must not)
        for _ in 0..300_000 {
            let bits = next();
            let value = f64::from_bits(bits);
            if value.is_finite() {
                values.push(value);
            }
        }
        let neighbours: Vec<f64> = values
            .iter()
            .flat_map(|v| [f64::from_bits(v.to_bits() + 1), f64::from_bits(v.to_bits() - 1)])
            .collect();
        values.extend(neighbours);
        let mut short = 0;
        for value in values.into_iter().flat_map(|v| [v, -v]) {
            if !value.is_finite() || value == 0.0 {
                continue;
            }
            short += usize::from(short_decimal(value).is_some());
            let (fast, general) = both_reprs(value);
            assert_eq!(fast, general, "{value:e}");
        }
        assert!(short > 600_000, "the short path took only {short} values");
    }

    fn decimal(value: u64) -> String {
        let mut out = [0u8; INT_MAX_LEN];
        // SAFETY: 20 bytes hold any u64's digits.
        let n = unsafe { write_decimal(out.as_mut_ptr(), value) };
        String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn decimal_matches_to_string_at_every_length_and_edge() {
        let mut values = vec![0, 9, 10, 99, 100, u64::MAX, i64::MAX as u64, 1 << 63];
        for k in 0..20u32 {
            let p = 10u64.pow(k);
            values.extend([p - 1, p, p + 1, p.wrapping_mul(9) + 12345 % p.max(1)]);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        for v in values {
            assert_eq!(decimal(v), v.to_string(), "{v}");
        }
    }
}
