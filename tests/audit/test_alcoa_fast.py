"""The ALCOA+ fast paths give exactly the state of the per-principle methods (issue 16): the common record
(``AlcoaAssessment._observe_passing``), a run's Consistent at once (``merge_run`` with ``backwards``), event times
(``_nanos``) and recorded times (``canonical.parse_time``'s cached second)."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gxp_otel.audit import alcoa
from gxp_otel.audit.alcoa import AlcoaAssessment
from gxp_otel.audit.canonical import parse_time

SPAN = {
    "attributes": {"gxp.step.name": {"stringValue": "plan"}}, "dropped": {"attributes": "0", "events": "0", "links": "0"},
    "end_time_unix_nano": "1795000000100000000", "gxp": {"agent_id": "agent", "user_id": "qa.author"},
    "name": "step", "parent_span_id": "f7f0d45fe94c1fcd", "span_id": "eefc026fec16dc51",
    "start_time_unix_nano": "1795000000000000000", "trace_id": "0000000000000000000000da00000002",
}
LOG = {
    "attributes": {"event": {"stringValue": "x"}}, "dropped_attributes": "0", "gxp": {"user_id": "qa.author"},
    "observed_time_unix_nano": "1795000000100000000", "span_id": "eefc026fec16dc51", "time_unix_nano": "0",
    "trace_id": "0000000000000000000000da00000002",
}
TIME = "2026-11-18T08:26:40.200000000Z"  # 1795000000.2 s: 0.1 s after the events above

_ODD = st.sampled_from([None, "", "0", "00", "7", "-1", "12", "0123", "1795000000100000000", str(2**63), "²", "abc",
                        "0000000000000000000000da00000002", "eefc026fec16dc51", "EEFC026FEC16DC51", "eefc026fec16dc5", "eefc026fec16dc5g",
                        "000000000000000000000da00000002", "none", "jwt",
                        {}, [], True, {"stringValue": "human-response"}, {"stringValue": "automated-response"},
                        {"stringValue": "e-signed"}, {"attributes": "1"}, {"attributes": "0"}, ["x"]])
_PATHS = st.sampled_from([
    ("attributes",), ("dropped",), ("dropped", "events"), ("end_time_unix_nano",), ("start_time_unix_nano",),
    ("gxp",), ("gxp", "user_id"), ("gxp", "agent_id"), ("trace_id",), ("span_id",), ("parent_span_id",),
    ("coerced",), ("ingest",), ("ingest", "via"), ("ingest", "subject"), ("attributes", "gxp.workflow.name"),
    ("attributes", "gxp.workflow.resumed_from"), ("attributes", "gxp.hitl.action"), ("attributes", "gxp.hitl.responder"),
    ("attributes", "gxp.hitl.decision"), ("time_unix_nano",), ("observed_time_unix_nano",), ("dropped_attributes",),
])
_TIMES = st.sampled_from([TIME, "2026-11-18T08:26:40.100000000Z", "2026-11-18T08:36:40.200000000Z",
                          "2026-11-18T08:26:39.000000000Z", "2026-02-30T08:26:40.200000000Z"])
_MISSING = object()


def _perturbed(template: dict, changes: list) -> dict:
    body = copy.deepcopy(template)
    for path, value in changes:
        target = body
        for key in path[:-1]:
            if type(target.get(key)) is not dict:
                target[key] = {}
            target = target[key]
        if value is _MISSING:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return body


_RECORDS = st.lists(st.tuples(st.sampled_from(["span", "log"]), st.lists(st.tuples(_PATHS, st.one_of(_ODD, st.just(_MISSING))),
                                                                          max_size=3), _TIMES, st.booleans()),
                    min_size=1, max_size=14)


def _state(assessment: AlcoaAssessment) -> tuple:
    return copy.deepcopy((assessment.partial(), assessment._last_time, assessment.result()))


@settings(max_examples=1500, deadline=None)
@given(records=_RECORDS)
def test_the_common_record_path_leaves_the_state_of_the_principles_methods(records):
    fast, reference = AlcoaAssessment(300.0, 5.0), AlcoaAssessment(300.0, 5.0)
    for seq, (kind, changes, time, original) in enumerate(records):
        record = {"kind": kind, "seq": str(seq), "time": time,
                  "body": _perturbed(SPAN if kind == "span" else LOG, changes)}
        fast.observe_body(record, "f.jsonl", seq + 1, "s", original)
        reference._observe_any(copy.deepcopy(record), "f.jsonl", seq + 1, "s", original)
    assert _state(fast) == _state(reference)


_STREAM_STEPS = st.lists(st.tuples(st.sampled_from(["s", "t"]), st.sampled_from(["observe", "observe", "sealed", "finish"]),
                                    st.sampled_from(["span", "log"]),
                                    st.lists(st.tuples(_PATHS, st.one_of(_ODD, st.just(_MISSING))), max_size=2), _TIMES),
                         min_size=1, max_size=16)


@settings(max_examples=700, deadline=None)
@given(steps=_STREAM_STEPS)
def test_the_fast_path_counts_each_stream_pending_seal_as_the_principles_methods(steps):
    """Two streams interleaved, sealed or finished at any point (``_observe_passing`` keeps the last stream's entry
    of records awaiting a seal: a seal or a finish must drop it)."""
    fast, reference = AlcoaAssessment(300.0, 5.0), AlcoaAssessment(300.0, 5.0)
    for seq, (stream, action, kind, changes, time) in enumerate(steps):
        if action == "sealed":
            fast.sealed(stream), reference.sealed(stream)
        elif action == "finish":
            fast.finish_stream(stream), reference.finish_stream(stream)
        else:
            record = {"kind": kind, "seq": str(seq), "time": time,
                      "body": _perturbed(SPAN if kind == "span" else LOG, changes)}
            fast.observe_body(record, "f.jsonl", seq + 1, stream, True)
            reference._observe_any(copy.deepcopy(record), "f.jsonl", seq + 1, stream, True)
    for stream in ("s", "t"):
        fast.finish_stream(stream), reference.finish_stream(stream)
    assert _state(fast) == _state(reference)


_HITL = {"gxp.hitl.action": {"stringValue": "human-response"}, "gxp.hitl.responder": {"stringValue": "qa.lead"}}


@pytest.mark.parametrize("attributes", [{}, _HITL, {**_HITL, "gxp.hitl.decision": {"stringValue": "e-signed"}},
                                        {"gxp.hitl.action": {"stringValue": "automated-response"}},
                                        {"gxp.hitl.action": {"stringValue": "approval-required"}}])
def test_attributed_hitl_records_take_the_fast_path(attributes):
    """Not vacuous: HITL logs (but a human decision without a responder) are taken by the fast path too."""
    body = copy.deepcopy(LOG)
    body["attributes"].update(attributes)
    record = {"kind": "log", "seq": "3", "time": TIME, "body": body}
    assert AlcoaAssessment(300.0, 5.0)._observe_passing(record, "f", 1, "s")


def test_a_human_decision_without_a_responder_leaves_the_fast_path():
    body = copy.deepcopy(LOG)
    body["attributes"]["gxp.hitl.action"] = {"stringValue": "human-response"}
    record = {"kind": "log", "seq": "3", "time": TIME, "body": body}
    assert not AlcoaAssessment(300.0, 5.0)._observe_passing(record, "f", 1, "s")


@pytest.mark.parametrize("kind", ["span", "log"])
@pytest.mark.parametrize("time", [TIME, "2026-11-18T08:46:40.200000000Z"])
def test_common_records_take_the_fast_path(kind, time):
    """Not vacuous: the templates (passing, or only late: the bench trail's records) are taken by the fast path."""
    record = {"kind": kind, "seq": "3", "time": time, "body": copy.deepcopy(SPAN if kind == "span" else LOG)}
    assert AlcoaAssessment(300.0, 5.0)._observe_passing(record, "f", 1, "s")


@settings(max_examples=500, deadline=None)
@given(steps=st.lists(st.integers(-3, 3), min_size=1, max_size=12), start=st.integers(0, 20),
       before=st.one_of(st.none(), st.integers(0, 20)))
def test_a_run_is_consistent_at_once_exactly_when_record_by_record(steps, start, before):
    times, second = [], start
    for step in steps:
        second = max(0, second + step)
        times.append(f"2026-11-18T08:26:{second:02d}.000000000Z")
    backwards = tuple(i for i in range(1, len(times)) if times[i] < times[i - 1])
    fast, reference = AlcoaAssessment(300.0, 5.0), AlcoaAssessment(300.0, 5.0)
    if before is not None:
        for assessment in (fast, reference):
            assessment._last_time["s"] = f"2026-11-18T08:26:{before:02d}.000000000Z"
    partial = AlcoaAssessment(300.0, 5.0).partial()
    fast.merge_run(partial, "s", "f", 4, 9, "".join(times), backwards)
    reference.merge_run(partial, "s", "f", 4, 9, "".join(times))
    assert _state(fast) == _state(reference)


_NANOS = re.compile(r"\A(?:0|[1-9][0-9]{0,18})\Z", re.ASCII)


@settings(max_examples=2000, deadline=None)
@given(value=st.one_of(st.text(alphabet=st.sampled_from("0123456789²٣ -+_\n"), max_size=21),
                       st.integers(0, 2**64).map(str), st.none(), st.integers()))
def test_event_times_are_read_as_the_pattern_says(value):
    expected = int(value) if type(value) is str and _NANOS.match(value) and int(value) < 2**63 else None
    assert alcoa._nanos(value) == expected


_TIME_RE = re.compile(r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{9})Z\Z", re.ASCII)


def _parse_time_reference(text: str) -> int | None:
    match = _TIME_RE.match(text)
    if match is None:
        return None
    try:
        moment = datetime(*(int(g) for g in match.groups()[:6]), tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(moment.timestamp()) * 1_000_000_000 + int(match.group(7))


@settings(max_examples=2000, deadline=None)
@given(position=st.integers(0, 31), replacement=st.sampled_from(["", "0", "9", "²", "٣", ".", "Z", "\n", "00", "-"]),
       primed=st.sampled_from([TIME, "2026-02-28T23:59:59.000000000Z", "2026-11-18T08:26:40.2000000000"]))
def test_recorded_times_after_a_cached_second_are_read_as_the_pattern_says(position, replacement, primed):
    parse_time(primed)  # the one-entry cache holds this second (when it is valid)
    text = TIME[:position] + replacement + TIME[position + 1:]
    assert parse_time(text) == _parse_time_reference(text)
    assert parse_time(TIME) == _parse_time_reference(TIME)
