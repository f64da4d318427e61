"""When a chain file ends (docs/audit-format.md §8): before sealing a record, the writer rotates when the current file
is non-empty and either the record's recorded UTC day differs from that of the file's first record in this session
(``rotate_daily``), or the current size plus the record's full line would exceed ``rotate_bytes``.

:meth:`RotationPolicy.window` turns that rule into a cheap per-record test for a group commit: a record recorded
inside the window whose longest possible line fits the room left never needs a rotation; only a record outside it
takes the exact test (:meth:`RotationPolicy.needs_rotation`), so the two decide alike. Pure; thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass

from gxp_otel.audit.format import chain_file_name
from gxp_otel.audit.sealing import line_length

DAY_NS = 86_400_000_000_000
_NEVER = 1 << 80  # beyond any int64 clock reading


def utc_day(ns: int) -> int:
    """The UTC day number (days since 1970-01-01) of a time in nanoseconds."""
    return ns // DAY_NS


@dataclass(frozen=True)
class RotationPolicy:
    rotate_bytes: int
    rotate_daily: bool

    def new_day(self, file_day: int | None, now: int) -> bool:
        return self.rotate_daily and file_day is not None and utc_day(now) != file_day

    def needs_rotation(self, used: int, file_day: int | None, kind: str, seq: int, stream_id: str,
                       body_bytes: int, now: int) -> bool:
        """The exact §8 rule for the record ``seq`` of ``body_bytes`` when ``used`` bytes of the file are taken. Never
        before a ``recovery`` record: a restarted writer writes it into the newest file even when that is full, so
        the checkpoint that closes the file is signed by the key the recovery record puts in force."""
        if used == 0 or kind == "recovery":
            return False
        if self.new_day(file_day, now):
            return True
        return used + line_length(kind, seq, stream_id, body_bytes) > self.rotate_bytes

    def window(self, used: int, file_day: int | None) -> tuple[int, int, int]:
        """``(start, end, room)``: a record recorded in ``[start, end)`` whose whole line is at most ``room`` bytes
        needs no rotation in a file with ``used`` bytes taken (sealed or pending) whose first record fell on
        ``file_day``. An empty file, or one whose day is not known yet, gets an empty window, so that its next
        record takes the exact test."""
        if used == 0 or file_day is None:
            return _NEVER, -_NEVER, -1
        start, end = (file_day * DAY_NS, (file_day + 1) * DAY_NS) if self.rotate_daily else (-_NEVER, _NEVER)
        return start, end, self.rotate_bytes - used

    def reason(self, file_day: int | None, now: int) -> str:
        return "time" if self.new_day(file_day, now) else "size"

    def rotation_body(self, stream_id: str, index: int, file_day: int | None, now: int) -> dict[str, str]:
        """The §6.3 body of the ``rotation`` record that closes file ``index``."""
        return {"next_file": chain_file_name(stream_id, index + 1), "reason": self.reason(file_day, now)}

