//! UCS-1 (ASCII / Latin-1) code units: two control bytes choose the source alignment and
//! the destination offset, the rest are the units; every one-byte kernel and scan of every
//! vector backend against scalar.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(((_, align, dst_off), units)) = rjson_fuzz::split_control(data) {
        rjson_fuzz::check_units::<u8>(units, align, dst_off);
    }
});
