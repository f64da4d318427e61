"""A real browser (headless Debian chromium) opens a demo run's trace in Phoenix's UI: it shows the workflow's spans
and, on the root span, the run's ``audit: verified ...`` annotation, and the page loads nothing from outside this machine.

The browser is Debian's ``/usr/bin/chromium`` (``make test`` installs it); Playwright's own browser download is never
used. The screenshot is kept as ``test-artifacts/phoenix-trace.png`` for people to look at.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gxp_otel.demo import run_demo

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
WORKFLOW_SPANS = (
    "PharmaTestGenerationWorkflow.run",
    "PharmaTestGenerationWorkflow.ingest_urs",
    "PharmaTestGenerationWorkflow.categorize",
    "PharmaTestGenerationWorkflow.validate",
    "PharmaTestGenerationWorkflow.finalize",
)


def test_trace_page_shows_the_workflow_spans_and_the_audit_annotation(phoenix, tmp_path: Path, artifacts_dir: Path) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian chromium is missing: run `make chromium` (part of `make test`)"
    demo = run_demo(tmp_path, http_port=phoenix.server.http_port, grpc_port=phoenix.server.grpc_port,
                    project=phoenix.new_project_name("browser"), runs=1, echo=lambda _: None)
    assert demo.ok
    (run,) = demo.runs
    screenshot = artifacts_dir / "phoenix-trace.png"

    requested_hosts: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 850},
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested_hosts.add(urlsplit(request.url).netloc))
            page.goto(run.trace_url)
            page.get_by_text(run.run.trace_id).first.wait_for(timeout=60_000)
            for name in WORKFLOW_SPANS:
                page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
            badges = page.get_by_text("audit", exact=True)
            badges.first.wait_for(timeout=30_000)
            annotation = page.get_by_text(f"audit: verified, stream {run.run.stream} seq {run.run.first_seq}..").first
            page.wait_for_load_state("networkidle")  # the page has settled: no drawer still sliding in
            shown = False
            for attempt in range(5):  # a click can still be intercepted by a drawer or land before the handler
                for index in reversed(range(badges.count())):  # the root span's badge is the last one
                    try:
                        badges.nth(index).click(timeout=5_000)
                        annotation.wait_for(timeout=5_000)
                        shown = True
                        break
                    except PlaywrightError:  # intercepted click or timeout: close what covers it, next badge
                        page.keyboard.press("Escape")
                        continue
                if shown:
                    break
                page.wait_for_timeout(1_000)
            assert shown, "the audit annotation never appeared in Phoenix's UI"
            page.wait_for_load_state("networkidle")
            page.screenshot(path=screenshot)
        finally:
            browser.close()

    assert requested_hosts == {urlsplit(phoenix.url).netloc}, f"the UI fetched from {requested_hosts}"
    assert screenshot.stat().st_size > 10_000
