"""Simulated power loss at the file level: whatever was written after the last acknowledged (fsynced) batch may be
missing, cut anywhere, or left as zero-filled blocks. Restart must keep every acknowledged record and verify."""

from __future__ import annotations

import random

import pytest

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from fault_results import record_result
from trail_helpers import records


def _power_loss_run(directory, rng: random.Random, zero_fill: bool) -> tuple[set[str], int]:
    writer = AuditTrailWriter(directory, stream_id="p.0", compress=False)
    acknowledged: set[str] = set()
    for batch in range(rng.randint(1, 6)):
        markers = [f"{batch}-{i}-{rng.random()}" for i in range(rng.randint(1, 20))]
        writer.append("log", [{"m": {"stringValue": m}} for m in markers])
        acknowledged |= set(markers)
    path = writer.current_file
    durable = path.stat().st_size
    # one more batch is being written when the power fails: its bytes may be on disk whole, cut, or zero-filled,
    # but it was never acknowledged
    writer.append("log", [{"m": {"stringValue": f"in-flight-{i}"}} for i in range(5)])
    tail_length = path.stat().st_size - durable
    cut = rng.randint(durable, durable + tail_length)
    writer.abandon()
    with open(path, "r+b") as handle:
        handle.truncate(cut)
        if zero_fill and cut > durable:
            handle.seek(durable)
            handle.write(b"\0" * (cut - durable))
    AuditTrailWriter(directory, stream_id="p.0", compress=False).close()
    return acknowledged, cut - durable


@pytest.mark.parametrize("zero_fill", [False, True], ids=["cut", "zero-filled"])
def test_power_loss_after_the_last_fsync_loses_nothing_acknowledged(tmp_path, zero_fill):
    rng = random.Random(7 if zero_fill else 11)
    runs, acknowledged_total = 20, 0
    for run in range(runs):
        directory = tmp_path / f"run{run}"
        acknowledged, _ = _power_loss_run(directory, rng, zero_fill)
        acknowledged_total += len(acknowledged)
        kept = {r["body"]["m"]["stringValue"] for r in records(directory) if r["kind"] == "log"}
        assert acknowledged <= kept
        report = verify_trail(directory)
        assert report.ok, (run, report.problems)
    record_result(f"power-loss-{'zero-filled' if zero_fill else 'cut'}", runs=runs,
                  acknowledged=acknowledged_total, lost=0)
