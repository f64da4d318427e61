"""An on-disk index of a trail (SQLite, stdlib ``sqlite3``): where the records of a trace, run, user, agent or
event type are, so ``query`` reads only those lines.

The index is a *locator*, never a source of truth, and it narrows a read only when its completeness is proven:

- it holds one row for **every** line of every chain file (a line that is not a record gets a row too), and per file
  its size, modification time, SHA-256 of the whole file, line count and a MAC: HMAC-SHA256, under a key only the
  index's owner can read (:func:`index_key`, mode 0600 outside the trail), over the file's name, digest, line count
  and every one of its rows in order. Before it is used, every file of the trail is hashed again and must match,
  and every file's rows are read back and must reproduce its MAC: a deleted, added or altered row, a changed file, a
  file the index does not know, or an index written by someone without the key is never used (the caller scans);
- a file that only grew (its stored digest is that of its first ``size`` bytes) is indexed from where the index
  ended; any other changed file is indexed again from its start;
- every line it points to is read from the trail again, parsed, and the filter applied to the record itself; a
  pointer that does not lead to a matching record makes the lookup fail (``StaleIndex``) and the caller scans.

The index file is created mode 0600 (it holds the trail's content). Not thread-safe across writers of one index;
readers may run concurrently (SQLite).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import stat
from pathlib import Path

import orjson

from gxp_otel.audit.format import SEQ_RE, ChainFileName
from gxp_otel.audit.reading import ReadProblem, TrailFile, iter_lines
from gxp_otel.review.filters import RecordFilter, event_type
from gxp_otel.review.scan import Hit, chain_files, parse_record, read_line_at

INDEX_NAME = "gxp-otel-index.sqlite"
SCHEMA_VERSION = "3"
_COLUMNS = {"trace_id": "trace_id", "run_id": "run_id", "user": "user_id", "agent": "agent_id",
            "event_type": "event_type"}
_SCHEMA = """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE files(name TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT,
                       indexed_bytes INTEGER, lines INTEGER, mac TEXT);
    CREATE TABLE records(file TEXT, line INTEGER, offset INTEGER, stream TEXT, seq INTEGER, time TEXT,
                         kind TEXT, trace_id TEXT, run_id TEXT, user_id TEXT, agent_id TEXT, event_type TEXT);
