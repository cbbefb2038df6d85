#!/usr/bin/env python3
"""Compare Accolade's baking with the bakers other issuers use, on the same files, in one run.

Usage: python3 bench/compare.py [--seconds S] [--inputs DIR] [--accolade PATH]

It installs what it needs into the repository (PyPI openbadges-bakery into .venv/bench, npm
openbadges-bakery into bench/peers/node_modules), builds `accolade` in release mode
(CARGO_TARGET_DIR, default target-bench), then runs, one after the other:

1. `accolade bench-bake DIR --write-baked`, which also writes DIR/baked/<name> (Accolade's
   bake-json output) for every tool's unbake;
2. bench/peers/bakery_py.py (PyPI openbadges-bakery 2.0.0);
3. bench/peers/bakery_node.js (npm openbadges-bakery 1.0.5).

Each tool times its own calls in its own process with the same rules (see bakery_py.py). The
script prints a Markdown table of medians with p10-p90, the ratio of each peer's median to
Accolade's, and the targets. It also writes every result line and the load average to
bench/results/.
Build and install output goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = REPO / ".venv" / "bench"
PEERS = BENCH / "peers"

ACCOLADE = "accolade"
PYPI = "pypi-openbadges-bakery@2.0.0"
NPM = "npm-openbadges-bakery@1.0.5"
OPS = ("bake-url", "bake-json", "unbake")

# Targets: the minimum ratio of the peer's median time to Accolade's.
PNG_BAKE_VS_PYPI = 20
SVG_BAKE_VS_NPM = 100


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_quietly(command: list[str], **kwargs) -> None:
    """Run a setup step with its output on stderr; stop the script when it fails."""
    log("$ " + " ".join(command))
    result = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, **kwargs)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed with exit code {result.returncode}")


def setup_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        run_quietly([sys.executable, "-m", "venv", str(VENV)])
    run_quietly(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(BENCH / "requirements.txt")]
    )
    return python


def setup_node() -> None:
    installed = PEERS / "node_modules" / "openbadges-bakery" / "package.json"
    if not installed.exists():
        run_quietly(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEERS)


def build_accolade() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target-bench"))
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    run_quietly(
        ["cargo", "build", "--release", "-p", "accolade-local", "--bin", "accolade"],
        cwd=REPO,
        env=env,
    )
    return target / "release" / "accolade"


def run_tool(name: str, command: list[str], env: dict[str, str]) -> tuple[list[dict], dict]:
    """Run one harness and return its result lines and the load around it."""
    log(f"running {name}: {' '.join(command)}")
    load_before = os.getloadavg()
    started = dt.datetime.now(dt.timezone.utc)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, env=env, cwd=REPO)
    load_after = os.getloadavg()
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    # A harness exits 1 when an operation failed, and that operation's line carries the error
    # for the table. Any other exit code, or no output at all, means the harness itself broke.
    if result.returncode not in (0, 1) or not lines:
        sys.exit(f"error: {name} failed with exit code {result.returncode} and {len(lines)} result lines")
    run = {
        "tool": name,
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
    }
    return lines, run


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
    }


def cell(line: dict | None) -> str:
    if line is None:
        return "not run"
    if "error" in line:
        return "fails"
    return f"{fmt(line['median_us'])} ({fmt(line['p10_us'])}–{fmt(line['p90_us'])})"


def fmt(micros: float) -> str:
    if micros >= 100:
        return f"{micros:,.0f}"
    if micros >= 10:
        return f"{micros:.1f}"
    return f"{micros:.2f}"


def ratio(peer: dict | None, ours: dict | None) -> float | None:
    if not peer or not ours or "error" in peer or "error" in ours:
        return None
    return peer["median_us"] / ours["median_us"]


def ratio_text(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 10:
        return f"{value:,.0f}×"
    return f"{value:.1f}×"


def print_table(results: dict, inputs: list[dict], folder: Path) -> None:
    print("| input | size | op | Accolade µs (p10–p90) | PyPI µs (p10–p90) | PyPI ÷ Accolade | npm µs (p10–p90) | npm ÷ Accolade |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for item in inputs:
        size = (folder / item["path"]).stat().st_size
        for op in OPS:
            ours = results.get((ACCOLADE, op, item["name"]))
            pypi = results.get((PYPI, op, item["name"]))
            npm = results.get((NPM, op, item["name"]))
            print(
                f"| {item['name']} | {size / 1024:,.1f} KiB | {op} | {cell(ours)} | {cell(pypi)} | "
                f"{ratio_text(ratio(pypi, ours))} | {cell(npm)} | {ratio_text(ratio(npm, ours))} |"
            )


def print_errors(results: dict) -> None:
    errors = {}
    for (tool, op, name), line in results.items():
        if "error" in line:
            errors.setdefault((tool, line["error"]), []).append(f"{op} {name}")
    if not errors:
        return
    print("\nFailures:")
    for (tool, error), where in errors.items():
        print(f"- {tool}: {error} ({len(where)} operations: {', '.join(where[:4])}{', …' if len(where) > 4 else ''})")


def ratios_for(results: dict, inputs: list[dict], peer: str, kind: str, ops: tuple[str, ...]) -> list[float]:
    values = []
    for item in inputs:
        if not item["name"].endswith("." + kind):
            continue
        for op in ops:
            value = ratio(results.get((peer, op, item["name"])), results.get((ACCOLADE, op, item["name"])))
            if value is not None:
                values.append(value)
    return values


def print_targets(results: dict, inputs: list[dict]) -> None:
    print("\nTargets (ratio of the peer's median to Accolade's, over every input of that kind):")
    checks = [
        ("PNG bake vs PyPI", PYPI, "png", ("bake-url", "bake-json"), PNG_BAKE_VS_PYPI),
        ("PNG unbake vs PyPI", PYPI, "png", ("unbake",), PNG_BAKE_VS_PYPI),
        ("SVG bake vs npm", NPM, "svg", ("bake-url", "bake-json"), SVG_BAKE_VS_NPM),
        ("SVG unbake vs npm", NPM, "svg", ("unbake",), SVG_BAKE_VS_NPM),
    ]
    for label, peer, kind, ops, target in checks:
        values = ratios_for(results, inputs, peer, kind, ops)
        if not values:
            print(f"- {label}: no comparable figures")
            continue
        if min(values) >= target:
            verdict = "met"
        elif statistics.median(values) >= target:
            verdict = "met for the median figure, missed for some"
        else:
            verdict = "missed"
        print(
            f"- {label} ≥ {target}×: min {ratio_text(min(values))}, median {ratio_text(statistics.median(values))}, "
            f"max {ratio_text(max(values))} over {len(values)} figures: {verdict}"
        )
    for label, peer, kind, ops in [
        ("PNG bake vs npm", NPM, "png", ("bake-url", "bake-json")),
        ("PNG unbake vs npm", NPM, "png", ("unbake",)),
        ("SVG bake vs PyPI", PYPI, "svg", ("bake-url", "bake-json")),
        ("SVG unbake vs PyPI", PYPI, "svg", ("unbake",)),
    ]:
        values = ratios_for(results, inputs, peer, kind, ops)
        if values:
            print(f"- {label} (no target): min {ratio_text(min(values))}, median {ratio_text(statistics.median(values))}, max {ratio_text(max(values))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=None, help="timed seconds per operation and tool (BENCH_SECONDS, default 1.0)")
    parser.add_argument("--inputs", type=Path, default=BENCH / "inputs", help="the folder with manifest.json (default bench/inputs)")
    parser.add_argument("--accolade", type=Path, default=None, help="an accolade binary to time instead of building one (release build expected)")
    args = parser.parse_args()

    python = setup_python()
    setup_node()
    accolade = args.accolade.resolve() if args.accolade else build_accolade()

    env = dict(os.environ)
    if args.seconds is not None:
        env["BENCH_SECONDS"] = str(args.seconds)
    folder = args.inputs.resolve()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))

    tools = [
        (ACCOLADE, [str(accolade), "bench-bake", str(folder), "--write-baked"]),
        (PYPI, [str(python), str(PEERS / "bakery_py.py"), str(folder)]),
        (NPM, ["node", "--no-deprecation", str(PEERS / "bakery_node.js"), str(folder)]),
    ]
    results: dict = {}
    runs = []
    all_lines = []
    for name, command in tools:
        lines, run = run_tool(name, command, env)
        runs.append(run)
        all_lines.extend(lines)
        for line in lines:
            results[(line["tool"], line["op"], line["input"])] = line

    info = machine()
    print(f"Machine: {info['cpus']} × {info['cpu_model']}, {info['memory_gib']} GiB, Linux {info['kernel']}, "
          f"Python {info['python']}, Node {info['node']}")
    for run in runs:
        print(f"- {run['tool']}: started {run['started']}, {run['seconds']} s, load average "
              f"{' '.join(map(str, run['load_before']))} before, {' '.join(map(str, run['load_after']))} after")
    print()
    print_table(results, manifest["inputs"], folder)
    print_errors(results)
    print_targets(results, manifest["inputs"])

    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"compare-{stamp}.json"
    path.write_text(json.dumps({"machine": info, "runs": runs, "lines": all_lines}, indent=1), encoding="utf-8")
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
