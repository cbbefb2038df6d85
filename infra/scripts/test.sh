#!/usr/bin/env bash
# The repository's test command, also run by CI through .ci/run.
#
# Steps, in order, stopping at the first failure:
#   1. install the external test tools (infra/scripts/setup-test-tools.sh)
#   2. cargo fmt --check
#   3. cargo clippy with warnings denied
#   4. self-tests of the validators in tests/validators
#   5. lint template.yaml with cfn-lint and `sam validate --lint` (infra/aws/validate.sh)
#   6. build the fuzz targets in fuzz/ and run each for 15 s over its committed corpus;
#      any crash, timeout or out-of-memory fails the step (fuzz/README.md)
#   7. start moto's server on 127.0.0.1, one request at a time (infra/scripts/moto_serial.py
#      explains why), and stop it again on exit
#   8. cargo test --workspace, with these variables naming the tools:
#        ACCOLADE_BADGECHECK     runner for badgecheck_offline.py (exit 0 valid, 1 not valid, 2 failed)
#        ACCOLADE_TOOLS_PYTHON   Python of .venv/tools (jsonschema, PyJWT, cfn-lint, moto)
#        ACCOLADE_NODE_TOOLS     tests/validators, whose node_modules has jose, ajv, playwright-core, axe-core
#        ACCOLADE_CHROMIUM       /usr/bin/chromium
#        ACCOLADE_MOTO_ENDPOINT  http://127.0.0.1:PORT of the moto server
#
# Extra arguments go to `cargo test`, for example `bash infra/scripts/test.sh -- --nocapture`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

validators="$root/tests/validators"
tools_python="$root/.venv/tools/bin/python"
badgecheck_python="$root/.venv/badgecheck/bin/python"
chromium=/usr/bin/chromium
moto_start_timeout_seconds=30
fuzz_seconds_per_target=15

current_step=""
step_started=0
step_timings=()
moto_pid=""
moto_log=""

# Print the wall-clock time in microseconds.
now_us() {
    echo "${EPOCHREALTIME/[.,]/}"
}

begin_step() {
    current_step=$1
    step_started=$(now_us)
    echo
    echo "==> $current_step"
}

end_step() {
    local elapsed_ms=$((($(now_us) - step_started) / 1000))
    local elapsed
    elapsed=$(printf '%d.%01d s' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100)))
    echo "<== $current_step: passed in $elapsed"
    step_timings+=("$(printf '%9s  %s' "$elapsed" "$current_step")")
    current_step=""
}

# Run "$@" as the step named $1. errexit stays in force inside, so the
# first failing command ends the script and on_exit names the step.
run_step() {
    local name=$1
    shift
    begin_step "$name"
    "$@"
    end_step
}

