"""`gxp-otel demo` end to end against the real Phoenix: every run's trace arrives whole, the trail verifies, each root
span carries its audit annotation, and a second run works too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gxp_otel.cli import app
from gxp_otel.demo import run_demo

pytestmark = [pytest.mark.phoenix, pytest.mark.usefixtures("no_otel_env")]


def _run(phoenix, data_dir: Path, project: str):
    return run_demo(data_dir, http_port=phoenix.server.http_port, grpc_port=phoenix.server.grpc_port,
                    project=project, runs=2, echo=lambda _: None)


def test_demo_twice_every_trace_arrives_whole_trail_verifies_and_root_spans_are_annotated(phoenix, tmp_path) -> None:
    project = phoenix.new_project_name("demo")
    first = _run(phoenix, tmp_path, project)

    assert not first.phoenix_started, "the demo started a second Phoenix instead of reusing the running one"
    assert len(first.runs) == 2
    for run in first.runs:
        assert run.run.spans > 10 and run.spans_in_phoenix == run.run.spans
        assert run.run.stream_events > 0
        assert run.trace_url.startswith(f"{phoenix.url}/projects/") and run.trace_url.endswith(run.run.trace_id)
    assert first.report is not None and first.report.ok
    assert all(s.signed_checkpoints > 0 for s in first.report.streams)

    annotations = phoenix.client.span_annotations(project, [r.run.root_span_id for r in first.runs])
    assert sorted(a["span_id"] for a in annotations) == sorted(r.run.root_span_id for r in first.runs)
    for annotation in annotations:
        assert annotation["name"] == "audit" and annotation["result"]["label"] == "verified"
        assert annotation["result"]["explanation"].startswith("audit: verified, stream ")

    second = _run(phoenix, tmp_path, project)
    assert second.ok and len(second.runs) == 2
    assert {r.run.trace_id for r in second.runs}.isdisjoint(r.run.trace_id for r in first.runs)
    assert second.report.records > first.report.records
    assert min(r.run.first_seq for r in second.runs) > max(r.run.last_seq for r in first.runs)


def test_demo_command_prints_the_summary_with_links_and_how_to_stop_phoenix(phoenix, tmp_path) -> None:
    result = CliRunner().invoke(app, [
        "demo", "--data-dir", str(tmp_path), "--port", str(phoenix.server.http_port),
        "--grpc-port", str(phoenix.server.grpc_port), "--project", phoenix.new_project_name("democli"), "--runs", "1",
    ])
    assert result.exit_code == 0, result.output
    assert "chain status       verified" in result.output
    assert f"{phoenix.url}/projects/" in result.output
    assert "audit: verified" in result.output
    from gxp_otel.cli.invocation import command

    assert f"{command()} phoenix stop --data-dir {tmp_path}" in result.output


def test_demo_starts_its_own_phoenix_when_none_runs_and_leaves_it_running(tmp_path) -> None:
    """The fresh-machine path. The gRPC port is taken (as by a local collector on 4317): the demo picks another."""
    import socket

    from gxp_otel.phoenix import PhoenixServer, free_port

    with socket.socket() as collector:
        collector.bind(("127.0.0.1", 0))
        collector.listen()
        try:
            result = run_demo(tmp_path, http_port=free_port(), grpc_port=collector.getsockname()[1], runs=1,
                              echo=lambda _: None)
            status = PhoenixServer(tmp_path).status()
            assert result.phoenix_started and result.ok
            assert status.state == "running" and status.url == result.phoenix_url, "the demo did not leave Phoenix running"
            assert status.grpc_port != collector.getsockname()[1]
        finally:
            pid = PhoenixServer(tmp_path).read_record().pid
            PhoenixServer(tmp_path).stop()
    try:
        os.waitpid(pid, 0)  # it was started from this test process: collect it (stop() has ended it)
    except ChildProcessError:
        pass  # already collected by subprocess's own clean-up
    assert not Path(f"/proc/{pid}").exists(), "the demo's Phoenix survived `phoenix stop`"
