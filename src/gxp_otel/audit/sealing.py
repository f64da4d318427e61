"""Line sealing (docs/audit-format.md §4): each record gets the next ``seq``, is linked to the chain's head and is
rendered as its one canonical line.

The bytes and the hash are those of :func:`gxp_otel.audit.canonical.encode_record` (hashing lives there only);
this module keeps the chain's state and the geometry of a line (its exact length, and the longest a body may be).
Not thread-safe: :class:`~gxp_otel.audit.writer.AuditTrailWriter` uses it under its lock.
"""

from __future__ import annotations

from gxp_otel.audit.canonical import ZERO_HASH, encode_record, format_time_ns
from gxp_otel.audit.reading import MAX_LINE_BYTES

# Every byte of a line but its body and its variable members (kind, seq, stream): the envelope's names and quotes,
# the two 64-hex hashes, the 30-character recorded time and the newline.
_FIXED_LINE_BYTES = (len('{"body":,"hash":"","kind":"","prev":"","seq":"","stream":"","time":""}\n')
                     + 64 + 64 + len("2026-01-01T00:00:00.000000000Z"))
_MAX_SEQ_DIGITS = 19


def line_length(kind: str, seq: int, stream_id: str, body_bytes: int) -> int:
    """The exact length of a record's line, newline included."""
    return _FIXED_LINE_BYTES + body_bytes + len(kind) + len(str(seq)) + len(stream_id)


def longest_line(kind: str, stream_id: str, body_bytes: int) -> int:
    """An upper bound of :func:`line_length` for any seq (19 digits, the most an int64 seq has)."""
    return _FIXED_LINE_BYTES + body_bytes + len(kind) + _MAX_SEQ_DIGITS + len(stream_id)


def fits_line_limit(kind: str, stream_id: str, body_bytes: int) -> bool:
    """§2.1: writers MUST NOT write a line over ``MAX_LINE_BYTES`` (newline not counted). Bounded with the longest
    seq, so this errs by at most 18 bytes towards refusing."""
    return longest_line(kind, stream_id, body_bytes) - 1 <= MAX_LINE_BYTES


class ChainSealer:
    """The chain of one stream: ``seq`` and ``head`` of the last sealed record (``-1`` and the zero hash before the
    genesis record)."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.seq = -1
        self.head = ZERO_HASH

    def seal(self, kind: str, body_json: bytes, now: int) -> bytes:
        """Give the record the next seq, link it to the head and return its line; ``now`` is its recorded time."""
        seq = self.seq + 1
        self.head, line = encode_record(kind, self.stream_id, seq, self.head, format_time_ns(now), body_json)
        self.seq = seq
        return line

    def reset(self, seq: int, head: str) -> None:
        """Continue from ``(seq, head)``: a recovered tail, or the last durable record after a failed write."""
        self.seq, self.head = seq, head
