"""The review page in a real browser (headless Debian chromium, opened from file://): an intact trail reads
VERIFIED, a tampered one NOT VERIFIED naming the broken record, the numbers are those of `gxp-otel verify`, runs
open into timelines, the CSV/JSON export downloads the reviewed records, printing gives a PDF, and the page requests
nothing but itself. Screenshots are kept in test-artifacts/ for people to look at."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from review_cli import gxp

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page():
    """A fresh chromium profile and page; everything it requested is in ``page.requested``. Closed afterwards."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian chromium is missing: run `make chromium` (part of `make test`)"
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900}, accept_downloads=True,
        )
        try:
            page = context.new_page()
            page.requested = []
            page.errors = []
            page.on("request", lambda request: page.requested.append(request.url))
            page.on("pageerror", lambda error: page.errors.append(str(error)))
            yield page
        finally:
            context.close()


def _report(trail: Path, out: Path, *extra: str) -> None:
    result = gxp("report", str(trail), "-o", str(out), *extra)
    assert result.returncode in (0, 1), result.stderr


def _only_the_page_itself(page, out: Path) -> None:
    others = [u for u in page.requested if urlsplit(u).scheme not in ("file", "data") or
              (urlsplit(u).scheme == "file" and Path(urlsplit(u).path) != out)]
    assert others == [], f"the page requested {others}"
    assert page.errors == []


def test_intact_trail_reads_verified_and_matches_verify(workflow_trail, browser_page, tmp_path, artifacts):
    page, out = browser_page, tmp_path / "review.html"
    key = str(workflow_trail["public_key"])
    _report(workflow_trail["trail"], out, "--trusted-key", key)
    verified = json.loads(gxp("verify", str(workflow_trail["trail"]), "--json", "--alcoa", "--trusted-key", key).stdout)
    page.goto(out.as_uri())
    banner = page.locator("#integrity-banner")
    assert banner.get_attribute("data-ok") == "true"
    assert banner.inner_text().startswith("VERIFIED.")
    assert f"{verified['records']:,} records in {verified['chains']} chain(s)" in banner.inner_text()
    chain_row = page.locator("#chains tbody tr").first.inner_text()
    stream = verified["streams"][0]
    assert stream["stream"] in chain_row and f"{stream['first_seq']} to {stream['last_seq']}" in chain_row
    assert stream["last_checkpoint"]["key_id"] in chain_row
    alcoa_rows = page.locator("#alcoa tbody tr")
    assert alcoa_rows.count() == len(verified["alcoa"]["principles"])
    enduring = page.locator("#alcoa tbody tr", has_text="Enduring").inner_text()
    assert f"{verified['alcoa']['principles']['enduring']['passed']:,}" in enduring
    assert page.locator("#runs-table tbody tr").count() == len(workflow_trail["runs"])
    assert page.locator(".charts svg.chart").count() == 5
    page.locator("#runs-table tbody tr").nth(1).click()
    detail = page.locator(".run-detail")
    assert "approved" in detail.inner_text() and "ApprovalDecisionEvent" in detail.inner_text()
    assert detail.locator("svg.timeline rect.step").count() >= 5
    page.locator("#runs-table tbody tr").first.click()
    page.screenshot(path=str(artifacts / "review-intact.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.screenshot(path=str(artifacts / "review-intact-top.png"))
    _only_the_page_itself(page, out)


def test_tampered_trail_shows_the_failure_and_names_the_record(tampered_trail, browser_page, tmp_path, artifacts):
    page, out = browser_page, tmp_path / "review.html"
    _report(tampered_trail("modified-body@seq-3"), out)
    page.goto(out.as_uri())
    banner = page.locator("#integrity-banner")
    assert banner.get_attribute("data-ok") == "false"
    assert banner.inner_text().startswith("NOT VERIFIED.") and "1 problem(s)" in banner.inner_text()
    cells = page.locator("#problems tbody tr").first.locator("td").all_inner_texts()
    assert cells[:5] == ["modified", "the record's content was changed after it was written",
                         "audit-vec.0-000001.jsonl", "4", "3"]
    flagged = page.locator("#records-table tbody tr.fail")
    assert flagged.count() == 1 and "vec.0 / 3" in flagged.inner_text() and "modified" in flagged.inner_text()
    page.screenshot(path=str(artifacts / "review-tampered.png"), full_page=True)
    _only_the_page_itself(page, out)


def test_export_downloads_the_reviewed_records_as_csv_and_json(workflow_trail, browser_page, tmp_path):
    page, out = browser_page, tmp_path / "review.html"
    _report(workflow_trail["trail"], out)
    page.goto(out.as_uri())
    with page.expect_download() as csv_download:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    queried = [json.loads(x) for x in gxp("query", str(workflow_trail["trail"]), "--json").stdout.splitlines()]
    assert len(rows) == len(queried)
    by_seq = {q["seq"]: q for q in queried}
    for row in rows:
        record = by_seq[row["seq"]]
        assert (row["file"], int(row["line"]), row["hash"]) == (record["file"], record["line"], record["record"]["hash"])
    page.fill("#records-filter", "ApprovalDecisionEvent")
    with page.expect_download() as json_download:
        page.click("#export-json")
    copy = json.loads(Path(json_download.value.path()).read_text())
    assert copy["verified"] is True and len(copy["records"]) == len(workflow_trail["runs"])
    assert {r["what"] for r in copy["records"]} == {"ApprovalDecisionEvent"}


def test_prints_to_pdf(workflow_trail, browser_page, tmp_path, artifacts):
    page, out = browser_page, tmp_path / "review.html"
    _report(workflow_trail["trail"], out)
    page.goto(out.as_uri())
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible() and page.locator("#integrity-banner").is_visible()
    pdf = artifacts / "review.pdf"
    page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


def test_runs_are_paged_on_screen_and_all_printed(browser_page, tmp_path):
    from gxp_otel.audit.writer import AuditTrailWriter

    writer = AuditTrailWriter(tmp_path / "trail", stream_id="many.0")
    writer.append("span", [{
        "name": "Batch.run", "trace_id": f"{i + 1:032x}", "span_id": f"{i + 1:016x}", "parent_span_id": "",
        "start_time_unix_nano": str(1_795_000_000_000_000_000 + i * 10**9),
        "end_time_unix_nano": str(1_795_000_000_500_000_000 + i * 10**9), "status": {"code": "OK", "message": ""},
        "attributes": {"gxp.workflow.name": {"stringValue": "Batch"}, "gxp.workflow.run_id": {"stringValue": f"run{i}"}},
        "gxp": {"run_id": f"run{i}", "user_id": "operator"},
    } for i in range(30)])
    writer.close()
    page, out = browser_page, tmp_path / "review.html"
    _report(tmp_path / "trail", out)
    page.goto(out.as_uri())
    rows = page.locator("#runs-table tbody tr")
    assert sum(rows.nth(i).is_visible() for i in range(rows.count())) == 25
    page.locator("#runs-pager button", has_text="2").click()
    assert sum(rows.nth(i).is_visible() for i in range(rows.count())) == 5
    page.emulate_media(media="print")
    assert sum(rows.nth(i).is_visible() for i in range(rows.count())) == 30
