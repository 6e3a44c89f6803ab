//! Arbitrary bytes, exactly as libFuzzer hands them over (an exactly sized block), to every
//! one-byte kernel (escape_u8, latin1_to_utf8, ascii_from_u8) and both scans
//! (find_string_special, max_byte) of every vector backend, against scalar; then the same
//! from a spread of start offsets up to 63 (the alignments that matter to 16-, 32- and
//! 64-byte vectors) for short inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rjson_fuzz::check_slice(data, 0);
    if data.len() <= 512 {
        for start in [1, 2, 3, 5, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63] {
            if start < data.len() {
                rjson_fuzz::check_slice(&data[start..], start % 7);
            }
        }
    }
});