"""
_INDEXES = ("file", "trace_id", "run_id", "user_id", "agent_id", "event_type", "time")
_ROW_TEXT = "||','||".join(f"quote({c})" for c in ("file", "line", "offset", "stream", "seq", "time", "kind", "trace_id",
                                                    "run_id", "user_id", "agent_id", "event_type"))
# one file's rows as one text, in line order, each value an SQL literal (quote() is injective: strings are delimited)
_ROWS_OF_FILE = (f"SELECT count(*), group_concat(r, char(10)) FROM (SELECT {_ROW_TEXT} AS r FROM records "
                 "WHERE file = ? ORDER BY line)")


class StaleIndex(Exception):
    """The index does not (provably) describe the trail as it is now."""


def default_index_path(trail: str | os.PathLike[str]) -> Path:
    root = Path(trail)
    return (root.parent if root.is_file() else root) / INDEX_NAME


# ---------------------------------------------------------------------------------------------- the owner's key

def index_key_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "gxp-otel" / "index.key"


def index_key(*, create: bool) -> bytes:
    """The MAC key of this account's indexes (created on first use, 0600 in a 0700 directory). Raises StaleIndex
    when there is none (and ``create`` is false) or it is not a regular file of this account readable by it alone."""
    path = index_key_path()
    if create and not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            pass
        else:
            with open(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise StaleIndex(f"no index key {path} ({exc.strerror})") from None
    with open(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise StaleIndex(f"index key {path} is not a private (0600) file of this account")
        key = handle.read(64)
    if len(key) < 32:
        raise StaleIndex(f"index key {path} is damaged")
    return key


# ---------------------------------------------------------------------------------------------- file facts

def _open(path: Path) -> TrailFile:
    """A chain file, never through a link (the file itself), regular files only, never blocking."""
    return TrailFile(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC), path.name)


def _facts(path: Path, prefix: int | None = None) -> tuple[int, int, str, str | None]:
    """Size, modification time, SHA-256 of the whole file and (when ``prefix`` is given) of its first ``prefix``
    bytes, in one read of a regular file (never through a link, never blocking)."""
    digest = hashlib.sha256()
    prefix_digest = None
    with _open(path) as file:
        info = os.fstat(file.fd)
        offset = 0
        while True:
            if prefix is not None and offset == prefix:
                prefix_digest = digest.copy().hexdigest()
            want = 1 << 20 if prefix is None or offset >= prefix else min(1 << 20, prefix - offset)
            block = os.pread(file.fd, want, offset)
            if not block:
                break
            digest.update(block)
            offset += len(block)
    return info.st_size, info.st_mtime_ns, digest.hexdigest(), prefix_digest


def file_mac(db: sqlite3.Connection, key: bytes, name: str, sha256: str, lines: int) -> tuple[int, str]:
    """The number of rows the index holds for file ``name`` and the HMAC-SHA256 under ``key`` of the file's name,
    digest, line count and all those rows in line order (serialised by SQLite, so the check costs one query)."""
    count, text = db.execute(_ROWS_OF_FILE, (name,)).fetchone()
    mac = hmac.new(key, orjson.dumps([name, sha256, lines]), "sha256")
    mac.update((text or "").encode("utf-8", "surrogatepass"))
    return count, mac.hexdigest()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _row(name: str, line: int, offset: int, raw: bytes) -> tuple:
    record = parse_record(raw)
    if record is None or not isinstance(record.get("seq"), str) or not SEQ_RE.fullmatch(record["seq"]):
        return (name, line, offset) + (None,) * 9
    body = record["body"]
    gxp = body.get("gxp") if isinstance(body.get("gxp"), dict) else {}
    return (name, line, offset, _text(record.get("stream")), int(record["seq"]), _text(record.get("time")),
            _text(record.get("kind")), _text(body.get("trace_id")), _text(gxp.get("run_id")),
            _text(gxp.get("user_id")), _text(gxp.get("agent_id")), _text(event_type(record)))


def _file_rows(path: Path, parsed: ChainFileName, offset: int, line: int, end: int) -> tuple[list[tuple], int, int]:
    """One row per complete line of one file from ``offset`` up to ``end``; the offset and line reached."""
    rows = []
    with _open(path) as handle:
        for raw in iter_lines(handle, parsed.compressed, start=offset, first_line=line + 1):
            if not parsed.compressed and offset >= end:
                break  # bytes written after the facts were taken
            if isinstance(raw, ReadProblem):
                if raw.kind == "torn-line":
                    break  # a line still being written, or the end of a damaged .gz
                line += 1  # an over-long line: a row that names no record
                rows.append((parsed.name, line, offset) + (None,) * 9)
                offset += raw.length
                continue
            if not raw.endswith(b"\n"):
                break  # a line still being written
            line += 1
            rows.append(_row(parsed.name, line, offset, raw))
            offset += len(raw)
    return rows, offset, line


def _index_file(db: sqlite3.Connection, key: bytes, path: Path, parsed: ChainFileName, facts: tuple,
                start: tuple[int, int]) -> int:
    size, mtime_ns, sha256 = facts[:3]
    rows, offset, line = _file_rows(path, parsed, *start, end=size)
    db.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    _count, mac = file_mac(db, key, parsed.name, sha256, line)
    db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?)",
               (parsed.name, size, mtime_ns, sha256, offset, line, mac))
    return len(rows)


def _check_index_file(index_path: Path) -> None:
    """Raise StaleIndex unless ``index_path`` is a regular file of this account: SQLite follows a symlink at the
    database path, so a link planted there (to a file the caller may write) is never opened."""
    try:
        info = os.lstat(index_path)
    except OSError as exc:
        raise StaleIndex(f"no index at {index_path} ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        raise StaleIndex(f"{index_path} is not a regular file of this account: not used")


def _stored_state(db: sqlite3.Connection) -> dict[str, tuple]:
    try:
        version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    except sqlite3.Error:
        version = None
    if version != (SCHEMA_VERSION,):
        raise StaleIndex("the index was written by another version")
    return {row[0]: row[1:] for row in db.execute("SELECT * FROM files")}


def _quick_state(trail: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for path, parsed in chain_files(trail):
        info = path.stat()
        out[parsed.name] = (info.st_size, info.st_mtime_ns)
    return out


def is_fresh(index_path: Path, trail: Path) -> bool:
    """True when ``index_path`` exists and names exactly the chain files the trail holds, with their sizes and
    modification times (a quick test: :func:`prove_complete` is the proof)."""
    try:
        _check_index_file(index_path)
        with sqlite3.connect(f"file:{index_path}?mode=ro", uri=True) as db:
            stored = _stored_state(db)
    except (sqlite3.Error, StaleIndex):
        return False
    return {name: tuple(row[:2]) for name, row in stored.items()} == _quick_state(trail)


def prove_complete(db: sqlite3.Connection, trail: Path) -> None:
    """Raise StaleIndex unless the index holds exactly the trail's files as they are now and, for each, exactly the
    rows its owner's MAC covers (see the module docstring)."""
    key = index_key(create=False)
    stored = _stored_state(db)
    current = {parsed.name: path for path, parsed in chain_files(trail)}
    if set(stored) != set(current):
        raise StaleIndex("the index does not name exactly the trail's chain files")
    for name, path in current.items():
        size, mtime_ns, sha256, _indexed, lines, mac = stored[name]
        if _facts(path)[:3] != (size, mtime_ns, sha256):
            raise StaleIndex(f"{name} changed since it was indexed")
        count, expected = file_mac(db, key, name, sha256, lines)
        if count != lines or not hmac.compare_digest(expected, mac or ""):
            raise StaleIndex(f"the index's rows of {name} are not the ones it was built with (rows deleted, added "
                             "or altered, or built with another key)")


