"""Issue 13.7: `gxp-otel demo` works from an installed wheel (the example ships in the package), run from a
directory outside the repository, against a real Phoenix on free loopback ports.

The wheel is installed with `--no-deps` into a new venv whose dependencies come from this venv's site-packages
(a `.pth` line: that directory's own `.pth` files, among them the editable checkout's, are not processed), so the
`gxp_otel` that runs is the wheel's, not the checkout's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from gxp_otel.phoenix import PhoenixServer, free_port

pytestmark = pytest.mark.phoenix
REPO = Path(__file__).resolve().parents[2]


def test_gxp_otel_demo_from_an_installed_wheel(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, REPO],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("gxp_otel-*.whl")
    root = tmp_path / "venv"
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "deps-from-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                                wheel], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    where = subprocess.run([python, "-c", "import gxp_otel; print(gxp_otel.__file__)"], capture_output=True,
                           text=True, check=True).stdout.strip()
    assert where.startswith(purelib), where  # the wheel's package, not the checkout

    work = tmp_path / "elsewhere"
    work.mkdir()
    http_port, grpc_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "GXP_OTEL_", "PHOENIX_"))}
    try:
        demo = subprocess.run([root / "bin" / "gxp-otel", "demo", "--data-dir", work / "data", "--port", str(http_port),
                               "--grpc-port", str(grpc_port), "--runs", "1", "--json"],
                              cwd=work, env=env, capture_output=True, text=True, timeout=420)
    finally:
        PhoenixServer(work / "data").stop()
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    summary = json.loads(demo.stdout)
    assert summary["ok"] and summary["verified"]
    (run,) = summary["runs"]
    assert run["spans_in_phoenix"] == run["spans_in_trail"] > 0
    assert "pharma_test_generation.py" in demo.stderr and str(REPO) not in demo.stderr
