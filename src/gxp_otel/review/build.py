"""``build_review``: one streaming pass over the records in scope (aggregates, runs, the newest records for the page)
while ``verify_trail`` checks the whole trail, in a second process when the trail is large.

The result is plain JSON-ready data; ``render`` turns it into the page. Memory is bounded by the caps (runs kept,
records kept, histogram buckets), not by the size of the trail.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gxp_otel.audit.canonical import format_time_ns, parse_time
from gxp_otel.audit.report import PROBLEM_WORDS, TrailReport
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.review.filters import RecordFilter, event_type
from gxp_otel.review.runs import RunCollector, nanos_to_time
from gxp_otel.review.search import find_records
from gxp_otel.review.part11 import NEEDLES, PART11_KINDS, Part11Collector
from gxp_otel.review.scan import Hit, chain_files, iter_needle

PARALLEL_VERIFY_BYTES = 16 << 20
VERIFY_NICENESS = 5  # added to the verifying process's niceness when it runs beside the review pass
MAX_PROBLEMS_SHOWN = 500
DEFAULT_PHOENIX_URL = "http://127.0.0.1:6006"


@dataclass(frozen=True)
class ReviewOptions:
    selection: RecordFilter = RecordFilter()
    trusted_keys: tuple[str, ...] = ()
    checkpoint_files: tuple[Path, ...] = ()
    signers: tuple[dict[str, str], ...] = ()  # registered e-signature signers (KEY.signer.json entries)
    purgers: tuple[dict[str, str], ...] = ()  # registered purgers: the only anchor for purge tombstones (§12.3)
    phoenix_url: str = DEFAULT_PHOENIX_URL
    max_runs: int = 500
    max_records: int = 5000
    max_delay_s: float = 300.0
    index_path: Path | None = None
    use_index: bool = True


class TimeHistogram:
    """Counts per recorded-time bucket and series; buckets coarsen (1 ms, 10 ms, 100 ms, second, minute, hour, day)
    as the trail's time range grows, to stay bounded."""

    WIDTHS = (23, 22, 21, 19, 16, 13, 10)  # prefix lengths of the recorded time
    UNITS = (10**6, 10**7, 10**8, 10**9, 60 * 10**9, 3600 * 10**9, 86400 * 10**9)  # their durations in ns
    LIMIT = 20_000

    def __init__(self) -> None:
        self.level = 0
        self.width = self.WIDTHS[0]
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, time: str, series: str) -> None:
        counts = self.counts
        key = (time[: self.width], series)
        counts[key] = counts.get(key, 0) + 1
        if len(counts) > self.LIMIT and self.level < len(self.WIDTHS) - 1:
            self.level += 1
            width = self.width = self.WIDTHS[self.level]
            coarse: dict[tuple[str, str], int] = {}
            for (bucket, name), n in self.counts.items():
                coarse[(bucket[:width], name)] = coarse.get((bucket[:width], name), 0) + n
            self.counts = coarse

    def bars(self, most: int = 48) -> list[dict[str, Any]]:
        """At most ``most`` bars over equal time intervals from the first to the last bucket (empty intervals
        included, so the axis is linear in time), each {"start", "end", "counts": {series: n}}."""
        buckets = sorted({b for b, _ in self.counts})
        if not buckets:
            return []
        unit = self.UNITS[self.level]
        first, last = _bucket_ns(buckets[0]), _bucket_ns(buckets[-1])
        width = max(unit, -(-(last - first + unit) // most // unit) * unit)
        slots = (last - first) // width + 1
        counts = [Counter() for _ in range(slots)]
        for (bucket, series), n in self.counts.items():
            counts[(_bucket_ns(bucket) - first) // width][series] += n
        return [{"start": format_time_ns(first + i * width), "end": format_time_ns(first + (i + 1) * width - 1),
                 "counts": {k: c.get(k, 0) for k in ("span", "log", "other")}} for i, c in enumerate(counts)]


_TIME_TEMPLATE = "0000-01-01T00:00:00.000000000Z"


def _bucket_ns(bucket: str) -> int:
    return parse_time(bucket + _TIME_TEMPLATE[len(bucket):]) or 0


class ReviewAggregates:
    """Everything the page shows about the records in scope, gathered one record at a time."""

    def __init__(self, options: ReviewOptions) -> None:
        self.options = options
        self.total = 0
        self.kinds: Counter[str] = Counter()
        self.agents: Counter[str] = Counter()
        self.users: Counter[str] = Counter()
        self.gamp: Counter[str] = Counter()
        self.event_types: Counter[str] = Counter()
        self.errors = 0
        self.first_time = ""
        self.last_time = ""
        self.histogram = TimeHistogram()
        self.runs = RunCollector(options.phoenix_url, max_runs=options.max_runs)
        self.records: deque[tuple] = deque(maxlen=options.max_records)  # _row_parts of the newest
        self.part11 = Part11Collector()

    def add(self, hit: Hit) -> None:
        """Count one record in. Records come from ``parse_record``, so their envelope members are strings and the
        body members read here have the types it checks (``gxp`` a dict of strings, ``status`` a dict, ...)."""
        record = hit.record
        kind, time, body = record["kind"], record["time"], record["body"]
        gxp = body.get("gxp", _EMPTY)
        self.total += 1
        kinds = self.kinds
        kinds[kind] = kinds.get(kind, 0) + 1
        if not self.first_time or time < self.first_time:
            self.first_time = time
        if time > self.last_time:
            self.last_time = time
        span = kind == "span"
        if span or kind == "log":
            self.histogram.add(time, kind)
            _count(self.agents, gxp.get("agent_id") or "(none)")
            _count(self.users, gxp.get("user_id") or "(none)")
            _count(self.gamp, gxp.get("gamp_category") or "(none)")
        else:
            self.histogram.add(time, "other")
        status = body.get("status", _EMPTY)
        if span and status.get("code") == "ERROR":
            self.errors += 1
        name = event_type(record) if kind == "log" else ""
        if name:
            _count(self.event_types, name)
        where = {"stream": record["stream"], "seq": record["seq"], "file": hit.file, "line": hit.line}
        self.runs.add(record, where)
        if kind in PART11_KINDS:
            self.part11.add(hit)
        self.records.append(_row_parts(record, kind, time, body, gxp, status, name, where))

    def rows(self) -> list[dict[str, Any]]:
        """The kept records as the page's rows, oldest first (made only for the ones kept)."""
        return [_row(*parts) for parts in self.records]


_EMPTY: dict = {}  # read only


def _count(counter: Counter[str], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1  # Counter's own += and insertion order, without its __missing__ call


def _row_parts(record, kind, time, body, gxp, status, name, where) -> tuple:
    """What a record's row is made of, without making it (most records are never shown)."""
    if kind == "span":
        what, first, second = body.get("name", ""), body.get("end_time_unix_nano"), None
    elif kind == "log":
        what = name or body.get("severity_text", "") or "log"
        first, second = body.get("time_unix_nano"), body.get("observed_time_unix_nano")
    else:
        what = first = second = None
    return (where, time, kind, what, first, second, gxp.get("user_id", ""), gxp.get("agent_id", ""),
            gxp.get("run_id", ""), body.get("trace_id", ""), body.get("span_id", ""), status.get("code", ""),
            record["hash"])


def _row(where, time, kind, what, first, second, user, agent, run_id, trace_id, span_id, code, digest
         ) -> dict[str, Any]:
    if kind == "span":
        event_time = nanos_to_time(first)
    elif kind == "log":
        event_time = nanos_to_time(first) or nanos_to_time(second)
    else:
        what, event_time = kind, ""
    return {**where, "recorded": time, "event_time": event_time, "kind": kind, "what": what, "user": user,
            "agent": agent, "run_id": run_id, "trace_id": trace_id, "span_id": span_id, "status": code,
            "hash": digest}


def _verify_beside(trail: Path, options: ReviewOptions) -> TrailReport:
    """``_verify`` in the second process, at :data:`VERIFY_NICENESS` (its worker processes inherit it): the review
    pass is one process and the verifier's workers are one per core, so without it the review pass shares a core
    with them and, alone at the end, finishes last; lowered, the verifier takes what the review pass leaves and both
    end together (`gxp-otel report` on the 150,186-record bench trail: see docs/benchmarks.md). Only the scheduling
    changes: the verdict and the page are the same (tests/review/test_review_golden.py)."""
    try:
        os.nice(VERIFY_NICENESS)
    except OSError:  # not allowed here: verify at the same priority
        pass
    return _verify(trail, options)


def _verify(trail: Path, options: ReviewOptions) -> TrailReport:
    return verify_trail(trail, trusted_keys=options.trusted_keys, checkpoint_files=options.checkpoint_files,
                        alcoa=True, max_delay_s=options.max_delay_s, signers=options.signers,
                        purgers=options.purgers)


def _trail_bytes(trail: Path) -> int:
    return sum(path.lstat().st_size for path, _ in chain_files(trail)) if trail.exists() else 0  # no link followed


def build_review(trail: str | os.PathLike[str], options: ReviewOptions = ReviewOptions()) -> dict[str, Any]:
    """Verify the trail and gather the review of the records ``options.selection`` selects."""
    trail = Path(trail)
    aggregates = ReviewAggregates(options)
    if trail.exists() and _trail_bytes(trail) >= PARALLEL_VERIFY_BYTES:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
            verification = pool.submit(_verify_beside, trail, options)
            method = _gather(trail, options, aggregates)
            report = verification.result()
    else:
        report = _verify(trail, options)
        method = _gather(trail, options, aggregates) if trail.exists() else "none"
    return _assemble(trail, options, report, aggregates, method)


def _gather(trail: Path, options: ReviewOptions, aggregates: ReviewAggregates) -> str:
    search = find_records(trail, options.selection, index_path=options.index_path, use_index=options.use_index)
    for hit in search.hits:
        aggregates.add(hit)
    if not options.selection.empty:  # signatures, corrections, purges: of the whole trail, whatever the scope
        for hit in iter_needle(trail, NEEDLES):
            aggregates.part11.add(hit)
    return search.method


def _top(counter: Counter[str], most: int = 12) -> list[list[Any]]:
    items = counter.most_common()
    if len(items) > most:
        rest = sum(n for _, n in items[most - 1 :])
        items = items[: most - 1] + [(f"{len(items) - most + 1} others", rest)]
    return [[k, n] for k, n in items]


def _assemble(trail: Path, options: ReviewOptions, report: TrailReport, agg: ReviewAggregates,
              method: str) -> dict[str, Any]:
    from gxp_otel import __version__

    integrity = report.to_dict()
    problems = integrity.pop("problems")
    for problem in problems:
        problem["words"] = PROBLEM_WORDS.get(problem["kind"], problem["kind"])
    integrity["problems_total"] = len(problems)
    integrity["problems"] = problems[:MAX_PROBLEMS_SHOWN]
    runs = agg.runs.result()
    part11 = agg.part11.result(problems, runs)
    flagged = {(p["file"], p["line"]): p["kind"] for p in problems if p["line"] is not None}
    for approval in (a for run in runs for a in run["approvals"]):  # the verifier's finding, not the claim (§12.4)
        if flagged.get((approval.get("file"), approval.get("line"))) == "decision-signature":
            approval["kind"] = "e-signed claim not verified"
    unknown = {p["stream"] for p in problems if p["kind"] == "unknown-stream"}  # no trusted writer sealed them
    records = agg.rows()
    for row in records:
        row["problem"] = flagged.get((row["file"], row["line"]), "") or (
            "unknown-stream" if row["stream"] in unknown else "")
    return {
        "title": "Audit-trail review",
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": f"gxp-otel {__version__}",
        "trail": str(trail),
        "scope": options.selection.describe(),
        "found_by": method,
        "integrity": integrity,
        "alcoa": integrity.pop("alcoa", None),
        "totals": {
            "records": agg.total, "kinds": dict(agg.kinds), "errors": agg.errors, "first_time": agg.first_time,
            "last_time": agg.last_time, "runs": len(agg.runs.seen), "runs_shown": len(runs),
            "users": len([u for u in agg.users if u != "(none)"]), "agents": len([a for a in agg.agents if a != "(none)"]),
            "approvals": agg.runs.approvals,
            "records_shown": len(agg.records), "max_records": options.max_records,
        },
        "charts": {
            "over_time": agg.histogram.bars(), "agents": _top(agg.agents), "users": _top(agg.users),
            "gamp": _top(agg.gamp), "event_types": _top(agg.event_types),
        },
        "runs": runs,
        "part11": part11,
        "records": records,
        "phoenix_url": options.phoenix_url,
    }
