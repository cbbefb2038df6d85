//! The Lambda build as SAM ships it: `infra/aws/build.sh` runs `cargo lambda build --release
//! --arm64` and zips the bootstrap. Building all six functions takes several more minutes, so
//! this test builds bake-images, the function with the most dependencies (DynamoDB, S3, SSM,
//! baking and signing). `bash infra/aws/build.sh` builds every function.
//!
//! Needs cargo-lambda and Zig in `.venv/lambda` and the Rust target
//! `aarch64-unknown-linux-gnu`, which `bash infra/scripts/setup-test-tools.sh` installs.

use std::path::PathBuf;
use std::process::Command;

use accolade_tests::repo_root;

/// The ELF `e_machine` value of AArch64.
const EM_AARCH64: u16 = 0xB7;

#[test]
fn build_script_builds_arm64_bootstrap() {
    let root = repo_root();
    // A folder of its own, so this build never waits for the lock of the build running the tests.
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"))
        .join("lambda-build");

    let output = Command::new("bash")
        .arg(root.join("infra/aws/build.sh"))
        .arg("bake-images")
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("running bash failed");
    assert!(
        output.status.success(),
        "infra/aws/build.sh bake-images failed; run `bash infra/scripts/setup-test-tools.sh` \
         if cargo-lambda or the arm64 target is missing:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let folder = target.join("lambda/bake-images");
    let bootstrap = std::fs::read(folder.join("bootstrap")).expect("the bootstrap was not built");
    assert_eq!(
        &bootstrap[..4],
        b"\x7fELF",
        "the bootstrap is not an ELF file"
    );
    let machine = u16::from_le_bytes([bootstrap[18], bootstrap[19]]);
    assert_eq!(machine, EM_AARCH64, "the bootstrap is not built for arm64");
    let zipped = std::fs::metadata(folder.join("bootstrap.zip")).expect("no bootstrap.zip");
    assert!(zipped.len() > 0, "bootstrap.zip is empty");
}
