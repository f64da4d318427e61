"""Retention, legal hold and signed purge (Annex 11 §7.1, §17; ICH E6(R3); docs/audit-format.md §12.3).

Nothing is deleted automatically. :func:`purge` removes only closed chain files (ending with their rotation record
and checkpoint) whose last record is older than both the cut-off date and the retention period, of streams that
verify without a problem and are not on legal hold, as a prefix of each stream. It first writes, durably, one
signed ``purge`` tombstone per stream into the stream ``retention`` (the file names, their sha256, last seq, hash,
checkpoint and the key in force), and only then unlinks the files, so ``verify`` reports "purged by policy" and
checks the first remaining record against the tombstone.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gxp_otel.audit.canonical import canonical_json, format_time_ns, parse_time, purge_message
from gxp_otel.audit.format import DEFAULT_RETENTION_DAYS, ChainFileName, check_line, parse_chain_file_name
from gxp_otel.audit.reading import NotRegularFile, TrailFile, iter_lines
from gxp_otel.audit.reading import TrailDirectory as ReadingDirectory
from gxp_otel.audit.trail_directory import NotRegularFileError, WritableTrailDirectory
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailBusyError, AuditTrailWriter
from gxp_otel.part11.keys import SignerKey
from gxp_otel.part11.lookup import chain_files
from gxp_otel.part11.statements import DAY_NS, PURGE_FORMAT, RETENTION_STREAM
from gxp_otel.part11.verification import Part11Verification

HOLD_FILE = "legal-hold.json"


# ---------------------------------------------------------------------------------------------- legal hold

def read_holds(root: Path) -> list[dict[str, str]]:
    """Every hold ever placed (released ones carry ``released_at``); a damaged hold file blocks purging.

    The hold file is read through the trail's directory descriptor and only when it is a regular file (a link or
    FIFO planted there is refused, never followed)."""
    directory = WritableTrailDirectory(root)
    try:
        return _holds_in(directory)
    finally:
        directory.close()


def _holds_in(directory: WritableTrailDirectory) -> list[dict[str, str]]:
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
    directory = WritableTrailDirectory(root)
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

CLOCK_DISAGREEMENT_NS = DAY_NS
"""How far a file's last recorded time may lag its file-system time before the purger is warned."""
STEP_BACK_NS = 60 * 1_000_000_000
"""How far recorded times may step back (NTP, restarts) before the purger is warned."""


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
    first_time: str = ""
    fs_time_ns: int = 0  # the file's modification time: the file system's clock, a second opinion on its age
    clock_warnings: list[str] = field(default_factory=list)  # recorded times that jump, or disagree with the file's
    genesis_retention_days: int = 0  # the retention period the stream's genesis (in this file) declares
    retention_days: int = 0  # the period applied: the longer of the one asked for and the genesis's

    @property
    def date_span(self) -> str:
        """The recorded dates this file holds, ``YYYY-MM-DD..YYYY-MM-DD`` (what a purge of it deletes)."""
        return f"{self.first_time[:10] or '?'}..{self.last_time[:10] or '?'}"


def _hash_and_time(file: TrailFile) -> tuple[str, int]:
    digest = hashlib.sha256()
    offset = 0
    while block := os.pread(file.fd, 1 << 20, offset):
        digest.update(block)
        offset += len(block)
    return digest.hexdigest(), os.fstat(file.fd).st_mtime_ns


def _read_file(directory: ReadingDirectory, parsed: ChainFileName) -> FileStatus:
    """What the file holds, read through the bounded no-follow reading layer (a link, FIFO or oversized line is a
    reason to keep the file, never an exception)."""
    status = FileStatus(parsed.stream, parsed.name)
    try:
        file = directory.open(parsed.name)
    except (NotRegularFile, OSError) as exc:
        status.why_not = f"the file cannot be read ({exc})"
        return status
    kinds: list[str] = []
    previous_ns: int | None = None
    with file:
        status.sha256, status.fs_time_ns = _hash_and_time(file)
        for raw in iter_lines(file, parsed.compressed):
            checked = check_line(raw.rstrip(b"\n")) if isinstance(raw, bytes) else None
            if checked is None or checked.problem is not None or not raw.endswith(b"\n"):
                status.why_not = "a line does not verify"
                return status
            record = checked.record
            seq = int(record["seq"])
            status.first_seq = seq if status.first_seq is None else status.first_seq
            status.first_time = status.first_time or record["time"]
            status.last_seq, status.last_hash, status.last_time = seq, record["hash"], record["time"]
            recorded = parse_time(record["time"]) or 0
            if previous_ns is not None and recorded < previous_ns - STEP_BACK_NS:
                status.clock_warnings.append(f"recorded time steps back from {format_time_ns(previous_ns)} to "
                                             f"{record['time']} at seq {seq}")
            previous_ns = recorded
            kinds.append(record["kind"])
            if record["kind"] == "checkpoint":
                status.checkpoint = record["body"]
            if record["kind"] == "genesis":
                declared = record["body"].get("retention_days")
                if isinstance(declared, str) and declared.isascii() and declared.isdigit():
                    status.genesis_retention_days = int(declared)
            if record["kind"] in ("genesis", "recovery"):
                status.keys.append((record["body"].get("key_id", "none"), record["body"].get("public_key", "")))
    if previous_ns is not None and status.fs_time_ns - previous_ns > CLOCK_DISAGREEMENT_NS:
        status.clock_warnings.append(
            f"last recorded time {status.last_time} is {(status.fs_time_ns - previous_ns) // DAY_NS} day(s) before "
            f"the file system's time {format_time_ns(status.fs_time_ns)}: the writer's clock may have been wrong")
    if kinds[-2:] != ["rotation", "checkpoint"]:
        status.why_not = "the file is not closed (no rotation record and checkpoint at its end)"
    return status


