"""Bounded, no-follow reading of trail files (docs/audit-format.md §2.1): the one way every Python reader opens a
trail directory and iterates a file's lines (verifier, held checkpoints, part11 lookup, review scan/index/search,
query, the Phoenix audit status).

Guarantees, whatever the directory holds:

- **No path is re-resolved.** :class:`TrailDirectory` opens the directory once; names are listed from, and files
  opened relative to, that descriptor. A directory renamed or replaced by a symbolic link afterwards is not followed.
- **Only regular files are read, and opening never blocks.** Files are opened ``O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
  O_CLOEXEC`` and ``fstat``-ed: a symbolic link (to a foreign file, to ``/dev/zero``), a FIFO, a socket, a device or
  a directory raises :class:`NotRegularFile` naming the file and what it is; nothing is read from it.
- **Bounded memory.** Files are read in blocks of :data:`BLOCK` bytes; at most one line of :data:`MAX_LINE_BYTES`
  (plus one block) is held. A longer line is skipped to its ``\\n`` without keeping it and reported as a
  :class:`ReadProblem` at its line number.
- **Bounded work for compressed files.** A ``.gz`` must be one gzip member, nothing after it, decompressing to at
  most :data:`MAX_DECOMPRESSED_BYTES`; output is produced in blocks (``max_length``), so a gzip bomb costs one block
  of memory. A ``.gz`` is checked whole before its first line is handed on: a violation, or a damaged stream, is
  one ``torn-line`` :class:`ReadProblem` in place of line 1 and nothing else of the file (§2.1: what a damaged
  member decompresses to is not the writer's bytes, and decoders notice damage at different points).
- **Linear time**: every byte is looked at a constant number of times; no tail is re-read.
- **Never an exception for content**: damaged or hostile content becomes a :class:`ReadProblem`; only I/O errors
  of the file system (``OSError``) propagate.

Not thread-safe: one reader per thread. Trusts nothing it reads; it does not parse records (format.py does).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longest line a reader accepts, without its ``\\n`` (§2.1); writers MUST NOT write a longer one."""
MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024 * 1024
"""Most bytes one ``.gz`` chain file may decompress to (§2.1)."""
BLOCK = 1 << 20

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_GZIP_ONLY = 16 + zlib.MAX_WBITS


class NotRegularFile(OSError):
    """A name in the trail directory that is not a regular file (``what`` says what it is); it was not read.
    An ``OSError``, so a caller that reports unreadable files reports this one too."""

    def __init__(self, name: str, what: str) -> None:
        super().__init__(f"{name} is {what}, not a regular file: not read")
        self.name = name
        self.what = what

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class ReadProblem:
    """A line that cannot be handed to a parser, at 1-based ``line``: ``kind`` is the §10 problem kind
    (``malformed``: longer than the limit; ``torn-line``: the file ends inside it, or a ``.gz`` cannot be read
    further). ``length`` is how many (decompressed) bytes it covered, so callers can keep byte offsets."""

    line: int
    kind: str
    detail: str
    length: int = 0


def _file_type(mode: int) -> str:
    for test, what in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return what
    return "not a regular file"


class TrailFile:
    """An open regular file of a trail: ``fd``, its ``name``, its ``size`` (from ``fstat`` at open). Close it, or
    use it as a context manager."""

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        try:
            info = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise NotRegularFile(name, _file_type(info.st_mode))
        self.size = info.st_size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> TrailFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_at(name: str, flags: int, dir_fd: int | None) -> TrailFile:
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFile(os.path.basename(name), "a symbolic link") from None
        if exc.errno in (errno.ENXIO, errno.ENODEV, errno.EOPNOTSUPP):  # a socket, a device without a driver
            raise NotRegularFile(os.path.basename(name), "a socket or device") from None
        raise
    return TrailFile(fd, os.path.basename(name))


def open_regular_file(path: str | os.PathLike[str]) -> TrailFile:
    """Open a file the *user* named (e.g. ``--checkpoints``): links in the path are followed, but it must be a
    regular file and opening never blocks."""
    return _open_at(os.fspath(path), _OPEN_FLAGS & ~os.O_NOFOLLOW, None)


def open_trail_file(path: str | os.PathLike[str]) -> TrailFile:
    """Open the trail file at ``path``: its directory part is resolved as given, the file itself is never followed
    if it is a link; regular files only, opening never blocks."""
    return _open_at(os.fspath(path), _OPEN_FLAGS, None)


