#!/usr/bin/env bash
# Validate, build and deploy the stack with the SAM CLI, from the repository root.
#
# Usage: infra/aws/deploy.sh [test|production]     (default: test)
#
# The stage's settings are in infra/aws/samconfig.toml. Before the first deploy of a stage,
# create its secrets with infra/aws/create-secrets.sh and verify its SES identity.
#
# Needs: the AWS SAM CLI 1.170.0 (`pip install aws-sam-cli==1.170.0`), cargo-lambda
# (`pip install cargo-lambda==1.9.2 ziglang==0.17.1`), the Rust target
# aarch64-unknown-linux-gnu, and AWS credentials for the target account.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stage=${1:-test}
config="$root/infra/aws/samconfig.toml"

die() {
    echo "deploy: $*" >&2
    exit 1
}

case $stage in
    test | production) ;;
    *) die "unknown stage '$stage'; use test or production" ;;
esac
# The venvs of infra/scripts/setup-test-tools.sh, when they exist.
export PATH="$root/.venv/sam/bin:$root/.venv/lambda/bin:$PATH"
command -v sam >/dev/null || die "sam not found; install it with: pip install aws-sam-cli==1.170.0"
command -v cargo-lambda >/dev/null ||
    die "cargo-lambda not found; install it with: pip install cargo-lambda==1.9.2 ziglang==0.17.1"

export SAM_CLI_TELEMETRY=0
cd "$root"
sam validate --config-file "$config" --config-env "$stage" --lint
sam build --config-file "$config" --config-env "$stage"
sam deploy --config-file "$config" --config-env "$stage"
