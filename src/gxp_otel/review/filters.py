"""Which records a review or a query covers: ``RecordFilter``, applied to the record itself (never to an index row).

Times compare on the *recorded* time (the writer's UTC clock, §4 of docs/audit-format.md): it is what the chain
orders and what an inspector asks about ("what was recorded between ... and ...").
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timezone

from gxp_otel.review.scan import needle_for


def parse_when(text: str, *, end: bool = False) -> str:
    """A user's date or time as a recorded-time string (comparable as text). ``2026-11-27`` as ``--until`` means
    the end of that day. Times without a zone are UTC. Raises ValueError with a sentence when unreadable."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date or time (use 2026-11-27 or 2026-11-27T08:00:00Z)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    date_only = len(value) == 10
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if date_only and end:
        return stamp[:10] + "T23:59:59.999999999Z"
    return f"{stamp}.{moment.microsecond * 1000:09d}Z"


def _attribute(body: dict, key: str) -> str | None:
    value = body.get("attributes", {}).get(key) if isinstance(body.get("attributes"), dict) else None
    if isinstance(value, dict):
        found = value.get("stringValue", value.get("intValue"))
        return found if isinstance(found, str) else None
    return None


def event_type(record: dict) -> str:
    """The workflow event type of a log record (its event name, else ``gxp.event.type``); '' for other records."""
    if record.get("kind") != "log":
        return ""
    body = record["body"]
    return body.get("event_name") or _attribute(body, "gxp.event.type") or ""


@dataclass(frozen=True)
class RecordFilter:
    """A conjunction of optional conditions; an empty filter selects every record."""

    trace_id: str | None = None
    run_id: str | None = None
    user: str | None = None
    agent: str | None = None
    event_type: str | None = None
    since: str | None = None  # recorded time, canonical form (see parse_when)
    until: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def describe(self) -> str:
        parts = [f"{f.name.replace('_', ' ')} {getattr(self, f.name)}" for f in fields(self)
                 if getattr(self, f.name) is not None]
        return ", ".join(parts) if parts else "all records"

    def matches(self, record: dict) -> bool:
        time = record.get("time", "")
        if self.since is not None and time < self.since:
            return False
        if self.until is not None and time > self.until:
            return False
        body = record.get("body", {})
        gxp = body.get("gxp") if isinstance(body.get("gxp"), dict) else {}
        if self.trace_id is not None and body.get("trace_id") != self.trace_id:
            return False
        if self.run_id is not None and gxp.get("run_id") != self.run_id:
            return False
        if self.user is not None and gxp.get("user_id") != self.user:
            return False
        if self.agent is not None and gxp.get("agent_id") != self.agent:
            return False
        if self.event_type is not None and event_type(record) != self.event_type:
            return False
        return True

    def needle(self) -> bytes | None:
        """The most selective literal every matching line must contain, or None when there is none."""
        for member, value in (("trace_id", self.trace_id), ("run_id", self.run_id), ("user_id", self.user),
                              ("agent_id", self.agent)):
            if value is not None:
                return needle_for(member, value)
        if self.event_type is not None:
            found = needle_for("x", self.event_type)
            return found[len(b'"x":'):] if found else None  # the quoted value: event name or gxp.event.type
        return None


def selection_from_options(*, trace_id: str | None = None, run_id: str | None = None, user: str | None = None,
                           agent: str | None = None, event_type: str | None = None, since: str | None = None,
                           until: str | None = None) -> RecordFilter:
    """A RecordFilter from command-line strings; ValueError (with a sentence) for unreadable times or ids."""
    if trace_id is not None:
        trace_id = trace_id.strip().lower()
        if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
            raise ValueError(f"{trace_id!r} is not a trace id (32 hex digits)")
    return RecordFilter(
        trace_id=trace_id, run_id=run_id, user=user, agent=agent, event_type=event_type,
        since=parse_when(since) if since else None, until=parse_when(until, end=True) if until else None,
    )
