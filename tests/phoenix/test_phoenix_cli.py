"""`gxp-otel phoenix start|stop|status` as a user types them (exit codes: status 0 running / 1 stopped)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gxp_otel.cli import app
from gxp_otel.phoenix import free_port

runner = CliRunner()


@pytest.mark.phoenix
def test_status_reports_the_running_server_with_its_pid_and_ports(phoenix) -> None:
    result = runner.invoke(app, ["phoenix", "status", "--data-dir", str(phoenix.server.data_dir), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["state"] == "running" and status["url"] == phoenix.url
    assert status["process"]["pid"] == phoenix.server.read_record().pid
    assert status["grpc_port"] == phoenix.server.grpc_port


@pytest.mark.phoenix
def test_start_when_running_says_so_and_keeps_the_same_process(phoenix) -> None:
    pid = phoenix.server.read_record().pid
    result = runner.invoke(app, ["phoenix", "start", "--data-dir", str(phoenix.server.data_dir)])
    assert result.exit_code == 0, result.output
    assert "already running" in result.output and phoenix.url in result.output
    assert phoenix.server.read_record().pid == pid


def test_status_without_a_server_exits_1_and_stop_stops_nothing(tmp_path: Path) -> None:
    port = str(free_port())
    status = runner.invoke(app, ["phoenix", "status", "--data-dir", str(tmp_path), "--port", port])
    assert status.exit_code == 1 and "not running" in status.output
    stop = runner.invoke(app, ["phoenix", "stop", "--data-dir", str(tmp_path)])
    assert stop.exit_code == 0 and "nothing stopped" in stop.output


def test_start_on_a_taken_port_fails_with_exit_1_and_names_the_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = runner.invoke(app, ["phoenix", "start", "--data-dir", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 1
    assert f"127.0.0.1:{port} is in use" in result.output