def build_index(trail: str | os.PathLike[str], index_path: Path | None = None) -> tuple[Path, int]:
    """(Re)build the index of ``trail`` from scratch; returns its path and the number of records indexed. Atomic:
    written to a temporary file (0600, created exclusively) and renamed, so a reader never sees a half-built one."""
    trail = Path(trail)
    index_path = index_path or default_index_path(trail)
    key = index_key(create=True)
    tmp = index_path.with_name(index_path.name + f".tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    db = sqlite3.connect(tmp)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        db.execute("CREATE INDEX by_file_line ON records(file, line)")
        count = 0
        for path, parsed in chain_files(trail):
            count += _index_file(db, key, path, parsed, _facts(path), (0, 0))
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
    """Bring an existing index up to date with the trail, in one transaction; returns the rows added. Files
    unchanged keep their rows, grown files are indexed from where the index ended, others from their start.
    Raises StaleIndex when the index cannot be updated (another version, no key): build it instead."""
    trail = Path(trail)
    index_path = index_path or default_index_path(trail)
    key = index_key(create=False)
    _check_index_file(index_path)
    db = sqlite3.connect(index_path)
    try:
        stored = _stored_state(db)
        current = {parsed.name: (path, parsed) for path, parsed in chain_files(trail)}
        added = 0
        for name in set(stored) - set(current):
            db.execute("DELETE FROM records WHERE file = ?", (name,))
            db.execute("DELETE FROM files WHERE name = ?", (name,))
        for name, (path, parsed) in current.items():
            old = stored.get(name)
            size, _, sha256, indexed_bytes, lines, _mac_hex = old if old is not None else (0, 0, "", 0, 0, "")
            facts = _facts(path, prefix=size if old is not None and not parsed.compressed else None)
            if old is not None and facts[:3] == tuple(old[:3]):
                continue
            grew = old is not None and not parsed.compressed and facts[0] >= size and facts[3] == sha256
            if not grew:
                db.execute("DELETE FROM records WHERE file = ?", (name,))
                indexed_bytes, lines = 0, 0
            added += _index_file(db, key, path, parsed, facts, (indexed_bytes, lines))
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
    _check_index_file(index_path)
    with sqlite3.connect(f"file:{index_path}?mode=ro", uri=True) as db:
        prove_complete(db, trail)
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
