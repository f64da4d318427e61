"""Modes and inherited secrets (issue 14.10): what holds the trail's content or keys is the owner's only, and a
signing passphrase in the environment never reaches the long-running Phoenix process."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gxp_otel.phoenix.server import PhoenixServer, free_port
from gxp_otel.review.index import build_index
from part11.p11_helpers import small_trail


def gxp(*args: str):
    return subprocess.run([sys.executable, "-m", "gxp_otel.cli", *args], capture_output=True, text=True, timeout=300)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def wide_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_review_page_and_index_are_written_0600(tmp_path, wide_umask):
    trail = tmp_path / "trail"
    small_trail(trail).close()
    page = tmp_path / "review.html"
    page.write_text("an older page")
    page.chmod(0o644)
    done = gxp("report", str(trail), "-o", str(page))
    assert done.returncode in (0, 1), done.stderr
    assert _mode(page) == 0o600 and "an older page" not in page.read_text()
    written, _count = build_index(trail)
    assert _mode(written) == 0o600
    assert gxp("index", str(trail)).returncode == 0 and _mode(written) == 0o600


def test_keygen_creates_its_key_directory_0700(tmp_path, wide_umask):
    assert gxp("keygen", str(tmp_path / "keys" / "writer.pem")).returncode == 0
    assert _mode(tmp_path / "keys") == 0o700
    assert _mode(tmp_path / "keys" / "writer.pem") == 0o600


@pytest.mark.phoenix
def test_phoenix_does_not_inherit_a_signing_passphrase_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("GXP_SIGNER_PASSPHRASE", "correct horse battery")
    monkeypatch.setenv("SIGNER_PASS", "correct horse battery")
    server = PhoenixServer(tmp_path / "data", http_port=free_port(), grpc_port=free_port())
    server.start()
    try:
        pid = server.read_record().pid
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    finally:
        assert server.stop()
    names = {entry.split(b"=", 1)[0] for entry in environment if entry}
    assert b"PHOENIX_PORT" in names and b"PATH" in names
    assert not names & {b"GXP_SIGNER_PASSPHRASE", b"SIGNER_PASS"}
    assert not any(b"correct horse battery" in entry for entry in environment)
