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

The writer is the public face and the stream's life cycle (open, resume, reattach, close); the mechanisms are its
collaborators, one concept each: ``chain_appender`` (the group commit), ``sealing`` (seq, link, line),
``rotation`` (§8), ``checkpoints`` (§7), ``stream_files`` (the files and their locks), ``recovery`` (§9).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gxp_otel import __version__
from gxp_otel.audit.canonical import canonical_json, sha256_hex
from gxp_otel.audit.chain_appender import AuditTrailError, AuditWriteError, ChainAppender
from gxp_otel.audit.checkpoints import CheckpointSchedule
from gxp_otel.audit.compression import FileCompressor
from gxp_otel.audit.format import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_ROTATE_BYTES,
    FORMAT_VERSION,
    STREAM_ID_RE,
    parse_chain_file_name,
)
from gxp_otel.audit.reading import MAX_LINE_BYTES
from gxp_otel.audit.recovery import recover_tail, resumed_identity
from gxp_otel.audit.rotation import RotationPolicy
from gxp_otel.audit.sealing import ChainSealer, fits_line_limit
from gxp_otel.audit.signing import UNSIGNED_KEY_ID, CheckpointSigner, resolve_signer
from gxp_otel.audit.stream_files import StreamBusyError, StreamFiles, acquire_stream, lock_chain_file
from gxp_otel.audit.trail_directory import WritableTrailDirectory
from gxp_otel.audit.values import encode_body

__all__ = ["FSYNC_POLICIES", "AuditTrailBusyError", "AuditTrailError", "AuditTrailWriter", "AuditWriteError"]

FSYNC_POLICIES = ("batch", "always", "interval")


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
        self._sealer = ChainSealer(self.stream_id)
        self._config_fingerprint = config_fingerprint or sha256_hex(canonical_json(self._config(compress)))
        self._compressor = FileCompressor(self._dir) if compress else None
        self._appender = ChainAppender(
            self._files, self._sealer, self.stats, fsync_policy=fsync, fsync_interval=fsync_interval,
            rotation=RotationPolicy(rotate_bytes, rotate_daily),
            schedule=CheckpointSchedule(self._checkpoint_interval_ns, checkpoint_records), clock=clock,
            signer=self._signer, on_closed=self._compressor.submit if self._compressor is not None else _keep,
        )
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
        return self.append_encoded(kind, [encode_body(body) for body in bodies])

    def append_encoded(self, kind: str, bodies_json: Sequence[bytes]) -> list[tuple[int, str]]:
        """:meth:`append` for bodies already in their canonical bytes, as :func:`gxp_otel.audit.values.encode_body`
        gives them (the exporters encode spans straight to those bytes). The writer trusts the caller for that form:
        a body that is not canonical is written as given, and the verifier reports it."""
        encoded = bodies_json
        fitting = encoded
        if not self._fits_line_limit(kind, max(encoded, key=len, default=b"")):
            fitting = [body for body in encoded if self._fits_line_limit(kind, body)]
        with self._lock:
            if len(fitting) < len(encoded):
                too_long = len(encoded) - len(fitting)
                if kind not in ("span", "log"):
                    raise AuditWriteError(f"{self.directory}: a {kind} record would exceed the "
                                          f"{MAX_LINE_BYTES}-byte line limit (docs/audit-format.md §2.1)")
                self.stats["errors"] += 1
                self._appender.note_loss({"span": "spans", "log": "logs"}[kind], too_long,
                                         f"record longer than the {MAX_LINE_BYTES}-byte line limit")
                encoded = fitting
            self._ensure_open()
            try:
                self._reattach_if_deleted()
            except (OSError, StreamBusyError) as exc:
                self.stats["errors"] += 1
                self._appender.note_loss({"span": "spans", "log": "logs"}.get(kind, kind), len(encoded), str(exc))
                raise AuditWriteError(f"{self.directory}: cannot write: {exc}") from exc
            return self._appender.commit(kind, encoded, data=True)

    def note_loss(self, signal: str, count: int, reason: str, first_time_ns: int | None = None) -> None:
        """Record that ``count`` spans/logs never reached the writer; a ``gap`` record follows at the next write."""
        if count <= 0:
            return
        with self._lock:
            self._appender.note_loss(signal, count, reason, first_time_ns)

    def checkpoint(self, reason: str = "interval") -> None:
        """Write a signed checkpoint now (into the chain, then into the checkpoint file)."""
        with self._lock:
            self._ensure_open()
            self._appender.commit(None, (), checkpoint_reason=reason)

    def flush(self) -> None:
        """Write pending gap records and fsync; after this every appended record is on stable storage."""
        with self._lock:
            if self._closed:
                return
            self._appender.commit(None, (), force_fsync=True)

    def close(self) -> None:
        """End the session with a ``close`` checkpoint, fsync, release the stream. Idempotent."""
        with self._lock:
            if self._closed:
                return
            try:
                self._appender.commit(None, (), checkpoint_reason="close")
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
            return self._sealer.seq, self._sealer.head

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
            return {**self.stats, "stream": self.stream_id, "seq": self._sealer.seq, "file": self.current_file.name}

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
            appender = self._appender
            appender.stream_format, appender.genesis_hash = FORMAT_VERSION, None
            appender.retention_days = str(self._retention_days)
            appender.commit("genesis", [canonical_json(genesis)], force_fsync=True)
            appender.genesis_hash = self._sealer.head
            return
        self._sealer.reset(tail.seq, tail.head)
        identity = resumed_identity(self._dir, self.stream_id)
        self._appender.stream_format, self._appender.genesis_hash, self._appender.retention_days = identity
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
        self._appender.commit("recovery", [canonical_json(recovery)], checkpoint_reason="recovery")

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
        self._appender.commit("recovery", [canonical_json(recovery)], checkpoint_reason="recovery")

    def _fits_line_limit(self, kind: str, body_json: bytes) -> bool:
        return fits_line_limit(kind, self.stream_id, len(body_json))

    def _ensure_open(self) -> None:
        if self._closed:
            raise AuditTrailError(f"{self.directory}: writer for stream {self.stream_id} is closed")


def _keep(closed_file: str) -> None:
    """With compression off a closed chain file stays as it is."""
