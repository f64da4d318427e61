"""Issue 13.9: the README's Part 11 block runs as written (bash, from a directory holding the repository's `.venv`
and `examples/`, exactly the lines of the README), every command succeeds and the trail still verifies."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _part11_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Part 11: electronic signatures"):]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "no bash block in the README's Part 11 section"
    return match.group(1)


def test_the_readme_part11_block_runs_as_written(tmp_path):
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    (tmp_path / "examples").symlink_to(REPO / "examples")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LOG_CONSOLE": "false"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", _part11_block()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "signed by Alice Example (alice)" in done.stdout
    assert "OQ PASS" in done.stdout
    verified = subprocess.run([str(REPO / ".venv/bin/gxp-otel"), "verify", "data/audit", "--signer",
                               "keys/alice.key.signer.json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout
    assert (tmp_path / "oq-evidence" / "oq-evidence.json").is_file()
