//! UCS-2 code units (surrogates included, as a Python str may hold them): two control bytes
//! choose raw or biased decoding, the source alignment and the destination offset; every
//! two-byte kernel (escape_u16, ucs2_to_utf8, ascii_from_u16) of every vector backend
//! against scalar.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(((biased, align, dst_off), rest)) = rjson_fuzz::split_control(data) {
        let units: Vec<u16> = rjson_fuzz::decode_units(rest, biased, 2, 0xFFFF)
            .into_iter()
            .map(|u| u as u16)
            .collect();
        rjson_fuzz::check_units(&units, align, dst_off);
    }
});
