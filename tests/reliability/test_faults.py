"""Faults under a running writer: directory deleted, unwritable directory, disk errors; nothing acknowledged is lost,
the failure names the path, losses are recorded as gaps, and what was already written stays intact."""

from __future__ import annotations

import errno
import os
import shutil

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter, AuditWriteError
from trail_helpers import records, traced


def test_directory_deleted_under_a_running_writer_is_recreated_and_the_deletion_is_detected(tmp_path):
    trail = tmp_path / "trail"
    provider, exporter = traced(trail)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("before-deletion"):
        pass
    shutil.rmtree(trail)
    with tracer.start_as_current_span("after-deletion"):
        pass
    provider.shutdown()
    names = [r["body"].get("name") for r in records(trail) if r["kind"] == "span"]
    assert names == ["after-deletion"]
    recovery = [r for r in records(trail) if r["kind"] == "recovery"]
    assert [r["body"]["reason"] for r in recovery] == ["files-deleted"]
    report = verify_trail(trail)
    assert not report.ok
    assert {p.kind for p in report.problems} >= {"missing-file"}


def test_unwritable_directory_is_a_clear_error_naming_the_path(tmp_path, monkeypatch):
    target = tmp_path / "audit"
    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(target)):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", read_only)
    with pytest.raises(OSError) as raised:
        AuditTrailWriter(target)
    assert str(target) in str(raised.value) and "Read-only" in str(raised.value)


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO, errno.EACCES])
def test_write_errors_fail_the_export_never_raise_and_become_a_gap(tmp_path, monkeypatch, error):
    provider, exporter = traced(tmp_path)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("kept-1"):
        pass
    before = (tmp_path / exporter.writer.current_file.name).read_bytes()
    real_fsync = os.fsync
    broken = {"on": True}

    def failing_fsync(fd):
        if broken["on"] and fd == exporter.writer.chain_fd:
            raise OSError(error, os.strerror(error))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    span = tracer.start_span("lost")
    span.end()  # SimpleSpanProcessor: export returns FAILURE inside the SDK, nothing reaches the caller
    assert exporter.failed == 1
    broken["on"] = False
    with tracer.start_as_current_span("kept-2"):
        pass
    provider.shutdown()
    assert (tmp_path / exporter.writer.current_file.name).read_bytes().startswith(before)
    assert [r["body"]["name"] for r in records(tmp_path) if r["kind"] == "span"] == ["kept-1", "kept-2"]
    gaps = [r["body"] for r in records(tmp_path) if r["kind"] == "gap"]
    assert [(g["signal"], g["count"]) for g in gaps] == [("spans", "1")]
    assert verify_trail(tmp_path).ok


def test_writer_that_cannot_write_at_all_reports_failure_not_an_exception(tmp_path, monkeypatch):
    provider, exporter = traced(tmp_path)
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    result = exporter.export([])
    assert result is SpanExportResult.SUCCESS  # an empty batch writes nothing
    with pytest.raises(AuditWriteError):
        exporter.writer.append("log", [{"x": {"stringValue": "y"}}])
    monkeypatch.undo()
    provider.shutdown()
    assert verify_trail(tmp_path).streams[0].lost == {"logs": 1}
