"""`PhoenixServer`: loopback only, found again from its data directory, never signals a process it did not launch."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gxp_otel.phoenix import PhoenixError, PhoenixServer, free_port
from gxp_otel.phoenix.loopback_serve import loopback_address

# /proc/net hex, 32-bit words in host (little-endian) order: 127.0.0.1, ::ffff:127.0.0.1, ::1
LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def _listening_addresses(port: int) -> set[str]:
    """Hex local addresses of every TCP socket in LISTEN state on ``port`` (IPv4 and IPv6, from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_wildcard_grpc_addresses_are_rewritten_to_loopback() -> None:
    assert loopback_address("[::]:4317") == "127.0.0.1:4317"
    assert loopback_address("0.0.0.0:4317") == "127.0.0.1:4317"
    assert loopback_address("10.1.2.3:4317") == "10.1.2.3:4317"


@pytest.mark.phoenix
def test_phoenix_listens_on_loopback_only_for_http_and_grpc(phoenix) -> None:
    for port in (phoenix.server.http_port, phoenix.server.grpc_port):
        addresses = _listening_addresses(port)
        assert addresses, f"nothing listens on port {port}"
        assert addresses <= LOOPBACK_HEX, f"port {port} listens on {addresses}"


@pytest.mark.phoenix
def test_status_from_another_object_finds_the_running_server_by_its_data_directory(phoenix) -> None:
    status = PhoenixServer(phoenix.server.data_dir).status()
    assert status.state == "running"
    assert status.url == phoenix.url
    assert status.process is not None and status.process.pid == phoenix.server.read_record().pid
    assert Path(status.process.working_dir, "phoenix.db").is_file()


@pytest.mark.phoenix
def test_start_while_running_reuses_the_same_process(phoenix) -> None:
    before = phoenix.server.read_record()
    status = PhoenixServer(phoenix.server.data_dir).start(timeout=10)
    assert status.state == "running"
    assert status.process == before


def test_stop_never_signals_a_process_it_did_not_launch(tmp_path: Path) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        server = PhoenixServer(tmp_path)
        server.phoenix_dir.mkdir(parents=True)
        record = {"pid": bystander.pid, "start_ticks": 1, "http_port": 1, "grpc_port": 2,
                  "working_dir": str(server.phoenix_dir), "log_file": "x", "started_at": 0.0}
        server.record_file.write_text(json.dumps(record))

        assert server.stop() is False
        assert bystander.poll() is None, "stop() killed a process that was not its Phoenix"
        assert not server.record_file.exists(), "a stale PID record was kept"
    finally:
        bystander.kill()
        bystander.wait()


def test_start_refuses_a_port_another_program_holds(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        server = PhoenixServer(tmp_path, http_port=squatter.getsockname()[1], grpc_port=free_port())
        with pytest.raises(PhoenixError, match="in use by another program"):
            server.start(timeout=5)
    assert server.read_record() is None


def test_status_of_a_data_directory_without_phoenix_is_stopped(tmp_path: Path) -> None:
    status = PhoenixServer(tmp_path, http_port=free_port()).status()
    assert status.state == "stopped" and status.process is None