def survey(root: Path, *, before_ns: int, retention_days: int = DEFAULT_RETENTION_DAYS,
           now_ns: int | None = None, accept_clock_jumps: bool = False,
           purgers: Iterable[dict[str, str]] = (), trusted_keys: Iterable[str] = (),
           checkpoint_files: Iterable[str | os.PathLike[str]] = ()) -> list[FileStatus]:
    """Every chain file (but the ``retention`` stream's) with whether it may be purged and, if not, why.

    Age is judged twice, and both must say "old enough": by the file's last recorded time (the writer's clock) and
    by its file-system modification time (the kernel's clock when the file was last written or compressed), so a
    writer whose clock was set years back cannot make fresh files purgeable. A restored copy whose modification
    time is new stays kept until that time ages too (the safe direction). A file whose recorded times step back
    (the clock was set back during the session) is kept unless ``accept_clock_jumps``: the purger is shown the
    jump and the dates the file holds first. ``purgers`` (registry entries) are the purgers whose tombstones the
    verification honours: a purge stopped between two unlinks leaves a stream that verifies only with them.
    ``trusted_keys`` and ``checkpoint_files`` are the auditor's writer keys and held (WORM) checkpoint copies: a
    stream they show rolled back, rewritten, forged or unsealed is evidence and is never purged (§12.3). A held
    copy carries no arrival time, so it is no evidence of a file's age."""
    root = Path(root)
    now_ns = now_ns or time.time_ns()
    report = verify_trail(root, purgers=list(purgers), trusted_keys=list(trusted_keys),
                          checkpoint_files=list(checkpoint_files))
    out: list[FileStatus] = []
    with ReadingDirectory(root) as directory:
        names = directory.names()
        streams = sorted({p.stream for p in filter(None, map(parse_chain_file_name, names))})
        for stream in streams:
            if stream == RETENTION_STREAM:
                continue
            troubled = any(p.stream == stream for p in report.problems)
            on_hold = active_holds(root, stream)
            blocked = ""
            files = chain_files(root, stream)
            days = retention_days  # the longer of the asked period and the one the stream's genesis declares
            for position, parsed in enumerate(files):
                status = _read_file(directory, parsed) if not blocked else FileStatus(stream, parsed.name)
                days = max(days, status.genesis_retention_days)
                limit = min(before_ns, now_ns - days * DAY_NS)
                status.retention_days = days
                newest = "the newest file of a stream is never purged" if position == len(files) - 1 else ""
                reason = blocked or newest or status.why_not
                if not reason and troubled:
                    reason = "the stream does not verify: evidence of a problem is never purged"
                elif not reason and on_hold:
                    reason = f"legal hold {on_hold[0]['id']}: {on_hold[0]['reason']}"
                elif not reason and (parse_time(status.last_time) or 0) >= limit:
                    reason = f"within retention ({days} days) or not before the cut-off"
                elif not reason and not accept_clock_jumps and any("steps back" in w for w in status.clock_warnings):
                    reason = (f"recorded times jump (records dated {status.date_span}); check the clock and purge "
                              "with --accept-clock-jumps")
                elif not reason and status.fs_time_ns >= limit:
                    reason = (f"the file system's time ({format_time_ns(status.fs_time_ns)}) is within retention "
                              f"({days} days) or not before the cut-off: the writer's clock alone "
                              "is not trusted")
                status.eligible, status.why_not = not reason, reason
                blocked = blocked or (f"an earlier file is kept ({parsed.name})" if reason else "")
                out.append(status)
    return out


# ---------------------------------------------------------------------------------------------- purge

def _key_in_force(root: Path, stream: str, files: list[FileStatus], signer: SignerKey) -> dict[str, str]:
    for status in reversed(files):
        if status.keys:
            key_id, public = status.keys[-1]
            return {"key_id": key_id, "public_key": public}
    own = {signer.key_id: (signer.printed_name, signer.user_id, signer.public_key)}  # tombstones of this purger
    earlier = Part11Verification(root, {}, purgers=own).tombstones.get(stream, {})
    for _entry, statement in earlier.values():
        return dict(statement["key_in_force"])
    return {"key_id": "none", "public_key": ""}


