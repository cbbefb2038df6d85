#!/usr/bin/env bash
# Create the stage's SSM SecureString parameters, each the base64 of 32 random bytes, unless
# they exist already.
#
# Usage: infra/aws/create-secrets.sh [PREFIX]     (default: /accolade)
#
# Creates PREFIX/token-signing-secret (signs partner access tokens) and PREFIX/claim-pepper
# (the HMAC key of claim token hashes), the names template.yaml expects by default. An
# existing parameter is never replaced: a new pepper would invalidate every claim link sent,
# and a new signing secret every access token issued.
#
# Needs: the AWS CLI v2 and AWS credentials for the target account and region.
set -euo pipefail

prefix=${1:-/accolade}

die() {
    echo "create-secrets: $*" >&2
    exit 1
}

[[ $prefix == /* ]] || die "the prefix must start with '/', such as /accolade"
command -v aws >/dev/null || die "the AWS CLI (v2) is not installed"

# The value goes through a private file, never the command line, where other local users
# could read it in the process list.
umask 077
value_file=$(mktemp)
trap 'rm -f "$value_file"' EXIT

for name in token-signing-secret claim-pepper; do
    parameter="$prefix/$name"
    if aws ssm get-parameter --name "$parameter" --query Parameter.Name --output text >/dev/null 2>&1; then
        echo "create-secrets: $parameter exists; left unchanged"
        continue
    fi
    head -c 32 /dev/urandom | base64 | tr -d '\n' >"$value_file"
    aws ssm put-parameter --name "$parameter" --type SecureString \
        --value "file://$value_file" --output text >/dev/null ||
        die "creating $parameter failed"
    echo "create-secrets: created $parameter"
done
