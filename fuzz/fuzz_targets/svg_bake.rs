//! Bakes a valid payload into arbitrary bytes with the SVG baker, and checks the round trip
//! of every successful bake. `accolade_fuzz::bake` describes the input layout.

#![no_main]

use accolade::baking::ImageKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    accolade_fuzz::bake::check(ImageKind::Svg, data);
});
