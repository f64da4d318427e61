"""Writer restart after a long torn final line (issue 14.5). Run: .venv/bin/python bench/bench_torn_restart.py [MiB]

Writes a small trail, appends a torn line of MiB mebibytes (default 64) without its newline, as a crash mid-write
would leave it, and times the restart: recovery reads the tail backwards once, quarantines the torn bytes and
truncates. Prints one Markdown table row.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from gxp_otel.audit.writer import AuditTrailWriter


def main() -> None:
    mebibytes = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    with tempfile.TemporaryDirectory(prefix="gxp-torn-") as work:
        trail = Path(work)
        writer = AuditTrailWriter(trail, stream_id="t.0", compress=False)
        writer.append("log", [{"m": {"stringValue": "before the crash"}}])
        path = writer.current_file
        writer.abandon()
        with open(path, "ab") as handle:
            handle.write(b'{"torn":"' + b"y" * (mebibytes << 20))
        started = time.perf_counter()
        writer = AuditTrailWriter(trail, stream_id="t.0", compress=False)
        seconds = time.perf_counter() - started
        writer.close()
        quarantined = sum(p.stat().st_size for p in trail.glob("*quarantine*"))
    print(f"| restart after a {mebibytes} MiB torn line | {seconds:.2f} s | {quarantined:,} bytes quarantined |")


if __name__ == "__main__":
    main()
