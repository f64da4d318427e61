"""Checkpoints (docs/audit-format.md §7): when one is due, and the signed statement it carries.

A checkpoint is sealed into the chain like any record and then copied, as a line of its own, into the stream's
checkpoint file. It is due after ``checkpoint_records`` records or ``checkpoint_interval`` seconds since the last
one (only when records were written since), and always at rotation, close and recovery (the writer asks for those).
Not thread-safe: the writer uses it under its lock.
"""

from __future__ import annotations

import time
from typing import Any

from gxp_otel.audit.format import FORMAT_V2
from gxp_otel.audit.signing import UNSIGNED_KEY_ID, CheckpointSigner


class CheckpointSchedule:
    """Counts the records since the last checkpoint and says when the next ``interval`` checkpoint is due."""

    def __init__(self, interval_ns: int, records: int) -> None:
        self._interval_ns, self._records = interval_ns, records
        self.records_since = 0
        self.last_ns = time.monotonic_ns()

    def due(self) -> str | None:
        if self.records_since <= 0:
            return None
        if self.records_since >= self._records or time.monotonic_ns() - self.last_ns >= self._interval_ns:
            return "interval"
        return None

    def written(self) -> None:
        """A checkpoint reached the checkpoint file: the counts start again."""
        self.last_ns = time.monotonic_ns()
        self.records_since = 0


def checkpoint_body(*, stream_format: str, stream_id: str, seq: int, head: str, file: str, time_text: str,
                    reason: str, genesis: str | None, retention_days: str,
                    signer: CheckpointSigner | None) -> dict[str, Any]:
    """The §7 body of a checkpoint record for the chain's head ``(seq, head)``, with its statement signed."""
    statement = {
        "format": stream_format,
        "stream": stream_id,
        "seq": str(seq),
        "head": head,
        "file": file,
        "time": time_text,
        "reason": reason,
    }
    if stream_format == FORMAT_V2:
        statement["genesis"], statement["retention_days"] = genesis, retention_days
    return {
        "statement": statement,
        "key_id": signer.key_id if signer else UNSIGNED_KEY_ID,
        "signature": signer.sign(statement) if signer else "",
    }
