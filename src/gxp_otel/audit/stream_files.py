"""The files one writer holds for its stream: the lock, the current chain file and the checkpoint file (§2, §8).

Guarantees: chain files are created with O_EXCL (never overwritten) and opened append-only, mode 0600, with the
directory fsynced after a new file appears; `write` returns only after every byte is written and, when asked, fsynced;
`truncate` is used only to roll back bytes that were never acknowledged. Not thread-safe by itself:
``AuditTrailWriter`` calls it under its lock.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from gxp_otel.audit.format import chain_file_name, checkpoint_file_name, lock_file_name, parse_chain_file_name


class StreamBusyError(Exception):
    """Another writer holds the stream."""


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def acquire_stream(directory: Path, stream_id: str | None) -> tuple[str, int]:
    """Lock ``stream_id``, or the first free ``<host>.<n>``; returns the stream id and the locked file descriptor."""
    candidates: Iterable[str]
    if stream_id is not None:
        candidates = [stream_id]
    else:
        host = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._") else "_" for ch in socket.gethostname())
        candidates = (f"{host[:56] or 'host'}.{n}" for n in range(10_000))
    for candidate in candidates:
        fd = os.open(directory / lock_file_name(candidate), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return candidate, fd
    raise StreamBusyError(f"{directory}: stream {stream_id!r} is held by another writer")


class StreamFiles:
    """The open files of one stream; ``stats`` (bytes, fsyncs) is the writer's counter dict."""

    def __init__(self, directory: Path, stream_id: str, lock_fd: int, stats: dict[str, int]) -> None:
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
        path = self.directory / checkpoint_file_name(self.stream_id)
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def open_chain(self, index: int, existing_size: int | None = None) -> None:
        """Open chain file ``index``: an existing one to append at ``existing_size``, else a new one (O_EXCL)."""
        path = self.directory / chain_file_name(self.stream_id, index)
        flags = os.O_WRONLY | os.O_APPEND | (0 if existing_size is not None else os.O_CREAT | os.O_EXCL)
        self.fd = os.open(path, flags, 0o600)
        self.index, self.size, self.day = index, existing_size or 0, None
        if existing_size is None:
            fsync_directory(self.directory)

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
        """Close the current chain file and create the next; returns the closed file's name."""
        closed = self.current_name
        os.close(self.fd)
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
        """After the chain file was deleted: re-create the directory and continue in a new, higher-numbered file;
        re-create the checkpoint and lock files if they went too."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(self.fd)
        existing = [p.index for p in map(parse_chain_file_name, os.listdir(self.directory))
                    if p is not None and p.stream == self.stream_id]
        self.open_chain(max([self.index, *existing]) + 1)
        if os.fstat(self.checkpoint_fd).st_nlink == 0:
            os.close(self.checkpoint_fd)
            self.checkpoint_fd = self._open_checkpoint_file()
        if os.fstat(self.lock_fd).st_nlink == 0:
            os.close(self.lock_fd)
            self.lock_fd = os.open(self.directory / lock_file_name(self.stream_id), os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def close(self) -> None:
        """Close every file and release the stream (no fsync here: the writer made everything durable first)."""
        if self.fd >= 0:
            os.close(self.fd)
        os.close(self.checkpoint_fd)
        fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
        os.close(self.lock_fd)
