"""Workflow runs as a reviewer reads them: who started what, when, with which outcome, and the steps, stream events,
human approvals and errors in between (docs/instrumentation.md lists the attributes this reads).

Runs are keyed by ``gxp.workflow.run_id``. Memory is bounded: at most ``max_runs`` runs are kept (the ones touched
most recently; older ones are counted, not kept) and at most ``max_entries`` timeline entries per run.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import orjson

from gxp_otel.audit.canonical import format_time_ns


_TRACE_ID = re.compile(r"\A[0-9a-f]{32}\Z", re.ASCII)


def attribute(attributes: Any, key: str) -> str | None:
    """A string form of one typed attribute value (string, int, double, bool), None when absent or structured."""
    if not isinstance(attributes, dict):
        return None
    value = attributes.get(key)
    if not isinstance(value, dict):
        return None
    for member in ("stringValue", "intValue", "doubleValue"):
        if isinstance(value.get(member), str):
            return value[member]
    if isinstance(value.get("boolValue"), bool):
        return "true" if value["boolValue"] else "false"
    return None


def plain_value(value: Any, depth: int = 0) -> Any:
    """An AnyValue as plain JSON (what a reviewer reads), bounded in depth."""
    if not isinstance(value, dict) or depth > 6:
        return value
    if "kvlistValue" in value and isinstance(value["kvlistValue"], dict):
        return {k: plain_value(v, depth + 1) for k, v in value["kvlistValue"].items()}
    if "arrayValue" in value and isinstance(value["arrayValue"], list):
        return [plain_value(v, depth + 1) for v in value["arrayValue"]]
    for member in ("stringValue", "intValue", "doubleValue", "boolValue", "bytesValue"):
        if member in value:
            return value[member]
    return None


def summary_text(value: Any, limit: int = 160) -> str:
    """One line about a log body: its message when it has one, else its fields."""
    plain = plain_value(value)
    if isinstance(plain, dict):
        if isinstance(plain.get("message"), str):
            text = plain["message"]
        else:
            text = ", ".join(f"{k}={v if not isinstance(v, (dict, list)) else orjson.dumps(v).decode()}"
                             for k, v in plain.items() if k not in ("event_type", "timestamp"))
    else:
        text = "" if plain is None else str(plain)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NANOS = re.compile(r"\A[1-9][0-9]{0,18}\Z", re.ASCII)
_EMPTY: dict = {}  # read only


def authenticated_sender(body: dict) -> str:
    """Who delivered the record as the collector authenticated it (the ``ingest`` member, docs/audit-format.md
    §5.6), as opposed to the identity the application declared in ``gxp``; "" when no receiver authenticated one."""
    ingest = body.get("ingest")
    if not isinstance(ingest, dict) or ingest.get("via") in (None, "none"):
        return ""
    subject = ingest.get("subject")
    return subject if isinstance(subject, str) else ""


def nanos_to_time(value: Any) -> str:
    """The recorded form of an event time in ns (a decimal string); ``""`` for none, ``"0"``, or anything that is
    not an ASCII decimal a datetime can hold (10**25 ns, Unicode digits)."""
    if type(value) is not str or _NANOS.match(value) is None:
        return ""
    try:
        return format_time_ns(int(value))
    except (ValueError, OverflowError, OSError):
        return ""


class RunCollector:
    """Accumulates runs from span and log records, in one pass, in bounded memory."""

    def __init__(self, phoenix_url: str, max_runs: int = 500, max_entries: int = 300) -> None:
        self.phoenix_url = phoenix_url.rstrip("/")
        self.max_runs = max_runs
        self.max_entries = max_entries
        self.runs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.seen: set[str] = set()  # run ids only: bounded by the number of runs, a few dozen bytes each
        self.evicted = 0
        self.approvals = 0  # in every run in scope, kept or not

    def _run(self, run_id: str) -> dict[str, Any]:
        run = self.runs.get(run_id)
        if run is None:
            run = {"run_id": run_id, "workflow": "", "trace_id": "", "user": "", "agent": "", "gamp": "",
                   "risk": "", "correlation": "", "start": "", "end": "", "duration_s": None, "status": "",
                   "status_message": "", "outcome": "", "capture_policy": "", "input": "", "output": "", "project": "", "phoenix_url": "", "records": 0,
                   "steps": 0, "events": 0, "calls": 0, "errors": 0, "approvals": [], "timeline": [],
                   "timeline_dropped": 0, "root_seen": False, "refs": set(), "senders": []}
            self.runs[run_id] = run
            self.seen.add(run_id)
            if len(self.runs) > self.max_runs:
                self.runs.popitem(last=False)
                self.evicted += 1
        else:
            self.runs.move_to_end(run_id)
        return run

    def _entry(self, run: dict[str, Any], entry: dict[str, Any]) -> None:
        if len(run["timeline"]) < self.max_entries:
            run["timeline"].append(entry)
        else:
            run["timeline_dropped"] += 1

    def add(self, record: dict, where: dict[str, Any]) -> None:
        """Count one record into its run. ``record`` comes from ``scan.parse_record``: ``gxp`` is a dict of strings,
        ``status``, ``attributes`` and ``resource`` are dicts and ``events`` a list of dicts when present."""
        body = record["body"]
        gxp = body.get("gxp", _EMPTY)
        run_id = gxp.get("run_id")
        if not run_id:
            return
        run = self._run(run_id)
        run["records"] += 1
        refs = run["refs"]
        if len(refs) < 4 * self.max_entries:  # (stream, seq) of its records: what signatures point at
            refs.add((where.get("stream"), where.get("seq")))
        attrs = body.get("attributes")
        if "ingest" in body:
            sender = authenticated_sender(body)
            if sender and sender not in run["senders"] and len(run["senders"]) < 8:
                run["senders"].append(sender)
        kind = record["kind"]
        if kind == "span":
            self._span(run, body, gxp, attrs, where)
        elif kind == "log":
            self._log(run, body, gxp, attrs, where)

    def _span(self, run, body, gxp, attrs, where) -> None:
        status = body.get("status", _EMPTY)
        code = status.get("code", "")
        step = attribute(attrs, "gxp.step.name") if attrs and "gxp.step.name" in attrs else None
        name = body.get("name", "")
        if step is None and name.endswith(".run") and attribute(attrs, "gxp.workflow.name") is not None:
            start = nanos_to_time(body.get("start_time_unix_nano"))
            self._root(run, body, gxp, attrs, code, status, start, nanos_to_time(body.get("end_time_unix_nano")))
        elif step is not None:
            run["steps"] += 1
            if len(run["timeline"]) < self.max_entries:  # the entry is made only when it is kept
                start = nanos_to_time(body.get("start_time_unix_nano"))
                run["timeline"].append({"type": "step", "name": step, "start": start,
                                        "end": nanos_to_time(body.get("end_time_unix_nano")), "status": code,
                                        "retry": attribute(attrs, "gxp.step.retry") or "0", **where})
            else:
                run["timeline_dropped"] += 1
        else:
            run["calls"] += 1
        if code == "ERROR":
            run["errors"] += 1
        for event in body.get("events") or ():
            if event.get("name") == "exception":
                ev_attrs = event.get("attributes")
                text = attribute(ev_attrs, "exception.type") or "exception"
                message = attribute(ev_attrs, "exception.message") or ""
                self._entry(run, {"type": "error", "name": text, "start": nanos_to_time(event.get("time_unix_nano")),
                                  "detail": message[:300], "step": step or name, **where})

    def _root(self, run, body, gxp, attrs, code, status, start, end) -> None:
        resource = body.get("resource", {}).get("attributes") if isinstance(body.get("resource"), dict) else None
        run.update(
            workflow=attribute(attrs, "gxp.workflow.name") or "", trace_id=body.get("trace_id", ""),
            user=gxp.get("user_id", ""), agent=gxp.get("agent_id", ""), gamp=gxp.get("gamp_category", ""),
            risk=gxp.get("risk_level", ""), correlation=gxp.get("correlation_id", ""), start=start, end=end,
            status=code, status_message=str(status.get("message", ""))[:300], root_seen=True,
            project=attribute(resource, "openinference.project.name") or attribute(resource, "service.name") or "",
            capture_policy=attribute(attrs, "gxp.capture.policy") or "",
        )
        s, e = str(body.get("start_time_unix_nano", "")), str(body.get("end_time_unix_nano", ""))
        if _NANOS.match(s) and _NANOS.match(e):
            run["duration_s"] = round((int(e) - int(s)) / 1e9, 3)
        output = attribute(attrs, "output.value")
        run["input"] = _clip(attribute(attrs, "input.value") or "")
        run["output"] = _clip(output or "")
        if output and output.startswith("{") and len(output) < 100_000:
            try:
                parsed = orjson.loads(output)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict) and isinstance(parsed.get("status"), str):
                run["outcome"] = parsed["status"]
        ended = attribute(attrs, "gxp.workflow.outcome")
        if ended in ("cancelled", "suspended", "interrupted"):  # how the run ended, as recorded
            by = attribute(attrs, "gxp.workflow.cancelled_by")
            run["outcome"] = ended + (f" by {by}" if by else "")
        if _TRACE_ID.match(str(run["trace_id"])) and self.phoenix_url:  # ids come from the trail: links only to ids
            run["phoenix_url"] = f"{self.phoenix_url}/redirects/traces/{run['trace_id']}"

    def _log(self, run, body, gxp, attrs, where) -> None:
        run["events"] += 1
        time = nanos_to_time(body.get("time_unix_nano")) or nanos_to_time(body.get("observed_time_unix_nano"))
        name = body.get("event_name") or attribute(attrs, "gxp.event.type") or "log"
        action = attribute(attrs, "gxp.hitl.action") or ""
        if len(run["timeline"]) < self.max_entries:  # the entry is made only when it is kept
            run["timeline"].append({
                "type": "event", "name": name, "start": time, "step": attribute(attrs, "gxp.step.name") or "",
                "source": attribute(attrs, "gxp.event.source") or "", "user": gxp.get("user_id", ""), "hitl": action,
                "detail": summary_text(body.get("body")), **where})
        else:
            run["timeline_dropped"] += 1
        if action in ("human-response", "automated-response"):
            # A person's decision only when declared by the answering side (docs/instrumentation.md); an automated
            # one is listed as such, never as the run starter's approval.
            human = action == "human-response"
            self.approvals += human
            plain = plain_value(body.get("body"))
            plain = plain if isinstance(plain, dict) else {}
            decision = plain.get("response") or plain.get("approved")
            kind = (attribute(attrs, "gxp.hitl.decision") or "declared") if human else "automated"
            if kind == "e-signed" and attrs.get("gxp.hitl.decision") != {"stringValue": "e-signed"}:
                kind = "declared"  # e-signed exactly when the verifier checks it (docs/audit-format.md §12.4)
            run["approvals"].append({
                "time": time, "responder": (attribute(attrs, "gxp.hitl.responder") or "") if human else "",
                "kind": kind, "signature_missing": attribute(attrs, "gxp.hitl.signature_missing") == "true",
                "decision": str(decision) if decision is not None else "", "comment": str(plain.get("comment", "")),
                "event": name, "sender": authenticated_sender(body), **where,
            })

    def result(self) -> list[dict[str, Any]]:
        """The kept runs, newest start first (runs whose root span is not in scope sort by their first entry)."""
        runs = list(self.runs.values())
        for run in runs:
            run["timeline"].sort(key=lambda e: e.get("start") or "")
            if not run["start"] and run["timeline"]:
                run["start"] = run["timeline"][0].get("start", "")
        runs.sort(key=lambda r: r["start"], reverse=True)
        return runs
