"""What the witness keeps: the held checkpoint files and its own signed, chained trail of what it received.

Guarantees: a statement is acknowledged only after its line is fsynced to the stream's held file
``held/audit-<stream>.checkpoints.jsonl`` (the exact bytes the writer sent, so ``verify --checkpoints`` reads it
like the writer's own checkpoint file) and its receipt is a durable record of the witness's own trail
(``trail/``, stream ``witness``, signed checkpoints when a key is given). Nothing held is ever rewritten or removed;
a line already held for the stream is acknowledged again without being appended twice (retries are idempotent).
Thread-safe: one lock serialises every acceptance.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from gxp_otel.audit.format import STREAM_ID_RE
from gxp_otel.audit.signing import verify_statement
from gxp_otel.audit.writer import AuditTrailWriter

MAX_LINE_BYTES = 64 * 1024
WITNESS_STREAM = "witness"


class WitnessRejected(ValueError):
    """A statement the witness refuses; ``status`` is the HTTP status the server answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def parse_statement_line(line: bytes, number: int) -> tuple[str, dict[str, Any]]:
    """The stream and the parsed checkpoint body of one line (§7: statement, key_id, signature)."""
    where = f"line {number}"
    if len(line) > MAX_LINE_BYTES:
        raise WitnessRejected(f"{where}: longer than {MAX_LINE_BYTES} bytes")
    try:
        body = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WitnessRejected(f"{where}: not JSON ({exc})") from None
    statement = body.get("statement") if isinstance(body, dict) else None
    if not isinstance(statement, dict) or not isinstance(body.get("key_id"), str) or \
            not isinstance(body.get("signature"), str):
        raise WitnessRejected(f"{where}: not a checkpoint body (statement, key_id, signature)")
    stream = statement.get("stream")
    if not isinstance(stream, str) or STREAM_ID_RE.match(stream) is None:
        raise WitnessRejected(f"{where}: statement.stream is not a stream id")
    if not isinstance(statement.get("seq"), str) or not isinstance(statement.get("head"), str):
        raise WitnessRejected(f"{where}: statement without seq or head")
    return stream, body


class WitnessStore:
    """The witness directory: ``held/`` (one held checkpoint file per stream) and ``trail/`` (its own trail).

    ``trusted_keys`` (hex Ed25519 public keys): when given, only statements signed by one of them are held; an
    unsigned or otherwise signed statement is refused (403), so a local account cannot fill the held copy with
    statements of its own. Without it every well-formed statement is held (and the auditor's verify judges them).
    """

    def __init__(self, directory: str | os.PathLike[str], signing_key: str | os.PathLike[str] | None = None,
                 trusted_keys: Iterable[str] = ()) -> None:
        self.directory = Path(directory)
        self.held_dir = self.directory / "held"
        self.held_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._trusted = [k.strip().lower() for k in trusted_keys if k.strip()]
        self._lock = threading.Lock()
        self._held: dict[str, set[bytes]] = {}
        self._writer = AuditTrailWriter(self.directory / "trail", stream_id=WITNESS_STREAM, signing_key=signing_key,
                                        checkpoint_interval=60.0)

    def held_file(self, stream: str) -> Path:
        return self.held_dir / f"audit-{stream}.checkpoints.jsonl"

    def _held_lines(self, stream: str) -> set[bytes]:
        lines = self._held.get(stream)
        if lines is None:
            path = self.held_file(stream)
            lines = set(path.read_bytes().splitlines()) if path.exists() else set()
            self._held[stream] = lines
        return lines

    def accept(self, payload: bytes, peer: str) -> dict[str, int]:
        """Hold every statement line of payload (newline-separated, in the writer's order); all or nothing is
        checked before anything is written. Returns counts of lines newly held and already held."""
        lines = [line for line in payload.split(b"\n") if line.strip()]
        if not lines:
            raise WitnessRejected("no checkpoint statement in the request")
        parsed = [(line.strip(), *parse_statement_line(line.strip(), n)) for n, line in enumerate(lines, 1)]
        if self._trusted:
            for n, (_, _, body) in enumerate(parsed, 1):
                if not any(verify_statement(k, body["statement"], body["signature"]) for k in self._trusted):
                    raise WitnessRejected(f"line {n}: not signed by a trusted key (key_id {body['key_id']})", 403)
        with self._lock:
            fresh = [(line, stream, body) for line, stream, body in parsed if line not in self._held_lines(stream)]
            if fresh:
                self._record_receipts(fresh, peer)
                for line, stream, _ in fresh:
                    self._append_held(stream, line)
            return {"held": len(fresh), "already_held": len(parsed) - len(fresh)}

    def _record_receipts(self, fresh: list[tuple[bytes, str, dict]], peer: str) -> None:
        now = str(time.time_ns())
        bodies = []
        for line, stream, body in fresh:
            statement = body["statement"]
            bodies.append({
                "resource": {"attributes": {"service.name": {"stringValue": "gxp-otel-witness"}}},
                "scope": {"name": "gxp_otel.witness", "version": ""},
                "gxp": {"agent_id": "gxp-otel-witness"},
                "time_unix_nano": now, "observed_time_unix_nano": now,
                "severity_number": "9", "severity_text": "INFO", "event_name": "gxp.witness.checkpoint",
                "body": {"stringValue": line.decode()},
                "attributes": {
                    "gxp.witness.stream": {"stringValue": stream},
                    "gxp.witness.seq": {"stringValue": str(statement.get("seq"))},
                    "gxp.witness.head": {"stringValue": str(statement.get("head"))},
                    "gxp.witness.key_id": {"stringValue": body["key_id"]},
                    "gxp.witness.peer": {"stringValue": peer},
                },
                "trace_id": "", "span_id": "", "trace_flags": "00", "dropped_attributes": "0",
            })
        self._writer.append("log", bodies)

    def _append_held(self, stream: str, line: bytes) -> None:
        path = self.held_file(stream)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        directory = os.open(self.held_dir, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._held_lines(stream).add(line)

    def close(self) -> None:
        with self._lock:
            self._writer.close()
