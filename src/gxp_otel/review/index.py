"""An on-disk index of a trail (SQLite, stdlib ``sqlite3``): where the records of a trace, run, user, agent or
event type are, so ``query`` and ``report`` read only those lines.

The index is a *locator*, never a source of truth:

- it records, per chain file, size, modification time and the SHA-256 of the file's last 4 KiB (its head); when any
  of these differ from the trail as it is now, or a file appeared or disappeared, the index is stale and is rebuilt
  (``open_fresh``), never used;
- every line it points to is read from the trail again, parsed, and the filter applied to the record itself; a
  pointer that does not lead to a matching record makes the lookup fail (``StaleIndex``) and the caller scans.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from gxp_otel.review.filters import RecordFilter, event_type
from gxp_otel.review.scan import Hit, chain_files, iter_records, parse_record, read_line_at

INDEX_NAME = "gxp-otel-index.sqlite"
SCHEMA_VERSION = "1"
_TAIL = 4096
_COLUMNS = {"trace_id": "trace_id", "run_id": "run_id", "user": "user_id", "agent": "agent_id",
            "event_type": "event_type"}


class StaleIndex(Exception):
    """The index does not describe the trail as it is now."""


def default_index_path(trail: str | os.PathLike[str]) -> Path:
    root = Path(trail)
    return (root.parent if root.is_file() else root) / INDEX_NAME


def _fingerprint(path: Path) -> tuple[int, int, str]:
    stat = path.stat()
    with open(path, "rb") as handle:
        handle.seek(max(0, stat.st_size - _TAIL))
        tail = hashlib.sha256(handle.read()).hexdigest()
    return stat.st_size, stat.st_mtime_ns, tail


def _trail_state(trail: Path) -> dict[str, tuple[int, int, str]]:
    return {parsed.name: _fingerprint(path) for path, parsed in chain_files(trail)}


def is_fresh(index_path: Path, trail: Path) -> bool:
    """True when ``index_path`` exists and was built from exactly the chain files the trail holds now."""
    if not index_path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{index_path}?mode=ro", uri=True) as db:
            version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            stored = {row[0]: (row[1], row[2], row[3]) for row in db.execute("SELECT * FROM files")}
    except sqlite3.Error:
        return False
    return version == (SCHEMA_VERSION,) and stored == _trail_state(trail)


def build_index(trail: str | os.PathLike[str], index_path: Path | None = None) -> tuple[Path, int]:
    """(Re)build the index of ``trail``; returns its path and the number of records indexed. Atomic: written to a
    temporary file and renamed, so a reader never sees a half-built index."""
    trail = Path(trail)
    index_path = index_path or default_index_path(trail)
    state_before = _trail_state(trail)
    tmp = index_path.with_name(index_path.name + f".tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript(
            """
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE files(name TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, tail_sha256 TEXT);
            CREATE TABLE records(file TEXT, line INTEGER, offset INTEGER, stream TEXT, seq INTEGER, time TEXT,
                                 kind TEXT, trace_id TEXT, run_id TEXT, user_id TEXT, agent_id TEXT, event_type TEXT);
            """
        )
        count = 0
        batch: list[tuple] = []
        for hit in iter_records(trail):
            record = hit.record
            body = record["body"]
            gxp = body.get("gxp") if isinstance(body.get("gxp"), dict) else {}
            batch.append((hit.file, hit.line, hit.offset, record.get("stream"), hit.seq, record.get("time"),
                          record.get("kind"), body.get("trace_id") or None, gxp.get("run_id"), gxp.get("user_id"),
                          gxp.get("agent_id"), event_type(record) or None))
            if len(batch) >= 10_000:
                db.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", batch)
                count += len(batch)
                batch.clear()
        db.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", batch)
        count += len(batch)
        for column in ("trace_id", "run_id", "user_id", "agent_id", "event_type", "time"):
            db.execute(f"CREATE INDEX by_{column} ON records({column})")
        if _trail_state(trail) != state_before:
            raise StaleIndex("the trail changed while it was being indexed; run `gxp-otel index` again")
        db.executemany("INSERT INTO files VALUES (?,?,?,?)", [(n, *s) for n, s in state_before.items()])
        db.executemany("INSERT INTO meta VALUES (?,?)", [("schema", SCHEMA_VERSION), ("trail", str(trail))])
        db.commit()
    finally:
        db.close()
    os.replace(tmp, index_path)
    return index_path, count


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
        rows = db.execute(sql + " ORDER BY rowid", args).fetchall()
    files = {parsed.name: (path, parsed) for path, parsed in chain_files(trail)}
    by_file: dict[str, list[tuple[int, int]]] = {}
    for file, line, offset in rows:
        by_file.setdefault(file, []).append((offset, line))
    hits: list[Hit] = []
    for name in (n for n in files if n in by_file):
        path, parsed = files[name]
        wanted = by_file[name]
        lines = dict(wanted)
        for offset, raw in read_line_at(path, parsed, sorted(o for o, _ in wanted)):
            record = parse_record(raw) if raw.endswith(b"\n") else None
            if record is None or not selection.matches(record):
                raise StaleIndex(f"{name} at byte {offset} does not hold the record the index names")
            hits.append(Hit(name, lines[offset], offset, record))
    if len(hits) != len(rows):
        raise StaleIndex("the index names files the trail no longer holds")
    return hits
