//! Reads badge data from arbitrary bytes with the SVG reader (`baking::svg::unbake` and
//! `unbake_format`) and checks that every entry point agrees; see `accolade_fuzz::unbake`.

#![no_main]

use accolade::baking::ImageKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    accolade_fuzz::unbake::check(ImageKind::Svg, data);
});
