#!/usr/bin/env bash
# Build the Lambda functions for arm64 with cargo-lambda in one workspace build, and print
# each bootstrap's size, stripped and zipped, as Lambda receives it.
#
# Usage: infra/aws/build.sh [FUNCTION...]     (default: every function)
#
# Outputs: target/lambda/FUNCTION/bootstrap (CARGO_TARGET_DIR moves target/), and
# target/lambda/FUNCTION/bootstrap.zip. One cargo invocation builds every function named, so
# the dependencies they share (the AWS SDK, axum, the accolade crates) compile once with one
# set of features. CI runs this script to prove that every function builds for Lambda.
#
# `sam build` (infra/aws/deploy.sh) builds the same binaries its own way. template.yaml gives
# each function `BuildMethod: rust-cargolambda`, and SAM CLI 1.170.0 runs
# `cargo lambda build --release --arm64 --bin FUNCTION` once per function inside the
# repository (its Rust builder only builds in the source folder), so every function shares
# the workspace's target folder. A dependency compiles again only where the functions need it
# with other features (such as aws_lambda_events), and `cached = true` in samconfig.toml skips
# the functions whose sources did not change. That keeps the template's per-function build,
# which `sam sync` and `sam build FUNCTION` also use, at a small cost over this script.
#
# Needs: cargo-lambda and Zig, installed by infra/scripts/setup-test-tools.sh into
# .venv/lambda (or set CARGO_LAMBDA), and the Rust target aarch64-unknown-linux-gnu
# (`rustup target add aarch64-unknown-linux-gnu`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
functions=(issue-awards claim-badge serve-assertions send-claims bake-images ses-events)
if (($#)); then
    functions=("$@")
fi

die() {
    echo "build: $*" >&2
    exit 1
}

cargo_lambda=${CARGO_LAMBDA:-$root/.venv/lambda/bin/cargo-lambda}
if [[ ! -x $cargo_lambda ]]; then
    cargo_lambda=$(command -v cargo-lambda) ||
        die "cargo-lambda not found; run infra/scripts/setup-test-tools.sh, or pip install cargo-lambda==1.9.2 ziglang==0.17.1"
fi
# cargo-lambda runs Zig as `python3 -m ziglang` when no `zig` is on PATH, so the venv's
# python3, which has the ziglang wheel, comes first.
export PATH="$(dirname "$cargo_lambda"):$PATH"
rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu ||
    die "the Rust target aarch64-unknown-linux-gnu is missing; run: rustup target add aarch64-unknown-linux-gnu"

cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
bins=()
for function in "${functions[@]}"; do
    [[ -f functions/$function/src/main.rs ]] || die "unknown function '$function'"
    bins+=(--bin "$function")
done

started=$(date +%s)
"$cargo_lambda" lambda build --release --arm64 "${bins[@]}"
elapsed=$(($(date +%s) - started))

printf '%-18s %12s %12s\n' function bootstrap zipped
for function in "${functions[@]}"; do
    folder="$target_dir/lambda/$function"
    [[ -f $folder/bootstrap ]] || die "$folder/bootstrap was not built"
    rm -f "$folder/bootstrap.zip"
    (cd "$folder" && python3 -c 'import sys, zipfile
with zipfile.ZipFile("bootstrap.zip", "w", zipfile.ZIP_DEFLATED) as archive:
    archive.write("bootstrap")')
    printf '%-18s %12s %12s\n' "$function" "$(stat -c %s "$folder/bootstrap")" "$(stat -c %s "$folder/bootstrap.zip")"
done
echo "build: ${#functions[@]} function(s) built in ${elapsed} s"
