"""ALCOA+ findings computed per record during verification (docs/audit-format.md §11). Nothing is hard-coded:
every pass or fail is derived from the record, its chain and the checkpoints that seal it.
"""

from __future__ import annotations

import re
from typing import Any

from gxp_otel.audit.canonical import parse_time

PRINCIPLES = (
    "attributable",
    "legible",
    "contemporaneous",
    "original",
    "accurate",
    "complete",
    "consistent",
    "enduring",
    "available",
)
EXAMPLES = 10
_PASSING = ("attributable", "legible", "original", "accurate", "complete", "available")  # and contemporaneous
_TRACE = re.compile(r"\A([0-9a-f]{32})?\Z", re.ASCII)
_SPAN = re.compile(r"\A([0-9a-f]{16})?\Z", re.ASCII)
_NANOS = re.compile(r"\A(?:0|[1-9][0-9]{0,18})\Z", re.ASCII)
_INT64_MAX = 2**63 - 1
_HEX = "0123456789abcdef"
_NOTHING_DROPPED = {"attributes": "0", "events": "0", "links": "0"}  # a span's usual `dropped` (§5): nothing lost


def _nanos(value: object) -> int | None:
    """An event time as recorded (§5: a decimal string, an int64): its value, or None for anything else (a number
    too large for int64 such as 10**25, non-ASCII digits, a list...)."""
    if type(value) is not str or not (value.isascii() and value.isdigit()) or len(value) > 19 \
            or (value[0] == "0" and value != "0"):  # not _NANOS (ASCII digits, no leading zero, at most 19)
        return None
    number = int(value)
    return number if number <= _INT64_MAX else None


def _string(value: Any) -> str:
    """An OTLP JSON attribute value's string (`{"stringValue": s}`), else ""."""
    return str(value.get("stringValue", "")) if isinstance(value, dict) else ""


