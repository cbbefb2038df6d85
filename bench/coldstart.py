#!/usr/bin/env python3
"""Measure the cold start of each Lambda function: from exec to the first request served.

Usage: python3 bench/coldstart.py [--runs N] [--no-build] [--arm64]

For each function it starts the release binary as Lambda would, with a local Lambda runtime
API on 127.0.0.1 that hands it one event. AWS_ENDPOINT_URL points the function at an AWS
emulator (moto, from .venv/tools) on 127.0.0.1, which holds the table, bucket and SSM
parameters that template.yaml creates. It times from the exec to the function's first POST of a response (or
an error) to the runtime API, reads the peak resident memory (VmHWM) at that moment, then
stops the process by its pid. It also prints each binary's size and its size zipped as a
Lambda deployment package (`bootstrap`, deflate).

- x86_64: `cargo build --release` of every function (CARGO_TARGET_DIR, default
  target-bench), timed here.
- --arm64: also builds with infra/aws/build.sh (`cargo lambda build --release --arm64`, as
  SAM builds the functions) and reports sizes only, because this machine cannot run arm64.
  --arm64-dir DIR reads bootstraps that build.sh already made (DIR/FUNCTION/bootstrap).

Install the emulator first if .venv/tools is missing: bash infra/scripts/setup-test-tools.sh.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TOOLS_PYTHON = REPO / ".venv" / "tools" / "bin" / "python"
MOTO_SERVER = REPO / ".venv" / "tools" / "bin" / "moto_server"

FUNCTIONS = ["issue-awards", "send-claims", "claim-badge", "serve-assertions", "bake-images", "ses-events"]
TABLE = "accolade-bench"
BUCKET = "accolade-bench-images"
TOKEN_PARAMETER = "/accolade-bench/token-signing-secret"
PEPPER_PARAMETER = "/accolade-bench/claim-pepper"
# The SSM path of the issuers' private signing keys. bake-images reads none of them before its
# first event, so the emulator stores no keys.
SIGNING_KEY_PREFIX = "/accolade-bench/signing-keys"
PUBLIC_BASE_URL = "https://badges.bench.example"
# Stop waiting for a function's first response after this long.
FIRST_RESPONSE_TIMEOUT = 20.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_event(method: str, path: str) -> dict:
    """Return an API Gateway HTTP API event (payload format 2.0)."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "badges.bench.example", "accept": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "badges.bench.example",
            "domainPrefix": "badges",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "coldstart"},
            "requestId": "coldstart",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }


# The first event of each function: a request that reaches the store where one does, and an
# empty batch for the event-driven functions.
EVENTS = {
    "issue-awards": http_event("GET", "/openapi.json"),
    "claim-badge": http_event("GET", "/claim/" + "A" * 43),
    "serve-assertions": http_event("GET", "/issuers/00000000-0000-4000-8000-000000000000"),
    "send-claims": {"Records": []},
    "bake-images": {"Records": []},
    "ses-events": {"Records": []},
}


class RuntimeApi:
    """A minimal Lambda runtime API that hands out one event and records when the function
    posts its response or error."""

    def __init__(self, event: dict) -> None:
        self.event = json.dumps(event).encode()
        self.answered = threading.Event()
        self.answered_at = 0.0
        self.outcome = ""
        self.body = b""
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: D102 - silence the access log
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                if self.path.endswith("/runtime/invocation/next"):
                    if api.answered.is_set():
                        # The measurement is over; park the function until it is stopped,
                        # and send it nothing, because the stop closes this connection.
                        time.sleep(FIRST_RESPONSE_TIMEOUT)
                        self.close_connection = True
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Lambda-Runtime-Aws-Request-Id", "coldstart-1")
                    self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
                    self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                    self.send_header("Content-Length", str(len(api.event)))
                    self.end_headers()
                    self.wfile.write(api.event)
                else:
                    self.send_error(404)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if not api.answered.is_set():
                    api.answered_at = time.perf_counter()
                    api.outcome = self.path.rsplit("/", 1)[-1]
                    api.body = body
                    api.answered.set()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_moto() -> tuple[subprocess.Popen, str]:
    if not MOTO_SERVER.exists():
        sys.exit(f"error: {MOTO_SERVER} is missing; run bash infra/scripts/setup-test-tools.sh first")
    port = free_port()
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, endpoint
        except OSError:
            time.sleep(0.1)
    process.terminate()
    sys.exit("error: moto_server did not start within 30 s")


SETUP = r"""
import sys, boto3
endpoint, table, bucket, token, pepper, token_value, pepper_value = sys.argv[1:8]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
ddb = boto3.client("dynamodb", **kw)
keys = ["pk", "sk", "gsi1pk", "gsi1sk", "revoked_pk", "revoked_sk"]
# The same keys, indexes and stream as the Table in template.yaml.
ddb.create_table(
    TableName=table, BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    GlobalSecondaryIndexes=[
        {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
         "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}, {"AttributeName": r, "KeyType": "RANGE"}]}
        for name, h, r in [("gsi1", "gsi1pk", "gsi1sk"), ("revoked", "revoked_pk", "revoked_sk")]
    ],
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)
boto3.client("s3", **kw).create_bucket(Bucket=bucket)
ssm = boto3.client("ssm", **kw)
ssm.put_parameter(Name=token, Value=token_value, Type="SecureString")
ssm.put_parameter(Name=pepper, Value=pepper_value, Type="SecureString")
boto3.client("sesv2", **kw).create_email_identity(EmailIdentity="badges.bench.example")
"""


