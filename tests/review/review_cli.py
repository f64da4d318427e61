"""Helpers shared by the review tests (a uniquely named module: every test directory has its own conftest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "negative"
ARTIFACTS = ROOT / "test-artifacts"


def gxp(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the CLI as a user does; the process is waited for (and killed on timeout by subprocess.run)."""
    return subprocess.run([sys.executable, "-m", "gxp_otel.cli", *args], capture_output=True, text=True,
                          timeout=timeout)
