"""`gxp-otel report`: what the review says about a trail is what `gxp-otel verify` says; runs read as the workflow
ran them; the page is one self-contained file. (The page in a real browser: test_review_browser.py.)"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from review_cli import VECTORS, gxp

from gxp_otel.review import RecordFilter, ReviewOptions, build_review, render_review
from gxp_otel.review.build import TimeHistogram
from gxp_otel.review.runs import RunCollector

TAMPERED = sorted(p.name for p in VECTORS.iterdir() if (p / "expected.json").exists())


def _verify_json(trail: Path, *extra: str) -> dict:
    return json.loads(gxp("verify", str(trail), "--json", "--alcoa", *extra).stdout)


def test_intact_trail_reads_verified_with_the_numbers_of_verify(workflow_trail, tmp_path):
    out = tmp_path / "review.html"
    result = gxp("report", str(workflow_trail["trail"]), "-o", str(out), "--trusted-key",
                 str(workflow_trail["public_key"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout and "NOT VERIFIED" not in result.stdout
    html = out.read_text()
    verified = _verify_json(workflow_trail["trail"], "--trusted-key", str(workflow_trail["public_key"]))
    assert 'data-ok="true"' in html and "NOT VERIFIED." not in html
    assert f"{verified['records']:,} records in {verified['chains']} chain(s) and {verified['files']} file(s)" in html
    data = json.loads(re.search(r'<script type="application/json" id="review-data">(.*?)</script>', html, re.S).group(1))
    assert data["alcoa"] == verified["alcoa"]
    assert data["integrity"]["streams"] == verified["streams"]


@pytest.mark.parametrize("name", TAMPERED)
def test_tampered_trail_names_every_problem_verify_finds(name, tampered_trail, tmp_path):
    trail = tampered_trail(name)
    expected = json.loads((VECTORS / name / "expected.json").read_text())
    data = build_review(trail)
    found = [(p["file"], p["line"], p["seq"], p["kind"]) for p in data["integrity"]["problems"]]
    options = expected.get("options", {})
    if not options:  # vectors that need --trusted-key/--checkpoints are checked by the CLI test below
        assert found == [(p["file"], p["line"], p["seq"], p["kind"]) for p in expected["problems"]]
    verified = _verify_json(trail)
    assert found == [(p["file"], p["line"], p["seq"], p["kind"]) for p in verified["problems"]]
    html = render_review(data)
    if verified["ok"]:
        assert 'data-ok="true"' in html
    elif verified["verdict"] == "NO RECORDS":  # nothing left to verify (a deleted stream, an empty directory)
        assert 'data-ok="false"' in html and "NO RECORDS." in html and "VERIFIED." not in html
    else:
        assert 'data-ok="false"' in html and "NOT VERIFIED." in html
        for file, line, seq, kind in found:
            assert f"<code>{file}</code>" in html and f"<span class=kind>{kind}</span>" in html


def test_modified_record_exits_1_and_the_page_names_file_line_seq(tampered_trail, tmp_path):
    trail = tampered_trail("modified-body@seq-3")
    out = tmp_path / "review.html"
    result = gxp("report", str(trail), "-o", str(out))
    assert result.returncode == 1 and "NOT VERIFIED (1 problem(s))" in result.stdout
    html = out.read_text()
    row = re.search(r"<tr><td><span class=kind>modified</span></td>.*?</tr>", html).group(0)
    assert "audit-vec.0-000001.jsonl" in row and "<td class=num>4</td><td class=num>3</td>" in row
    assert "the record&#x27;s content was changed after it was written" in row


def test_runs_show_who_what_when_outcome_and_approvals(workflow_trail):
    data = build_review(workflow_trail["trail"], ReviewOptions(phoenix_url="http://phoenix.example:6006/"))
    runs = {r["run_id"]: r for r in data["runs"]}
    assert set(runs) == {r["run_id"] for r in workflow_trail["runs"]}
    for run in runs.values():
        assert run["workflow"] == "PharmaTestGenerationWorkflow" and run["status"] == "OK"
        assert run["user"].startswith("qa.author") and run["gamp"] == "5" and run["risk"] == "high"
        assert run["outcome"] == "approved" and run["duration_s"] > 0 and run["project"]
        assert "URS-042" in run["input"] and '"status":"approved"' in run["output"]
        assert run["phoenix_url"] == f"http://phoenix.example:6006/redirects/traces/{run['trace_id']}"
        assert [(a["responder"], a["decision"]) for a in run["approvals"]] == [("qa.reviewer", "approved")]
        steps = [e["name"] for e in run["timeline"] if e["type"] == "step"]
        assert {"ingest_urs", "categorize", "plan_tests", "validate", "finalize"} <= set(steps)
        events = [e["name"] for e in run["timeline"] if e["type"] == "event"]
        assert "GAMPCategorizationEvent" in events and "ApprovalDecisionEvent" in events
        assert [e["start"] for e in run["timeline"]] == sorted(e["start"] for e in run["timeline"])
    assert data["totals"]["runs"] == 3 and data["totals"]["approvals"] == 3


def test_scope_by_trace_id_covers_one_run_but_integrity_covers_the_whole_trail(workflow_trail):
    everything = build_review(workflow_trail["trail"])
    one = everything["runs"][0]
    scoped = build_review(workflow_trail["trail"], ReviewOptions(selection=RecordFilter(trace_id=one["trace_id"])))
    assert [r["run_id"] for r in scoped["runs"]] == [one["run_id"]]
    assert all(r["trace_id"] == one["trace_id"] for r in scoped["records"])
    assert 0 < scoped["totals"]["records"] < everything["totals"]["records"]
    assert scoped["integrity"]["records"] == everything["integrity"]["records"]


def test_report_reads_the_records_through_a_fresh_index(workflow_trail, tmp_path):
    from gxp_otel.review import build_index

    index = tmp_path / "trail.index.sqlite"
    build_index(workflow_trail["trail"], index)
    run = workflow_trail["runs"][0]["run_id"]
    options = ReviewOptions(selection=RecordFilter(run_id=run), index_path=index)
    through_index = build_review(workflow_trail["trail"], options)
    scanned = build_review(workflow_trail["trail"], ReviewOptions(selection=RecordFilter(run_id=run), use_index=False))
    assert through_index["found_by"] == "index" and scanned["found_by"] == "scan"
    assert through_index["records"] == scanned["records"] and through_index["runs"] == scanned["runs"]
    assert [r["run_id"] for r in through_index["runs"]] == [run]


def test_the_page_is_self_contained(workflow_trail):
    html = render_review(build_review(workflow_trail["trail"]))
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "nothing may be loaded from elsewhere"
    assert not re.search(r"@import|url\(", html)
    assert "</script>" not in html.split('id="review-data">')[1].split("</script>")[0]


def test_embedded_data_cannot_close_its_script_element(tmp_path):
    from gxp_otel.audit.writer import AuditTrailWriter

    writer = AuditTrailWriter(tmp_path / "t", stream_id="x.0")
    writer.append("log", [{"event_name": "</script><script>alert(1)</script>", "gxp": {"user_id": "<b>u</b>"}}])
    writer.close()
    html = render_review(build_review(tmp_path / "t"))
    assert "<script>alert(1)" not in html and "<b>u</b>" not in html


def test_histogram_stays_bounded_and_keeps_every_count():
    histogram = TimeHistogram()
    for day in range(1, 29):
        for second in range(0, 86_400, 97):
            histogram.add(f"2026-02-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000000000Z",
                          "log")
    assert len(histogram.counts) <= TimeHistogram.LIMIT
    bars = histogram.bars(most=48)
    assert len(bars) <= 48 and sum(b["counts"]["log"] for b in bars) == 28 * len(range(0, 86_400, 97))


def test_run_collector_keeps_at_most_max_runs_and_counts_the_rest():
    collector = RunCollector("", max_runs=10)
    for i in range(50):
        collector.add({"kind": "log", "body": {"gxp": {"run_id": f"r{i}"}, "event_name": "E"}}, {"seq": str(i)})
    assert len(collector.result()) == 10 and collector.evicted == 40 and len(collector.seen) == 50


def test_approvals_are_counted_in_every_run_not_only_the_kept_ones(workflow_trail):
    data = build_review(workflow_trail["trail"], ReviewOptions(max_runs=1))
    assert len(data["runs"]) == 1 and data["totals"]["runs"] == 3 and data["totals"]["approvals"] == 3


def test_signatures_and_corrections_are_shown_with_their_run_whatever_the_scope(workflow_trail, tmp_path, monkeypatch):
    import shutil

    trail = tmp_path / "trail"
    shutil.copytree(workflow_trail["trail"], trail)
    monkeypatch.setenv("PW", "correct horse battery")
    key = str(tmp_path / "signer.pem")
    assert gxp("keygen", key, "--signer", "Dr. Quinn Reviewer", "--user-id", "qa.reviewer",
               "--passphrase-env", "PW").returncode == 0
    run = build_review(trail)["runs"][0]
    signed = gxp("sign", str(trail), "--trace-id", run["trace_id"], "--meaning", "approval", "--key", key,
                 "--user-id", "qa.reviewer", "--reason", "Suite approved", "--passphrase-env", "PW")
    assert signed.returncode == 0, signed.stderr
    from gxp_otel.review.scan import iter_records

    stream = run["timeline"][0]["stream"]
    span = next(h.record for h in iter_records(trail) if h.record["kind"] == "span" and h.record["stream"] == stream)
    corrected = gxp("correct", str(trail), "--seq", span["seq"], "--stream", stream, "--path", "/name",
                    "--new-value", '"renamed"', "--reason", "typo", "--key", key, "--user-id", "qa.reviewer",
                    "--passphrase-env", "PW")
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    scoped = build_review(trail, ReviewOptions(selection=RecordFilter(run_id=run["run_id"])))
    assert scoped["integrity"]["ok"] is True, scoped["integrity"]["problems"]
    meanings = sorted(s["meaning"] for s in scoped["part11"]["signature"])
    assert meanings == ["approval", "authorship"]  # a correction is signed by its author
    (signature,) = [s for s in scoped["part11"]["signature"] if s["meaning"] == "approval"]
    assert (signature["printed_name"], signature["user_id"]) == ("Dr. Quinn Reviewer", "qa.reviewer")
    assert signature["run_id"] == run["run_id"] and signature["problem"] == ""
    (shown,) = [r for r in scoped["runs"] if r["run_id"] == run["run_id"]]
    assert "signature" in [p["kind"] for p in shown["part11"]]
    (correction,) = scoped["part11"]["correction"]
    assert (correction["path"], correction["new_value"], correction["reason"]) == ("/name", "renamed", "typo")
    html = render_review(scoped)
    assert "Dr. Quinn Reviewer" in html and "<strong>approval</strong>" in html
    esign = next(trail.glob("audit-esign*-000001.jsonl"))
    esign.write_bytes(esign.read_bytes().replace(b"Suite approved", b"Suite rejected"))
    tampered = build_review(trail)
    assert tampered["integrity"]["ok"] is False
    assert [s["problem"] for s in tampered["part11"]["signature"] if s["meaning"] == "approval"] == ["modified"]


def test_a_directory_without_a_trail_says_no_records_not_verified(tmp_path):
    out = tmp_path / "review.html"
    result = gxp("report", str(tmp_path), "-o", str(out))
    assert result.returncode == 4  # NO RECORDS: nothing to verify is never exit 0 (docs/audit-format.md §13)
    assert "<strong>NO RECORDS.</strong>" in out.read_text() and "<strong>VERIFIED.</strong>" not in out.read_text()
    unwritable = gxp("report", str(tmp_path), "-o", str(tmp_path / "missing-dir" / "review.html"))
    assert unwritable.returncode == 2 and "cannot write" in unwritable.stderr


def test_the_page_says_when_it_holds_fewer_runs_and_records_than_the_scope(workflow_trail):
    data = build_review(workflow_trail["trail"], ReviewOptions(max_runs=2, max_records=10))
    assert len(data["runs"]) == 2 and len(data["records"]) == 10
    html = render_review(data)
    assert "3 runs in scope; this page holds the 2 most recently recorded" in html
    assert f"{data['totals']['records']:,} records in scope; this page holds the newest 10" in html
    assert "gxp-otel query PATH --json" in html


def test_phoenix_links_are_made_only_for_well_formed_trace_ids():
    collector = RunCollector("http://127.0.0.1:6006")
    for run_id, trace_id in (("good", "ab" * 16), ("bad", "javascript:alert(1)//" + "0" * 11)):
        collector.add({"kind": "span", "body": {
            "name": "W.run", "trace_id": trace_id, "gxp": {"run_id": run_id},
            "attributes": {"gxp.workflow.name": {"stringValue": "W"}}}}, {"seq": "1"})
    links = {r["run_id"]: r["phoenix_url"] for r in collector.result()}
    assert links == {"good": "http://127.0.0.1:6006/redirects/traces/" + "ab" * 16, "bad": ""}


def test_verifying_in_a_second_process_gives_the_same_review(workflow_trail, monkeypatch):
    import gxp_otel.review.build as build

    in_process = build_review(workflow_trail["trail"])
    monkeypatch.setattr(build, "PARALLEL_VERIFY_BYTES", 0)  # large trails verify beside the review pass
    niceness = os.nice(0)
    parallel = build_review(workflow_trail["trail"])
    for key in ("integrity", "alcoa", "totals", "runs", "records", "part11", "charts"):
        assert parallel[key] == in_process[key], key
    assert os.nice(0) == niceness  # only the verifying process beside the review pass is lowered, never the caller


def test_the_verifying_process_beside_the_review_runs_lowered(workflow_trail):
    """Issue 16: the review pass keeps its core; the verifier (and the workers it forks) take what is left."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import gxp_otel.review.build as build

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        before = pool.submit(os.nice, 0).result()
        report = pool.submit(build._verify_beside, workflow_trail["trail"], build.ReviewOptions()).result()
        after = pool.submit(os.nice, 0).result()
    assert report.ok and after == min(before + build.VERIFY_NICENESS, 19)
