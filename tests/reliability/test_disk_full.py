"""A real full file system (a small tmpfs mounted for the test): exports fail cleanly with the path named, nothing
acknowledged is lost, and once space is back the loss is recorded as a gap and the trail verifies.

Needs root (mount); skips cleanly elsewhere."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter, AuditWriteError
from fault_results import record_result
from trail_helpers import records


@pytest.fixture()
def small_filesystem(tmp_path):
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_fails_exports_loses_nothing_acknowledged_and_records_the_gap(small_filesystem):
    trail = small_filesystem / "audit"
    writer = AuditTrailWriter(trail, compress=False)
    acknowledged, failures = [], 0
    for i in range(2000):
        marker = uuid.uuid4().hex
        try:
            writer.append("log", [{"marker": {"stringValue": marker}, "pad": {"stringValue": "x" * 400}}])
            acknowledged.append(marker)
        except AuditWriteError as exc:
            failures += 1
            assert "No space left" in str(exc) and str(trail) in str(exc)
            if failures == 5:
                break
    assert failures == 5 and acknowledged
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_filesystem)], check=True)
    writer.append("log", [{"marker": {"stringValue": "after-space-returned"}}])
    writer.close()
    kept = {r["body"]["marker"]["stringValue"] for r in records(trail) if r["kind"] == "log"}
    gaps = [r["body"] for r in records(trail) if r["kind"] == "gap"]
    report = verify_trail(trail)
    record_result("disk-full-tmpfs", acknowledged=len(acknowledged), failed_exports=failures,
                  lost_acknowledged=len(set(acknowledged) - kept), gap_count=sum(int(g["count"]) for g in gaps),
                  verified=report.ok)
    assert set(acknowledged) <= kept and "after-space-returned" in kept
    assert sum(int(g["count"]) for g in gaps) == failures
    assert report.ok, report.problems