class TrailDirectory:
    """A trail directory opened once (the path may be a link the user gave); :meth:`names` and :meth:`open` work
    relative to its descriptor and never follow a link inside it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def names(self) -> list[str]:
        """The directory's entries, sorted by code point (names are not interpreted here)."""
        return sorted(os.listdir(self.fd))

    def open(self, name: str) -> TrailFile:
        """Open entry ``name`` (a plain name, no ``/``); :class:`NotRegularFile` unless it is a regular file.
        ``FileNotFoundError`` when it vanished."""
        if not name or "/" in name or name in (".", ".."):
            raise NotRegularFile(name, "not a plain file name")
        return _open_at(name, _OPEN_FLAGS, self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> TrailDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Unreadable(Exception):
    """A .gz that cannot be read further (detail in args[0])."""


def _plain_blocks(fd: int, start: int) -> Iterator[bytes]:
    if start:
        os.lseek(fd, start, os.SEEK_SET)
    while block := os.read(fd, BLOCK):
        yield block


def _gzip_blocks(fd: int, start: int, max_bytes: int) -> Iterator[bytes]:
    """Decompressed blocks of one gzip member, from decompressed offset ``start``; raises _Unreadable."""
    inflater = zlib.decompressobj(_GZIP_ONLY)
    total = 0
    skip = start
    while True:
        compressed = os.read(fd, BLOCK)
        if inflater.eof:
            if inflater.unused_data or compressed:
                raise _Unreadable("bytes follow the gzip member (a .gz holds exactly one)")
            return
        if not compressed:
            raise _Unreadable("the compressed stream ends before its gzip trailer")
        pending = compressed
        while pending and not inflater.eof:
            try:
                block = inflater.decompress(pending, BLOCK)
            except zlib.error as exc:
                raise _Unreadable(f"compressed file is damaged: {exc}") from None
            pending = inflater.unconsumed_tail
            total += len(block)
            if total > max_bytes:
                raise _Unreadable(f"decompresses to more than {max_bytes} bytes, the limit for a .gz chain file")
            if skip:
                cut = min(skip, len(block))
                block, skip = block[cut:], skip - cut
            if block:
                yield block


def _gzip_digest(fd: int, max_bytes: int) -> tuple[str | None, str | None]:
    """(SHA-256 of the decompressed content, None), or (None, why the .gz is unreadable); rewinds ``fd``."""
    digest = hashlib.sha256()
    try:
        for block in _gzip_blocks(fd, 0, max_bytes):
            digest.update(block)
    except _Unreadable as exc:
        return None, str(exc.args[0])
    finally:
        os.lseek(fd, 0, os.SEEK_SET)
    return digest.hexdigest(), None


def copies_differ(plain: TrailFile, packed: TrailFile) -> str | None:
    """Why a chain file present both plain and as ``.gz`` (§2: a crash during compression leaves two identical
    copies) has two different contents, or None when the ``.gz`` decompresses to exactly the plain bytes."""
    digest, damage = _gzip_digest(packed.fd, MAX_DECOMPRESSED_BYTES)
    if damage is not None:
        return f"its .gz copy cannot be read ({damage})"
    own = hashlib.sha256()
    for block in _plain_blocks(plain.fd, 0):
        own.update(block)
    os.lseek(plain.fd, 0, os.SEEK_SET)
    return None if own.hexdigest() == digest else "the plain file and its .gz copy hold different bytes"


def second_copy_problem(directory: TrailDirectory, plain_name: str, plain: TrailFile) -> str | None:
    """For a plain chain file: why the directory's ``.gz`` of the same name is not an identical copy of it (§2:
    a ``.gz`` that is not a regular file, cannot be read, or holds other bytes), or None (no ``.gz``, or the same)."""
    try:
        packed = directory.open(plain_name + ".gz")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"its .gz copy cannot be read: {exc}"
    with packed:
        return copies_differ(plain, packed)


def iter_line_blocks(file: TrailFile, compressed: bool, *, start: int = 0, first_line: int = 1,
                     max_line: int = MAX_LINE_BYTES, max_decompressed: int = MAX_DECOMPRESSED_BYTES,
                     ) -> Iterator[bytes | ReadProblem]:
    """The content of ``file`` from (decompressed) byte offset ``start`` (the start of line ``first_line``) as
    *chunks of whole lines*: each ``bytes`` item is one or more complete lines, every one ending in ``\\n`` and none
    longer than ``max_line`` — except that the file's last piece, when it has no ``\\n``, is the last item on its
    own. A line that cannot be handed on is a :class:`ReadProblem` in its place (``malformed``: too long;
    ``torn-line``: the file ends inside an overlong line, or a ``.gz`` cannot be read further, which ends the
    iteration). Line ``n`` of the file is the ``n``-th line across the items, a problem counting as one line.

    This is the fast path for readers that search blocks (``bytes.find``) before splitting lines."""
    if compressed:
        damage = _gzip_digest(file.fd, max_decompressed)[1]
        if damage is not None:
            yield ReadProblem(first_line, "torn-line", damage)
            return
    blocks = _gzip_blocks(file.fd, start, max_decompressed) if compressed else _plain_blocks(file.fd, start)
    number = first_line  # the line number of the next line to hand on
    pieces: list[bytes] = []  # the start of a line that continues in the next block
    held = 0  # bytes in pieces
    skipped = -1  # >= 0: inside an overlong line, this many of its bytes seen (and dropped)
    try:
        for block in blocks:
            pos, end = 0, len(block)
            if held or skipped >= 0:
                newline = block.find(b"\n")
                if newline < 0:
                    if skipped < 0 and held + end <= max_line:
                        pieces.append(block)
                        held += end
                    else:
                        skipped = (skipped if skipped >= 0 else held) + end
                        pieces, held = [], 0
                    continue
                length = (skipped if skipped >= 0 else held) + newline
                if skipped >= 0 or length > max_line:
                    yield ReadProblem(number, "malformed", _too_long(length, max_line), length + 1)
                else:
                    pieces.append(block[:newline + 1])
                    yield b"".join(pieces)
                pieces, held, skipped = [], 0, -1
                number, pos = number + 1, newline + 1
            last = block.rfind(b"\n", pos)
            if last >= 0:
                chunk = block[pos:last + 1] if pos or last + 1 < end else block
                if last + 1 - pos > max_line:  # only possible with a limit below the block size
                    for item in _split_long(chunk, number, max_line):
                        yield item
                        number += 1 if type(item) is ReadProblem else item.count(b"\n")
                else:
                    yield chunk
                    number += chunk.count(b"\n")
                pos = last + 1
            if pos < end:
                if end - pos > max_line:
                    skipped = end - pos
                else:
                    pieces, held = [block[pos:]], end - pos
    except _Unreadable as exc:
        yield ReadProblem(number, "torn-line", exc.args[0])
        return
    if skipped >= 0:
        yield ReadProblem(number, "torn-line", f"last line has no newline ({_too_long(skipped, max_line)})", skipped)
    elif held:
        yield b"".join(pieces)


def _split_long(chunk: bytes, number: int, max_line: int) -> Iterator[bytes | ReadProblem]:
    """Whole lines of ``chunk`` (every one ending in ``\\n``) with each line over ``max_line`` as a problem."""
    pos, end, run = 0, len(chunk), 0
    while pos < end:
        newline = chunk.find(b"\n", pos)
        if newline - pos > max_line:
            if run < pos:
                yield chunk[run:pos]
                number += chunk.count(b"\n", run, pos)
            yield ReadProblem(number, "malformed", _too_long(newline - pos, max_line), newline + 1 - pos)
            number += 1
            run = newline + 1
        pos = newline + 1
    if run < end:
        yield chunk[run:]


def iter_lines(file: TrailFile, compressed: bool, *, start: int = 0, first_line: int = 1,
               max_line: int = MAX_LINE_BYTES, max_decompressed: int = MAX_DECOMPRESSED_BYTES,
               ) -> Iterator[bytes | ReadProblem]:
    """The lines of ``file`` from (decompressed) byte offset ``start``, which must be the start of line
    ``first_line``: each a ``bytes`` with its ``\\n`` (the file's last piece without one, when it has no ``\\n``:
    the caller reports ``torn-line``), or a :class:`ReadProblem` taking that line's place. Each yielded item is
    exactly one line number, in order; a ``torn-line`` problem for a ``.gz`` is the last item."""
    for item in iter_line_blocks(file, compressed, start=start, first_line=first_line, max_line=max_line,
                                 max_decompressed=max_decompressed):
        if type(item) is not bytes:
            yield item
            continue
        find = item.find
        pos, end = 0, len(item)
        while pos < end:
            newline = find(b"\n", pos) + 1 or end
            yield item[pos:newline]
            pos = newline


def _too_long(length: int, limit: int) -> str:
    return f"line of {length} bytes, longer than the limit of {limit}"


def lines_at(file: TrailFile, compressed: bool, offsets: list[int], *,
             max_line: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | ReadProblem]]:
    """The line starting at each (decompressed) byte offset of ``offsets`` (ascending), with its offset; ``b""``
    for an offset at or past the end, or (in a ``.gz``) not at the start of a line. A plain file is read only at
    those offsets; a ``.gz`` once, up to the last of them."""
    if not compressed:
        for offset in offsets:
            yield offset, next(iter_lines(file, False, start=offset, max_line=max_line), b"")
        return
    wanted = iter(offsets)
    target = next(wanted, None)
    position = 0
    for item in iter_lines(file, True, max_line=max_line):
        while target is not None and target < position:
            yield target, b""
            target = next(wanted, None)
        if target is None:
            return
        if target == position:
            yield target, item
            target = next(wanted, None)
        position += len(item) if isinstance(item, bytes) else item.length
    while target is not None:
        yield target, b""
        target = next(wanted, None)
