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
_TRACE = re.compile(r"^([0-9a-f]{32})?$")
_SPAN = re.compile(r"^([0-9a-f]{16})?$")


class AlcoaAssessment:
    """Accumulates findings over a verification pass; memory is bounded (counts plus a few examples)."""

    def __init__(self, max_delay_s: float, max_skew_s: float) -> None:
        self._max_delay = int(max_delay_s * 1e9)
        self._max_skew = int(max_skew_s * 1e9)
        self._passed = dict.fromkeys(PRINCIPLES, 0)
        self._failed = dict.fromkeys(PRINCIPLES, 0)
        self._examples: dict[str, list[dict[str, Any]]] = {p: [] for p in PRINCIPLES}
        self._last_time: dict[str, str] = {}
        self._pending: dict[str, list[Any]] = {}  # stream -> [count, examples] awaiting a signed checkpoint
        self.assessed = 0

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
        self.assessed += 1
        body = record["body"]
        where = (file, line, int(record["seq"]))
        gxp = body.get("gxp") if isinstance(body.get("gxp"), dict) else {}
        self._mark("attributable", bool(gxp.get("user_id") or gxp.get("agent_id")), where, "no user id or agent id")
        self._mark("legible", True, where)
        self._contemporaneous(record, body, where)
        self._mark("original", original, where, "the record's chain link did not verify")
        self._accurate(record["kind"], body, where)
        self._complete(record["kind"], body, where)
        self._mark("consistent", record["time"] >= previous, where, "recorded earlier than the record before it")
        self._mark("available", True, where)
        pending = self._pending.setdefault(stream, [0, []])
        pending[0] += 1
        if len(pending[1]) < EXAMPLES:
            pending[1].append(where)

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
        if recorded is None or not str(event).isdigit() or event == "0":
            self._mark("contemporaneous", False, where, "no event time")
            return
        delay = recorded - int(event)
        ok = -self._max_skew <= delay <= self._max_delay
        self._mark("contemporaneous", ok, where, f"recorded {delay / 1e9:.3f} s after the event")

    def _accurate(self, kind: str, body: dict, where) -> None:
        reasons = []
        if body.get("coerced"):
            reasons.append(f"coerced values: {', '.join(body['coerced'][:3])}")
        if not _TRACE.match(str(body.get("trace_id", ""))) or not _SPAN.match(str(body.get("span_id", ""))):
            reasons.append("invalid trace or span id")
        if kind == "span":
            start, end = str(body.get("start_time_unix_nano", "")), str(body.get("end_time_unix_nano", ""))
            if not (start.isdigit() and end.isdigit() and int(end) >= int(start)):
                reasons.append("span ends before it starts")
        self._mark("accurate", not reasons, where, "; ".join(reasons))

    def _complete(self, kind: str, body: dict, where) -> None:
        if kind == "span":
            dropped = body.get("dropped") if isinstance(body.get("dropped"), dict) else {}
            lost = {k: v for k, v in dropped.items() if v != "0"}
        else:
            lost = {"attributes": body.get("dropped_attributes")} if body.get("dropped_attributes") != "0" else {}
        self._mark("complete", not lost, where, f"dropped by the SDK: {lost}")

    def result(self) -> dict[str, Any]:
        return {
            "records_assessed": self.assessed,
            "principles": {
                p: {"passed": self._passed[p], "failed": self._failed[p], "examples": self._examples[p]}
                for p in PRINCIPLES
            },
        }
