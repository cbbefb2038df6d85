//! Verifies arbitrary bytes as a badge (`accolade::verify::verify`): compact JWS parsing,
//! VC-JWT and signed 2.0 assertion checks, credential JSON and baked images, against an
//! in-memory fixture issuer whose RSA key really signs the seed JWS files. The report must
//! never be valid for a signature that the fixture key did not make.

#![no_main]

use accolade_fuzz::world::World;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    World::get().verify(data);
});
