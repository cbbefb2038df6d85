#!/usr/bin/env python3
"""Print the AWS cost model of one award: what each path costs, per 1,000 and per 100,000
awards.

Usage: python3 bench/cost_model.py [--data-dir DIR]

The request counts come from reading the code of each path: the function crates and the
DynamoDB adapter in shared/aws/src/dynamo/store.rs. Each row names the call it counts. Item
sizes come from a local stack's SQLite store when --data-dir points at one that has claimed
awards (for example a folder kept by `bash bench/burst.sh --keep`), otherwise from the sizes
measured on 2026-12-04 (below). Lambda durations are estimates: the CPU time that the burst
benchmark measured per award on the local stack, plus an assumed wait for each AWS call.

Prices: us-east-1 (US East, N. Virginia), on-demand, no free tier, read on 2026-12-04. See
BENCHMARKS.md for the pages they come from.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

# --- Prices (USD), us-east-1, on-demand, read 2026-12-04 ---------------------------------
PRICE = {
    "dynamodb_wru": 0.625 / 1e6,  # per write request unit
    "dynamodb_rru": 0.125 / 1e6,  # per read request unit
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s_arm64": 0.0000133334,
    "apigw_http_request": 1.00 / 1e6,  # HTTP API, first 300 million a month, per 512 KB
    "s3_put": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1000,  # GET, HEAD
    "ses_message": 0.10 / 1000,
}

# --- Sizes in bytes, measured on the local stack on 2026-12-04 (bench/burst.sh --keep) -----
# The award document as stored (JSON) at each state, and the batch response that the
# idempotency record keeps for a 500-item batch call.
SIZES = {
    "award_issued": 900,
    "award_sent": 1_150,
    "award_claimed": 1_832,
    "batch_response_500": 305_944,
}
# Attributes beside the document in a DynamoDB award item: pk, sk, gsi1pk, gsi1sk, version,
# issuer_id, achievement_id, state, delivery and the claim token hash (names and values).
AWARD_ITEM_OVERHEAD = 400
POINTER_ITEM = 150  # a deduplication record or claim token item

# --- Lambda configuration, from template.yaml ---------------------------------------------
MEMORY_GB = {
    "issue-awards": 0.5,
    "send-claims": 0.25,
    "claim-badge": 0.25,
    "bake-images": 0.5,
    "serve-assertions": 0.25,
}
# Awards per invocation. issue-awards takes 500 per batch call, and the stream functions get
# up to their BatchSize (10 and 5) per invocation when awards arrive in bursts.
AWARDS_PER_INVOCATION = {
    "issue-awards": 500,
    "send-claims": 10,
    "claim-badge": 1,
    "bake-images": 5,
    "serve-assertions": 1,
}
# NOTE: assumed waits per AWS call inside Lambda (same Region, warm connection). These are
# estimates, not measurements; they dominate the duration of every path but baking.
WAIT_MS = {"dynamodb": 6, "dynamodb_transaction": 12, "s3_put": 20, "s3_get": 10, "ses": 25}
# Server CPU per award on the local stack (bash bench/burst.sh, 2026-12-04, load 11-14).
# The local stack adds SQLite, fsync and thread hand-offs that Lambda does not have, so these
# over-estimate Lambda's CPU time. Baking adds two RS256 signatures (the VC-JWT and the signed
# 2.0 assertion) at 4.7 ms each (cargo bench -p accolade --bench signing), which the burst run
# did not include yet.
CPU_MS = {
    "issue-awards": 0.4,
    "send-claims": 1.5,
    "claim-badge": 0.8,
    "bake-images": 1.5 + 2 * 4.7,
    "serve-assertions": 0.2,
}


def wru(item_bytes: int, transactional: bool = False) -> float:
    """Write request units of one write: 1 KB units, doubled inside a transaction."""
    units = max(1, math.ceil(item_bytes / 1024))
    return units * (2 if transactional else 1)


def rru(item_bytes: int) -> float:
    """Read request units of one strongly consistent read (the adapter reads that way)."""
    return max(1, math.ceil(item_bytes / 4096))


@dataclass
class Row:
    path: str
    what: str
    source: str
    kind: str  # a PRICE key
    amount: float  # per award


def model_rows(sizes: dict[str, int]) -> list[Row]:
    issued = sizes["award_issued"] + AWARD_ITEM_OVERHEAD
    sent = sizes["award_sent"] + AWARD_ITEM_OVERHEAD
    claimed = sizes["award_claimed"] + AWARD_ITEM_OVERHEAD
    batch = AWARDS_PER_INVOCATION["issue-awards"]
    response = sizes["batch_response_500"] * batch / 500
    rows = [
        # Issue: POST /v1/awards/batch, 500 awards per call.
        Row("issue", "API Gateway request, per batch call", "template.yaml", "apigw_http_request", 1 / batch),
        Row("issue", "Lambda request, per batch call", "template.yaml", "lambda_request", 1 / batch),
        Row("issue", "client lookup per call (get_client)", "issue-awards auth.rs", "dynamodb_rru", rru(600) / batch),
        Row("issue", "idempotency record taken (put_if)", "store.rs begin_request", "dynamodb_wru", wru(300) / batch),
        Row("issue", "achievement read once per call", "awards.rs OwnedAchievements", "dynamodb_rru", rru(1500) / batch),
        Row("issue", "award + dedup record in one transaction", "store.rs create_award", "dynamodb_wru", wru(issued, True) + wru(POINTER_ITEM, True)),
        Row("issue", "award copy in gsi1 (projection ALL)", "template.yaml gsi1", "dynamodb_wru", wru(issued)),
        Row("issue", "batch response kept in the idempotency record", "store.rs complete_request", "dynamodb_wru", wru(int(response)) / batch),
        # Send: stream record of the new award, then SES.
        Row("send", "Lambda request (BatchSize 10)", "template.yaml", "lambda_request", 1 / AWARDS_PER_INVOCATION["send-claims"]),
        Row("send", "award read", "send-claims handle_award_change", "dynamodb_rru", rru(issued)),
        Row("send", "achievement and issuer reads", "send-claims load_context", "dynamodb_rru", rru(1500) + rru(800)),
        Row("send", "update to sending: read, then award + token item transaction", "store.rs update_award", "dynamodb_rru", rru(issued)),
        Row("send", "", "store.rs update_award", "dynamodb_wru", wru(sent, True) + wru(POINTER_ITEM, True) + wru(sent)),
        Row("send", "claim email", "send-claims mailer.send", "ses_message", 1),
        Row("send", "update to sent: two reads, one put, its gsi1 copy", "send-claims record_outcome", "dynamodb_rru", 2 * rru(sent)),
        Row("send", "", "store.rs replace_versioned", "dynamodb_wru", 2 * wru(sent)),
        # Claim: GET the page, POST the form, GET the page after the 303.
        Row("claim", "API Gateway and Lambda requests (GET, POST, GET)", "claim-badge router", "apigw_http_request", 3),
        Row("claim", "", "claim-badge router", "lambda_request", 3),
        Row("claim", "token pointer, award, achievement, issuer per request", "claim-badge find", "dynamodb_rru", 3 * (rru(POINTER_ITEM) + rru(sent) + rru(1500) + rru(800))),
        Row("claim", "claimed award: read, put, gsi1 copy", "store.rs update_award", "dynamodb_rru", rru(sent)),
        Row("claim", "", "store.rs update_award", "dynamodb_wru", 2 * wru(claimed)),
        # Bake: stream record of the claimed award.
        Row("bake", "Lambda request (BatchSize 5)", "template.yaml", "lambda_request", 1 / AWARDS_PER_INVOCATION["bake-images"]),
        Row("bake", "award, achievement, issuer and signing key reads", "bake-images handle_award_change, mint.rs", "dynamodb_rru", rru(claimed) + rru(1500) + rru(800) + 2),
        Row("bake", "artwork reads (PNG, SVG) and checks for stored JWSs", "bake-images read_sources, mint.rs stored_jws", "s3_get", 4),
        Row("bake", "6 baked images (2.0 hosted, 3.0 VC-JWT, 2.0 signed; PNG and SVG) and 3 texts", "bake-images bake_all, mint.rs put_text", "s3_put", 9),
        # Serve: one verification (assertion, badge class, issuer) and one image download.
        Row("serve", "API Gateway and Lambda requests (3 documents + 1 image)", "serve-assertions router", "apigw_http_request", 4),
        Row("serve", "", "serve-assertions router", "lambda_request", 4),
        Row("serve", "award, achievement, issuer reads", "serve-assertions lib.rs", "dynamodb_rru", rru(claimed) + rru(1500) + rru(800)),
        Row("serve", "baked image read", "serve-assertions lib.rs files.get", "s3_get", 1),
    ]
    # Lambda duration per award: CPU plus the waits of the calls counted above.
    waits = {
        "issue-awards": WAIT_MS["dynamodb_transaction"] + (3 * WAIT_MS["dynamodb"] + WAIT_MS["dynamodb"]) / batch,
        "send-claims": 5 * WAIT_MS["dynamodb"] + WAIT_MS["dynamodb_transaction"] + WAIT_MS["ses"] + WAIT_MS["dynamodb"],
        "claim-badge": 3 * 4 * WAIT_MS["dynamodb"] + 2 * WAIT_MS["dynamodb"],
        "bake-images": 5 * WAIT_MS["dynamodb"] + 4 * WAIT_MS["s3_get"] + 9 * WAIT_MS["s3_put"],
        "serve-assertions": 3 * WAIT_MS["dynamodb"] + WAIT_MS["s3_get"],
    }
    names = {"issue-awards": "issue", "send-claims": "send", "claim-badge": "claim", "bake-images": "bake", "serve-assertions": "serve"}
    for function, wait in waits.items():
        gb_s = MEMORY_GB[function] * (CPU_MS[function] + wait) / 1000
        rows.append(Row(names[function], f"{function}: {MEMORY_GB[function] * 1024:.0f} MB x ({CPU_MS[function]} ms CPU + {wait:.1f} ms waits)", "estimate", "lambda_gb_s_arm64", gb_s))
    return rows


def sizes_from(data_dir: Path) -> dict[str, int]:
    """Measure the stored award sizes in a local stack's SQLite store."""
    sizes = dict(SIZES)
    with sqlite3.connect(data_dir / "accolade.db") as db:
        for state, key in (("issued", "award_issued"), ("claimed", "award_claimed")):
            row = db.execute("SELECT avg(length(doc)) FROM awards WHERE state = ?", (state,)).fetchone()
            if row and row[0]:
                sizes[key] = int(row[0])
        row = db.execute("SELECT max(length(response)) FROM idempotency").fetchone()
        if row and row[0]:
            sizes["batch_response_500"] = int(row[0])
    return sizes


