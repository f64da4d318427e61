"""The group commit of one stream (docs/audit-format.md §4, §6-§8): pending gap records, the caller's records and any
due checkpoint are sealed into lines, rotated into the next chain file where §8 says, written and fsynced together.

Guarantees: :meth:`ChainAppender.commit` returns only after its lines are written and fsynced per the policy; on a
failed write it rolls the chain and the file back to the last durable line, notes the caller's unwritten records as
lost (a ``gap`` record comes first at the next commit) and raises :class:`AuditWriteError`. A rotation is durable
before the next file is used: the closed file ends with its ``rotation`` record and checkpoint, fsynced, and the
checkpoint file has the copy. Not thread-safe: :class:`~gxp_otel.audit.writer.AuditTrailWriter` calls it under its
lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from gxp_otel.audit.canonical import canonical_json, format_time_ns
from gxp_otel.audit.checkpoints import CheckpointSchedule, checkpoint_body
from gxp_otel.audit.format import chain_file_name
from gxp_otel.audit.rotation import RotationPolicy, utc_day
from gxp_otel.audit.sealing import ChainSealer, longest_line
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.stream_files import StreamFiles


class AuditTrailError(Exception):
    """Base class for audit-trail writer errors."""


class AuditWriteError(AuditTrailError):
    """Records could not be made durable; they were counted as lost and will appear in a ``gap`` record."""


class ChainAppender:
    """Appends sealed records to the chain files of one stream. ``stats`` is the writer's counter dict;
    ``on_closed`` is called with the name of each chain file closed by rotation (to compress it)."""

    def __init__(self, files: StreamFiles, sealer: ChainSealer, stats: dict[str, int], *, fsync_policy: str,
                 fsync_interval: float, rotation: RotationPolicy, schedule: CheckpointSchedule,
                 clock: Callable[[], int], signer: CheckpointSigner | None,
                 on_closed: Callable[[str], None]) -> None:
        self.files, self.sealer, self._stats = files, sealer, stats
        self.stream_id = sealer.stream_id
        self._fsync_policy, self._fsync_interval = fsync_policy, fsync_interval
        self._rotation, self._schedule, self._clock, self._signer = rotation, schedule, clock, signer
        self._on_closed = on_closed
        self.pending_loss: dict[str, list[Any]] = {}
        # the stream's identity for checkpoint statements (§7), set by the writer when it opens the stream
        self.stream_format = ""
        self.genesis_hash: str | None = None
        self.retention_days = ""

    def note_loss(self, signal: str, count: int, reason: str, first_time_ns: int | None = None) -> None:
        first = format_time_ns(first_time_ns if first_time_ns is not None else time.time_ns())
        entry = self.pending_loss.setdefault(signal, [0, reason, first])
        entry[0] += count
        self._stats["lost"] += count

    def _seal(self, kind: str, body_json: bytes, now: int) -> bytes:
        """Seal one record recorded at ``now`` (one clock reading per record); the file's day is its first's."""
        line = self.sealer.seal(kind, body_json, now)
        if self.files.day is None:
            self.files.day = utc_day(now)
        return line

    def _checkpoint_lines(self, reason: str) -> tuple[bytes, bytes]:
        """The checkpoint's line in the chain and its copy for the checkpoint file, sealed at one clock reading."""
        now = self._clock()
        body_json = canonical_json(checkpoint_body(
            stream_format=self.stream_format, stream_id=self.stream_id, seq=self.sealer.seq,
            head=self.sealer.head, file=chain_file_name(self.stream_id, self.files.index),
            time_text=format_time_ns(now), reason=reason, genesis=self.genesis_hash,
            retention_days=self.retention_days, signer=self._signer,
        ))
        return self._seal("checkpoint", body_json, now), body_json + b"\n"

    def commit(
        self,
        kind: str | None,
        bodies: Sequence[bytes],
        *,
        data: bool = False,
        checkpoint_reason: str | None = None,
        force_fsync: bool = False,
    ) -> list[tuple[int, str]]:
        """Seal and write pending gap records, one ``kind`` record per body and any due checkpoint, as one group
        commit; roll back to the last durable line on error. ``data``: the bodies are the caller's spans/logs (counted,
        and recorded as lost when the write fails). Returns ``(seq, hash)`` of each of ``bodies``.

        The per-record rotation test is :meth:`RotationPolicy.window`'s (exact: a record outside the window takes
        :meth:`RotationPolicy.needs_rotation`), so rotation happens before exactly the record §8 names."""
        files, sealer, clock, seal = self.files, self.sealer, self._clock, self.sealer.seal
        always = self._fsync_policy == "always"
        durable = (sealer.seq, sealer.head, files.size)
        durable_data = buffered_data = 0
        buffer: list[bytes] = []
        pending = 0
        gaps = self._gap_records()
        cp_line = b""
        sealed: list[tuple[int, str]] = []
        start, end, room = self._rotation.window(files.size, files.day)
        try:
            for group_kind, group, counted in (("gap", gaps, False), (kind, bodies, True)):
                longest_envelope = longest_line(group_kind, self.stream_id, 0) if group else 0
                for body_json in group:
                    now = clock()
                    if (not start <= now < end or len(body_json) + longest_envelope > room) and \
                            self._rotation.needs_rotation(files.size + pending, files.day, group_kind, sealer.seq + 1,
                                                          self.stream_id, len(body_json), now):
                        buffer.append(self._seal("rotation", canonical_json(self._rotation.rotation_body(
                            self.stream_id, files.index, files.day, now)), now))
                        line, rotation_cp = self._checkpoint_lines("rotation")
                        buffer.append(line)
                        files.write(buffer, fsync=True)
                        self._append_checkpoint_file(rotation_cp)
                        self._rotate()
                        durable, durable_data = (sealer.seq, sealer.head, files.size), buffered_data
                        buffer, pending = [], 0
                        start, end, room = self._rotation.window(0, None)
                        now = clock()
                    line = seal(group_kind, body_json, now)
                    buffer.append(line)
                    pending += len(line)
                    room -= len(line)
                    if files.day is None:
                        files.day = utc_day(now)
                        start, end, room = self._rotation.window(files.size + pending, files.day)
                    if counted:
                        buffered_data += 1
                        sealed.append((sealer.seq, sealer.head))
                    if always:
                        files.write(buffer, fsync=True)
                        durable, durable_data = (sealer.seq, sealer.head, files.size), buffered_data
                        buffer, pending = [], 0
            self._schedule.records_since += len(bodies)
            due = checkpoint_reason or self._schedule.due()
            if due:
                line, cp_line = self._checkpoint_lines(due)
                buffer.append(line)
            wanted = force_fsync or bool(buffer) if always else bool(due or bodies or gaps)
            files.write(buffer, fsync=self._should_fsync(force_fsync or wanted))
        except OSError as exc:
            self._rollback(durable)
            self._stats["errors"] += 1
            if data:
                signal = {"span": "spans", "log": "logs"}.get(kind, kind)
                self.note_loss(signal, len(bodies) - durable_data, f"write failed: {exc}")
            raise AuditWriteError(f"{self.files.directory.path / self.files.current_name}: {exc}") from exc
        if gaps:
            self.pending_loss.clear()
        if data:
            self._stats[kind] = self._stats.get(kind, 0) + len(bodies)
        self._stats["records"] += len(bodies)
        self._stats["gaps"] += len(gaps)
        if cp_line:
            try:
                self._append_checkpoint_file(cp_line)
            except OSError:
                self._stats["errors"] += 1  # the checkpoint is durable in the chain; the copy is re-made at the next one
        return sealed

    def _gap_records(self) -> list[bytes]:
        return [
            canonical_json({"signal": s, "count": str(c), "reason": r, "first_time": t})
            for s, (c, r, t) in sorted(self.pending_loss.items())
        ]

    def _should_fsync(self, wanted: bool) -> bool:
        if not wanted:
            return False
        if self._fsync_policy != "interval":
            return True
        return time.monotonic_ns() - self.files.last_fsync_ns >= int(self._fsync_interval * 1e9)

    def _append_checkpoint_file(self, cp_line: bytes) -> None:
        self.files.append_checkpoint(cp_line)
        self._schedule.written()
        self._stats["checkpoints"] += 1

    def _rotate(self) -> None:
        closed = self.files.next_chain()
        self._stats["rotations"] += 1
        self._on_closed(closed)

    def _rollback(self, durable: tuple[int, str, int]) -> None:
        seq, head, size = durable
        self.sealer.reset(seq, head)
        self.files.truncate(size)
