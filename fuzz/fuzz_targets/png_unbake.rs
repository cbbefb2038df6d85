//! Reads badge data from arbitrary bytes with the PNG reader (`baking::png::unbake` and
//! `unbake_format`) and checks that every entry point agrees; see `accolade_fuzz::unbake`.

#![no_main]

use accolade::baking::ImageKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    accolade_fuzz::unbake::check(ImageKind::Png, data);
});