def money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a local stack data folder to measure item sizes in")
    args = parser.parse_args()
    sizes = sizes_from(args.data_dir) if args.data_dir else SIZES
    rows = model_rows(sizes)

    print(f"Item sizes (bytes): {sizes}\n")
    print("| path | what | counted from | unit | per award | $ per 1,000 awards |")
    print("|---|---|---|---|---:|---:|")
    for row in rows:
        cost = row.amount * PRICE[row.kind] * 1000
        print(f"| {row.path} | {row.what} | {row.source} | {row.kind} | {row.amount:.4g} | {money(cost)} |")

    totals: dict[str, float] = {}
    for row in rows:
        totals[row.kind] = totals.get(row.kind, 0.0) + row.amount
    print("\n| unit | per award | per 1,000 awards | per 100,000 awards | $ per 1,000 | $ per 100,000 |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, amount in totals.items():
        print(f"| {kind} | {amount:.4g} | {amount * 1000:,.1f} | {amount * 100_000:,.0f} | {money(amount * PRICE[kind] * 1000)} | {money(amount * PRICE[kind] * 100_000)} |")

    without_ses = sum(a * PRICE[k] for k, a in totals.items() if k != "ses_message")
    with_ses = sum(a * PRICE[k] for k, a in totals.items())
    by_path: dict[str, float] = {}
    for row in rows:
        if row.kind != "ses_message":
            by_path[row.path] = by_path.get(row.path, 0.0) + row.amount * PRICE[row.kind]
    print("\n| path | $ per 1,000 awards (without SES) |")
    print("|---|---:|")
    for path, cost in by_path.items():
        print(f"| {path} | {money(cost * 1000)} |")
    print(f"\nTotal before SES: {money(without_ses * 1000)} per 1,000 awards, {money(without_ses * 100_000)} per 100,000 (target: at most $0.05 per 1,000)")
    print(f"Total with SES:   {money(with_ses * 1000)} per 1,000 awards, {money(with_ses * 100_000)} per 100,000")


if __name__ == "__main__":
    main()
