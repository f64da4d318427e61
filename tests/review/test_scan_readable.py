"""``scan.parse_record`` accepts exactly the records it accepted before its checks were made cheaper (issue 16):
the reference below is the former check, compared on every line of every vector trail and of the example trail,
on one-byte mutations of example lines, and on type-confused bodies (hypothesis)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from gxp_otel.audit.format import MAX_SEQ, _envelope_ok, seq_in_range
from gxp_otel.review.scan import _body_readable, parse_record
from review_golden import EXAMPLE, VECTOR_TRAILS

_DECIMAL = re.compile(r"\A(?:0|[1-9][0-9]{0,18})\Z", re.ASCII)
_TIMES = ("start_time_unix_nano", "end_time_unix_nano", "time_unix_nano", "observed_time_unix_nano")
_TEXTS = ("trace_id", "span_id", "name", "event_name", "severity_text")


def reference_readable(body: dict) -> bool:
    gxp = body.get("gxp", {})
    if type(gxp) is not dict or any(type(value) is not str for value in gxp.values()):
        return False
    for member in _TEXTS:
        if member in body and type(body[member]) is not str:
            return False
    for member in _TIMES:
        if member in body and not (type(body[member]) is str and _DECIMAL.match(body[member]) is not None
                                   and (len(body[member]) < 19 or int(body[member]) <= MAX_SEQ)):
            return False
    for member in ("status", "attributes", "resource"):
        if member in body and type(body[member]) is not dict:
            return False
    events = body.get("events", [])
    return type(events) is list and all(type(event) is dict for event in events)


def reference_parse(raw: bytes) -> dict | None:
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not _envelope_ok(record) or not seq_in_range(record["seq"]):
        return None
    return record if reference_readable(record["body"]) else None


def _lines() -> list[bytes]:
    files = [p for trail in [*VECTOR_TRAILS, EXAMPLE] for p in sorted(Path(trail).iterdir()) if p.suffix == ".jsonl"]
    return [line for path in files for line in path.read_bytes().splitlines(keepends=True)]


def test_every_vector_and_example_line_is_read_as_before():
    lines = _lines()
    assert len(lines) > 500
    for line in lines:
        assert parse_record(line) == reference_parse(line), line[:200]


def test_one_byte_mutations_of_example_lines_are_read_as_before():
    lines = [line for line in EXAMPLE.joinpath("audit-vm.0-000001.jsonl").read_bytes().splitlines()][1:40:7]
    for line in lines:
        for at in range(0, len(line), 5):
            for byte in (b'"', b"0", b"x", b"{", b"]", b"\\"):
                mutated = line[:at] + byte + line[at + 1:]
                assert parse_record(mutated) == reference_parse(mutated)


values = st.recursive(
    st.none() | st.booleans() | st.sampled_from(["", "0", "00", "7", "9223372036854775807", "9223372036854775808",
                                                 "1" * 20, "\u0661", "-1", " 1", "x"]) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=4,
)
members = st.sampled_from(["gxp", "status", "attributes", "resource", "events", *_TEXTS, *_TIMES, "other"])


@settings(max_examples=3000, deadline=None)
@given(body=st.dictionaries(members, values, max_size=6))
def test_type_confused_bodies_are_read_as_before(body):
    assert _body_readable(body) == reference_readable(body)


@settings(max_examples=500, deadline=None)
@given(gxp=st.dictionaries(st.sampled_from(["run_id", "user_id", "x"]), values, max_size=3))
def test_gxp_members_are_strings_exactly_when_read_as_before(gxp):
    assert _body_readable({"gxp": gxp}) == reference_readable({"gxp": gxp})


def reference_int64_decimal(value: object) -> bool:
    return type(value) is str and _DECIMAL.match(value) is not None and (len(value) < 19 or int(value) <= MAX_SEQ)


@settings(max_examples=2000, deadline=None)
@given(number=st.integers(min_value=0, max_value=10**20) | st.integers(min_value=MAX_SEQ - 1000, max_value=MAX_SEQ + 1000)
       | st.sampled_from([10**18 - 1, 10**18, MAX_SEQ, MAX_SEQ + 1, 10**19 - 1, 10**19]),
       form=st.sampled_from(["{}", "0{}", "-{}", "{} ", "{}0"]))
def test_time_members_are_int64_decimals_exactly_as_before(number, form):
    text = form.format(number)
    assert _body_readable({"time_unix_nano": text}) == reference_readable({"time_unix_nano": text})
