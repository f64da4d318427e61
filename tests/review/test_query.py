"""`gxp-otel query` and `gxp-otel index`: the records a search returns are exactly those of the trail that match,
with their true file, line and seq, whether found by scanning (plain and .gz files) or through the index; an index
that no longer describes the trail is never used."""

from __future__ import annotations

import gzip
import itertools
import json
import sqlite3
from pathlib import Path

import orjson
import pytest
from review_cli import gxp

from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.review import RecordFilter, build_index, find_records, is_fresh
from gxp_otel.review.index import update_index
from gxp_otel.review.filters import parse_when, selection_from_options
from gxp_otel.review.index import default_index_path


def brute_force(trail: Path, selection: RecordFilter) -> list[tuple[str, int, str]]:
    """Every (file, line, seq) of a matching record, read the slow and obvious way."""
    found = []
    for path in sorted(trail.glob("audit-*-*.jsonl*")):
        if path.name.endswith(".gz") and path.with_suffix("").exists():
            continue
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                record = orjson.loads(line)
                if selection.matches(record):
                    found.append((path.name, number, record["seq"]))
    return found


def located(search) -> list[tuple[str, int, str]]:
    return [(hit.file, hit.line, hit.record["seq"]) for hit in search.hits]


@pytest.fixture
def rotated_trail(tmp_path: Path) -> Path:
    """Several files, the closed ones gzip-compressed; three traces, two users."""
    writer = AuditTrailWriter(tmp_path / "trail", stream_id="q.0", rotate_bytes=4096, compress=True)
    for i in range(60):
        writer.append("log", [{"trace_id": f"{i % 3:032x}", "span_id": f"{i:016x}", "event_name": f"Ev{i % 4}",
                               "gxp": {"user_id": f"user{i % 2}", "run_id": f"run{i % 5}"}, "body": {"stringValue": "x" * 200}}])
    writer.close()
    trail = tmp_path / "trail"  # close() waited for the compression of the closed files
    assert len(list(trail.glob("*.jsonl.gz"))) >= 2
    return trail


def test_scan_finds_exactly_the_matching_records_with_file_line_and_seq(rotated_trail):
    for selection in (RecordFilter(trace_id=f"{1:032x}"), RecordFilter(user="user0"), RecordFilter(run_id="run3"),
                      RecordFilter(event_type="Ev2"), RecordFilter(user="user1", event_type="Ev3"), RecordFilter()):
        expected = brute_force(rotated_trail, selection)
        assert located(find_records(rotated_trail, selection, use_index=False)) == expected
        assert expected or selection.user == "user1"


def test_index_finds_the_same_records_as_a_scan(rotated_trail):
    path, count = build_index(rotated_trail)
    assert count == sum(1 for _ in brute_force(rotated_trail, RecordFilter()))
    for selection in (RecordFilter(trace_id=f"{2:032x}"), RecordFilter(run_id="run1", user="user1"),
                      RecordFilter(event_type="Ev0")):
        search = find_records(rotated_trail, selection)
        assert search.method == "index"
        assert located(search) == brute_force(rotated_trail, selection)


def test_a_stale_index_is_brought_up_to_date_before_it_is_used(rotated_trail):
    build_index(rotated_trail)
    assert is_fresh(default_index_path(rotated_trail), rotated_trail)
    writer = AuditTrailWriter(rotated_trail, stream_id="q.0", rotate_bytes=4096)
    writer.append("log", [{"trace_id": f"{1:032x}", "gxp": {"user_id": "late"}}])
    writer.close()
    assert not is_fresh(default_index_path(rotated_trail), rotated_trail)
    search = find_records(rotated_trail, RecordFilter(trace_id=f"{1:032x}"))
    assert search.method.startswith("index (brought up to date with the trail")
    assert located(search) == brute_force(rotated_trail, RecordFilter(trace_id=f"{1:032x}"))
    assert located(find_records(rotated_trail, RecordFilter(user="late"))) == \
        brute_force(rotated_trail, RecordFilter(user="late")) != []
    assert is_fresh(default_index_path(rotated_trail), rotated_trail)


