"""Fixtures of the collector tests; the process helpers live in otelcol_process.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from otelcol_process import Collector, require_build


@pytest.fixture
def collector(tmp_path: Path):
    """A started collector on the default config; stopped (or killed) at the end if the test left it running."""
    require_build()
    running = Collector(tmp_path).start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.kill()
