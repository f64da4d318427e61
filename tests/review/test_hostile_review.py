"""The review tools on a hostile host (issue 14.4, 14.9): an index with rows deleted, added or altered — or a
whole index forged without its owner's key — never makes `query` or `report` miss a record; the page says how its
records were found; a bidi control in a user id is shown as an escape, never applied."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from review_cli import gxp

from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.review import RecordFilter, ReviewOptions, build_review, render_review
from gxp_otel.review.index import build_index, default_index_path
from gxp_otel.review.search import find_records

APPROVAL = "ApprovalDecisionEvent"


@pytest.fixture
def indexed_trail(workflow_trail, tmp_path) -> tuple[Path, str, int]:
    """A copy of the workflow trail with a fresh index; one run id and how many approval events it holds."""
    trail = Path(shutil.copytree(workflow_trail["trail"], tmp_path / "trail"))
    build_index(trail)
    run_id = workflow_trail["runs"][0]["run_id"]
    search = find_records(trail, RecordFilter(run_id=run_id, event_type=APPROVAL), use_index=False)
    approvals = sum(1 for _ in search.hits)
    assert approvals >= 1
    return trail, run_id, approvals


TAMPERING = {
    "rows-deleted": "DELETE FROM records WHERE run_id = :run",
    "rows-deleted-and-counts-fixed": "DELETE FROM records WHERE run_id = :run; "
                                     "UPDATE files SET lines = (SELECT count(*) FROM records r WHERE r.file = name)",
    "values-altered": "UPDATE records SET run_id = 'another-run', event_type = 'Other' WHERE run_id = :run",
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_a_tampered_index_never_hides_records_from_query_or_report(indexed_trail, tmp_path, how):
    trail, run_id, approvals = indexed_trail
    assert find_records(trail, RecordFilter(run_id=run_id)).method == "index"
    with sqlite3.connect(default_index_path(trail)) as db:
        for statement in TAMPERING[how].split("; "):
            db.execute(statement, {"run": run_id}) if ":run" in statement else db.execute(statement)
    queried = gxp("query", str(trail), "--run-id", run_id, "--event-type", APPROVAL)
    assert queried.returncode == 0, queried.stderr
    assert len(queried.stdout.splitlines()) == approvals
    assert "index not used" in queried.stderr
    data = build_review(trail, ReviewOptions(selection=RecordFilter(run_id=run_id)))
    assert data["totals"]["approvals"] == approvals and data["found_by"].startswith("scan (index not used")
    page = render_review(data)
    assert "found by scan (index not used" in page


def test_an_index_forged_without_the_owners_key_is_not_used(indexed_trail, tmp_path, monkeypatch):
    trail, run_id, approvals = indexed_trail
    forged = tmp_path / "forged"
    monkeypatch.setenv("XDG_STATE_HOME", str(forged))  # another account's key: its own, not ours
    build_index(trail)
    with sqlite3.connect(default_index_path(trail)) as db:
        db.execute("DELETE FROM records WHERE run_id = ?", (run_id,))
    from gxp_otel.review.index import file_mac  # the forger recomputes every MAC with the key it has

    with sqlite3.connect(default_index_path(trail)) as db:
        key = (forged / "gxp-otel" / "index.key").read_bytes()
        for name, sha256 in db.execute("SELECT name, sha256 FROM files").fetchall():
            count, _ = file_mac(db, key, name, sha256, 0)
            db.execute("UPDATE files SET lines = ?, mac = ? WHERE name = ?",
                       (count, file_mac(db, key, name, sha256, count)[1], name))
    assert find_records(trail, RecordFilter(run_id=run_id), use_index=True).method == "index"  # under its key
    monkeypatch.undo()
    search = find_records(trail, RecordFilter(run_id=run_id, event_type=APPROVAL))
    assert search.method.startswith("scan (index not used") and sum(1 for _ in search.hits) == approvals


def test_the_page_says_how_its_records_were_found(indexed_trail):
    trail, run_id, _approvals = indexed_trail
    page = render_review(build_review(trail, ReviewOptions(selection=RecordFilter(run_id=run_id))))
    assert re.search(r"scope: <strong>[^<]*found by index", page)


def test_a_bidi_control_in_a_user_id_is_shown_escaped_on_the_page(tmp_path):
    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail, compress=False)
    writer.append("log", [{"gxp": {"user_id": "admin\u202egnp.exe"}, "body": {"stringValue": "evil\u2066 \x1b[2J"}}])
    writer.close()
    out = tmp_path / "review.html"
    assert gxp("report", str(trail), "-o", str(out)).returncode in (0, 1)
    html = out.read_text(encoding="utf-8")
    assert "\u202e" not in html and "\u2066" not in html and "\x1b" not in html
    data = json.loads(re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html, re.S).group(1))
    assert "admin\\u202egnp.exe" in [row["user"] for row in data["records"]]  # visible, and still readable


def test_an_index_path_that_is_a_link_is_never_opened_and_its_target_never_written(indexed_trail, tmp_path):
    trail, run_id, approvals = indexed_trail
    other = tmp_path / "other-trail"  # root's index of another trail: a link to it would be "updated" in place
    writer = AuditTrailWriter(other, compress=False)
    writer.append("log", [{"gxp": {"user_id": "someone"}, "body": {"stringValue": "confidential"}}])
    writer.close()
    victim, _count = build_index(other, tmp_path / "other-index.sqlite")
    before = victim.read_bytes()
    index = default_index_path(trail)
    index.unlink()
    index.symlink_to(victim)
    queried = gxp("query", str(trail), "--run-id", run_id, "--event-type", APPROVAL)
    assert queried.returncode == 0 and len(queried.stdout.splitlines()) == approvals
    assert "found by scan" in queried.stderr and victim.read_bytes() == before
