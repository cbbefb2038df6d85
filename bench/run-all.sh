#!/usr/bin/env bash
# Run every benchmark in this folder, one after the other, and keep each one's output.
#
# Usage: bash bench/run-all.sh [RESULTS_DIR]      (default: bench/results/run-YYYYMMDDTHHMMSSZ)
#
# Steps:
#   1. install the tools: infra/scripts/setup-test-tools.sh (the AWS emulator moto,
#      cargo-lambda and Zig, the arm64 Rust target); compare.py installs the peer bakers
#   2. cargo bench -p accolade            criterion: baking, documents, signing
#   3. python3 bench/compare.py           Accolade against the PyPI and npm bakers
#   4. bash bench/burst.sh                1,000 awards through `accolade serve`
#   5. python3 bench/coldstart.py --arm64 cold start of each Lambda function, sizes
#   6. python3 bench/cost_model.py        AWS cost per 1,000 and 100,000 awards
#
# Each step's standard output goes to RESULTS_DIR/STEP.txt and to the terminal; build and
# install output goes to RESULTS_DIR/STEP.log. Release builds go to CARGO_TARGET_DIR
# (default target-bench). The first run on a new machine compiles the workspace twice, for
# x86_64 and for arm64. That took about 10 minutes per target on an idle 2-core machine.
# Stop other work on the machine first: every figure is a wall time.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target-bench}
results=${1:-$repo/bench/results/run-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$results"

# Run "$@" as step $1, writing its standard output to $results/$1.txt and its standard
# error to $results/$1.log.
run_step() {
    local name=$1
    shift
    echo
    echo "==> $name: $* (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    local started=$SECONDS
    if ! "$@" 2>"$results/$name.log" | tee "$results/$name.txt"; then
        echo "run-all: step '$name' failed; the end of $results/$name.log:" >&2
        tail -n 30 "$results/$name.log" >&2
        exit 1
    fi
    echo "<== $name: $((SECONDS - started)) s"
}

{
    echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "toolchains: $(rustc --version), $(python3 --version), node $(node --version)"
} | tee "$results/machine.txt"

run_step setup bash infra/scripts/setup-test-tools.sh
run_step criterion cargo bench -p accolade -- --warm-up-time 1 --measurement-time 3
run_step compare python3 bench/compare.py
run_step burst bash bench/burst.sh
run_step coldstart python3 bench/coldstart.py --arm64
run_step cost python3 bench/cost_model.py

echo
echo "run-all: every benchmark finished; results in ${results#"$repo"/}"
