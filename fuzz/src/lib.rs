//! Checks shared by the fuzz targets in `fuzz_targets/`.
//!
//! Each target panics when an invariant of the code under test breaks, so libFuzzer reports
//! a wrong result as a crash, not only a panic inside the product code.

pub mod bake;
pub mod unbake;
pub mod world;