def test_update_indexes_only_what_was_appended_and_redoes_a_rewritten_file(rotated_trail):
    build_index(rotated_trail)
    writer = AuditTrailWriter(rotated_trail, stream_id="q.0", rotate_bytes=1 << 20)
    writer.append("log", [{"event_name": "Appended"}])
    writer.close()  # a restart adds recovery + checkpoint, the record, and the close checkpoint
    assert update_index(rotated_trail) == 4
    newest = sorted(rotated_trail.glob("audit-q.0-*.jsonl"))[-1]
    lines = newest.read_bytes().splitlines(keepends=True)
    newest.write_bytes(b"".join(lines[:-2]))  # the tail cut: the file no longer ends as indexed
    update_index(rotated_trail)
    assert is_fresh(default_index_path(rotated_trail), rotated_trail)
    for selection in (RecordFilter(event_type="Appended"), RecordFilter(user="user1")):
        search = find_records(rotated_trail, selection)
        assert search.method == "index" and located(search) == brute_force(rotated_trail, selection)
    total = sum(1 for _ in brute_force(rotated_trail, RecordFilter()))
    with sqlite3.connect(default_index_path(rotated_trail)) as db:
        assert db.execute("SELECT count(*) FROM records").fetchone() == (total,)


def test_an_index_pointing_at_the_wrong_lines_is_caught_and_the_trail_scanned(rotated_trail):
    index_path, _ = build_index(rotated_trail)
    with sqlite3.connect(index_path) as db:  # someone edits the index, not the trail: the fingerprints still match
        db.execute("UPDATE records SET offset = 0 WHERE trace_id = ?", (f"{1:032x}",))
    search = find_records(rotated_trail, RecordFilter(trace_id=f"{1:032x}"))
    assert search.method.startswith("scan (index not used")
    assert located(search) == brute_force(rotated_trail, RecordFilter(trace_id=f"{1:032x}"))


def test_times_select_on_the_recorded_time(tmp_path):
    clock = itertools.count(1_795_000_000_000_000_000, 3_600 * 10**9)  # one record an hour
    writer = AuditTrailWriter(tmp_path / "t", stream_id="t.0", clock=lambda: next(clock), rotate_daily=False)
    for i in range(30):
        writer.append("log", [{"event_name": f"E{i}"}])
    writer.close()
    since, until = "2026-11-18T16:00:00Z", "2026-11-18T20:00:00Z"
    selection = selection_from_options(since=since, until=until)
    found = [h.record["time"] for h in find_records(tmp_path / "t", selection).hits]
    assert found and all(parse_when(since) <= t <= parse_when(until) for t in found)
    assert len(found) == len(brute_force(tmp_path / "t", selection))
    assert parse_when("2026-11-18", end=True) == "2026-11-18T23:59:59.999999999Z"
    with pytest.raises(ValueError, match="not a date"):
        parse_when("yesterday")


def test_cli_query_streams_json_lines_and_exits_1_when_nothing_matched(rotated_trail):
    result = gxp("query", str(rotated_trail), "--user", "user0", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["file"], x["line"], x["seq"]) for x in lines] == brute_force(rotated_trail, RecordFilter(user="user0"))
    assert all(x["record"]["body"]["gxp"]["user_id"] == "user0" for x in lines)
    assert "found by scan" in result.stderr
    none = gxp("query", str(rotated_trail), "--user", "nobody")
    assert none.returncode == 1 and none.stdout == ""
    bad = gxp("query", str(rotated_trail), "--trace-id", "xyz")
    assert bad.returncode == 2 and "trace id" in bad.stderr


def test_cli_index_then_query_uses_it(rotated_trail):
    built = gxp("index", str(rotated_trail))
    assert built.returncode == 0 and "indexed" in built.stdout
    result = gxp("query", str(rotated_trail), "--trace-id", f"{0:032x}")
    assert result.returncode == 0 and "found by index" in result.stderr
    assert len(result.stdout.splitlines()) == len(brute_force(rotated_trail, RecordFilter(trace_id=f"{0:032x}")))
