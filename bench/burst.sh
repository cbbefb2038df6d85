#!/usr/bin/env bash
# Run the burst benchmark: build `accolade` and the burst client in release mode, then start
# `accolade serve` on 127.0.0.1 in a temporary folder and time one batch of awards, its claim
# emails and every claim. Extra arguments go to the client (see bench/burst/src/main.rs).
#
# Usage: bash bench/burst.sh [--recipients N] [--claim-threads N] [--keep]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target-bench}"

# Build output goes to stderr, so stdout holds only the results.
cargo build --release -p accolade-local --bin accolade --manifest-path "$repo/Cargo.toml" >&2
cargo build --release --manifest-path "$repo/bench/burst/Cargo.toml" \
  --target-dir "$CARGO_TARGET_DIR/burst" >&2

"$CARGO_TARGET_DIR/burst/release/accolade-burst" \
  --accolade "$CARGO_TARGET_DIR/release/accolade" "$@"
