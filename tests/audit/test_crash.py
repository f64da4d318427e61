"""SIGKILL a writer mid-stream, restart it: every acknowledged record is in the trail and the chain verifies."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from fault_results import record_result
from trail_helpers import records

CHILD = Path(__file__).with_name("crash_writer.py")


def _kill_after(directory: Path, acknowledgements: int) -> set[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, str(CHILD), str(directory)], stdout=subprocess.PIPE, env=env)
    acked: set[str] = set()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < acknowledgements and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acked.add(line.decode().strip())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert len(acked) >= acknowledgements, "the child stopped acknowledging"
    return acked


def _span_ids(directory: Path) -> set[str]:
    return {r["body"]["span_id"] for r in records(directory) if r["kind"] == "span"}


@pytest.mark.parametrize("kills", [3])
def test_sigkill_mid_stream_loses_no_acknowledged_record(tmp_path, kills):
    rng = random.Random(20261127)
    acked: set[str] = set()
    for _ in range(kills):
        acked |= _kill_after(tmp_path, rng.randint(50, 400))
        AuditTrailWriter(tmp_path, stream_id="crash.0").close()  # restart: recovery, then a clean close
    assert acked <= _span_ids(tmp_path)
    report = verify_trail(tmp_path)
    assert report.ok, report.to_dict()["problems"]
    recoveries = [r for r in records(tmp_path) if r["kind"] == "recovery"]
    assert sum(r["body"]["reason"] == "unclean-shutdown" for r in recoveries) == kills


@pytest.mark.slow
def test_sigkill_at_100_random_points_loses_nothing_acknowledged(tmp_path):
    rng = random.Random(100)
    acked: set[str] = set()
    for _ in range(100):
        acked |= _kill_after(tmp_path, rng.randint(1, 300))
    AuditTrailWriter(tmp_path, stream_id="crash.0").close()
    present = _span_ids(tmp_path)
    report = verify_trail(tmp_path)
    record_result("sigkill-100", kills=100, acknowledged=len(acked), lost=len(acked - present), verified=report.ok,
                  recoveries=report.streams[0].counts.get("recovery", 0))
    assert acked <= present
    assert report.ok
