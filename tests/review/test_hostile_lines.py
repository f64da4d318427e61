"""report, index and query on hostile trails (issue 14.5, 14.6; docs/audit-format.md §2.1): type-confused records
(correctly hashed and chained, as a compromised writer would write them), out-of-range and non-ASCII timestamps,
FIFOs, links and a gzip bomb named like chain files. Every one is reported or counted; none raises, hangs or
exhausts memory. CLI runs are bounded by a timeout and an address-space limit."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import zlib
import struct
import os
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gxp_otel.audit.canonical import canonical_json, hash_record_bytes
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.cli.query import _plain_line
from gxp_otel.review.build import ReviewOptions, build_review
from gxp_otel.review.filters import RecordFilter
from gxp_otel.review.index import build_index
from gxp_otel.review.render import render_review
from gxp_otel.review.search import find_records

STREAM = "h.0"
RUN = "run-1"
TRACE = "0af7651916cd43dd8448eb211c80319c"
MEMORY_LIMIT = 1536 * 1024 * 1024


def _span(name: str, step: str | None, start: int) -> dict:
    attributes = {"gxp.workflow.name": {"stringValue": "Wf"}, "input.value": {"stringValue": "{}"},
                  "output.value": {"stringValue": '{"status": "ok"}'}}
    if step is not None:
        attributes = {"gxp.step.name": {"stringValue": step}}
    return {"name": name, "trace_id": TRACE, "span_id": f"{start:016x}", "start_time_unix_nano": str(start),
            "end_time_unix_nano": str(start + 1000), "status": {"code": "OK", "message": ""},
            "attributes": attributes, "events": [{"name": "exception", "time_unix_nano": str(start),
                                                  "attributes": {"exception.type": {"stringValue": "E"}}}],
            "resource": {"attributes": {"service.name": {"stringValue": "svc"}}},
            "gxp": {"run_id": RUN, "user_id": "qa.user", "agent_id": "agent", "gamp_category": "5"}}


def _log(start: int) -> dict:
    return {"event_name": "ApprovalDecisionEvent", "time_unix_nano": str(start), "observed_time_unix_nano": str(start),
            "severity_text": "INFO", "trace_id": TRACE, "span_id": f"{start:016x}",
            "attributes": {"gxp.hitl.action": {"stringValue": "human-response"},
                           "gxp.hitl.responder": {"stringValue": "qa.lead"}},
            "body": {"kvlistValue": {"approved": {"boolValue": True}, "comment": {"stringValue": "fine"}}},
            "gxp": {"run_id": RUN, "user_id": "qa.lead"}}


@pytest.fixture(scope="module")
def base_trail(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("hostile-base")
    writer = AuditTrailWriter(directory, stream_id=STREAM, compress=False)
    start = 1_767_000_000_000_000_000
    writer.append("span", [_span("Wf.run", None, start), _span("step_one", "step_one", start + 10)])
    writer.append("log", [_log(start + 20)])
    writer.close()
    return directory


def _copy(base: Path, target: Path) -> Path:
    target.mkdir()
    for path in base.iterdir():
        if path.is_file():
            (target / path.name).write_bytes(path.read_bytes())
    return target


def _confuse(trail: Path, seq: int, path: tuple[str, ...], value) -> bool:
    """Set ``path`` of record ``seq``'s body to ``value`` and rechain the stream (every hash and unsigned checkpoint
    statement recomputed), as a writer that was made to write it would have. False when nothing changed."""
    chain = trail / f"audit-{STREAM}-000001.jsonl"
    records = [orjson.loads(line) for line in chain.read_bytes().splitlines()]
    target = records[seq]["body"]
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            return False
        target = target[key]
    if target.get(path[-1], object()) == value:
        return False
    target[path[-1]] = value
    prev, out, held = "0" * 64, [], []
    for record in records:
        if record["kind"] == "checkpoint":
            record["body"]["statement"].update(seq=str(int(record["seq"]) - 1), head=prev)
            held.append(canonical_json(record["body"]) + b"\n")
        record["prev"] = prev
        record.pop("hash")
        prev = record["hash"] = hash_record_bytes(canonical_json(record))
        out.append(canonical_json(record) + b"\n")
    chain.write_bytes(b"".join(out))
    (trail / f"audit-{STREAM}.checkpoints.jsonl").write_bytes(b"".join(held))
    return True


def _every_reader(trail: Path) -> None:
    """report (verify + gather + render), index, query (scan and through the index): must not raise."""
    data = build_review(trail, ReviewOptions(use_index=False))
    render_review(data)
    index_path = trail / "test-index.sqlite"
    build_index(trail, index_path)
    for selection in (RecordFilter(), RecordFilter(run_id=RUN), RecordFilter(event_type="ApprovalDecisionEvent"),
                      RecordFilter(user="qa.lead"), RecordFilter(trace_id=TRACE)):
        for use_index in (False, True):
            search = find_records(trail, selection, index_path=index_path, use_index=use_index)
            for hit in search.hits:
                _plain_line(hit)
    data = build_review(trail, ReviewOptions(selection=RecordFilter(run_id=RUN), index_path=index_path))
    render_review(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=6) | st.sampled_from(["1" + "0" * 25, "\u0661\u0662", "-5", "18446744073709551616"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["stringValue", "intValue", "code", "x", "attributes"]), inner, max_size=3),
    max_leaves=5,
)
BODY_PATHS = [("gxp",), ("gxp", "run_id"), ("gxp", "user_id"), ("gxp", "agent_id"), ("gxp", "gamp_category"),
              ("trace_id",), ("span_id",), ("name",), ("start_time_unix_nano",), ("end_time_unix_nano",),
              ("time_unix_nano",), ("observed_time_unix_nano",), ("status",), ("status", "code"), ("attributes",),
              ("attributes", "gxp.step.name"), ("attributes", "gxp.hitl.action"), ("attributes", "output.value"),
              ("events",), ("resource",), ("event_name",), ("body",), ("severity_text",)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.sampled_from([1, 2, 3]), path=st.sampled_from(BODY_PATHS), value=json_values)
def test_type_confused_records_never_crash_report_index_or_query(base_trail, tmp_path_factory, seq, path, value):
    trail = _copy(base_trail, tmp_path_factory.mktemp("confused") / "trail")
    if _confuse(trail, seq, path, value):
        _every_reader(trail)


@pytest.mark.parametrize("stamp", ["1" + "0" * 25, "9223372036854775808", "\u0661\u0662\u0663", "\u00b2"])
def test_out_of_range_and_non_ascii_timestamps_are_shown_empty(base_trail, tmp_path, stamp):
    trail = _copy(base_trail, tmp_path / "trail")
    for seq, member in ((1, "start_time_unix_nano"), (2, "end_time_unix_nano"), (3, "time_unix_nano")):
        assert _confuse(trail, seq, (member,), stamp)
    _every_reader(trail)


def _cli(*args: str) -> subprocess.CompletedProcess:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    result = subprocess.run([sys.executable, "-m", "gxp_otel.cli", *args], capture_output=True, text=True,
                            timeout=90, preexec_fn=limit)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def _gzip_bomb(mebibytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    segment = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + segment * mebibytes + packer.flush()
            + struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF))


@pytest.mark.parametrize("hostile", ["fifo", "dev-zero", "dangling-link", "gzip-bomb"])
def test_report_query_and_index_on_hostile_files_finish_and_say_so(base_trail, tmp_path, hostile):
    trail = _copy(base_trail, tmp_path / "trail")
    name = f"audit-{STREAM}-000002.jsonl"
    if hostile == "fifo":
        os.mkfifo(trail / name)
    elif hostile == "dev-zero":
        os.symlink("/dev/zero", trail / name)
    elif hostile == "dangling-link":
        os.symlink(tmp_path / "nowhere", trail / name)
    else:
        (trail / (name + ".gz")).write_bytes(_gzip_bomb(1024))
    report = _cli("report", str(trail), "-o", str(tmp_path / "review.html"))
    assert report.returncode == 1 and "NOT VERIFIED" in report.stdout + report.stderr
    query = _cli("query", str(trail), "--run-id", RUN, "--json", "--no-index")
    assert query.returncode == 0 and "could not be read" in query.stderr
    assert len(query.stdout.splitlines()) == 3 and all(json.loads(line)["record"]["body"]["gxp"]["run_id"] == RUN
                                                       for line in query.stdout.splitlines())
    index = _cli("index", str(trail), "--index", str(tmp_path / "index.sqlite"))
    assert index.returncode == 0 or name in index.stderr, index.stderr
