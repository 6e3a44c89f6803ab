//! UCS-4 code units up to U+10FFFF (surrogates included): two control bytes choose raw or
//! biased decoding, the source alignment and the destination offset; every four-byte
//! kernel (escape_u32, ucs4_to_utf8, ascii_from_u32) of every vector backend against scalar.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(((biased, align, dst_off), rest)) = rjson_fuzz::split_control(data) {
        let units = rjson_fuzz::decode_units(rest, biased, 3, 0x10FFFF);
        rjson_fuzz::check_units(&units, align, dst_off);
    }
});
