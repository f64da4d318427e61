"""The files one writer holds for its stream: the lock, the current chain file and the checkpoint file (§2, §8).

Guarantees: every file is opened relative to the trail's directory descriptor (:class:`WritableTrailDirectory`), never
through a symlink, and only when it is a regular file; chain files are created with O_EXCL (never overwritten) and
opened append-only, mode 0600, with the directory fsynced after a new file appears; `write` returns only after every
byte is written and, when asked, fsynced; `truncate` is used only to roll back bytes that were never acknowledged.

One writer per stream: the writer holds ``flock`` on the stream's lock file **and** on its current chain file. The
lock file can be deleted or replaced by anyone who can write the directory, the chain file a second writer must open
to recover cannot be (deleting it is detected before every write), so a second process that got a fresh lock file is
still refused (:class:`StreamBusyError`) while the first one runs. Not thread-safe by itself: ``AuditTrailWriter``
calls it under its lock.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterable

from gxp_otel.audit.format import chain_file_name, checkpoint_file_name, lock_file_name, parse_chain_file_name
from gxp_otel.audit.trail_directory import WritableTrailDirectory


class StreamBusyError(Exception):
    """Another writer holds the stream."""


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def acquire_stream(directory: WritableTrailDirectory, stream_id: str | None) -> tuple[str, int]:
    """Lock ``stream_id``, or the first free ``<host>.<n>``; returns the stream id and the locked file descriptor."""
    candidates: Iterable[str]
    if stream_id is not None:
        candidates = [stream_id]
    else:
        host = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._") else "_" for ch in socket.gethostname())
        candidates = (f"{host[:56] or 'host'}.{n}" for n in range(10_000))
    for candidate in candidates:
        fd = directory.open(lock_file_name(candidate), os.O_RDWR | os.O_CREAT)
        if not _try_lock(fd):
            os.close(fd)
            continue
        return candidate, fd
    raise StreamBusyError(f"{directory.path}: stream {stream_id!r} is held by another writer")


def lock_chain_file(fd: int, name: str, directory: WritableTrailDirectory) -> None:
    """Take the stream's second lock, on its newest chain file; refused while another writer holds it."""
    if not _try_lock(fd):
        raise StreamBusyError(f"{directory.path / name}: held by another writer (its lock file was deleted or "
                              "replaced); refusing to write the same stream twice")


class StreamFiles:
    """The open files of one stream; ``stats`` (bytes, fsyncs) is the writer's counter dict."""

    def __init__(self, directory: WritableTrailDirectory, stream_id: str, lock_fd: int, stats: dict[str, int]) -> None:
        self.directory, self.stream_id, self.lock_fd, self._stats = directory, stream_id, lock_fd, stats
        self.checkpoint_fd = self._open_checkpoint_file()
        self.fd = -1
        self.index = 0
        self.size = 0
        self.day: int | None = None  # UTC day of the file's first record sealed by this session
        self.last_fsync_ns = 0

    @property
    def current_name(self) -> str:
        return chain_file_name(self.stream_id, self.index)

    def _open_checkpoint_file(self) -> int:
        return self.directory.open(checkpoint_file_name(self.stream_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def open_chain(self, index: int, existing_size: int | None = None) -> None:
        """Open and lock chain file ``index``: an existing one to append at ``existing_size``, else a new one
        (O_EXCL). The previous chain file, if any, stays locked until the new one is."""
        name = chain_file_name(self.stream_id, index)
        flags = os.O_WRONLY | os.O_APPEND | (0 if existing_size is not None else os.O_CREAT | os.O_EXCL)
        fd = self.directory.open(name, flags)
        try:
            lock_chain_file(fd, name, self.directory)
        except BaseException:
            os.close(fd)
            raise
        previous, self.fd = self.fd, fd
        if previous >= 0:
            os.close(previous)
        self.index, self.size, self.day = index, existing_size or 0, None
        if existing_size is None:
            self.directory.fsync()

    def adopt_chain(self, index: int, fd: int, size: int) -> None:
        """Continue the existing chain file ``index`` through ``fd``, already opened (append) and locked by the
        caller, at ``size`` bytes."""
        self.fd, self.index, self.size, self.day = fd, index, size, None

    def write(self, lines: list[bytes], *, fsync: bool) -> None:
        if lines:
            blob = b"".join(lines)
            view = memoryview(blob)
            while view:
                view = view[os.write(self.fd, view):]
            self.size += len(blob)
            self._stats["bytes"] += len(blob)
        if fsync:
            os.fsync(self.fd)
            self.last_fsync_ns = time.monotonic_ns()
            self._stats["fsyncs"] += 1

    def append_checkpoint(self, line: bytes) -> None:
        os.write(self.checkpoint_fd, line)
        os.fsync(self.checkpoint_fd)

    def next_chain(self) -> str:
        """Create and lock the next chain file, then close the current one; returns the closed file's name."""
        closed = self.current_name
        self.open_chain(self.index + 1)
        return closed

    def truncate(self, size: int) -> None:
        """Roll back to ``size`` bytes (never-acknowledged bytes only); best effort."""
        try:
            os.ftruncate(self.fd, size)
            self.size = size
        except OSError:
            pass  # the verifier will report whatever is left; nothing more can be done here

    def deleted(self) -> bool:
        return os.fstat(self.fd).st_nlink == 0

    def reattach(self) -> None:
        """After the chain file was deleted: continue in a new, higher-numbered file, in the same directory if it
        still exists (never following a path that was replaced), else in a re-created one; re-create the checkpoint
        and lock files if they went too."""
        if self.directory.deleted():
            self.directory.reopen()
        existing = [p.index for p in map(parse_chain_file_name, self.directory.listdir())
                    if p is not None and p.stream == self.stream_id]
        self.open_chain(max([self.index, *existing]) + 1)
        if os.fstat(self.checkpoint_fd).st_nlink == 0:
            os.close(self.checkpoint_fd)
            self.checkpoint_fd = self._open_checkpoint_file()
        if os.fstat(self.lock_fd).st_nlink == 0:
            fd = self.directory.open(lock_file_name(self.stream_id), os.O_RDWR | os.O_CREAT)
            if not _try_lock(fd):
                os.close(fd)
                raise StreamBusyError(f"{self.directory.path}: stream {self.stream_id} was taken by another writer")
            os.close(self.lock_fd)
            self.lock_fd = fd

    def close(self) -> None:
        """Close every file and release the stream (no fsync here: the writer made everything durable first)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        os.close(self.checkpoint_fd)
        fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
        os.close(self.lock_fd)
