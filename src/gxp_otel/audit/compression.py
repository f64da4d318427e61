"""Background gzip of closed chain files (docs/audit-format.md §2).

The ``.gz`` is written to a temporary name, fsynced, renamed and the directory fsynced; only then is the plain file
unlinked. A crash at any point leaves either the plain file alone or both (the verifier then reads the plain one).
One worker thread per writer, so compression never holds the writer's lock.
"""

from __future__ import annotations

import gzip
import os
import queue
import shutil
import threading
from pathlib import Path

from gxp_otel.audit.stream_files import fsync_directory


def compress_file(directory: Path, plain_name: str) -> None:
    source = directory / plain_name
    target = directory / (plain_name + ".gz")
    temporary = directory / (plain_name + ".gz.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
        with open(source, "rb") as plain:
            shutil.copyfileobj(plain, packed, 1 << 20)
        packed.close()
        raw.flush()
        os.fsync(raw.fileno())
    os.rename(temporary, target)
    fsync_directory(directory)
    os.unlink(source)
    fsync_directory(directory)


class FileCompressor:
    """Compresses submitted files in order on one daemon thread; :meth:`close` waits for the queue to drain."""

    def __init__(self, directory: Path) -> None:
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