on_exit() {
    local status=$?
    stop_moto
    print_timings
    echo
    if ((status == 0)); then
        echo "test.sh: all steps passed"
    else
        echo "test.sh: FAILED in step '${current_step:-outside any step}' (exit status $status)" >&2
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

print_timings() {
    ((${#step_timings[@]})) || return 0
    echo
    echo "Step timings:"
    printf '%s\n' "${step_timings[@]}"
}

# --- Services for the Rust tests --------------------------------------------
# Start each service that the Rust tests need here, export its address as an
# ACCOLADE_* variable, and stop it in on_exit. Services listen on 127.0.0.1
# only, on a free port, so parallel runs on one machine do not collide.

# Print a TCP port on 127.0.0.1 that is free at the time of the call.
free_port() {
    "$tools_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Start moto's server (DynamoDB, DynamoDB Streams, S3, SES v2 on one port) and
# wait until GET /moto-api/data.json returns 200. Fails with the end of its
# log when it exits or is not ready within moto_start_timeout_seconds.
start_moto() {
    local port
    port=$(free_port)
    moto_log=$(mktemp "${TMPDIR:-/tmp}/accolade-moto.XXXXXX.log")
    "$tools_python" "$root/infra/scripts/moto_serial.py" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
    moto_pid=$!

    if ! "$tools_python" - "$port" "$moto_pid" "$moto_start_timeout_seconds" <<'EOF'; then
import os, sys, time, urllib.request

port, pid, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
url = f"http://127.0.0.1:{port}/moto-api/data.json"
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"moto_server (pid {pid}) exited before it served {url}")
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(f"moto_server (pid {pid}) did not serve {url} within {timeout:g} s")
EOF
        echo "test.sh: moto_server failed to start on 127.0.0.1:$port; last lines of its log:" >&2
        tail -n 40 "$moto_log" >&2 || true
        return 1
    fi

    export ACCOLADE_MOTO_ENDPOINT="http://127.0.0.1:$port"
    echo "moto_server pid $moto_pid serves $ACCOLADE_MOTO_ENDPOINT (log: $moto_log)"
}

stop_moto() {
    if [[ -n $moto_pid ]]; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
        moto_pid=""
        rm -f "$moto_log"
    fi
}

# --- Steps ------------------------------------------------------------------

run_validator_self_tests() {
    (cd "$validators" && "$badgecheck_python" -m unittest -v test_badgecheck_offline)
    (cd "$validators" && "$tools_python" -m unittest -v test_tools_venv)
    (cd "$validators" && ACCOLADE_CHROMIUM=$chromium node --test node-tools.test.mjs)
}

# Build the fuzz package (its own workspace, in fuzz/target) and run every target for
# fuzz_seconds_per_target seconds over its committed corpus in fuzz/corpus/TARGET. New
# inputs go to a temporary folder, so the run leaves the repository as it was. libFuzzer
# exits non-zero on a crash, a timeout (60 s on one input) or more than 2 GB of memory, and
# saves the input under fuzz/artifacts/TARGET/.
# NOTE: the timeout is 60 s, not the 10 s of the long runs in fuzz/README.md, because on a
# loaded 2-vCPU machine one run here hit the 10 s timeout on an input that takes 30 ms.
run_fuzz_targets() {
    # Run as `cargo-fuzz fuzz ...`, which is how cargo calls the subcommand, so PATH needs
    # no change. CARGO_TARGET_DIR is set per command, so later steps do not see it.
    local cargo_fuzz=(env CARGO_TARGET_DIR="$root/fuzz/target" "$root/.cargo-tools/bin/cargo-fuzz" fuzz)
    local new_inputs target
    local targets=()
    "${cargo_fuzz[@]}" build --fuzz-dir "$root/fuzz" --sanitizer none --release
    mapfile -t targets < <("${cargo_fuzz[@]}" list --fuzz-dir "$root/fuzz")
    ((${#targets[@]})) || {
        echo "test.sh: cargo fuzz list found no fuzz targets in fuzz/" >&2
        return 1
    }
    new_inputs=$(mktemp -d "${TMPDIR:-/tmp}/accolade-fuzz.XXXXXX")
    for target in "${targets[@]}"; do
        echo "--- fuzz target $target (${fuzz_seconds_per_target} s)"
        mkdir -p "$new_inputs/$target"
        "${cargo_fuzz[@]}" run --fuzz-dir "$root/fuzz" --sanitizer none --release "$target" \
            "$new_inputs/$target" "$root/fuzz/corpus/$target" -- \
            -max_total_time="$fuzz_seconds_per_target" -rss_limit_mb=2048 -timeout=60 \
            -print_final_stats=1
    done
    rm -rf "$new_inputs"
}

run_cargo_tests() {
    export ACCOLADE_BADGECHECK="$validators/badgecheck-offline"
    export ACCOLADE_TOOLS_PYTHON="$tools_python"
    export ACCOLADE_NODE_TOOLS="$validators"
    export ACCOLADE_CHROMIUM="$chromium"
    # Dummy credentials and region in the environment, no profile files and
    # IMDS disabled, so the AWS SDK's default chains neither pick up a
    # developer's real credentials nor query the EC2 instance metadata
    # address. The tests talk only to the moto server.
    unset AWS_PROFILE AWS_SESSION_TOKEN
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_REGION=${AWS_REGION:-us-east-1}
    cargo test --workspace --no-fail-fast "$@"
}

run_step "set up test tools" bash "$root/infra/scripts/setup-test-tools.sh"
run_step "cargo fmt --check" cargo fmt --all -- --check
run_step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
run_step "validator self-tests" run_validator_self_tests
run_step "validate template.yaml" bash "$root/infra/aws/validate.sh"
run_step "fuzz targets" run_fuzz_targets
run_step "start moto server" start_moto
run_step "cargo test" run_cargo_tests "$@"
