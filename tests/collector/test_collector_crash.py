"""SIGKILL of the collector mid-stream with the persistent queue: after a restart, every span the app was told was
accepted (HTTP 200) is in the trail, the chain verifies, and the restart is recorded (docs/audit-format.md §8, §9).
A batch that was in flight at the kill may be written twice: duplicates are allowed, losses are not."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
from pathlib import Path

import pytest

from fault_results import record_result
from otelcol_process import Collector, go_verify, require_build

pytestmark = pytest.mark.collector

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPANS_PER_REQUEST = 20


def request(number: int) -> tuple[dict, list[str]]:
    ids = [f"{number + 1:08x}{j + 1:08x}" for j in range(SPANS_PER_REQUEST)]  # never the all-zero (absent) id
    now = time.time_ns()
    spans = [{"traceId": TRACE_ID, "spanId": span_id, "name": f"step-{number}", "kind": 1,
              "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000),
              "attributes": [{"key": "gxp.user.id", "value": {"stringValue": "qa.author"}}]} for span_id in ids]
    payload = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "crash-test"}}]}, "scopeSpans": [{"spans": spans}]}]}
    return payload, ids


def span_ids_in(trail: Path) -> list[str]:
    ids = []
    for path in sorted(trail.glob("audit-*-*.jsonl")):
        for line in path.read_bytes().split(b"\n")[:-1]:  # a running collector may be mid-line: skip that part
            record = json.loads(line)
            if record["kind"] == "span":
                ids.append(record["body"]["span_id"])
    return ids


def test_sigkill_mid_stream_loses_no_acknowledged_span(tmp_path: Path) -> None:
    require_build()
    first = Collector(tmp_path, env={"GXP_AUDIT_STREAM": "crash.0"}).start()
    acknowledged: list[str] = []
    stop = threading.Event()

    def send() -> None:
        number = 0
        while not stop.is_set():
            payload, ids = request(number)
            number += 1
            try:
                if first.post("traces", payload, timeout=5) == 200:
                    acknowledged.extend(ids)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return  # the collector is gone

    sender = threading.Thread(target=send)
    sender.start()
    try:
        deadline = time.monotonic() + 30
        while len(acknowledged) < 60 * SPANS_PER_REQUEST and time.monotonic() < deadline:
            time.sleep(0.01)
        first.kill()  # mid-stream: the sender is still posting
    finally:
        stop.set()
        sender.join(30)
        first.kill()
    assert len(acknowledged) >= 60 * SPANS_PER_REQUEST

    second = Collector(tmp_path, env={"GXP_AUDIT_STREAM": "crash.0"})
    second.start()
    try:
        deadline = time.monotonic() + 60
        while not set(acknowledged) <= set(span_ids_in(second.audit_dir)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert second.stop() == 0
    finally:
        second.kill()

    written = span_ids_in(second.audit_dir)
    missing = set(acknowledged) - set(written)
    assert not missing, f"{len(missing)} acknowledged spans are not in the trail"
    status, report = go_verify(second.audit_dir)
    assert status == 0 and report["ok"], report["problems"]
    recoveries = [json.loads(line)["body"] for path in sorted(second.audit_dir.glob("audit-*-*.jsonl"))
                  for line in path.read_text().splitlines() if json.loads(line)["kind"] == "recovery"]
    assert [r["reason"] for r in recoveries] == ["unclean-shutdown"]


def _send_until_killed(collector: Collector, first_number: int, acknowledgements: int) -> list[str]:
    """Post requests from a thread until `acknowledgements` spans were acknowledged, then SIGKILL mid-stream."""
    acknowledged: list[str] = []
    stop = threading.Event()

    def send() -> None:
        number = first_number
        while not stop.is_set():
            payload, ids = request(number)
            number += 1
            try:
                if collector.post("traces", payload, timeout=5) == 200:
                    acknowledged.extend(ids)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return

    sender = threading.Thread(target=send)
    sender.start()
    try:
        deadline = time.monotonic() + 30
        while len(acknowledged) < acknowledgements and time.monotonic() < deadline:
            time.sleep(0.005)
        collector.kill()
    finally:
        stop.set()
        sender.join(30)
        collector.kill()
    return list(acknowledged)


@pytest.mark.slow
def test_sigkill_at_100_random_points_loses_no_acknowledged_span(tmp_path: Path) -> None:
    require_build()
    rng = random.Random(100)
    acknowledged: set[str] = set()
    for kill in range(100):
        collector = Collector(tmp_path, env={"GXP_AUDIT_STREAM": "crash.0"}).start()
        acknowledged |= set(_send_until_killed(collector, kill * 1000, rng.randint(1, 40) * SPANS_PER_REQUEST))
    final = Collector(tmp_path, env={"GXP_AUDIT_STREAM": "crash.0"}).start()
    try:
        deadline = time.monotonic() + 120
        while not acknowledged <= set(span_ids_in(final.audit_dir)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert final.stop() == 0
    finally:
        final.kill()
    missing = acknowledged - set(span_ids_in(final.audit_dir))
    status, report = go_verify(final.audit_dir)
    record_result("collector-sigkill-100", kills=100, acknowledged=len(acknowledged), lost=len(missing),
                  verified=bool(status == 0 and report["ok"]))
    assert not missing, f"{len(missing)} acknowledged spans are not in the trail"
    assert status == 0 and report["ok"], report["problems"]