def random_secret() -> str:
    """Return 32 random bytes in standard base64, the form the functions read secrets in."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def set_up_emulator(endpoint: str) -> None:
    subprocess.run(
        [str(TOOLS_PYTHON), "-c", SETUP, endpoint, TABLE, BUCKET, TOKEN_PARAMETER, PEPPER_PARAMETER,
         random_secret(), random_secret()],
        check=True,
    )


def function_env(name: str, runtime: str, endpoint: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": runtime,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "coldstart",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": endpoint,
        "TABLE_NAME": TABLE,
        "BUCKET_NAME": BUCKET,
        "SES_CONFIGURATION_SET": "accolade-bench",
        "SENDER_ADDRESS": "Bench badges <badges@badges.bench.example>",
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TOKEN_SIGNING_SECRET_PARAMETER": TOKEN_PARAMETER,
        "CLAIM_PEPPER_PARAMETER": PEPPER_PARAMETER,
        "SIGNING_KEY_PARAMETER_PREFIX": SIGNING_KEY_PREFIX,
    }
    return env


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def one_cold_start(binary: Path, name: str, endpoint: str) -> dict:
    runtime = RuntimeApi(EVENTS[name])
    started = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=function_env(name, runtime.address, endpoint),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        answered = runtime.answered.wait(FIRST_RESPONSE_TIMEOUT)
        rss = peak_rss_kib(process.pid) if process.poll() is None else 0
        if not answered:
            stderr = b""
            if process.poll() is not None:
                stderr = process.stderr.read()[-600:]
            return {"error": f"no response within {FIRST_RESPONSE_TIMEOUT} s; {stderr.decode(errors='replace')}"}
        result = {"ms": (runtime.answered_at - started) * 1000, "peak_rss_kib": rss, "outcome": runtime.outcome}
        if runtime.outcome != "response":
            result["error_body"] = runtime.body.decode(errors="replace")[:300]
        return result
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        runtime.close()


def zipped_size(binary: Path) -> int:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(binary, "bootstrap")
    return len(buffer.getvalue())


def build_x86(target: Path) -> None:
    packages = [arg for name in FUNCTIONS for arg in ("-p", name)]
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    log("$ cargo build --release " + " ".join(packages))
    subprocess.run(["cargo", "build", "--release", *packages, "--bins"], cwd=REPO, env=env, check=True, stdout=sys.stderr)


def build_arm64(target: Path) -> Path:
    """Build every function for arm64 with infra/aws/build.sh (cargo lambda, as SAM builds
    them) and return the folder of the bootstraps."""
    arm_target = target / "arm64"
    env = dict(os.environ, CARGO_TARGET_DIR=str(arm_target))
    log("$ bash infra/aws/build.sh")
    subprocess.run(["bash", str(REPO / "infra" / "aws" / "build.sh")], cwd=REPO, env=env, check=True, stdout=sys.stderr)
    return arm_target / "lambda"


def stripped_copy(binary: Path) -> Path:
    """Return a stripped copy of `binary`: cargo lambda ships stripped bootstraps."""
    copy = binary.with_name(binary.name + ".stripped")
    subprocess.run(["strip", "-o", str(copy), str(binary)], check=True)
    return copy


def summary(values: list[float]) -> str:
    values = sorted(values)
    if len(values) == 1:
        return f"{values[0]:.1f}"
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return f"{statistics.median(values):.1f} ({deciles[0]:.1f}–{deciles[-1]:.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="cold starts per function (default 10)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    parser.add_argument("--arm64", action="store_true", help="also build for arm64 with infra/aws/build.sh and report the sizes")
    parser.add_argument("--arm64-dir", type=Path, help="report the sizes of arm64 bootstraps already built in DIR/FUNCTION/bootstrap")
    args = parser.parse_args()

    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target-bench"))
    if not args.no_build:
        build_x86(target)
    arm64_dir = build_arm64(target) if args.arm64 else args.arm64_dir

    moto, endpoint = start_moto()
    try:
        set_up_emulator(endpoint)
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("| function | arch | binary MB | stripped, zipped MB | cold start ms, median (p10–p90) | peak RSS MB, median | first answer |")
        print("|---|---|---:|---:|---:|---:|---|")
        for name in FUNCTIONS:
            binary = target / "release" / name
            runs = [one_cold_start(binary, name, endpoint) for _ in range(args.runs)]
            good = [run for run in runs if "ms" in run]
            errors = [run["error"] for run in runs if "error" in run]
            size = binary.stat().st_size / 1e6
            zipped = zipped_size(stripped_copy(binary)) / 1e6
            if good:
                outcome = good[0]["outcome"] + (f": {good[0].get('error_body', '')[:120]}" if good[0]["outcome"] != "response" else "")
                print(f"| {name} | x86_64 | {size:.2f} | {zipped:.2f} | {summary([r['ms'] for r in good])} | "
                      f"{statistics.median(r['peak_rss_kib'] for r in good) / 1024:.1f} | {outcome} |")
            if errors:
                print(f"| {name} | x86_64 | {size:.2f} | {zipped:.2f} | failed {len(errors)} of {len(runs)}: {errors[0][:200]} | | |")
            if arm64_dir is not None:
                arm = arm64_dir / name / "bootstrap"
                if arm.exists():
                    print(f"| {name} | arm64 | {arm.stat().st_size / 1e6:.2f} | {zipped_size(arm) / 1e6:.2f} | not run here | | |")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        moto.terminate()
        moto.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
