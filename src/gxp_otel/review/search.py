"""Finding records ("Available" in ALCOA+): through a fresh index when there is one, else by scanning the trail.

Both ways return the same records in the same order (file order, then line): the index only decides which lines are
read.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gxp_otel.review.filters import RecordFilter
from gxp_otel.review.index import StaleIndex, default_index_path, indexed_hits, is_fresh, update_index
from gxp_otel.review.scan import Hit, ScanStats, iter_needle, iter_records


@dataclass
class Search:
    """A search in progress: ``hits`` yields the matches; ``method`` says how they were found."""

    hits: Iterator[Hit]
    method: str
    stats: ScanStats = field(default_factory=ScanStats)


def find_records(
    trail: str | os.PathLike[str],
    selection: RecordFilter,
    *,
    index_path: Path | None = None,
    use_index: bool = True,
) -> Search:
    """The records of ``trail`` that ``selection`` matches. An index is used when it exists and the selection names
    something it indexes (times alone scan: they usually select most of a trail); a stale one is first brought up
    to date, and one that cannot be, or that points at the wrong lines, is not used."""
    trail = Path(trail)
    index_path = index_path or default_index_path(trail)
    selective = any(v is not None for v in (selection.trace_id, selection.run_id, selection.user,
                                            selection.agent, selection.event_type))
    method = "scan"
    if use_index and selective and index_path.exists():
        try:
            note = ""
            if not is_fresh(index_path, trail):
                added = update_index(trail, index_path)
                note = f" (brought up to date with the trail: {added} record(s) indexed)"
            return Search(iter(indexed_hits(index_path, trail, selection)), "index" + note)
        except (StaleIndex, sqlite3.Error, OSError) as exc:
            method = f"scan (index not used: {exc})"
    stats = ScanStats()
    needle = selection.needle()
    source = iter_needle(trail, needle, stats) if needle is not None else iter_records(trail, stats)
    hits = source if selection.empty else (hit for hit in source if selection.matches(hit.record))
    return Search(hits, method, stats)
