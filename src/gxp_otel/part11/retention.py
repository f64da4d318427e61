"""Retention, legal hold and signed purge (Annex 11 §7.1, §17; ICH E6(R3); docs/audit-format.md §12.3).

Nothing is deleted automatically. :func:`purge` removes only closed chain files (ending with their rotation record
and checkpoint) whose last record is older than both the cut-off date and the retention period, of streams that
verify without a problem and are not on legal hold, as a prefix of each stream. It first writes, durably, one
signed ``purge`` tombstone per stream into the stream ``retention`` (the file names, their sha256, last seq, hash,
checkpoint and the key in force), and only then unlinks the files, so ``verify`` reports "purged by policy" and
checks the first remaining record against the tombstone.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gxp_otel.audit.canonical import canonical_json, format_time_ns, parse_time, purge_message
from gxp_otel.audit.format import DEFAULT_RETENTION_DAYS, ChainFileName, check_line, parse_chain_file_name
from gxp_otel.audit.trail_directory import NotRegularFileError, TrailDirectory
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailBusyError, AuditTrailWriter
from gxp_otel.part11.keys import SignerKey
from gxp_otel.part11.lookup import chain_files, iter_lines
from gxp_otel.part11.statements import DAY_NS, PURGE_FORMAT, RETENTION_STREAM
from gxp_otel.part11.verification import Part11Verification

HOLD_FILE = "legal-hold.json"


# ---------------------------------------------------------------------------------------------- legal hold

def read_holds(root: Path) -> list[dict[str, str]]:
    """Every hold ever placed (released ones carry ``released_at``); a damaged hold file blocks purging.

    The hold file is read through the trail's directory descriptor and only when it is a regular file (a link or
    FIFO planted there is refused, never followed)."""
    directory = TrailDirectory(root)
    try:
        return _holds_in(directory)
    finally:
        directory.close()


def _holds_in(directory: TrailDirectory) -> list[dict[str, str]]:
    path = directory.path / HOLD_FILE
    if directory.lstat(HOLD_FILE) is None:
        return []
    try:
        holds = orjson.loads(directory.read_bytes(HOLD_FILE))["holds"]
        if not isinstance(holds, list) or not all(isinstance(h, dict) for h in holds):
            raise TypeError("'holds' is not a list of holds")
        return list(holds)
    except NotRegularFileError as exc:
        raise ValueError(f"{path} is {exc.strerror}; nothing is purged or held meanwhile") from None
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is damaged ({exc}); fix it before purging: nothing is purged meanwhile") from None


def active_holds(root: Path, stream: str | None = None) -> list[dict[str, str]]:
    return [h for h in read_holds(root)
            if not h.get("released_at") and (stream is None or h.get("stream") in ("*", stream))]


def _update_holds(root: Path, change: Callable[[list[dict[str, str]]], None]) -> None:
    """Read, change and durably replace the hold file, all through one directory descriptor: the temporary file is
    created exclusively (a link planted at ``legal-hold.json.tmp`` is removed, never written through)."""
    directory = TrailDirectory(root)
    try:
        holds = _holds_in(directory)
        change(holds)
        directory.replace_file(HOLD_FILE, canonical_json({"holds": holds}) + b"\n")
    finally:
        directory.close()


def place_hold(root: Path, *, reason: str, placed_by: str, stream: str = "*", now_ns: int | None = None) -> str:
    """Put the trail (or one stream) on legal hold; returns the hold id. Holds are released, never deleted."""
    if not reason.strip() or not placed_by.strip():
        raise ValueError("a legal hold needs a reason and the user placing it")
    hold_id = "hold-" + secrets.token_hex(4)
    _update_holds(Path(root), lambda holds: holds.append(
        {"id": hold_id, "stream": stream, "reason": reason, "placed_by": placed_by,
         "placed_at": format_time_ns(now_ns or time.time_ns())}))
    return hold_id


def release_hold(root: Path, hold_id: str, *, reason: str, released_by: str, now_ns: int | None = None) -> None:
    def release(holds: list[dict[str, str]]) -> None:
        matches = [h for h in holds if h.get("id") == hold_id and not h.get("released_at")]
        if not matches or not reason.strip():
            raise ValueError(f"no active hold {hold_id!r}, or no reason given")
        matches[0].update(released_at=format_time_ns(now_ns or time.time_ns()), released_by=released_by,
                          release_reason=reason)

    _update_holds(Path(root), release)


# ---------------------------------------------------------------------------------------------- eligibility

@dataclass
class FileStatus:
    stream: str
    file: str
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str = ""
    last_time: str = ""
    sha256: str = ""
    checkpoint: dict[str, Any] = field(default_factory=dict)
    keys: list[tuple[str, str]] = field(default_factory=list)  # genesis/recovery keys in file order
    eligible: bool = False
    why_not: str = ""


def _read_file(root: Path, parsed: ChainFileName) -> FileStatus:
    status = FileStatus(parsed.stream, parsed.name)
    digest = hashlib.sha256((root / parsed.name).read_bytes())
    status.sha256 = digest.hexdigest()
    kinds: list[str] = []
    for _number, raw in iter_lines(root, parsed):
        checked = check_line(raw.rstrip(b"\n"))
        if checked.problem is not None or not raw.endswith(b"\n"):
            status.why_not = "a line does not verify"
            return status
        record = checked.record
        seq = int(record["seq"])
        status.first_seq = seq if status.first_seq is None else status.first_seq
        status.last_seq, status.last_hash, status.last_time = seq, record["hash"], record["time"]
        kinds.append(record["kind"])
        if record["kind"] == "checkpoint":
            status.checkpoint = record["body"]
        elif record["kind"] in ("genesis", "recovery"):
            status.keys.append((record["body"].get("key_id", "none"), record["body"].get("public_key", "")))
    if kinds[-2:] != ["rotation", "checkpoint"]:
        status.why_not = "the file is not closed (no rotation record and checkpoint at its end)"
    return status


def survey(root: Path, *, before_ns: int, retention_days: int = DEFAULT_RETENTION_DAYS,
           now_ns: int | None = None) -> list[FileStatus]:
    """Every chain file (but the ``retention`` stream's) with whether it may be purged and, if not, why."""
    root = Path(root)
    now_ns = now_ns or time.time_ns()
    limit = min(before_ns, now_ns - retention_days * DAY_NS)
    report = verify_trail(root)
    out: list[FileStatus] = []
    streams = sorted({p.stream for p in filter(None, map(parse_chain_file_name, os.listdir(root)))})
    for stream in streams:
        if stream == RETENTION_STREAM:
            continue
        troubled = any(p.stream == stream for p in report.problems)
        on_hold = active_holds(root, stream)
        blocked = ""
        files = chain_files(root, stream)
        for position, parsed in enumerate(files):
            status = _read_file(root, parsed) if not blocked else FileStatus(stream, parsed.name)
            newest = "the newest file of a stream is never purged" if position == len(files) - 1 else ""
            reason = blocked or newest or status.why_not
            if not reason and troubled:
                reason = "the stream does not verify: evidence of a problem is never purged"
            elif not reason and on_hold:
                reason = f"legal hold {on_hold[0]['id']}: {on_hold[0]['reason']}"
            elif not reason and (parse_time(status.last_time) or 0) >= limit:
                reason = f"within retention ({retention_days} days) or not before the cut-off"
            status.eligible, status.why_not = not reason, reason
            blocked = blocked or (f"an earlier file is kept ({parsed.name})" if reason else "")
            out.append(status)
    return out


# ---------------------------------------------------------------------------------------------- purge

def _key_in_force(root: Path, stream: str, files: list[FileStatus]) -> dict[str, str]:
    for status in reversed(files):
        if status.keys:
            key_id, public = status.keys[-1]
            return {"key_id": key_id, "public_key": public}
    earlier = Part11Verification(root, {}).tombstones.get(stream, {})
    for _entry, statement in earlier.values():
        return dict(statement["key_in_force"])
    return {"key_id": "none", "public_key": ""}


def purge(root: Path, *, before_ns: int, reason: str, policy: str, key: "SignerKey | str | os.PathLike[str]",
          user_id: str, passphrase: str, retention_days: int = DEFAULT_RETENTION_DAYS, now_ns: int | None = None,
          checkpoint_key: Any = None, writer_options: dict[str, Any] | None = None) -> list[FileStatus]:
    """Purge the eligible files (see :func:`survey`) after writing their signed tombstones; return what was purged.

    ``writer_options`` go to the ``retention`` stream's writer (tests and vectors inject a clock and identity)."""
    if not reason.strip() or not policy.strip():
        raise ValueError("a purge needs a reason and the retention policy it applies")
    if retention_days < 1:
        raise ValueError("retention_days must be positive")
    root = Path(root)
    signer = SignerKey.load(key) if isinstance(key, (str, os.PathLike)) else key
    private = signer.unlock(user_id, passphrase)
    now_ns = now_ns or time.time_ns()
    finished = _finish_interrupted(root)
    eligible = [s for s in survey(root, before_ns=before_ns, retention_days=retention_days, now_ns=now_ns)
                if s.eligible]
    by_stream: dict[str, list[FileStatus]] = {}
    for status in eligible:
        by_stream.setdefault(status.stream, []).append(status)
    if not by_stream:
        return finished
    bodies = []
    for stream, files in sorted(by_stream.items()):
        statement = {
            "format": PURGE_FORMAT, "stream": stream,
            "files": [{"file": s.file, "sha256": s.sha256, "first_seq": str(s.first_seq), "last_seq": str(s.last_seq),
                       "last_hash": s.last_hash, "last_time": s.last_time, "checkpoint": s.checkpoint} for s in files],
            "key_in_force": _key_in_force(root, stream, files), "before": format_time_ns(before_ns),
            "retention_days": str(retention_days), "policy": policy, "reason": reason,
            "purged_by": {"printed_name": signer.printed_name, "user_id": signer.user_id},
            "key_id": signer.key_id, "public_key": signer.public_key, "time": format_time_ns(now_ns),
        }
        bodies.append({"statement": statement, "signature": private.sign(purge_message(statement)).hex()})
    try:
        writer = AuditTrailWriter(root, stream_id=RETENTION_STREAM, signing_key=checkpoint_key, compress=False,
                                  **(writer_options or {}))
    except AuditTrailBusyError:
        raise ValueError(f"another purge of {root} is running (it holds the stream {RETENTION_STREAM!r})") from None
    try:
        writer.append("purge", bodies)  # durable before anything is removed
    finally:
        writer.close()
    for status in eligible:
        _remove(root, status.file, status.sha256)
    _fsync_directory(root)
    return finished + eligible


def _remove(root: Path, name: str, sha256: str) -> bool:
    """Unlink ``name`` if its bytes still hash to ``sha256``, and a ``.gz`` copy of it made meanwhile (same content)."""
    path = root / name
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        return False
    compressed = root / (name + ".gz")
    if not name.endswith(".gz") and compressed.exists():
        try:
            with gzip.open(compressed, "rb") as handle:
                same = hashlib.sha256(handle.read()).hexdigest() == sha256
        except (OSError, EOFError, zlib.error):
            same = False
        if same:
            os.unlink(compressed)
    os.unlink(path)
    return True


def _finish_interrupted(root: Path) -> list[FileStatus]:
    """Remove files a valid tombstone already names (a purge stopped after its tombstone): no second tombstone."""
    finished = []
    for stream, files in Part11Verification(root, {}).tombstones.items():
        for _plain, (entry, _statement) in sorted(files.items()):
            if _remove(root, entry["file"], entry["sha256"]):
                finished.append(FileStatus(stream, entry["file"], int(entry["first_seq"]), int(entry["last_seq"]),
                                           entry["last_hash"], entry["last_time"], entry["sha256"], eligible=True))
    if finished:
        _fsync_directory(root)
    return finished


def _fsync_directory(root: Path) -> None:
    directory = os.open(root, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
