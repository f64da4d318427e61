"""The per-line checks of chain files (§10.1, §10.2) in worker processes, so verification uses every core (issue 16).

A worker reads one chain file and checks each of its lines (:func:`accepted_record`, else the strict
``check_line``); the verifier's process keeps every decision that depends on order (the chain links, sequence
numbers, checkpoints, keys, held copies, ALCOA+) and applies the workers' results file by file in the order it
always reads files (:mod:`gxp_otel.audit.chain_replay`), so problems, their order and the verdict are those of the
sequential verifier (tested on every vector: tests/audit/test_parallel_verify.py).

What a worker returns for a file is a list of :data:`Item`:

- :class:`ReadProblem` (a line the bounded reader could not hand on), ``("torn", line, length)`` (a last line
  without ``\\n``), ``("line", line, LineCheck, length)`` (any other line, with its check result);
- :class:`Run`: consecutive good span/log records of the file's stream, each linked to the one before (``seq`` one
  more, ``prev`` its hash), kept as their envelope values only: records whose bodies the order-dependent checks
  never read (spans, and logs that are not e-signed decisions, :func:`_body_unread`). A change that reads more of
  a body must change :func:`_body_unread`; the vector equality test catches it. With ALCOA+, a run also carries
  what its records add to the assessment but the one order-dependent principle, Consistent
  (``AlcoaAssessment.partial``), which the verifier's process adds from the run's times.

Trust: a worker opens the file by name relative to the trail directory's descriptor, inherited at ``fork`` (no path
is re-resolved, links are not followed, §2.1), and returns the file's device, inode and size; the verifier uses the
result only when they are those of the file it opened itself, else it reads the file itself. Memory is bounded
whatever the trail holds: at most ``2 * workers`` files are read ahead, a run holds at most :data:`MAX_RUN` records'
envelope values (about 100 bytes each), problem lines only their seq, and a file with more than
:data:`MAX_HELD_BYTES` of other whole records is left to the verifier's process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Union

from gxp_otel.audit.alcoa import AlcoaAssessment
from gxp_otel.audit.fast_lines import accepted_record
from gxp_otel.audit.format import LineCheck, check_line
from gxp_otel.audit.reading import ReadProblem, TrailFile, _open_at, _OPEN_FLAGS, iter_line_blocks

PARALLEL_MIN_BYTES = 16 * 1024 * 1024
"""Trails smaller than this are verified in one process: starting workers would cost more than it saves."""


@dataclass(frozen=True, slots=True)
class Run:
    """``count`` consecutive good span/log records from line ``line`` (at byte ``offset``, decompressed for a
    ``.gz``): record ``i`` has seq ``seq + i``, hash ``hashes[64 i : 64 i + 64]``, time ``times[30 i : 30 i + 30]``,
    kind ``span`` or ``log`` by ``kinds[i]`` (``s``/``l``); its prev is the hash before it (``prev`` for the first).
    ``backwards``: the ``i`` >= 1 whose time is earlier than record ``i - 1``'s. ``length``: the run's bytes.
    ``alcoa``: with ALCOA+, what its records add to the assessment but Consistent (``AlcoaAssessment.partial``)."""

    line: int
    offset: int
    count: int
    seq: int
    prev: str
    hashes: str
    times: str
    kinds: str
    backwards: tuple[int, ...]
    length: int
    alcoa: tuple | None = None


Item = Union[ReadProblem, tuple, Run]
MAX_RUN = 8192  # records per run: bounds a worker's memory and each message
MAX_HELD_BYTES = 8 * 1024 * 1024  # bytes of whole records (not in runs) a worker hands back for one file


@dataclass(frozen=True, slots=True)
class FileLines:
    """A worker's result for one file: its items, its last line number, and the identity of what it read;
    ``items`` is None when the file holds more than :data:`MAX_HELD_BYTES` of lines outside runs."""

    items: list | None
    lines: int
    device: int
    inode: int
    size: int


def check_file(dir_fd: int, name: str, compressed: bool, stream: str, alcoa: tuple[float, float] | None,
               ) -> FileLines | None:
    """The items of chain file ``name`` (see the module docstring); ``None`` when it cannot be opened here.
    ``alcoa``: (max_delay_s, max_skew_s) when ALCOA+ is assessed."""
    try:
        file = _open_at(name, _OPEN_FLAGS, dir_fd)
    except OSError:
        return None
    with file:
        info = os.fstat(file.fd)
        items, number = _items(file, compressed, stream, name, alcoa)
    return FileLines(items, number, info.st_dev, info.st_ino, info.st_size)


class _RunBuilder:
    """The run being gathered: its columns only, never its records (a worker's memory stays bounded)."""

    def __init__(self, name: str, stream: str, alcoa: tuple[float, float] | None) -> None:
        self.name, self.stream, self.alcoa = name, stream, alcoa
        self.count = 0

    def take(self, number: int, offset: int, record: dict, length: int, items: list) -> None:
        """Add ``record`` (line ``number`` at byte ``offset``, ``length`` bytes with its ``\\n``) to the run, after
        closing the run into ``items`` when the record does not extend it."""
        seq = int(record["seq"])
        count = self.count
        if count and (count >= MAX_RUN or seq != self.next_seq or record["prev"] != self.hashes[-1]):
            self.close(items)
            count = 0
        time = record["time"]
        if count == 0:
            self.line, self.offset, self.seq, self.prev = number, offset, seq, record["prev"]
            self.hashes, self.times, self.kinds, self.backwards, self.length = [], [], [], [], 0
            self.assessment = AlcoaAssessment(*self.alcoa) if self.alcoa is not None else None
        elif time < self.times[-1]:
            self.backwards.append(count)
        self.count = count + 1
        self.next_seq = seq + 1
        self.hashes.append(record["hash"])
        self.times.append(time)
        self.kinds.append("s" if record["kind"] == "span" else "l")
        self.length += length
        if self.assessment is not None:
            self.assessment.observe_body(record, self.name, number, self.stream, True)

    def close(self, items: list) -> None:
        if self.count:
            partial = self.assessment.partial() if self.assessment is not None else None
            items.append(Run(self.line, self.offset, self.count, self.seq, self.prev, "".join(self.hashes),
                             "".join(self.times), "".join(self.kinds), tuple(self.backwards), self.length, partial))
            self.count = 0


def _items(file: TrailFile, compressed: bool, stream: str, name: str,
           alcoa: tuple[float, float] | None) -> tuple[list | None, int]:
    """The file's items and its last line number, read a block of whole lines at a time (``iter_line_blocks``: line
    ``n`` is the ``n``-th line across its items, as ``iter_lines`` numbers them); ``None`` for the items when more
    than :data:`MAX_HELD_BYTES` of lines would be held outside runs."""
    items: list = []
    run = _RunBuilder(name, stream, alcoa)
    number = offset = held = 0
    for chunk in iter_line_blocks(file, compressed):
        if type(chunk) is not bytes:  # a ReadProblem in place of one line
            number += 1
            run.close(items)
            items.append(chunk)
            offset += chunk.length
            continue
        lines = chunk.split(b"\n")
        torn = lines.pop()  # b"" after the chunk's last newline, else the file's last piece, without one
        for line in lines:
            number += 1
            length = len(line) + 1
            record = accepted_record(line)
            if record is not None and record["stream"] == stream and _body_unread(record):
                run.take(number, offset, record, length, items)
                offset += length
                continue
            run.close(items)
            checked = LineCheck(record) if record is not None else check_line(line)
            record = checked.record
            if checked.problem is not None or record["stream"] != stream:  # only seq (and stream) are read then
                checked = LineCheck(None if record is None else {"seq": record["seq"], "stream": record["stream"]},
                                    checked.problem, checked.detail)
            else:
                held += length
                if held > MAX_HELD_BYTES:
                    return None, number
            items.append(("line", number, checked, length))
            offset += length
        if torn:
            number += 1
            run.close(items)
            items.append(("torn", number, len(torn)))
            offset += len(torn)
    run.close(items)
    return items, number


def _body_unread(record: dict) -> bool:
    """A span, or a log that cannot be an e-signed decision (§12.4: the only log bodies the order-dependent checks
    read, ``Part11Verification.observe_decision``, name ``gxp.hitl.decision`` in their attributes)."""
    kind = record["kind"]
    if kind == "span":
        return True
    if kind != "log":
        return False
    attributes = record["body"].get("attributes")
    return type(attributes) is not dict or "gxp.hitl.decision" not in attributes


class Prefetcher:
    """Chain files checked ahead by a pool of worker processes, taken back in the order they were listed.

    ``take`` returns a file's :class:`FileLines` when the worker read the very file the caller opened (same device,
    inode and size), else ``None``: the caller then reads it itself. Not thread-safe; close it (or use ``with``)."""

    def __init__(self, dir_fd: int, files: list[tuple[str, bool, str]], workers: int,
                 alcoa: tuple[float, float] | None) -> None:
        self._dir_fd = dir_fd
        self._todo = deque(files)
        self._alcoa = alcoa
        self._window = 2 * workers
        self._ahead: dict[str, Future] = {}
        self._order: deque[str] = deque()
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        self._fill()

    def _fill(self) -> None:
        while self._todo and len(self._ahead) < self._window:
            name, compressed, stream = self._todo.popleft()
            self._ahead[name] = self._pool.submit(check_file, self._dir_fd, name, compressed, stream, self._alcoa)
            self._order.append(name)

    def take(self, name: str, file: TrailFile) -> FileLines | None:
        if name not in self._ahead:  # every file read ahead was skipped by the caller: restart after this one
            for future in self._ahead.values():
                future.cancel()
            self._ahead.clear()
            self._order.clear()
            while self._todo and self._todo.popleft()[0] != name:
                pass
            self._fill()
            return None
        while self._order[0] != name:  # files listed before it that the caller did not open
            self._ahead.pop(self._order.popleft()).cancel()
        self._order.popleft()
        future = self._ahead.pop(name)
        self._fill()
        try:
            result = future.result()
        except Exception:  # a worker that died: this file is read by the caller
            return None
        if result is None or result.items is None:
            return None
        info = os.fstat(file.fd)
        if (result.device, result.inode, result.size) != (info.st_dev, info.st_ino, info.st_size):
            return None
        return result

    def close(self) -> None:
        for future in self._ahead.values():
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def worker_count(total_bytes: int, requested: int | None) -> int:
    """How many worker processes to use: ``requested`` when given (0: none), else one per core when the trail
    is at least :data:`PARALLEL_MIN_BYTES` and there is more than one core, and no other thread runs in this
    process: workers are forked, and a child forked while another thread holds a lock (logging, an exporter's queue,
    the import lock) can wait on it forever, so an application that verifies in-process gets one process."""
    if requested is not None:
        return max(0, requested)
    if threading.active_count() > 1:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if cores > 1 and total_bytes >= PARALLEL_MIN_BYTES else 0


__all__ = ["FileLines", "Item", "LineCheck", "Prefetcher", "Run", "check_file", "worker_count"]