class AlcoaAssessment:
    """Accumulates findings over a verification pass; memory is bounded (counts plus a few examples)."""

    def __init__(self, max_delay_s: float, max_skew_s: float) -> None:
        self._max_delay = int(max_delay_s * 1e9)
        self._max_skew = int(max_skew_s * 1e9)
        self._passed = dict.fromkeys(PRINCIPLES, 0)
        self._passing = 0  # records that passed each of _PASSING, not yet added to _passed (_fold)
        self._failed = dict.fromkeys(PRINCIPLES, 0)
        self._examples: dict[str, list[dict[str, Any]]] = {p: [] for p in PRINCIPLES}
        self._last_time: dict[str, str] = {}
        self._pending: dict[str, list[Any]] = {}  # stream -> [count, examples] awaiting a signed checkpoint
        self.assessed = 0
        # Complete checks parentage of resumed runs: the run span they continue must be in the trail.
        self._run_spans: set[tuple[str, str]] = set()  # (trace_id, span_id) of workflow run spans (one per run)
        self._resumed: list[tuple[str, str, tuple[str, int, int | None]]] = []  # (trace_id, parent, where)
        self._resolved = False
        self._decisions = {"declared": 0, "e-signed": 0, "automated": 0}  # human-response / automated-response
        # Attribution by kind: an identity the application declared (gxp user/agent id) vs a sender the collector
        # authenticated at ingestion (§5.6 ingest: via other than "none", with a subject).
        self._identities = {"declared": 0, "authenticated": 0}

    def _mark(self, principle: str, ok: bool, where: tuple[str, int, int | None], reason: str = "") -> None:
        if ok:
            self._passed[principle] += 1
            return
        self._failed[principle] += 1
        if len(self._examples[principle]) < EXAMPLES:
            file, line, seq = where
            self._examples[principle].append({"file": file, "line": line, "seq": seq, "reason": reason})

    def observe(self, record: dict, file: str, line: int, stream: str, original: bool = True) -> None:
        previous = self._last_time.get(stream, "")
        self._last_time[stream] = max(previous, record["time"])
        if record["kind"] not in ("span", "log"):
            return
        self._mark("consistent", record["time"] >= previous, (file, line, int(record["seq"])),
                   "recorded earlier than the record before it")
        self.observe_body(record, file, line, stream, original)

    def observe_body(self, record: dict, file: str, line: int, stream: str, original: bool) -> None:
        """Everything :meth:`observe` does for a span/log record but the recorded-time order (Consistent), which
        depends on the records before it: a worker process assesses runs of records this way (:meth:`partial`)."""
        if not (original and self._observe_passing(record, file, line, stream)):
            self._observe_any(record, file, line, stream, original)

    def _observe_passing(self, record: dict, file: str, line: int, stream: str) -> bool:
        """:meth:`_observe_any` of a record with an unbroken link for the common case, a span or log that passes every
        principle but perhaps Contemporaneous (with both times valid) and is no resumed run and no unattributed human
        decision (HITL records are counted as `_human_decision` counts them); the
        reason of a failure is formatted only when it is kept as an example. ``False``, having changed nothing, for
        anything else. Same state afterwards (tests/audit/test_alcoa_fast.py); the conditions below are those of the
        principles' methods, for exact ``dict`` and ``str`` values only. The principles it passes and the declared
        identity are counted once per record in ``_passing`` (:meth:`_fold`)."""
        body = record["body"]
        gxp, attributes, ingest = body.get("gxp"), body.get("attributes"), body.get("ingest")
        if type(gxp) is not dict or type(attributes) is not dict or (ingest is not None and type(ingest) is not dict):
            return False
        user, agent = gxp.get("user_id"), gxp.get("agent_id")
        if not ((type(user) is str and user) or (type(agent) is str and agent)) or body.get("coerced"):
            return False
        decision = None  # which decision count (_human_decision) the record adds to, if any
        if record["kind"] == "span":
            dropped = body.get("dropped")
            if "gxp.workflow.resumed_from" in attributes or type(dropped) is not dict or (
                    dropped != _NOTHING_DROPPED and list(dropped.values()).count("0") != len(dropped)):
                return False
            event, start = _nanos(body.get("end_time_unix_nano", "0")), _nanos(body.get("start_time_unix_nano"))
            if start is None or not event or event < start:
                return False
        else:
            if body.get("dropped_attributes") != "0":
                return False
            if "gxp.hitl.action" in attributes:  # _human_decision's rule
                action = _string(attributes["gxp.hitl.action"])
                if action == "human-response":
                    if not _string(attributes.get("gxp.hitl.responder")):
                        return False  # not Attributable: _observe_any gives the reason
                    signed = attributes.get("gxp.hitl.decision") == {"stringValue": "e-signed"}
                    decision = "e-signed" if signed else "declared"
                elif action == "automated-response":
                    decision = "automated"
            event = body.get("time_unix_nano", "0")
            event = _nanos(body.get("observed_time_unix_nano", "0") if event == "0" else event)
            if not event:
                return False
        trace_id, span_id = body.get("trace_id", ""), body.get("span_id", "")
        if type(trace_id) is not str or type(span_id) is not str or len(trace_id) not in (0, 32) \
                or len(span_id) not in (0, 16) or trace_id.strip(_HEX) or span_id.strip(_HEX):  # _TRACE, _SPAN
            return False
        recorded = parse_time(record["time"])
        if recorded is None:
            return False
        self.assessed += 1
        self._passing += 1
        delay = recorded - event
        if -self._max_skew <= delay <= self._max_delay:
            self._passed["contemporaneous"] += 1
        elif len(self._examples["contemporaneous"]) < EXAMPLES:
            self._mark("contemporaneous", False, (file, line, int(record["seq"])),
                       f"recorded {delay / 1e9:.3f} s after the event")
        else:
            self._failed["contemporaneous"] += 1
        if ingest is not None:  # declared is counted by _fold
            self._identities["authenticated"] += ingest.get("via") not in (None, "none") and \
                type(ingest.get("subject")) is str and bool(ingest.get("subject"))
        if record["kind"] == "span" and "gxp.workflow.name" in attributes:
            self._run_spans.add((trace_id, span_id))
        if decision is not None:
            self._decisions[decision] += 1
        pending = self._pending.get(stream)
        if pending is None:
            pending = self._pending[stream] = [0, []]
        pending[0] += 1
        if len(pending[1]) < EXAMPLES:
            pending[1].append((file, line, int(record["seq"])))
        return True

    def _observe_any(self, record: dict, file: str, line: int, stream: str, original: bool) -> None:
        """:meth:`observe_body` for any record: each principle's own method."""
        self.assessed += 1
        body = record["body"]
        where = (file, line, int(record["seq"]))
        gxp = body.get("gxp") if isinstance(body.get("gxp"), dict) else {}
        who = [gxp.get(member) for member in ("user_id", "agent_id")]
        unanswered = self._human_decision(record["kind"], body)
        self._mark("attributable", any(type(w) is str and w for w in who) and not unanswered, where,
                   unanswered or "no user id or agent id")
        ingest = body.get("ingest") if isinstance(body.get("ingest"), dict) else {}
        self._identities["declared"] += any(type(w) is str and w for w in who)
        self._identities["authenticated"] += ingest.get("via") not in (None, "none") and \
            type(ingest.get("subject")) is str and bool(ingest.get("subject"))
        self._mark("legible", True, where)
        self._contemporaneous(record, body, where)
        self._mark("original", original, where, "the record's chain link did not verify")
        self._accurate(record["kind"], body, where)
        self._complete(record["kind"], body, where)
        self._mark("available", True, where)
        pending = self._pending.setdefault(stream, [0, []])
        pending[0] += 1
        if len(pending[1]) < EXAMPLES:
            pending[1].append(where)

    def partial(self) -> tuple:
        """What this assessment of one run (only :meth:`observe_body` calls, one stream) adds, for :meth:`merge_run`."""
        self._fold()
        return (self.assessed, self._passed, self._failed, self._examples, self._pending, self._run_spans,
                self._resumed, self._decisions, self._identities)

    def merge_run(self, partial: tuple, stream: str, file: str, line: int, seq: int, times: str,
                  backwards: tuple[int, ...] | None = None) -> None:
        """Add a run's :meth:`partial` as if its records (consecutive lines from ``line``, seqs from ``seq``, recorded
        times ``times``, 30 characters each) had been observed here one by one, in order, none with a failed link.
        ``backwards``: the ``i`` whose time is earlier than record ``i - 1``'s, when known; when there is none and
        the first time is not earlier than the stream's latest, every record is Consistent at once."""
        if backwards == () and times and times[:30] >= self._last_time.get(stream, ""):
            self._passed["consistent"] += len(times) // 30
            self._last_time[stream] = times[-30:]  # the latest: the times never go back
        else:
            for i in range(0, len(times), 30):
                time = times[i:i + 30]
                previous = self._last_time.get(stream, "")
                self._last_time[stream] = max(previous, time)
                self._mark("consistent", time >= previous, (file, line + i // 30, seq + i // 30),
                           "recorded earlier than the record before it")
        assessed, passed, failed, examples, pending, run_spans, resumed, decisions, identities = partial
        self.assessed += assessed
        for principle in PRINCIPLES:
            self._passed[principle] += passed[principle]
            self._failed[principle] += failed[principle]
            room = EXAMPLES - len(self._examples[principle])
            if room > 0:
                self._examples[principle].extend(examples[principle][:room])
        for name, (count, wheres) in pending.items():
            mine = self._pending.setdefault(name, [0, []])
            mine[0] += count
            mine[1].extend(wheres[:max(0, EXAMPLES - len(mine[1]))])
        self._run_spans |= run_spans
        self._resumed.extend(resumed)
        for counts, more in ((self._decisions, decisions), (self._identities, identities)):
            for key, n in more.items():
                counts[key] += n

    def _fold(self) -> None:
        """Add the records counted in ``_passing`` to each of their principles and to the declared identities."""
        if self._passing:
            for principle in _PASSING:
                self._passed[principle] += self._passing
            self._identities["declared"] += self._passing
            self._passing = 0

    def unreadable(self, file: str, line: int, seq: int | None, kind: str) -> None:
        """A line that failed the per-line checks: not legible, not original, not available as written."""
        where = (file, line, seq)
        self.assessed += 1
        for principle in ("legible", "original", "available"):
            self._mark(principle, False, where, kind)

    def sealed(self, stream: str) -> None:
        count, _ = self._pending.pop(stream, [0, []])
        self._passed["enduring"] += count

    def finish_stream(self, stream: str) -> None:
        count, examples = self._pending.pop(stream, [0, []])
        self._failed["enduring"] += count
        for where in examples:
            if len(self._examples["enduring"]) < EXAMPLES:
                file, line, seq = where
                self._examples["enduring"].append(
                    {"file": file, "line": line, "seq": seq, "reason": "no signed checkpoint after it"}
                )

    def _contemporaneous(self, record: dict, body: dict, where) -> None:
        recorded = parse_time(record["time"])
        if record["kind"] == "span":
            event = body.get("end_time_unix_nano", "0")
        else:
            event = body.get("time_unix_nano", "0")
            if event == "0":
                event = body.get("observed_time_unix_nano", "0")
        event_ns = _nanos(event)
        if recorded is None or not event_ns:
            self._mark("contemporaneous", False, where, "no event time" if event in ("0", None) else
                       "the event time is not a decimal int64 of nanoseconds")
            return
        delay = recorded - event_ns
        ok = -self._max_skew <= delay <= self._max_delay
        self._mark("contemporaneous", ok, where, f"recorded {delay / 1e9:.3f} s after the event")

    def _accurate(self, kind: str, body: dict, where) -> None:
        reasons = []
        coerced = body.get("coerced")
        if coerced:
            shown = coerced[:3] if isinstance(coerced, list) else [coerced]
            reasons.append(f"coerced values: {', '.join(map(str, shown))}")
        if not _TRACE.match(str(body.get("trace_id", ""))) or not _SPAN.match(str(body.get("span_id", ""))):
            reasons.append("invalid trace or span id")
        if kind == "span":
            start, end = _nanos(body.get("start_time_unix_nano")), _nanos(body.get("end_time_unix_nano"))
            if start is None or end is None:
                reasons.append("span start or end time is not a decimal int64 of nanoseconds")
            elif end < start:
                reasons.append("span ends before it starts")
        self._mark("accurate", not reasons, where, "; ".join(reasons))

    def _human_decision(self, kind: str, body: dict) -> str:
        """Decisions counted by kind (`gxp.hitl.decision` declared / e-signed; `automated-response`); a human decision
        (`gxp.hitl.action=human-response`) that does not name who answered (`gxp.hitl.responder`) is not
        Attributable, whoever started the run: returns that reason, else ""."""
        if kind != "log":
            return ""
        attributes = body.get("attributes") if isinstance(body.get("attributes"), dict) else {}
        action = _string(attributes.get("gxp.hitl.action"))
        if action == "human-response":
            # e-signed exactly when §12.4 checks it: the attribute is {"stringValue": "e-signed"}, nothing else
            signed = attributes.get("gxp.hitl.decision") == {"stringValue": "e-signed"}
            self._decisions["e-signed" if signed else "declared"] += 1
            if not _string(attributes.get("gxp.hitl.responder")):
                return "a human decision without the identity of who answered"
        elif action == "automated-response":
            self._decisions["automated"] += 1
        return ""

    def _complete(self, kind: str, body: dict, where) -> None:
        if kind == "span":
            dropped = body.get("dropped") if isinstance(body.get("dropped"), dict) else {}
            lost = {k: v for k, v in dropped.items() if v != "0"}
            attributes = body.get("attributes") if isinstance(body.get("attributes"), dict) else {}
            trace_id, parent = str(body.get("trace_id", "")), str(body.get("parent_span_id", ""))
            if "gxp.workflow.name" in attributes:
                self._run_spans.add((trace_id, str(body.get("span_id", ""))))
            if "gxp.workflow.resumed_from" in attributes and not lost:
                # decided once the whole trail is read: the run span it resumes must be in it
                self._resumed.append((trace_id, parent, where))
                return
        else:
            lost = {"attributes": body.get("dropped_attributes")} if body.get("dropped_attributes") != "0" else {}
        self._mark("complete", not lost, where, f"dropped by the SDK: {lost}")

    def _resolve_parentage(self) -> None:
        if self._resolved:
            return
        self._resolved = True
        for trace_id, parent, where in self._resumed:
            self._mark("complete", (trace_id, parent) in self._run_spans, where,
                       f"the resumed run's parent run span {parent or '(none)'} is not in the trail")

    def result(self) -> dict[str, Any]:
        self._fold()
        self._resolve_parentage()
        return {
            "records_assessed": self.assessed,
            "decisions": dict(self._decisions),
            "identities": dict(self._identities),
            "principles": {
                p: {"passed": self._passed[p], "failed": self._failed[p], "examples": self._examples[p]}
                for p in PRINCIPLES
            },
        }
