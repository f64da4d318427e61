"""Verifier speed against the hashing limit (issue 16). Run: .venv/bin/python bench/bench_verify.py [--quick] [--write]

One trail, written by AuditTrailWriter from the records of the example workflow (bench_review.make_trail: the
span and log bodies of examples/pharma_test_generation.py replayed with fresh run and trace ids, cached under
data/), and in ONE run, interleaved round by round (A B C ... A B C ...), each a whole fresh process with the page
cache warm:

1. ``openssl dgst -sha256`` over the chain files: the hashing limit (SHA-NI);
2. a floor for our record rule: per line ``orjson.loads`` + sorted ``orjson.dumps`` + SHA-256, one process;
3. ``gxp-otel verify TRAIL`` and 4. ``gxp-otel verify --alcoa TRAIL``;
5. ``gxp-otel report TRAIL`` (records/s; it verifies in a second process and builds the review page);
6. the Go verifier ``build/gxpaudit-verify TRAIL`` (built by the Makefile's rule).

Figures are medians over the rounds; peak RSS is the largest single process of the command (GNU ``time``). The load
average is printed with the results: this 2-core machine is shared, so compare the ratios of one run. With --write
the results replace the ``<!-- verify:begin -->`` block of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_review  # noqa: E402  (the example-workflow trail generator)

BIN = ROOT / ".venv" / "bin"
GO_VERIFY = ROOT / "build" / "gxpaudit-verify"
FLOOR = """
import hashlib, sys, orjson
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for line in f:
            record = orjson.loads(line)
            hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()
"""
BEGIN, END = "<!-- verify:begin -->", "<!-- verify:end -->"


def _run(argv: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, float]:
    """(wall s, CPU s of the command and its children, peak RSS MiB of its largest process) of one command.
    GNU time reports the RSS: a process forked from this one would count this process's own memory."""
    start = time.perf_counter()
    process = subprocess.Popen(["/usr/bin/time", "-f", "MAXRSS %M", *argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if code not in ok:
        raise RuntimeError(f"{argv} exited {code}: {errors[-2000:]}")
    rss_kb = int([line for line in errors.splitlines() if line.startswith("MAXRSS ")][-1].split()[1])
    return wall, usage.ru_utime + usage.ru_stime, rss_kb / 1024


def _commands(trail: Path, files: list[str], page: Path) -> dict[str, list[str]]:
    commands = {
        "openssl dgst -sha256 (the hashing limit)": ["openssl", "dgst", "-sha256", *files],
        "per line: orjson loads + sorted dumps + sha256 (floor)": [str(BIN / "python"), "-c", FLOOR, *files],
        "gxp-otel verify": [str(BIN / "gxp-otel"), "verify", str(trail)],
        "gxp-otel verify --alcoa": [str(BIN / "gxp-otel"), "verify", "--alcoa", str(trail)],
        "gxp-otel report": [str(BIN / "gxp-otel"), "report", str(trail), "-o", str(page)],
    }
    if GO_VERIFY.exists():
        commands["Go gxpaudit-verify"] = [str(GO_VERIFY), str(trail)]
    return commands


def bench(records: int, rounds: int) -> dict:
    trail = bench_review.make_trail(records)
    files = sorted(str(p) for p in trail.glob("audit-*-*.jsonl"))
    size = sum(os.path.getsize(f) for f in files)
    lines = sum(1 for f in files for _ in open(f, "rb"))
    with tempfile.TemporaryDirectory() as tmp:
        commands = _commands(trail, files, Path(tmp) / "review.html")
        for argv in commands.values():  # warm-up: page cache, .pyc files
            _run(argv, ok=(0, 3))
        loads = [os.getloadavg()[0]]
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, argv in commands.items():
                samples[name].append(_run(argv, ok=(0, 3)))
            loads.append(os.getloadavg()[0])
    rows = []
    verify_wall = statistics.median(s[0] for s in samples["gxp-otel verify"])
    for name, runs in samples.items():
        wall = statistics.median(s[0] for s in runs)
        rows.append({"what": name, "wall": wall, "cpu": statistics.median(s[1] for s in runs),
                     "rss": max(s[2] for s in runs), "mb_per_s": size / 1e6 / wall, "ratio": wall / verify_wall,
                     "records_per_s": lines / wall})
    return {"bytes": size, "lines": lines, "files": len(files), "rounds": rounds, "rows": rows,
            "load": (min(loads), max(loads)), "cores": os.cpu_count()}


def render(result: dict, command: str) -> str:
    rows = {r["what"]: r for r in result["rows"]}
    out = [
        BEGIN,
        "## Verifiers against the hashing limit (issue 16)",
        "",
        f"Measured with `{command}`: one trail of {result['bytes'] / 1e6:,.0f} MB ({result['lines']:,} records in "
        f"{result['files']} chain files) written by AuditTrailWriter from the example workflow's records; every "
        f"command a fresh process, page cache warm, {result['rounds']} rounds interleaved, medians; load average "
        f"{result['load'][0]:.1f}-{result['load'][1]:.1f} on {result['cores']} cores.",
        "",
        "| command | wall s | CPU s | MB/s | time vs `gxp-otel verify` | peak RSS (largest process) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        extra = f" ({r['records_per_s']:,.0f} records/s)" if r["what"] == "gxp-otel report" else ""
        out.append(f"| {r['what']} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['mb_per_s']:,.0f}{extra} | "
                   f"{r['ratio']:.2f} | {r['rss']:,.0f} MB |")
    verify, alcoa, report = rows["gxp-otel verify"], rows["gxp-otel verify --alcoa"], rows["gxp-otel report"]
    go = rows.get("Go gxpaudit-verify")
    out += [
        "",
        f"Goals: `gxp-otel verify` >= 300 MB/s: {verify['mb_per_s']:,.0f} ({_met(verify['mb_per_s'] >= 300)}); "
        f"peak RSS < 100 MB: {verify['rss']:,.0f} MB ({_met(verify['rss'] < 100)}); `--alcoa` within 1.2x: "
        f"{alcoa['wall'] / verify['wall']:.2f}x ({_met(alcoa['wall'] <= 1.2 * verify['wall'])}); `report` >= 60k "
        f"records/s: {report['records_per_s']:,.0f} ({_met(report['records_per_s'] >= 60_000)})"
        + (f"; Go >= 400 MB/s: {go['mb_per_s']:,.0f} ({_met(go['mb_per_s'] >= 400)})." if go else "."),
        END,
    ]
    return "\n".join(out) + "\n"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def write_section(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    current = path.read_text()
    if BEGIN in current:
        head, rest = current.split(BEGIN, 1)
        current = head + text + rest.split(END + "\n", 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 20,000-record trail, 2 rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="replace the verify block of docs/benchmarks.md")
    args = parser.parse_args()
    records, rounds = (20_000, 2) if args.quick else (150_000, args.rounds)
    result = bench(records, rounds)
    text = render(result, "make bench" if args.write and not args.quick else "bench/bench_verify.py"
                  + (" --quick" if args.quick else ""))
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
