//! How a `str` is escaped into the output buffer: the `StrMode`.
//!
//! | mode | used for | non-ASCII | lone surrogate |
//! |---|---|---|---|
//! | `AsciiMode` | `ensure_ascii=True` | `\uXXXX` | `\udXXX` |
//! | `Utf8Mode` | `dumps_bytes` | UTF-8 | fails (`UnicodeEncodeError`) |
//! | `TextMode` | `dumps(ensure_ascii=False)` | UTF-8 | kept, as "surrogatepass" UTF-8 |

use rjson_simd::{ascii_escaped_bound_u32, escaped_bound, Kernel, Surrogate, SLACK};

use super::buffer::Buffer;
use crate::pyffi::StrData;

/// How a `str` is escaped into the buffer.
pub trait StrMode {
    /// Write `data` as a quoted JSON string. Fails only in `Utf8Mode`, on a lone surrogate.
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate>;
}

pub struct AsciiMode;
pub struct Utf8Mode;
pub struct TextMode;

impl StrMode for AsciiMode {
    #[inline(always)]
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate> {
        // SAFETY (all arms): `quoted` gives each kernel the bound its contract names.
        let never = match data {
            StrData::Ascii(units) | StrData::Ucs1(units) => buf
                .quoted(escaped_bound(units.len()), |dst| unsafe {
                    Ok::<_, ()>(K::ascii_from_u8(units, dst))
                }),
            StrData::Ucs2(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                Ok(K::ascii_from_u16(units, dst))
            }),
            StrData::Ucs4(units) => buf.quoted(ascii_escaped_bound_u32(units.len()), |dst| unsafe {
                Ok(K::ascii_from_u32(units, dst))
            }),
        };
        debug_assert!(never.is_ok());
        Ok(())
    }
}

impl StrMode for Utf8Mode {
    #[inline(always)]
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate> {
        // SAFETY (all arms): `quoted` gives each kernel the bound its contract names.
        match data {
            StrData::Ascii(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                Ok(K::escape_u8(units, dst))
            }),
            StrData::Ucs1(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                Ok(K::latin1_to_utf8(units, dst))
            }),
            StrData::Ucs2(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                K::ucs2_to_utf8(units, dst)
            }),
            StrData::Ucs4(units) => buf.quoted(escaped_bound(units.len()), |dst| unsafe {
                K::ucs4_to_utf8(units, dst)
            }),
        }
    }
}

impl StrMode for TextMode {
    #[inline(always)]
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate> {
        if !matches!(data, StrData::Ascii(_)) {
            buf.non_ascii = true;
        }
        match data {
            StrData::Ucs2(units) => write_text_with_surrogates::<K, u16>(buf, units),
            StrData::Ucs4(units) => write_text_with_surrogates::<K, u32>(buf, units),
            _ => Utf8Mode::write_str::<K>(buf, data),
        }
    }
}

/// Units the UTF-8 transcoders take; lets `TextMode` treat UCS-2 and UCS-4 alike.
trait WideUnit: Copy + Into<u32> {
    /// # Safety
    /// As `Kernel::ucs2_to_utf8` / `ucs4_to_utf8`.
    unsafe fn to_utf8<K: Kernel>(src: &[Self], dst: *mut u8) -> Result<usize, Surrogate>;
}

impl WideUnit for u16 {
    #[inline(always)]
    unsafe fn to_utf8<K: Kernel>(src: &[u16], dst: *mut u8) -> Result<usize, Surrogate> {
        // SAFETY: forwarded contract.
        unsafe { K::ucs2_to_utf8(src, dst) }
    }
}

impl WideUnit for u32 {
    #[inline(always)]
    unsafe fn to_utf8<K: Kernel>(src: &[u32], dst: *mut u8) -> Result<usize, Surrogate> {
        // SAFETY: forwarded contract.
        unsafe { K::ucs4_to_utf8(src, dst) }
    }
}

/// UTF-8 in which a lone surrogate is written as its three-byte form, as Python's
/// "surrogatepass" error handler writes it, so that decoding gives the same `str` back.
fn write_text_with_surrogates<K: Kernel, U: WideUnit>(
    buf: &mut Buffer,
    units: &[U],
) -> Result<(), Surrogate> {
    buf.push(b'"');
    let mut rest = units;
    loop {
        let mut failed_at = None;
        // SAFETY: the transcoder writes at most `escaped_bound(rest.len()) + SLACK` bytes;
        // on failure we report nothing written and redo the clean prefix below.
        unsafe {
            buf.write_with(escaped_bound(rest.len()) + SLACK, |dst| {
                match U::to_utf8::<K>(rest, dst) {
                    Ok(n) => n,
                    Err(Surrogate { index }) => {
                        failed_at = Some(index);
                        0
                    }
                }
            });
        }
        let Some(index) = failed_at else { break };
        let clean = &rest[..index];
        // SAFETY: `clean` holds no surrogate (the kernel stops at the first), so this
        // cannot fail; the bound is as above.
        unsafe {
            buf.write_with(escaped_bound(clean.len()) + SLACK, |dst| {
                U::to_utf8::<K>(clean, dst).unwrap_or(0)
            });
        }
        let code: u32 = rest[index].into();
        buf.extend(&[
            0xE0 | (code >> 12) as u8,
            0x80 | ((code >> 6) & 0x3F) as u8,
            0x80 | (code & 0x3F) as u8,
        ]);
        rest = &rest[index + 1..];
    }
    buf.push(b'"');
    Ok(())
}
