"""One trail directory held open for writing: every file operation relative to a directory descriptor, never
through a symlink. (Readers use :class:`gxp_otel.audit.reading.TrailDirectory`, which only lists and reads.)

Guarantees (trust): the directory is resolved once, when it is opened; a path later replaced by a symlink or another
directory is never re-resolved while the directory still exists (:meth:`WritableTrailDirectory.reopen` is used only
after it was deleted, and then accepts only a real directory, never a link). Files are opened with ``O_NOFOLLOW`` and
``O_NONBLOCK`` (a FIFO never blocks the opener) and accepted only when they are regular files; temporary files are
created exclusively (``O_EXCL``), so a planted link or file at a temporary name is removed, never written through.
Thread-safety: the descriptor may be used from several threads; :meth:`reopen` keeps the old descriptor open until
:meth:`close`, so a concurrent user never sees a closed or reused descriptor.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

_OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class NotRegularFileError(OSError):
    """A name in the trail is a symlink, FIFO, device or directory where a regular file was expected."""


def _open_directory(path: Path, *, follow: bool) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        return os.open(path, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise NotRegularFileError(exc.errno, "not a directory (or a symlink to one): refused", str(path)) from None
        raise


class WritableTrailDirectory:
    """A trail directory held open by descriptor ``fd``; ``path`` is only for messages and for :meth:`reopen`."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        if create:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.fd = _open_directory(self.path, follow=True)  # the configured path may be a link; resolved once, here
        self._retired: list[int] = []

    # ------------------------------------------------------------------ files

    def open(self, name: str, flags: int, mode: int = 0o600) -> int:
        """Open ``name`` in this directory (no symlink followed, never blocking on a FIFO); regular files only."""
        try:
            fd = os.open(name, flags | _OPEN_FLAGS, mode, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotRegularFileError(exc.errno, "a symlink: refused", str(self.path / name)) from None
            if exc.errno == errno.ENXIO:  # O_WRONLY|O_NONBLOCK on a FIFO without a reader
                raise NotRegularFileError(exc.errno, "not a regular file: refused", str(self.path / name)) from None
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise NotRegularFileError(errno.EINVAL, "not a regular file: refused", str(self.path / name))
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def create_exclusive(self, name: str, mode: int = 0o600) -> int:
        """A new file ``name`` opened for writing; whatever sat at that name before (a stale temporary, a planted
        link or file) is unlinked first, never written through."""
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass
        return self.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)

    def read_bytes(self, name: str) -> bytes:
        fd = self.open(name, os.O_RDONLY)
        with open(fd, "rb") as handle:
            return handle.read()

    def replace_file(self, name: str, data: bytes, mode: int = 0o600) -> None:
        """Atomically and durably make ``name`` hold ``data``: exclusive temporary file, fsync, rename, fsync dir."""
        temporary = name + ".tmp"
        fd = self.create_exclusive(temporary, mode)
        with open(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.rename(temporary, name)
        self.fsync()

    # ------------------------------------------------------------------ names

    def listdir(self) -> list[str]:
        return os.listdir(self.fd)

    def lstat(self, name: str) -> os.stat_result | None:
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def is_regular(self, name: str) -> bool:
        info = self.lstat(name)
        return info is not None and stat.S_ISREG(info.st_mode)

    def rename(self, source: str, target: str) -> None:
        os.rename(source, target, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        os.unlink(name, dir_fd=self.fd)

    def fsync(self) -> None:
        os.fsync(self.fd)

    # ------------------------------------------------------------------ the directory itself

    def deleted(self) -> bool:
        return os.fstat(self.fd).st_nlink == 0

    def reopen(self) -> None:
        """After the directory was deleted: create it again at ``path`` and use the new one. A link or a file at
        ``path`` is refused (:class:`NotRegularFileError`); an existing real directory is used."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.mkdir(self.path, 0o700)
        except FileExistsError:
            pass
        fd = _open_directory(self.path, follow=False)
        self._retired.append(self.fd)
        self.fd = fd

    def close(self) -> None:
        for fd in [self.fd, *self._retired]:
            os.close(fd)
        self._retired = []
        self.fd = -1
