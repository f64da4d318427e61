"""AuditTrailWriter and the SDK exporters: ordering, durability policy, rotation, recovery, sharing, failures."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import gxp_otel
from gxp_otel.audit.canonical import parse_time
from gxp_otel.audit.signing import generate_key_pem
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailBusyError, AuditTrailWriter, AuditWriteError
from trail_helpers import chain_files, records, traced


def test_exporter_is_constructible_with_just_the_directory_and_exported_from_the_package(tmp_path):
    exporter = gxp_otel.ComplianceSpanExporter(tmp_path)
    logs = gxp_otel.ComplianceLogExporter(tmp_path)
    assert exporter.writer is logs.writer
    exporter.shutdown()
    logs.shutdown()
    assert verify_trail(tmp_path).ok


def test_trail_holds_what_the_in_memory_exporter_saw(tmp_path):
    provider, exporter = traced(tmp_path)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("parent", attributes={"n": 3}):
        with tracer.start_as_current_span("child") as child:
            child.add_event("stream_event", {"event.type": "X"})
    provider.shutdown()
    seen = {format(s.context.span_id, "016x"): s for s in memory.get_finished_spans()}
    spans = [r["body"] for r in records(tmp_path) if r["kind"] == "span"]
    assert {b["span_id"] for b in spans} == set(seen)
    for body in spans:
        original = seen[body["span_id"]]
        assert body["name"] == original.name
        assert body["start_time_unix_nano"] == str(original.start_time)
        assert body["gxp"]["user_id"] == "tester"
    child = next(b for b in spans if b["name"] == "child")
    parent = next(b for b in spans if b["name"] == "parent")
    assert child["parent_span_id"] == parent["span_id"]
    assert child["events"][0]["attributes"] == {"event.type": {"stringValue": "X"}}
    assert parent["attributes"] == {"n": {"intValue": "3"}}


def test_files_are_0600_and_the_directory_0700(tmp_path):
    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail)
    writer.append("log", [{"x": {"stringValue": "y"}}])
    writer.close()
    assert stat.S_IMODE(trail.stat().st_mode) == 0o700
    for path in trail.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


@pytest.mark.parametrize("policy,expected_fsyncs", [("batch", 1), ("always", 5)])
def test_fsync_policy_sets_the_number_of_fsyncs_per_export(tmp_path, policy, expected_fsyncs):
    writer = AuditTrailWriter(tmp_path, fsync=policy)
    before = writer.stats["fsyncs"]
    writer.append("log", [{"i": {"intValue": str(i)}} for i in range(5)])
    assert writer.stats["fsyncs"] - before == expected_fsyncs
    writer.close()


def test_unknown_fsync_policy_is_refused_with_its_name():
    with pytest.raises(ValueError, match="fsync must be one of"):
        AuditTrailWriter("/tmp/never-created-gxp", fsync="sometimes")


def test_threads_produce_one_well_ordered_chain(tmp_path):
    writer = AuditTrailWriter(tmp_path)

    def work(n):
        for i in range(50):
            writer.append("log", [{"thread": {"intValue": str(n)}, "i": {"intValue": str(i)}}] * 3)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    report = verify_trail(tmp_path)
    assert report.ok, report.problems
    assert sum(1 for r in records(tmp_path) if r["kind"] == "log") == 8 * 50 * 3


def test_two_writers_on_one_directory_get_separate_streams(tmp_path):
    first = AuditTrailWriter(tmp_path)
    second = AuditTrailWriter(tmp_path)
    assert first.stream_id != second.stream_id
    with pytest.raises(AuditTrailBusyError):
        AuditTrailWriter(tmp_path, stream_id=first.stream_id)
    first.close()
    second.close()
    assert len(verify_trail(tmp_path).streams) == 2


def test_several_processes_write_one_directory_without_sharing_a_file(tmp_path):
    ready = tmp_path / "ready"
    ready.mkdir()
    script = (  # all three hold their writer before any writes, so they truly overlap
        "import os, sys, time; from gxp_otel.audit.writer import AuditTrailWriter\n"
        "w = AuditTrailWriter(sys.argv[1])\n"
        "open(os.path.join(sys.argv[2], str(os.getpid())), 'w').close()\n"
        "deadline = time.time() + 30\n"
        "while len(os.listdir(sys.argv[2])) < 3 and time.time() < deadline: time.sleep(0.01)\n"
        "for i in range(200): w.append('log', [{'i': {'intValue': str(i)}}])\n"
        "w.close()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(ready)]) for _ in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    report = verify_trail(tmp_path)
    assert report.ok and len(report.streams) == 3
    assert all(s.counts["log"] == 200 for s in report.streams)


def test_size_rotation_continues_the_chain_and_compresses_closed_files(tmp_path):
    writer = AuditTrailWriter(tmp_path, rotate_bytes=8192)
    for i in range(60):
        writer.append("log", [{"payload": {"stringValue": "x" * 400}, "i": {"intValue": str(i)}}])
    writer.close()
    names = [p.name for p in chain_files(tmp_path)]
    assert len(names) > 3
    assert all(n.endswith(".jsonl.gz") for n in names[:-1]) and names[-1].endswith(".jsonl")
    report = verify_trail(tmp_path)
    assert report.ok and report.streams[0].counts["rotation"] == len(names) - 1


def test_daily_rotation_starts_a_new_file_at_utc_midnight(tmp_path):
    day = 86_400_000_000_000
    clock = iter(range(20 * day - 5_000_000_000, 30 * day, 1_000_000_000))
    writer = AuditTrailWriter(tmp_path, clock=lambda: next(clock), compress=False)
    for _ in range(10):
        writer.append("log", [{"x": {"stringValue": "tick"}}])
    writer.close()
    rotations = [r for r in records(tmp_path) if r["kind"] == "rotation"]
    assert [r["body"]["reason"] for r in rotations] == ["time"]
    assert verify_trail(tmp_path).ok


def test_restart_after_a_torn_write_quarantines_the_bytes_and_records_recovery(tmp_path):
    writer = AuditTrailWriter(tmp_path, stream_id="s.0")
    writer.append("log", [{"x": {"stringValue": "acknowledged"}}])
    path = writer.current_file
    writer.abandon()  # the process "dies": lock released, no close checkpoint
    with open(path, "ab") as handle:
        handle.write(b'{"body":{"x":{"stringValue":"half')
    resumed = AuditTrailWriter(tmp_path, stream_id="s.0")
    resumed.close()
    quarantined = list(tmp_path.glob("*.quarantine-*.bin"))
    assert [q.read_bytes() for q in quarantined] == [b'{"body":{"x":{"stringValue":"half']
    recovery = next(r for r in records(tmp_path) if r["kind"] == "recovery")
    assert recovery["body"]["reason"] == "unclean-shutdown"
    assert recovery["body"]["torn_bytes"] == str(len(b'{"body":{"x":{"stringValue":"half'))
    assert recovery["body"]["quarantine_file"] == quarantined[0].name
    assert any(r["body"].get("x") == {"stringValue": "acknowledged"} for r in records(tmp_path))
    assert verify_trail(tmp_path).ok


def test_clean_restart_continues_the_same_chain(tmp_path):
    AuditTrailWriter(tmp_path, stream_id="s.0").close()
    AuditTrailWriter(tmp_path, stream_id="s.0").close()
    kinds = [r["kind"] for r in records(tmp_path)]
    assert kinds.count("genesis") == 1 and kinds.count("recovery") == 1
    assert next(r for r in records(tmp_path) if r["kind"] == "recovery")["body"]["reason"] == "clean-restart"


def test_a_failed_write_is_rolled_back_and_recorded_as_a_gap(tmp_path, monkeypatch):
    provider, exporter = traced(tmp_path)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("before"):
        pass
    real_write = os.write
    failures = {"left": 1}

    def full_disk(fd, data):
        if fd == exporter.writer.chain_fd and failures["left"]:
            failures["left"] -= 1
            real_write(fd, bytes(data)[:17])  # a partial write, then the error
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    lost = tracer.start_span("lost")
    lost.end()  # export fails: FAILURE, counted
    with tracer.start_as_current_span("after"):
        pass
    provider.shutdown()
    gap = [r for r in records(tmp_path) if r["kind"] == "gap"]
    assert len(gap) == 1 and gap[0]["body"]["count"] == "1" and "No space left" in gap[0]["body"]["reason"]
    assert [r["body"]["name"] for r in records(tmp_path) if r["kind"] == "span"] == ["before", "after"]
    report = verify_trail(tmp_path)
    assert report.ok and report.streams[0].lost == {"spans": 1}


def test_export_after_shutdown_fails_and_shutdown_is_idempotent(tmp_path):
    provider, exporter = traced(tmp_path)
    exporter.shutdown()
    exporter.shutdown()
    assert exporter.export([]) is SpanExportResult.FAILURE


def test_unserialisable_and_invalid_values_are_recorded_coerced_and_flagged(tmp_path):
    writer = AuditTrailWriter(tmp_path)
    from gxp_otel.audit.values import encode_value

    cyclic: list = []
    cyclic.append(cyclic)
    coerced: list[str] = []
    body = {"body": encode_value({"obj": object(), "cycle": cyclic, "big": 2**70, "s": "lone \ud800"}, "body", coerced)}
    body["coerced"] = coerced
    writer.append("log", [body])
    writer.close()
    log = next(r for r in records(tmp_path) if r["kind"] == "log")["body"]
    reasons = " | ".join(log["coerced"])
    for reason in ("not-json-type:object", "cycle", "int-out-of-range", "invalid-utf8"):
        assert reason in reasons
    assert log["body"]["kvlistValue"]["s"] == {"stringValue": "lone \ufffd"}
    assert verify_trail(tmp_path).ok


def test_checkpoints_are_signed_and_copied_to_the_checkpoint_file(tmp_path):
    _, signer = generate_key_pem()
    writer = AuditTrailWriter(tmp_path, signing_key=signer, checkpoint_records=10)
    for _ in range(25):
        writer.append("log", [{"x": {"stringValue": "y"}}])
    writer.close()
    checkpoints = [r for r in records(tmp_path) if r["kind"] == "checkpoint"]
    held = (tmp_path / f"audit-{writer.stream_id}.checkpoints.jsonl").read_text().splitlines()
    assert len(checkpoints) == len(held) >= 3
    assert all(c["body"]["key_id"] == signer.key_id for c in checkpoints)
    report = verify_trail(tmp_path, trusted_keys=[signer.public_key_hex])
    assert report.ok and report.streams[0].signed_checkpoints == len(checkpoints)
    from cryptography.hazmat.primitives import serialization

    secret = signer.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption())
    everything = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.hex().encode() not in everything and secret not in everything  # keys never enter the trail


def test_a_crash_between_rotation_and_the_next_file_resumes_in_the_next_file(tmp_path):
    writer = AuditTrailWriter(tmp_path, stream_id="s.0", rotate_bytes=4096, compress=False)
    while writer.stats["rotations"] == 0:
        writer.append("log", [{"x": {"stringValue": "y" * 300}}])
    fresh = writer.current_file
    writer.abandon()  # the process "dies": lock released, no close checkpoint
    fresh.unlink()  # the process died after sealing the old file, before the new one existed
    AuditTrailWriter(tmp_path, stream_id="s.0", compress=False).close()
    assert fresh.exists()
    report = verify_trail(tmp_path)
    assert report.ok, report.problems


def test_a_record_over_the_line_limit_is_never_written_but_recorded_as_a_gap(tmp_path):
    """§2.1: writers MUST NOT write a line over 16 MiB. The record is lost, visibly: a gap record counts it, the
    records around it are written, and the trail verifies (a verifier would call the long line malformed)."""
    from gxp_otel.audit.reading import MAX_LINE_BYTES

    writer = AuditTrailWriter(tmp_path, stream_id="lims.0", compress=False)
    writer.append("log", [{"i": {"intValue": "1"}}])
    writer.append("log", [{"big": {"stringValue": "x" * MAX_LINE_BYTES}}, {"i": {"intValue": "2"}}])
    with pytest.raises(AuditWriteError, match="line limit"):
        writer.append("signature", [{"big": {"stringValue": "x" * MAX_LINE_BYTES}}])
    writer.append("log", [{"i": {"intValue": "3"}}])
    writer.close()
    written = records(tmp_path)
    assert all(len(line) <= MAX_LINE_BYTES for line in (tmp_path / "audit-lims.0-000001.jsonl").read_bytes().split(b"\n"))
    gaps = [r["body"] for r in written if r["kind"] == "gap"]
    assert [(g["signal"], g["count"]) for g in gaps] == [("logs", "1")] and "line limit" in gaps[0]["reason"]
    assert [r["body"]["i"]["intValue"] for r in written if r["kind"] == "log"] == ["1", "2", "3"]
    assert verify_trail(tmp_path).problems == []


_DAY_NS = 86_400_000_000_000


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.tuples(st.integers(0, 1500), st.sampled_from([1, 1_000, _DAY_NS // 3])),
                                 min_size=1, max_size=6), min_size=1, max_size=6))
def test_rotation_comes_before_exactly_the_record_section_8_names(tmp_path_factory, batches):
    """§8, checked from the files: a record stays in its file while the file is empty or it is recorded on the day
    of the file's first record and its line fits ``rotate_bytes``; the record after a rotation did not."""
    directory = tmp_path_factory.mktemp("rotation")
    steps = [step for batch in batches for _, step in batch]
    times = [_DAY_NS - 10**12]
    for step in steps * 3 + [1] * 64:  # every record, gap, checkpoint and rotation reads the clock once
        times.append(times[-1] + step)
    clock = iter(times)
    writer = AuditTrailWriter(directory, rotate_bytes=4096, compress=False, checkpoint_records=7,
                              clock=lambda: next(clock))
    for batch in batches:
        writer.append("log", [{"text": "x" * size} for size, _ in batch])
    writer.close()
    files = [(path, path.read_bytes().splitlines(keepends=True)) for path in chain_files(directory)]
    for number, (path, lines) in enumerate(files):
        parsed = [orjson.loads(line) for line in lines]
        first_day = _utc_day(parsed[0]["time"])
        used = 0
        for line, record in zip(lines, parsed):
            if record["kind"] in ("log", "gap") and used:
                assert _utc_day(record["time"]) == first_day and used + len(line) <= 4096, (path.name, record["seq"])
            used += len(line)
        if number + 1 < len(files):
            assert [r["kind"] for r in parsed[-2:]] == ["rotation", "checkpoint"]
            rotation, following = parsed[-2], files[number + 1][1][0]
            used_before = sum(len(line) for line in lines[:-2])
            # the rotation record holds the clock reading that triggered it; the exact test used its seq
            length = len(following) - len(orjson.loads(following)["seq"]) + len(rotation["seq"])
            assert _utc_day(rotation["time"]) != first_day or used_before + length > 4096, path.name
    assert verify_trail(directory).ok


def _utc_day(recorded: str) -> int:
    return parse_time(recorded) // _DAY_NS
