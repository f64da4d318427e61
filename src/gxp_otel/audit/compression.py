"""Background gzip of closed chain files (docs/audit-format.md §2).

The ``.gz`` is written to a temporary name, fsynced, renamed and the directory fsynced; only then is the plain file
unlinked. A crash at any point leaves either the plain file alone or both (the verifier then reads the plain one).
Every name is opened relative to the trail's directory descriptor, never through a symlink: the temporary file is
created exclusively (a planted link or stale file there is unlinked, never written through) and the plain file is
read only when it is a regular file. One worker thread per writer, so compression never holds the writer's lock.
"""

from __future__ import annotations

import gzip
import os
import queue
import shutil
import threading

from gxp_otel.audit.trail_directory import WritableTrailDirectory


def compress_file(directory: WritableTrailDirectory, plain_name: str) -> None:
    target = plain_name + ".gz"
    temporary = plain_name + ".gz.tmp"
    source_fd = directory.open(plain_name, os.O_RDONLY)
    with open(source_fd, "rb") as plain:
        fd = directory.create_exclusive(temporary)
        with open(fd, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
            shutil.copyfileobj(plain, packed, 1 << 20)
            packed.close()
            raw.flush()
            os.fsync(raw.fileno())
    directory.rename(temporary, target)
    directory.fsync()
    directory.unlink(plain_name)
    directory.fsync()


class FileCompressor:
    """Compresses submitted files in order on one daemon thread; :meth:`close` waits for the queue to drain."""

    def __init__(self, directory: WritableTrailDirectory) -> None:
        self._directory = directory
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def submit(self, plain_name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gxp-otel-audit-gzip", daemon=True)
            self._thread.start()
        self._queue.put(plain_name)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while (name := self._queue.get()) is not None:
            try:
                compress_file(self._directory, name)
            except OSError as exc:  # the plain file stays; nothing is lost
                self.errors.append(f"{name}: {exc}")
