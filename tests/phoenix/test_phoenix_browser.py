"""A real browser (headless Debian chromium) opens a trace in Phoenix's UI and sees its spans.

The browser is Debian's ``/usr/bin/chromium`` (``make test`` installs it); Playwright's own browser download is never
used. The screenshot is kept in ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.phoenix, pytest.mark.browser, pytest.mark.usefixtures("no_otel_env")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_trace_page_shows_every_span_of_the_trace_and_loads_nothing_from_outside(phoenix, send_sample_trace, artifacts_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian chromium is missing: run `make chromium` (part of `make test`)"
    project = phoenix.new_project_name("browser")
    trace_id, _ = send_sample_trace(phoenix.url, project)
    assert phoenix.client.wait_for_spans(project, [trace_id], {trace_id: 3}) == {trace_id: 3}
    trace_url = phoenix.client.trace_url(phoenix.client.project_id(project), trace_id)

    requested_hosts: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 800}
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested_hosts.add(urlsplit(request.url).netloc))
            page.goto(trace_url)
            trace_tree = page.get_by_text(trace_id)
            trace_tree.first.wait_for(timeout=60_000)
            for name in ("workflow.run", "step.draft", "llm.call"):
                page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=artifacts_dir / "phoenix-trace.png")
        finally:
            browser.close()

    assert requested_hosts == {urlsplit(phoenix.url).netloc}, f"the UI fetched from {requested_hosts}"
    assert (artifacts_dir / "phoenix-trace.png").stat().st_size > 10_000
