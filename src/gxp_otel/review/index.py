"""An on-disk index of a trail (SQLite, stdlib ``sqlite3``): where the records of a trace, run, user, agent or
event type are, so ``query`` and ``report`` read only those lines.

The index is a *locator*, never a source of truth:

- it records, per chain file, size, modification time and the SHA-256 of the file's last 4 KiB (its head). When any
  of these differ from the trail as it is now, or a file appeared or disappeared, the index is stale: it is brought
  up to date (``update_index``) before it is used. A file that only grew (its stored last 4 KiB are still where they
  were) is indexed from where the index ended; any other changed file is indexed again from its start;
- every line it points to is read from the trail again, parsed, and the filter applied to the record itself; a
  pointer that does not lead to a matching record makes the lookup fail (``StaleIndex``) and the caller scans.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from gxp_otel.audit.format import ChainFileName
from gxp_otel.review.filters import RecordFilter, event_type
from gxp_otel.review.scan import Hit, chain_files, open_chain_file, parse_record, read_line_at

INDEX_NAME = "gxp-otel-index.sqlite"
SCHEMA_VERSION = "2"
_TAIL = 4096
_COLUMNS = {"trace_id": "trace_id", "run_id": "run_id", "user": "user_id", "agent": "agent_id",
            "event_type": "event_type"}
_SCHEMA = """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE files(name TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, tail_sha256 TEXT,
                       indexed_bytes INTEGER, lines INTEGER);
    CREATE TABLE records(file TEXT, line INTEGER, offset INTEGER, stream TEXT, seq INTEGER, time TEXT,
                         kind TEXT, trace_id TEXT, run_id TEXT, user_id TEXT, agent_id TEXT, event_type TEXT);
