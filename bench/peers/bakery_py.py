"""Time PyPI openbadges-bakery on the inputs of a bench manifest.

Usage: python bakery_py.py DIR

Prints one JSON line per input and operation, as `accolade bench-bake DIR` does, with the
same rules. Each operation gets one checked call that is not timed and a warm-up of at least
5 calls and 0.25 s. Then N calls are each timed alone with time.perf_counter_ns, where N is
BENCH_N, or as many as fill BENCH_SECONDS (default 1.0 s) at the warm-up's mean, clamped to
15..5000. Inputs and outputs stay in memory (io.BytesIO).

What each operation passes to the bakery (its public API, `openbadges_bakery.bake` and
`unbake`, which pick PNG or SVG by content):
- bake-url: the assertion URL as the payload (a PNG gets it in an iTXt chunk; an SVG gets it
  in `verify` and in the CDATA);
- bake-json: the assertion JSON text (an SVG gets the JSON's `id` in `verify`);
- unbake: DIR/baked/<name>.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import time
from importlib import metadata
from pathlib import Path

import openbadges_bakery

WARMUP_CALLS = 5
WARMUP_SECONDS = 0.25
MIN_CALLS = 15
MAX_CALLS = 5_000
DEFAULT_SECONDS = 1.0


def call_count(mean_seconds: float) -> int:
    fixed = os.environ.get("BENCH_N")
    if fixed is not None:
        return int(fixed)
    seconds = float(os.environ.get("BENCH_SECONDS", DEFAULT_SECONDS))
    fitting = math.ceil(seconds / mean_seconds) if mean_seconds > 0 else MAX_CALLS
    return max(MIN_CALLS, min(MAX_CALLS, fitting))


def percentile(sorted_samples: list[float], p: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    rank = p * (len(sorted_samples) - 1)
    lower = math.floor(rank)
    upper = math.ceil(rank)
    return sorted_samples[lower] + (sorted_samples[upper] - sorted_samples[lower]) * (rank - lower)


def measure(call) -> dict:
    warmup_start = time.perf_counter()
    warmup_calls = 0
    while warmup_calls < WARMUP_CALLS or time.perf_counter() - warmup_start < WARMUP_SECONDS:
        call()
        warmup_calls += 1
    mean = (time.perf_counter() - warmup_start) / warmup_calls

    n = call_count(mean)
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    micros = lambda ns: round(ns / 1000, 3)  # noqa: E731
    return {
        "n": n,
        "median_us": micros(percentile(samples, 0.5)),
        "p10_us": micros(percentile(samples, 0.1)),
        "p90_us": micros(percentile(samples, 0.9)),
    }


def main() -> int:
    folder = Path(sys.argv[1])
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    url = manifest["assertion_url"]
    assertion = (folder / manifest["assertion"]).read_text(encoding="utf-8")
    expected = {url, assertion}
    tool = "pypi-openbadges-bakery@" + metadata.version("openbadges-bakery")
    failures = 0

    for item in manifest["inputs"]:
        image = (folder / item["path"]).read_bytes()
        baked_path = folder / "baked" / item["name"]
        for op in ("bake-url", "bake-json", "unbake"):
            line = {"tool": tool, "op": op, "input": item["name"]}
            try:
                if op == "unbake":
                    baked = baked_path.read_bytes()

                    def call(baked=baked):
                        return openbadges_bakery.unbake(io.BytesIO(baked))

                    found = call()
                else:
                    payload = url if op == "bake-url" else assertion

                    def call(image=image, payload=payload):
                        return openbadges_bakery.bake(io.BytesIO(image), payload, io.BytesIO())

                    output = call().getvalue()
                    found = openbadges_bakery.unbake(io.BytesIO(output))
                if found not in expected:
                    raise ValueError(f"read back {str(found)[:80]!r}, not the assertion or its URL")
                line.update(measure(call))
            except Exception as error:  # noqa: BLE001 - every failure becomes a result line
                failures += 1
                line["error"] = f"{type(error).__name__}: {error}"
            print(json.dumps(line), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
