"""Phoenix is optional for the workflow and for the audit trail: down from the start, or restarted mid-run, the
workflow completes, nothing crashes, and the trail is complete and verifies."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.phoenix import free_port
from gxp_otel.phoenix.audit_status import runs_in_trail

pytestmark = [pytest.mark.phoenix, pytest.mark.usefixtures("no_otel_env")]

LOOP = Path(__file__).with_name("workflow_loop.py")


def _loop(audit_dir: Path, endpoint: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(LOOP), "--audit-dir", str(audit_dir), "--otlp-endpoint", endpoint, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_runs(process: subprocess.Popen[str], count: int, started_after: float = 0.0) -> list[str]:
    """Read the child's ``run <id> <status> <start>`` lines until ``count`` more runs that started after
    ``started_after`` (Unix seconds) finished. Lines may have waited in the pipe, hence the start times."""
    seen = []
    while len(seen) < count:
        line = process.stdout.readline()
        assert line, f"the workflow process ended early: {process.stderr.read()[-2000:]}"
        _, run_id, status, started = line.split()
        assert status == "approved", line
        if float(started) > started_after:
            seen.append(run_id)
    return seen


def _finish(process: subprocess.Popen[str]) -> tuple[dict, str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), err


def test_phoenix_down_the_workflow_completes_and_the_trail_is_complete(tmp_path: Path) -> None:
    dead_endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result, err = _finish(_loop(tmp_path, dead_endpoint, "--max-runs", "2", "--pause", "0"))

    assert len(result["runs"]) == 2 and result["statistics"]["runs"] == {"started": 2, "completed": 2}
    assert "Failed to export" in err or "Transient error" in err, "the OTLP exporter never tried Phoenix"
    assert result["statistics"]["errors_by_kind"].get("otlp-export", 0) > 0, "export errors were not counted"
    report = verify_trail(tmp_path)
    assert report.ok, report.problems
    runs = runs_in_trail(tmp_path)
    assert sorted(r.run_id for r in runs) == sorted(result["runs"])
    assert len({r.spans for r in runs}) == 1 and runs[0].spans > 10, "a run lost spans from the trail"
    assert all(r.stream_events > 0 for r in runs)


def test_phoenix_restarted_mid_run_nothing_crashes_and_runs_after_the_restart_arrive_whole(phoenix, tmp_path) -> None:
    stop_file = tmp_path / "stop"
    audit_dir = tmp_path / "audit"
    process = _loop(audit_dir, phoenix.url, "--stop-file", str(stop_file))
    try:
        _wait_for_runs(process, 1)
        phoenix.server.stop()
        _wait_for_runs(process, 1, started_after=time.time())
        phoenix.server.start(timeout=180)
        after_restart = _wait_for_runs(process, 2, started_after=time.time())
    finally:
        stop_file.touch()
        if process.poll() is None and not stop_file.exists():
            process.kill()
    result, _ = _finish(process)

    started, completed = result["statistics"]["runs"]["started"], result["statistics"]["runs"]["completed"]
    assert started == completed == len(result["runs"]) >= 4
    report = verify_trail(audit_dir)
    assert report.ok, report.problems
    runs = {r.run_id: r for r in runs_in_trail(audit_dir)}
    assert set(runs) == set(result["runs"]), "a run is missing from the trail"
    later = [runs[run_id] for run_id in after_restart]
    counts = phoenix.client.wait_for_spans("resilience", [r.trace_id for r in later], {r.trace_id: r.spans for r in later})
    assert counts == {r.trace_id: r.spans for r in later}