def purge(root: Path, *, before_ns: int, reason: str, policy: str, key: "SignerKey | str | os.PathLike[str]",
          user_id: str, passphrase: str, retention_days: int = DEFAULT_RETENTION_DAYS, now_ns: int | None = None,
          checkpoint_key: Any = None, writer_options: dict[str, Any] | None = None,
          accept_clock_jumps: bool = False, trusted_keys: Iterable[str] = (),
          checkpoint_files: Iterable[str | os.PathLike[str]] = ()) -> list[FileStatus]:
    """Purge the eligible files (see :func:`survey`, which also takes ``trusted_keys`` and ``checkpoint_files``)
    after writing their signed tombstones; return what was purged.

    ``writer_options`` go to the ``retention`` stream's writer (tests and vectors inject a clock and identity)."""
    if not reason.strip() or not policy.strip():
        raise ValueError("a purge needs a reason and the retention policy it applies")
    if retention_days < 1:
        raise ValueError("retention_days must be positive")
    root = Path(root)
    signer = SignerKey.load(key) if isinstance(key, (str, os.PathLike)) else key
    private = signer.unlock(user_id, passphrase)
    now_ns = now_ns or time.time_ns()
    anchors = {"trusted_keys": list(trusted_keys), "checkpoint_files": list(checkpoint_files)}
    finished = _finish_interrupted(root, signer, now_ns=now_ns, **anchors)
    eligible = [s for s in survey(root, before_ns=before_ns, retention_days=retention_days, now_ns=now_ns,
                                  accept_clock_jumps=accept_clock_jumps, purgers=[_registry_entry(signer)], **anchors)
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
            "key_in_force": _key_in_force(root, stream, files, signer), "before": format_time_ns(before_ns),
            "retention_days": str(max(s.retention_days for s in files)), "policy": policy, "reason": reason,
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
    return finished + eligible


def _file_sha256(directory: ReadingDirectory, name: str) -> str | None:
    try:
        with directory.open(name) as file:
            return _hash_and_time(file)[0]
    except (NotRegularFile, OSError):
        return None


def _remove(root: Path, name: str, sha256: str) -> bool:
    """Unlink ``name`` if it is a regular file whose bytes still hash to ``sha256``, and a ``.gz`` copy of it made
    meanwhile (same content); names are unlinked relative to the directory's descriptor (a link is never followed)."""
    with ReadingDirectory(root) as reader:
        if _file_sha256(reader, name) != sha256:
            return False
        same = False
        if not name.endswith(".gz"):
            try:
                with reader.open(name + ".gz") as file:
                    digest = hashlib.sha256()
                    for raw in iter_lines(file, True):
                        if not isinstance(raw, bytes):
                            break
                        digest.update(raw)
                    else:
                        same = digest.hexdigest() == sha256
            except (NotRegularFile, OSError):
                same = False
    directory = WritableTrailDirectory(root)
    try:
        if same:
            directory.unlink(name + ".gz")
        directory.unlink(name)
        directory.fsync()
    finally:
        directory.close()
    return True


def _registry_entry(signer: SignerKey) -> dict[str, str]:
    return {"printed_name": signer.printed_name, "user_id": signer.user_id, "key_id": signer.key_id,
            "public_key": signer.public_key}


def _finish_interrupted(root: Path, signer: SignerKey, *, now_ns: int, **anchors: Any) -> list[FileStatus]:
    """Finish purges that stopped after their tombstone, with every check of a new purge: only tombstones signed by
    the purger's own key count, and a file they name is removed only when :func:`survey`, recomputed from the files
    now with the tombstone's own cut-off and retention period, finds it eligible (closed, not the newest, its
    stream verifying, no legal hold, old enough by both clocks) and its bytes still hash as the tombstone says.
    No second tombstone is written; a file that is no longer eligible is kept (``retention list`` says why)."""
    own = {signer.key_id: (signer.printed_name, signer.user_id, signer.public_key)}  # the purger's own key only
    tombstones = Part11Verification(root, {}, purgers=own).tombstones
    wanted: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for stream, files in tombstones.items():
        for _plain, (entry, statement) in sorted(files.items()):
            wanted.setdefault((statement["before"], statement["retention_days"]), []).append((stream, entry))
    finished = []
    for (before, days), entries in sorted(wanted.items()):
        before_ns, retention_days = parse_time(before), int(days)
        if before_ns is None or retention_days < 1:
            continue
        statuses = {s.file: s for s in survey(root, before_ns=before_ns, retention_days=retention_days,
                                              now_ns=now_ns, purgers=[_registry_entry(signer)], **anchors)}
        for stream, entry in entries:
            status = statuses.get(entry["file"])
            if status is None or not status.eligible or status.stream != stream or status.sha256 != entry["sha256"]:
                continue
            if _remove(root, entry["file"], entry["sha256"]):
                finished.append(status)
    return finished
