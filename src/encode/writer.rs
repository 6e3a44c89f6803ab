//! How a `str` is escaped into the output buffer: the `StrMode`.
//!
//! | mode | used for | non-ASCII | lone surrogate |
//! |---|---|---|---|
//! | `AsciiMode` | `ensure_ascii=True` | `\uXXXX` | `\udXXX` |
//! | `Utf8Mode` | `dumps_bytes` | UTF-8 | fails (`UnicodeEncodeError`) |
//! | `TextMode` | `dumps(ensure_ascii=False)` | as it is (see `text`) | kept |

use rjson_simd::{ascii_escaped_bound_u32, escaped_bound, Kernel, Surrogate};

use super::buffer::Buffer;
use crate::pyffi::StrData;

/// How a `str` is escaped into the buffer.
pub trait StrMode {
    /// Write `data` as a quoted JSON string. Fails only in `Utf8Mode`, on a lone surrogate.
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate>;

    /// Write a short ASCII string as a quoted JSON string if it needs no escape, through
    /// the kernel's branch-free short path; false, having written nothing, otherwise (and
    /// always on a backend without that path).
    ///
    /// # Safety
    /// `end` and `len` are as [`Kernel::copy_clean_ascii_tail`] requires (see
    /// [`crate::pyffi::short_compact_ascii`]).
    #[inline(always)]
    unsafe fn write_clean_short_ascii<K: Kernel>(buf: &mut Buffer, end: *const u8, len: usize) -> bool {
        // ASCII is copied as it is in every mode but `ensure_ascii`'s, which also escapes DEL.
        let ensure_ascii = Self::ESCAPES_DEL;
        // SAFETY: forwarded; `quoted_clean_short` gives the kernel its 16 bytes.
        buf.quoted_clean_short(len, #[inline(always)] |dst| unsafe { K::copy_clean_ascii_tail(end, len, ensure_ascii, dst) })
    }

    /// Whether this mode escapes DEL (U+007F), as `ensure_ascii` does.
    const ESCAPES_DEL: bool = false;
}

pub struct AsciiMode;
pub struct Utf8Mode;
pub struct TextMode;

impl StrMode for AsciiMode {
    const ESCAPES_DEL: bool = true;

    #[inline(always)]
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate> {
        // SAFETY (all arms): `quoted_units` gives each kernel the bound its contract names.
        let never = match data {
            StrData::Ascii(units) | StrData::Ucs1(units) => buf.quoted_units(units, escaped_bound, #[inline(always)] |units, dst| unsafe {
                    Ok::<_, ()>(K::ascii_from_u8(units, dst))
                }),
            StrData::Ucs2(units) => buf.quoted_units(units, escaped_bound, #[inline(always)] |units, dst| unsafe {
                Ok(K::ascii_from_u16(units, dst))
            }),
            StrData::Ucs4(units) => buf.quoted_units(units, ascii_escaped_bound_u32, #[inline(always)] |units, dst| unsafe {
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
        // SAFETY (all arms): `quoted_units` gives each kernel the bound its contract names.
        match data {
            StrData::Ascii(units) => buf.quoted_units(units, escaped_bound, #[inline(always)] |units, dst| unsafe {
                Ok(K::escape_u8(units, dst))
            }),
            StrData::Ucs1(units) => buf.quoted_units(units, escaped_bound, #[inline(always)] |units, dst| unsafe {
                Ok(K::latin1_to_utf8(units, dst))
            }),
            StrData::Ucs2(units) => buf.quoted_units(units, escaped_bound, #[inline(always)] |units, dst| unsafe {
                K::ucs2_to_utf8(units, dst)
            }),
            StrData::Ucs4(units) => buf.quoted_units(units, escaped_bound, #[inline(always)] |units, dst| unsafe {
                K::ucs4_to_utf8(units, dst)
            }),
        }
    }
}

impl StrMode for TextMode {
    #[inline(always)]
    fn write_str<K: Kernel>(buf: &mut Buffer, data: StrData<'_>) -> Result<(), Surrogate> {
        // SAFETY (first arm): `quoted_units` gives the kernel the bound its contract names.
        match data {
            // Latin-1 goes into the byte buffer as it is, one byte per character.
            StrData::Ascii(units) | StrData::Ucs1(units) => {
                buf.non_ascii |= matches!(data, StrData::Ucs1(_));
                let never = buf.quoted_units(units, escaped_bound, #[inline(always)] |units, dst| unsafe {
                    Ok::<_, ()>(K::escape_u8(units, dst))
                });
                debug_assert!(never.is_ok());
            }
            StrData::Ucs2(units) => {
                buf.push(b'"');
                buf.wide.push_ucs2::<K>(buf.len(), units);
                buf.push(b'"');
            }
            StrData::Ucs4(units) => {
                buf.push(b'"');
                buf.wide.push_ucs4::<K>(buf.len(), units);
                buf.push(b'"');
            }
        }
        Ok(())
    }
}
