"""Part 11 records in the review (docs/audit-format.md §12): electronic signatures, corrections and purge tombstones.

They are shown for the whole trail whatever the review's scope (a signature belongs to the record it signs, which
may be in scope while the signature record itself is not). Whether each one *verifies* is the verifier's finding:
its problems (``bad-esignature``, ``esignature-link``, ``bad-correction``, ...) are in the integrity section and are
also flagged next to the record here. Per 11.50, a signature is shown with printed name, UTC time and meaning.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson

from gxp_otel.review.scan import Hit

PART11_KINDS = ("signature", "correction", "purge")
NEEDLES = tuple(b'"kind":"' + kind.encode() + b'"' for kind in PART11_KINDS)
LIMIT = 1000


def _ref(value: Any) -> dict[str, str]:
    ref = value if isinstance(value, dict) else {}
    return {k: str(ref.get(k, "")) for k in ("stream", "seq", "hash")}


def _person(value: Any) -> dict[str, str]:
    person = value if isinstance(value, dict) else {}
    return {"printed_name": str(person.get("printed_name", "")), "user_id": str(person.get("user_id", ""))}


def _short_json(value: Any, limit: int = 200) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Part11Collector:
    """Keeps up to ``LIMIT`` of each kind, newest last, as plain rows for the page."""

    def __init__(self) -> None:
        self.rows: dict[str, deque[dict[str, Any]]] = {k: deque(maxlen=LIMIT) for k in PART11_KINDS}
        self.counts = dict.fromkeys(PART11_KINDS, 0)
        self._seen: set[tuple[str, str]] = set()

    def add(self, hit: Hit) -> None:
        record = hit.record
        kind = record.get("kind")
        if kind not in PART11_KINDS or (record.get("stream"), record.get("seq")) in self._seen:
            return
        self._seen.add((record.get("stream"), record.get("seq")))
        body = record["body"]
        statement = body.get("statement") if isinstance(body.get("statement"), dict) else {}
        where = {"stream": record.get("stream", ""), "seq": record.get("seq", ""), "file": hit.file,
                 "line": hit.line, "recorded": record.get("time", ""), "hash": record.get("hash", ""), "problem": ""}
        if kind == "signature":
            row = {**where, "target": _ref(statement.get("record")), **_person(statement.get("signer")),
                   "signed_at": str(statement.get("time", "")), "meaning": str(statement.get("meaning", "")),
                   "reason": str(statement.get("reason", "")), "authentication": str(statement.get("authentication", "")),
                   "key_id": str(statement.get("key_id", ""))}
        elif kind == "correction":
            row = {**where, "target": _ref(body.get("original")), **_person(body.get("corrected_by")),
                   "path": str(body.get("path", "")), "old_value": _short_json(body.get("old_value")),
                   "new_value": _short_json(body.get("new_value")), "reason": str(body.get("reason", ""))}
        else:
            files = statement.get("files") if isinstance(statement.get("files"), list) else []
            row = {**where, **_person(statement.get("purged_by")), "purged_stream": str(statement.get("stream", "")),
                   "files": [str(f.get("file", "")) for f in files if isinstance(f, dict)],
                   "before": str(statement.get("before", "")), "policy": str(statement.get("policy", "")),
                   "reason": str(statement.get("reason", "")), "purged_at": str(statement.get("time", ""))}
        self.counts[kind] += 1
        self.rows[kind].append(row)

    def result(self, problems: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, Any]:
        """Rows flagged with the verifier's problems at their line, and attached to the runs whose records they
        sign or correct."""
        flagged = {(p["file"], p["line"]): p["kind"] for p in problems if p["line"] is not None}
        by_ref: dict[tuple[str, str], dict[str, Any]] = {}
        for run in runs:
            for ref in run.get("refs", ()):
                by_ref[ref] = run
        out: dict[str, Any] = {"counts": self.counts}
        for kind, rows in self.rows.items():
            out[kind] = list(rows)
            for row in out[kind]:
                row["problem"] = flagged.get((row["file"], row["line"]), "")
                target = row.get("target")
                run = by_ref.get((target["stream"], target["seq"])) if target else None
                if run is not None:
                    row["run_id"] = run["run_id"]
                    run.setdefault("part11", []).append({"kind": kind, **row})
        for run in runs:
            run.pop("refs", None)
        return out
