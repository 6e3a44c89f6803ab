//! Numbers as `int.__repr__` and `float.__repr__` write them.

use super::writer::Buffer;

/// Longest `float.__repr__`: `-2.2250738585072014e-308` is 24 bytes.
const FLOAT_MAX_LEN: usize = 32;

#[inline(always)]
pub fn write_i64(buf: &mut Buffer, value: i64) {
    let mut text = itoa::Buffer::new();
    buf.extend(text.format(value).as_bytes());
}

/// Write a finite `value` exactly as `float.__repr__` does.
///
/// `zmij` finds the same shortest round-trip digits as Python (both pick the closest of the
/// shortest candidates) and lays them out almost as Python does; two differences remain:
/// Python switches to exponent notation when the decimal exponent is below -4 where `zmij`
/// still writes `0.0000…`, and Python pads negative exponents to two digits (`1e-07`).
#[inline]
pub fn write_f64(buf: &mut Buffer, value: f64) {
    let mut text = zmij::Buffer::new();
    let formatted = text.format_finite(value).as_bytes();
    let (sign, body) = match formatted.split_first() {
        Some((b'-', body)) => (&b"-"[..], body),
        _ => (&b""[..], formatted),
    };
    if body.starts_with(b"0.0000") {
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
    if exponent < 10 {
        put(b"0");
    }
    let mut exp_text = itoa::Buffer::new();
    put(exp_text.format(exponent).as_bytes());
    buf.extend(&out[..len]);
}
