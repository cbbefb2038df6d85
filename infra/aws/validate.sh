#!/usr/bin/env bash
# Lint template.yaml offline: cfn-lint, cfn-lint with the serverless rules, and the SAM CLI's
# own validation. Exits non-zero on any error or warning.
#
# Usage: infra/aws/validate.sh
#
# Uses .venv/tools/bin/cfn-lint (installed by infra/scripts/setup-test-tools.sh) and the
# `sam` named by SAM_CLI (default: .venv/sam/bin/sam, else `sam` on PATH).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cfn_lint="$root/.venv/tools/bin/cfn-lint"

die() {
    echo "validate: $*" >&2
    exit 1
}

[[ -x $cfn_lint ]] || die "$cfn_lint not found; run infra/scripts/setup-test-tools.sh"
sam=${SAM_CLI:-}
if [[ -z $sam ]]; then
    if [[ -x $root/.venv/sam/bin/sam ]]; then
        sam=$root/.venv/sam/bin/sam
    else
        sam=$(command -v sam) ||
            die "sam not found; install aws-sam-cli==1.170.0 into its own venv (its pins clash with .venv/tools) and set SAM_CLI"
    fi
fi

cd "$root"
echo "validate: cfn-lint"
"$cfn_lint" template.yaml
echo "validate: cfn-lint with the serverless rules"
"$cfn_lint" template.yaml -a cfn_lint_serverless.rules
echo "validate: sam validate --lint"
# No region or credentials are needed offline; the region only satisfies the CLI.
SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true "$sam" validate --lint \
    --template template.yaml --region us-east-1
echo "validate: template.yaml passed"