"""
_INDEXES = ("file", "trace_id", "run_id", "user_id", "agent_id", "event_type", "time")


class StaleIndex(Exception):
    """The index does not describe the trail as it is now."""


def default_index_path(trail: str | os.PathLike[str]) -> Path:
    root = Path(trail)
    return (root.parent if root.is_file() else root) / INDEX_NAME


def _tail_hash(path: Path, end: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, end - _TAIL))
        return hashlib.sha256(handle.read(min(end, _TAIL))).hexdigest()


def _fingerprint(path: Path) -> tuple[int, int, str]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, _tail_hash(path, stat.st_size)


def _trail_state(trail: Path) -> dict[str, tuple[int, int, str]]:
    return {parsed.name: _fingerprint(path) for path, parsed in chain_files(trail)}


def _stored_state(db: sqlite3.Connection) -> dict[str, tuple]:
    version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    if version != (SCHEMA_VERSION,):
        raise StaleIndex("the index was written by another version")
    return {row[0]: row[1:] for row in db.execute("SELECT * FROM files")}


def is_fresh(index_path: Path, trail: Path) -> bool:
    """True when ``index_path`` exists and was built from exactly the chain files the trail holds now."""
    if not index_path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{index_path}?mode=ro", uri=True) as db:
            stored = _stored_state(db)
    except (sqlite3.Error, StaleIndex):
        return False
    return {name: row[:3] for name, row in stored.items()} == _trail_state(trail)


def _file_rows(path: Path, parsed: ChainFileName, offset: int, line: int, end: int) -> tuple[list[tuple], int, int]:
    """Rows for the complete lines of one file from ``offset`` up to ``end``; the offset and line reached."""
    rows = []
    with open_chain_file(path, parsed) as handle:
        handle.seek(offset)
        for raw in handle:
            if (not parsed.compressed and offset >= end) or not raw.endswith(b"\n"):
                break  # bytes written after the fingerprint, or a line still being written
            line += 1
            record = parse_record(raw)
            if record is not None:
                body = record["body"]
                gxp = body.get("gxp") if isinstance(body.get("gxp"), dict) else {}
                rows.append((parsed.name, line, offset, record.get("stream"), int(record["seq"]), record.get("time"),
                             record.get("kind"), body.get("trace_id") or None, gxp.get("run_id"), gxp.get("user_id"),
                             gxp.get("agent_id"), event_type(record) or None))
            offset += len(raw)
    return rows, offset, line


def _index_file(db: sqlite3.Connection, path: Path, parsed: ChainFileName, fingerprint: tuple, start: tuple[int, int]) -> int:
    rows, offset, line = _file_rows(path, parsed, *start, end=fingerprint[0])
    db.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?)", (parsed.name, *fingerprint, offset, line))
    return len(rows)


def build_index(trail: str | os.PathLike[str], index_path: Path | None = None) -> tuple[Path, int]:
    """(Re)build the index of ``trail`` from scratch; returns its path and the number of records indexed. Atomic:
    written to a temporary file and renamed, so a reader never sees a half-built index."""
    trail = Path(trail)
    index_path = index_path or default_index_path(trail)
    tmp = index_path.with_name(index_path.name + f".tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))  # 0600
    db = sqlite3.connect(tmp)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        count = sum(_index_file(db, path, parsed, _fingerprint(path), (0, 0)) for path, parsed in chain_files(trail))
        for column in _INDEXES:
            db.execute(f"CREATE INDEX by_{column} ON records({column})")
        db.executemany("INSERT INTO meta VALUES (?,?)", [("schema", SCHEMA_VERSION), ("trail", str(trail))])
        db.commit()
    except BaseException:
        db.close()
        tmp.unlink(missing_ok=True)
        raise
    db.close()
    os.replace(tmp, index_path)
    return index_path, count


def update_index(trail: str | os.PathLike[str], index_path: Path | None = None) -> int:
    """Bring an existing index up to date with the trail, in one transaction; returns the records added. Files
    unchanged keep their rows, grown files are indexed from where the index ended, others from their start.
    Raises StaleIndex when the index cannot be updated (another version): build it instead."""
    trail = Path(trail)
    index_path = index_path or default_index_path(trail)
    db = sqlite3.connect(index_path)
    try:
        stored = _stored_state(db)
        current = {parsed.name: (path, parsed) for path, parsed in chain_files(trail)}
        added = 0
        for name in set(stored) - set(current):
            db.execute("DELETE FROM records WHERE file = ?", (name,))
            db.execute("DELETE FROM files WHERE name = ?", (name,))
        for name, (path, parsed) in current.items():
            fingerprint = _fingerprint(path)
            old = stored.get(name)
            if old is not None and tuple(old[:3]) == fingerprint:
                continue
            size, _, tail, indexed_bytes, lines = old if old is not None else (0, 0, "", 0, 0)
            grew = old is not None and not parsed.compressed and fingerprint[0] >= size and _tail_hash(path, size) == tail
            if not grew:
                db.execute("DELETE FROM records WHERE file = ?", (name,))
                indexed_bytes, lines = 0, 0
            added += _index_file(db, path, parsed, fingerprint, (indexed_bytes, lines))
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        db.close()
    return added


def indexed_hits(index_path: Path, trail: Path, selection: RecordFilter) -> list[Hit]:
    """The matching records, located through the index and read from the trail. Raises StaleIndex when the index
    is not fresh or a located line is not a matching record (the caller then scans); nothing is returned before
    every located line was checked."""
    if not is_fresh(index_path, trail):
        raise StaleIndex(f"{index_path} does not describe the trail as it is now")
    where, args = [], []
    for attribute, column in _COLUMNS.items():
        value = getattr(selection, attribute)
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    for attribute, op in (("since", ">="), ("until", "<=")):
        if getattr(selection, attribute) is not None:
            where.append(f"time {op} ?")
            args.append(getattr(selection, attribute))
    sql = "SELECT file, line, offset FROM records" + (" WHERE " + " AND ".join(where) if where else "")
    with sqlite3.connect(f"file:{index_path}?mode=ro", uri=True) as db:
        rows = db.execute(sql, args).fetchall()
    files = {parsed.name: (path, parsed) for path, parsed in chain_files(trail)}
    by_file: dict[str, dict[int, int]] = {}
    for file, line, offset in rows:
        by_file.setdefault(file, {})[offset] = line
    hits: list[Hit] = []
    for name in (n for n in files if n in by_file):
        path, parsed = files[name]
        lines = by_file[name]
        for offset, raw in read_line_at(path, parsed, sorted(lines)):
            record = parse_record(raw) if raw.endswith(b"\n") else None
            if record is None or not selection.matches(record):
                raise StaleIndex(f"{name} at byte {offset} does not hold the record the index names")
            hits.append(Hit(name, lines[offset], offset, record))
    if len(hits) != len(rows):
        raise StaleIndex("the index names files the trail no longer holds")
    return hits
