"""Demo benchmarks (issue 4). Run: .venv/bin/python bench/bench_demo.py [--rounds N] [--write]

Measures, on this machine, with the real parts:
1. Phoenix start time: ``PhoenixServer.start()`` on a fresh data directory until ``/healthz`` answers (cold DB).
2. Phoenix restart time: start again on the same data directory (DB exists, migrations done).
3. ``gxp-otel demo`` wall time warm (Phoenix already running, 2 workflow runs), as a user runs it (a subprocess).
4. Spans and stream events per workflow run, from the demo's own count (trail == Phoenix).

Prints Markdown; ``--write`` writes it to docs/benchmarks-demo.md. Free loopback ports are used, nothing on 6006.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gxp_otel.phoenix import PhoenixServer, free_port

ROOT = Path(__file__).resolve().parents[1]
GXP_OTEL = Path(sys.executable).with_name("gxp-otel")


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s (min {min(values):.1f}, max {max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    cold, warm_start, demo_wall, spans, events = [], [], [], [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-demo-") as data:
            server = PhoenixServer(data, http_port=free_port(), grpc_port=free_port())
            t0 = time.monotonic()
            server.start()
            cold.append(time.monotonic() - t0)
            server.stop()
            t0 = time.monotonic()
            server.start()
            warm_start.append(time.monotonic() - t0)
            try:
                command = [str(GXP_OTEL), "demo", "--data-dir", data, "--port", str(server.http_port),
                           "--grpc-port", str(server.grpc_port), "--runs", "2"]
                subprocess.run(command, cwd=ROOT, check=True, capture_output=True)  # first demo: key, trail created
                t0 = time.monotonic()
                out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
                demo_wall.append(time.monotonic() - t0)
            finally:
                server.stop()
        for got, want in re.findall(r": (\d+)/(\d+) spans in Phoenix", out):
            assert got == want, out
            spans.append(int(want))
        events.append(int(re.search(r"stream events\s+(\d+)", out).group(1)) / 2)
    report = "\n".join([
        "# Demo benchmarks",
        "",
        f"Machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, "
        f"{args.rounds} rounds, `{' '.join(['.venv/bin/python', 'bench/bench_demo.py', *sys.argv[1:]])}`.",
        "",
        "| measure | median |",
        "|---|---|",
        f"| Phoenix start, fresh data directory (until /healthz) | {_median(cold)} |",
        f"| Phoenix start, existing data directory | {_median(warm_start)} |",
        f"| `gxp-otel demo` wall time, Phoenix running (2 runs) | {_median(demo_wall)} |",
        f"| spans per workflow run (audit trail = Phoenix) | {min(spans)}-{max(spans)} |",
        f"| stream events per workflow run | {statistics.median(events):.0f} |",
        "",
    ])
    print(report)
    if args.write:
        (ROOT / "docs" / "benchmarks-demo.md").write_text(report)


if __name__ == "__main__":
    main()
