"""``AuditTrailWriter``: appends records to one hash-chained, checkpointed stream (docs/audit-format.md §2, §4-§9).

Guarantees:
- **Ordering**: sequencing, hashing and appending happen under one lock, so any number of threads produce one
  well-ordered chain. One writer per stream across processes, enforced with ``flock`` on the stream's lock file.
- **Durability**: :meth:`append` returns only after its records are written and fsynced per the policy
  (``batch``: one fsync per call; ``always``: one per record; ``interval``: at most every ``fsync_interval``).
- **No silent loss**: a failed write is rolled back to the last durable line, counted, and recorded as a ``gap``
  record as soon as writing works again; ``append`` then raises :class:`AuditWriteError`.
- **Never overwrite, never delete**: files are opened for append only; recovery quarantines a torn tail before
  truncating it; compression unlinks a closed file only after its ``.gz`` copy is durable.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from gxp_otel import __version__
from gxp_otel.audit.canonical import (
    ZERO_HASH,
    canonical_json,
    canonical_number_free,
    encode_record,
    format_time_ns,
    sha256_hex,
)
from gxp_otel.audit.compression import FileCompressor
from gxp_otel.audit.format import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_ROTATE_BYTES,
    FORMAT_V2,
    FORMAT_VERSION,
    STREAM_ID_RE,
    chain_file_name,
    checkpoint_file_name,
    parse_chain_file_name,
)
from gxp_otel.audit.reading import MAX_LINE_BYTES
from gxp_otel.audit.recovery import recover_tail
from gxp_otel.audit.stream_files import StreamBusyError, StreamFiles, acquire_stream, lock_chain_file
from gxp_otel.audit.trail_directory import WritableTrailDirectory
from gxp_otel.audit.signing import UNSIGNED_KEY_ID, CheckpointSigner, resolve_signer
from gxp_otel.audit.values import sanitize_strings

FSYNC_POLICIES = ("batch", "always", "interval")


class AuditTrailError(Exception):
    """Base class for audit-trail writer errors."""


class AuditWriteError(AuditTrailError):
    """Records could not be made durable; they were counted as lost and will appear in a ``gap`` record."""


class AuditTrailBusyError(AuditTrailError):
    """Another writer holds the stream."""


class AuditTrailWriter:
    """Writes one stream of a trail directory. Thread-safe; use :meth:`shared` to get the process-wide instance."""

    _registry: dict[str, tuple["AuditTrailWriter", int]] = {}
    _registry_lock = threading.Lock()

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        stream_id: str | None = None,
        fsync: str = "batch",
        fsync_interval: float = 1.0,
        rotate_bytes: int = DEFAULT_ROTATE_BYTES,
        rotate_daily: bool = True,
        compress: bool = True,
        signing_key: "str | os.PathLike[str] | CheckpointSigner | None" = None,
        checkpoint_interval: float = 60.0,
        checkpoint_records: int = 10_000,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        clock: Callable[[], int] = time.time_ns,
        host: str | None = None,
        pid: int | None = None,
        writer_name: str | None = None,
        config_fingerprint: str | None = None,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        if stream_id is not None and not STREAM_ID_RE.fullmatch(stream_id):
            raise ValueError(f"stream_id {stream_id!r} must match {STREAM_ID_RE.pattern}")
        if rotate_bytes < 4096:
            raise ValueError("rotate_bytes must be at least 4096")
        self.directory = Path(directory)
        self._fsync_policy = fsync
        self._fsync_interval = fsync_interval
        self._rotate_bytes = rotate_bytes
        self._rotate_daily = rotate_daily
        self._checkpoint_interval_ns = int(checkpoint_interval * 1e9)
        self._checkpoint_records = checkpoint_records
        self._retention_days = retention_days
        self._clock = clock
        self._signer = resolve_signer(signing_key)
        self._host = host if host is not None else socket.gethostname()
        self._pid = pid if pid is not None else os.getpid()
        self._writer_name = writer_name or f"gxp-otel-python/{__version__}"
        self._lock = threading.Lock()
        self._closed = False
        self._pending_loss: dict[str, list[Any]] = {}
        self.stats: dict[str, int] = dict.fromkeys(
            ("records", "span", "log", "bytes", "fsyncs", "checkpoints", "rotations", "gaps", "lost", "errors"), 0
        )
        self._dir = WritableTrailDirectory(self.directory, create=True)
        try:
            self.stream_id, lock_fd = acquire_stream(self._dir, stream_id)
            self._files = StreamFiles(self._dir, self.stream_id, lock_fd, self.stats)
        except BaseException as exc:
            self._dir.close()
            if isinstance(exc, StreamBusyError):
                raise AuditTrailBusyError(str(exc)) from None
            raise
        self._config_fingerprint = config_fingerprint or sha256_hex(canonical_json(self._config(compress)))
        self._compressor = FileCompressor(self._dir) if compress else None
        try:
            self._open_stream()
        except BaseException as exc:
            self._files.close()
            self._dir.close()
            if isinstance(exc, StreamBusyError):
                raise AuditTrailBusyError(str(exc)) from None
            raise

    # ------------------------------------------------------------------ sharing

    @classmethod
    def shared(cls, directory: str | os.PathLike[str], **options: Any) -> "AuditTrailWriter":
        """The process-wide writer for ``directory`` (created with ``options`` on first use); pair with :meth:`release`."""
        key = os.path.realpath(directory)
        with cls._registry_lock:
            writer, users = cls._registry.get(key, (None, 0))
            if writer is None or writer._closed:
                writer, users = cls(directory, **options), 0
            cls._registry[key] = (writer, users + 1)
            return writer

    def release(self) -> None:
        """Drop one :meth:`shared` reference; the last one closes the writer."""
        key = os.path.realpath(self.directory)
        with self._registry_lock:
            writer, users = self._registry.get(key, (None, 0))
            if writer is self and users > 1:
                self._registry[key] = (self, users - 1)
                return
            self._registry.pop(key, None)
        self.close()

    # ------------------------------------------------------------------ public API

    def append(self, kind: str, bodies: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
        """Append one record per body durably, as one group commit; return each record's ``(seq, hash)``.

        ``kind`` is ``span``, ``log`` or a reserved kind (``signature``, ``correction``, ``purge``: §12)."""
        encoded = [self._encode_body(body) for body in bodies]
        fitting = [body for body in encoded if self._fits_line_limit(kind, body)]
        with self._lock:
            if len(fitting) < len(encoded):
                too_long = len(encoded) - len(fitting)
                if kind not in ("span", "log"):
                    raise AuditWriteError(f"{self.directory}: a {kind} record would exceed the "
                                          f"{MAX_LINE_BYTES}-byte line limit (docs/audit-format.md §2.1)")
                self.stats["errors"] += 1
                self._note_loss_locked({"span": "spans", "log": "logs"}[kind], too_long,
                                       f"record longer than the {MAX_LINE_BYTES}-byte line limit")
                encoded = fitting
            self._ensure_open()
            try:
                self._reattach_if_deleted()
            except (OSError, StreamBusyError) as exc:
                self.stats["errors"] += 1
                self._note_loss_locked({"span": "spans", "log": "logs"}.get(kind, kind), len(encoded), str(exc))
                raise AuditWriteError(f"{self.directory}: cannot write: {exc}") from exc
            return self._commit([(kind, body) for body in encoded], data_kind=kind)

    def note_loss(self, signal: str, count: int, reason: str, first_time_ns: int | None = None) -> None:
        """Record that ``count`` spans/logs never reached the writer; a ``gap`` record follows at the next write."""
        if count <= 0:
            return
        with self._lock:
            self._note_loss_locked(signal, count, reason, first_time_ns)

    def checkpoint(self, reason: str = "interval") -> None:
        """Write a signed checkpoint now (into the chain, then into the checkpoint file)."""
        with self._lock:
            self._ensure_open()
            self._commit([], checkpoint_reason=reason)

    def flush(self) -> None:
        """Write pending gap records and fsync; after this every appended record is on stable storage."""
        with self._lock:
            if self._closed:
                return
            self._commit([], force_fsync=True)

    def close(self) -> None:
        """End the session with a ``close`` checkpoint, fsync, release the stream. Idempotent."""
        with self._lock:
            if self._closed:
                return
            try:
                self._commit([], checkpoint_reason="close")
            finally:
                self._closed = True
                self._files.close()
        if self._compressor is not None:
            self._compressor.close()
        self._dir.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last durable record."""
        with self._lock:
            return self._seq, self._head

    @property
    def current_file(self) -> Path:
        return self.directory / self._files.current_name

    @property
    def chain_fd(self) -> int:
        """The descriptor of the current chain file (for fault-injection tests that fail its writes)."""
        return self._files.fd

    def abandon(self) -> None:
        """Stop as a killed process would: close the files and release the stream, write nothing (no close
        checkpoint). For crash tests and fault injection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._files.close()
        if self._compressor is not None:
            self._compressor.close()
        self._dir.close()

    @property
    def key_id(self) -> str:
        return self._signer.key_id if self._signer else UNSIGNED_KEY_ID

    def statistics(self) -> dict[str, Any]:
        with self._lock:
            return {**self.stats, "stream": self.stream_id, "seq": self._seq, "file": self.current_file.name}

    # ------------------------------------------------------------------ set-up

    def _config(self, compress: bool) -> dict[str, str]:
        return {
            "format": FORMAT_VERSION,
            "fsync": self._fsync_policy,
            "fsync_interval_ms": str(int(self._fsync_interval * 1000)),
            "rotate_bytes": str(self._rotate_bytes),
            "rotate_daily": str(self._rotate_daily).lower(),
            "compress": str(compress).lower(),
            "checkpoint_interval_ms": str(self._checkpoint_interval_ns // 1_000_000),
            "checkpoint_records": str(self._checkpoint_records),
            "retention_days": str(self._retention_days),
            "key_id": self.key_id,
        }

    def _identity(self) -> dict[str, str]:
        return {
            "writer": self._writer_name,
            "host": self._host,
            "pid": str(self._pid),
            "config_fingerprint": self._config_fingerprint,
            "key_id": self.key_id,
            "public_key": self._signer.public_key_hex if self._signer else "",
        }

    def _open_stream(self) -> None:
        files = sorted(
            parsed
            for parsed in map(parse_chain_file_name, self._dir.listdir())
            if parsed is not None and parsed.stream == self.stream_id
        )
        self._seq, self._head, self._records_since_checkpoint = -1, ZERO_HASH, 0
        self._last_checkpoint_ns = time.monotonic_ns()
        newest_fd = None
        if files and not files[-1].compressed:  # locked before recovery may truncate it (one writer per stream)
            newest_fd = self._dir.open(files[-1].name, os.O_RDWR | os.O_APPEND)
            try:
                lock_chain_file(newest_fd, files[-1].name, self._dir)
            except BaseException:
                os.close(newest_fd)
                raise
        try:
            tail = recover_tail(self._dir, self.stream_id, files, newest_fd) if files else None
        except BaseException:
            if newest_fd is not None:
                os.close(newest_fd)
            raise
        if tail is None or tail.seq < 0:
            if newest_fd is not None:
                self._files.adopt_chain(files[-1].index, newest_fd, 0)
            else:
                self._files.open_chain(1)
            genesis = {
                "format": FORMAT_VERSION,
                "stream": self.stream_id,
                "retention_days": str(self._retention_days),
                **self._identity(),
            }
            self._stream_format, self._genesis_hash = FORMAT_VERSION, None
            self._stream_retention = str(self._retention_days)
            self._commit([("genesis", canonical_json(genesis))], force_fsync=True)
            self._genesis_hash = self._head
            return
        self._seq, self._head = tail.seq, tail.head
        self._resume_identity()
        if tail.needs_new_file:
            self._files.open_chain(files[-1].index + 1)
            if newest_fd is not None:
                os.close(newest_fd)
        else:
            self._files.adopt_chain(files[-1].index, newest_fd, tail.size)
        if self._compressor is not None:
            closed = files if tail.needs_new_file else files[:-1]
            for parsed in closed:
                if not parsed.compressed and self._dir.lstat(parsed.plain + ".gz") is None:
                    self._compressor.submit(parsed.plain)
        recovery = {
            "reason": "clean-restart" if tail.clean else "unclean-shutdown",
            "torn_bytes": str(tail.torn_bytes),
            "quarantine_file": tail.quarantine_file,
            "quarantine_sha256": tail.quarantine_sha256,
            **self._identity(),
        }
        self._commit([("recovery", canonical_json(recovery))], checkpoint_reason="recovery")

    def _resume_identity(self) -> None:
        """A continued stream keeps its genesis's format (§7): a version 2 stream's statements name its genesis hash
        and retention, taken from the first line of its checkpoint file, else from its genesis record."""
        self._stream_format, self._genesis_hash, self._stream_retention = "gxp-otel-audit/1", None, ""
        first_file = chain_file_name(self.stream_id, 1)
        for name in (checkpoint_file_name(self.stream_id), first_file, first_file + ".gz"):
            try:
                fd = self._dir.open(name, os.O_RDONLY)
            except OSError:
                continue
            try:
                head = os.pread(fd, 65536, 0)
                if name.endswith(".gz"):
                    head = zlib.decompressobj(wbits=31).decompress(head, 65536)
                first = orjson.loads(head.split(b"\n", 1)[0])
            except (ValueError, zlib.error):
                continue
            finally:
                os.close(fd)
            if not isinstance(first, dict):
                continue
            statement = first.get("statement") if first.get("kind") is None else None
            if statement is not None and statement.get("format") == FORMAT_V2:
                self._stream_format, self._genesis_hash = FORMAT_V2, statement["genesis"]
                self._stream_retention = statement["retention_days"]
            elif first.get("kind") == "genesis" and first["body"].get("format") == FORMAT_V2:
                self._stream_format, self._genesis_hash = FORMAT_V2, first["hash"]
                self._stream_retention = first["body"]["retention_days"]
            return

    @staticmethod
    def _utc_day(ns: int) -> int:
        return ns // 86_400_000_000_000

    def _reattach_if_deleted(self) -> None:
        """If the chain file was deleted under the running writer, start the next file in a re-created directory.

        Checked before every write (one ``fstat``): records appended to an unlinked file would vanish. The new file
        begins with a ``recovery`` record (reason ``files-deleted``) so the chain continues and the verifier reports
        the deleted files as missing; nothing acknowledged after the deletion is lost.
        """
        if not self._files.deleted():
            return
        self._files.reattach()
        recovery = {"reason": "files-deleted", "torn_bytes": "0", "quarantine_file": "", "quarantine_sha256": "",
                    **self._identity()}
        self._commit([("recovery", canonical_json(recovery))], checkpoint_reason="recovery")

    def _ensure_open(self) -> None:
        if self._closed:
            raise AuditTrailError(f"{self.directory}: writer for stream {self.stream_id} is closed")

    # ------------------------------------------------------------------ sequencing and durability

    def _fits_line_limit(self, kind: str, body_json: bytes) -> bool:
        """§2.1: writers MUST NOT write a line over MAX_LINE_BYTES. The envelope around the body is bounded by
        its fixed members with the longest seq (19 digits), so this errs by at most 18 bytes towards refusing."""
        envelope = (len('{"body":,"hash":"","kind":"","prev":"","seq":"","stream":"","time":""}') + 64 + 64
                    + len(kind) + 19 + len(self.stream_id) + len("2026-01-01T00:00:00.000000000Z"))
        return len(body_json) + envelope <= MAX_LINE_BYTES

    def _encode_body(self, body: dict[str, Any]) -> bytes:
        try:
            return canonical_number_free(body)
        except ValueError:
            coerced: list[str] = []
            clean = sanitize_strings(body, "", coerced)
            clean["coerced"] = list(clean.get("coerced", [])) + coerced
            return canonical_number_free(clean)

    def _note_loss_locked(self, signal: str, count: int, reason: str, first_time_ns: int | None = None) -> None:
        first = format_time_ns(first_time_ns if first_time_ns is not None else time.time_ns())
        entry = self._pending_loss.setdefault(signal, [0, reason, first])
        entry[0] += count
        self.stats["lost"] += count

    def _seal(self, kind: str, body_json: bytes, now: int | None = None) -> bytes:
        """Give the record the next seq and link it; ``now`` is its recorded time (one clock reading per record)."""
        now = self._clock() if now is None else now
        seq = self._seq + 1
        digest, line = encode_record(kind, self.stream_id, seq, self._head, format_time_ns(now), body_json)
        self._seq, self._head = seq, digest
        if self._files.day is None:
            self._files.day = self._utc_day(now)
        return line

    def _checkpoint_lines(self, reason: str) -> tuple[bytes, bytes]:
        now = self._clock()
        statement = {
            "format": self._stream_format,
            "stream": self.stream_id,
            "seq": str(self._seq),
            "head": self._head,
            "file": chain_file_name(self.stream_id, self._files.index),
            "time": format_time_ns(now),
            "reason": reason,
        }
        if self._stream_format == FORMAT_V2:
            statement["genesis"], statement["retention_days"] = self._genesis_hash, self._stream_retention
        body = {
            "statement": statement,
            "key_id": self.key_id,
            "signature": self._signer.sign(statement) if self._signer else "",
        }
        body_json = canonical_json(body)
        return self._seal("checkpoint", body_json, now), body_json + b"\n"

    def _commit(
        self,
        records: list[tuple[str, bytes]],
        *,
        data_kind: str | None = None,
        checkpoint_reason: str | None = None,
        force_fsync: bool = False,
    ) -> list[tuple[int, str]]:
        """Seal and write gap records, ``records`` and any due checkpoint; roll back to the last durable line on error.

        Returns ``(seq, hash)`` of each of ``records``."""
        durable = (self._seq, self._head, self._files.size)
        durable_data = buffered_data = 0
        buffer: list[bytes] = []
        pending_size = 0
        gaps = self._gap_records()
        cp_line = b""
        sealed: list[tuple[int, str]] = []
        try:
            for position, (kind, body_json) in enumerate(gaps + records):
                now = self._clock()
                if self._needs_rotation(pending_size, kind, body_json, now):
                    buffer.append(self._seal("rotation", canonical_json(self._rotation_body(now)), now))
                    line, rotation_cp = self._checkpoint_lines("rotation")
                    buffer.append(line)
                    self._files.write(buffer, fsync=True)
                    self._append_checkpoint_file(rotation_cp)
                    self._rotate()
                    durable, durable_data = (self._seq, self._head, self._files.size), buffered_data
                    buffer, pending_size = [], 0
                    now = self._clock()
                line = self._seal(kind, body_json, now)
                buffer.append(line)
                pending_size += len(line)
                buffered_data += position >= len(gaps)
                if position >= len(gaps):
                    sealed.append((self._seq, self._head))
                if self._fsync_policy == "always":
                    self._files.write(buffer, fsync=True)
                    durable, durable_data = (self._seq, self._head, self._files.size), buffered_data
                    buffer, pending_size = [], 0
            self._records_since_checkpoint += len(records)
            due = checkpoint_reason or self._checkpoint_due()
            if due:
                line, cp_line = self._checkpoint_lines(due)
                buffer.append(line)
            wanted = force_fsync or bool(buffer) if self._fsync_policy == "always" else bool(due or records or gaps)
            self._files.write(buffer, fsync=self._should_fsync(force_fsync or wanted))
        except OSError as exc:
            self._rollback(durable)
            self.stats["errors"] += 1
            if data_kind is not None:
                signal = {"span": "spans", "log": "logs"}.get(data_kind, data_kind)
                self._note_loss_locked(signal, len(records) - durable_data, f"write failed: {exc}")
            raise AuditWriteError(f"{self.current_file}: {exc}") from exc
        if gaps:
            self._pending_loss.clear()
        if data_kind is not None:
            self.stats[data_kind] = self.stats.get(data_kind, 0) + len(records)
        self.stats["records"] += len(records)
        self.stats["gaps"] += len(gaps)
        if cp_line:
            try:
                self._append_checkpoint_file(cp_line)
            except OSError:
                self.stats["errors"] += 1  # the checkpoint is durable in the chain; the copy is re-made at the next one
        return sealed

    def _gap_records(self) -> list[tuple[str, bytes]]:
        return [
            ("gap", canonical_json({"signal": s, "count": str(c), "reason": r, "first_time": t}))
            for s, (c, r, t) in sorted(self._pending_loss.items())
        ]

    def _new_day(self, now: int) -> bool:
        return self._rotate_daily and self._files.day is not None and self._utc_day(now) != self._files.day

    def _rotation_body(self, now: int) -> dict[str, str]:
        reason = "time" if self._new_day(now) else "size"
        return {"next_file": chain_file_name(self.stream_id, self._files.index + 1), "reason": reason}

    def _needs_rotation(self, pending: int, kind: str, body_json: bytes, now: int) -> bool:
        """§8: rotate before a record whose UTC day differs from the file's first record's, or whose line would
        take a non-empty file past ``rotate_bytes``."""
        used = self._files.size + pending
        if used == 0:
            return False
        if self._new_day(now):
            return True
        # the exact line length: body, the fixed envelope bytes, and the variable members (time is 30 characters)
        line_length = len(body_json) + 83 + 52 + 64 + len(kind) + len(str(self._seq + 1)) + len(self.stream_id) + 30
        return used + line_length > self._rotate_bytes

    def _checkpoint_due(self) -> str | None:
        if self._records_since_checkpoint <= 0:
            return None
        if self._records_since_checkpoint >= self._checkpoint_records:
            return "interval"
        if time.monotonic_ns() - self._last_checkpoint_ns >= self._checkpoint_interval_ns:
            return "interval"
        return None

    def _should_fsync(self, wanted: bool) -> bool:
        if not wanted:
            return False
        if self._fsync_policy != "interval":
            return True
        return time.monotonic_ns() - self._files.last_fsync_ns >= int(self._fsync_interval * 1e9)

    def _append_checkpoint_file(self, cp_line: bytes) -> None:
        self._files.append_checkpoint(cp_line)
        self._last_checkpoint_ns = time.monotonic_ns()
        self._records_since_checkpoint = 0
        self.stats["checkpoints"] += 1

    def _rotate(self) -> None:
        closed = self._files.next_chain()
        self.stats["rotations"] += 1
        if self._compressor is not None:
            self._compressor.submit(closed)

    def _rollback(self, durable: tuple[int, str, int]) -> None:
        self._seq, self._head, size = durable
        self._files.truncate(size)
