"""Finding records ("Available" in ALCOA+): through a fresh index when there is one, else by scanning the trail.

Both ways return the same records in the same order (file order, then line): the index only decides which lines are
read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gxp_otel.review.filters import RecordFilter
from gxp_otel.review.index import StaleIndex, default_index_path, indexed_hits
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
    """The records of ``trail`` that ``selection`` matches. The index is used only when it exists, is fresh and the
    selection names something it indexes (times alone scan: they usually select most of a trail)."""
    trail = Path(trail)
    index_path = index_path or default_index_path(trail)
    selective = any(v is not None for v in (selection.trace_id, selection.run_id, selection.user,
                                            selection.agent, selection.event_type))
    if use_index and selective and index_path.exists():
        try:
            return Search(iter(indexed_hits(index_path, trail, selection)), "index")
        except StaleIndex as exc:
            stale = f"scan (index not used: {exc})"
        else:  # pragma: no cover
            stale = "scan"
    else:
        stale = "scan"
    stats = ScanStats()
    needle = selection.needle()
    source = iter_needle(trail, needle, stats) if needle is not None else iter_records(trail, stats)
    hits = (hit for hit in source if selection.matches(hit.record))
    return Search(hits, stale, stats)
