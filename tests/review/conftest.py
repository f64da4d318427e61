"""Trails for the review tests: the example workflow's own trail (signed), and the tampered test vectors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from review_cli import ARTIFACTS, ROOT, VECTORS, gxp


@pytest.fixture(scope="session", autouse=True)
def private_index_key(tmp_path_factory: pytest.TempPathFactory):
    """Index MAC keys go to a session directory, not the account's home (the CLI processes inherit this)."""
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old


@pytest.fixture(scope="session")
def workflow_trail(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three approved runs of examples/pharma_test_generation.py, offline, with signed checkpoints."""
    base = tmp_path_factory.mktemp("workflow")
    key = base / "writer.pem"
    assert gxp("keygen", str(key)).returncode == 0
    trail = base / "trail"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "pharma_test_generation.py"), "--audit-dir", str(trail), "--no-otlp",
         "--runs", "3", "--signing-key", str(key), "--json"],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {"trail": trail, "public_key": base / "writer.pem.pub", "runs": json.loads(done.stdout)["runs"]}


@pytest.fixture
def tampered_trail(tmp_path: Path):
    """A copy of one negative test vector's trail, by name."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(VECTORS / name / "trail", target)
        return target

    return copy


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
