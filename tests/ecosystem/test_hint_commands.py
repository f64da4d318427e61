"""13.9: a hint names the command as the user can paste it — `gxp-otel` only when their PATH finds that one,
else the path they ran (`.venv/bin/gxp-otel`) or `python -m gxp_otel.cli`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gxp_otel.cli.invocation import command

ROOT = Path(__file__).resolve().parents[2]


def test_the_hint_is_the_path_that_was_run_when_path_does_not_find_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert command(".venv/bin/gxp-otel") == ".venv/bin/gxp-otel"
    assert command("/usr/bin/python3") == f"{sys.executable} -m gxp_otel.cli"


def test_the_hint_is_the_bare_name_when_path_finds_the_same_program(monkeypatch, tmp_path):
    program = tmp_path / "gxp-otel"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert command(str(program)) == "gxp-otel"


def test_a_cli_hint_printed_from_the_venv_can_be_pasted_as_is(tmp_path):
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # .venv/bin not on PATH, as after `make demo`
    done = subprocess.run([".venv/bin/gxp-otel", "ingest-token", str(tmp_path), "lims"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert f"run `.venv/bin/gxp-otel ingest-keys {tmp_path}` first" in done.stderr, done.stderr
