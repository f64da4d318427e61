"""Held checkpoints (docs/audit-format.md §10.5): the checkpoint lines a verifier holds besides the chain.

Two sources: the ``--checkpoints`` files (the auditor's evidence, read first, in the order given) and each stream's
own checkpoint file in the trail directory (evidence from the writer's host, read last). Every line is kept; for
one seq the first line in that reading order is the reference, so the auditor's copy is never shadowed by the local
file. Read through the bounded reader (§2.1); trusts nothing: signatures are checked by the verifier once the
stream's keys are known. Not thread-safe (one instance per verification).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gxp_otel.audit.canonical import canonical_json, parse_time
from gxp_otel.audit.format import (
    CHECKPOINT_FILE_RE,
    CHECKPOINT_REASONS,
    HEX64_RE,
    SEQ_RE,
    STREAM_ID_RE,
    checkpoint_file_name,
    seq_in_range,
)
from gxp_otel.audit.reading import NotRegularFile, TrailDirectory, iter_lines, open_regular_file
from gxp_otel.audit.report import Problem

FORMAT_V1 = "gxp-otel-audit/1"
FORMAT_V2 = "gxp-otel-audit/2"
STATEMENT_MEMBERS = {
    FORMAT_V1: frozenset({"format", "stream", "seq", "head", "file", "time", "reason"}),
    FORMAT_V2: frozenset({"format", "stream", "genesis", "retention_days", "seq", "head", "file", "time", "reason"}),
}


def statement_version(statement: object) -> str | None:
    """The format of a well-formed v1 or v2 checkpoint statement (all members strings), else ``None``."""
    if type(statement) is not dict:
        return None
    version = statement.get("format")
    members = STATEMENT_MEMBERS.get(version) if type(version) is str else None
    if members is None or statement.keys() != members or not all(type(v) is str for v in statement.values()):
        return None
    if not (SEQ_RE.fullmatch(statement["seq"]) and seq_in_range(statement["seq"])):
        return None
    if HEX64_RE.fullmatch(statement["head"]) is None or parse_time(statement["time"]) is None \
            or statement["reason"] not in CHECKPOINT_REASONS or STREAM_ID_RE.fullmatch(statement["stream"]) is None:
        return None
    if version == FORMAT_V2 and (HEX64_RE.fullmatch(statement["genesis"]) is None
                                 or SEQ_RE.fullmatch(statement["retention_days"]) is None):
        return None
    return version


@dataclass(frozen=True)
class HeldLine:
    """One held checkpoint line: where it is (``source`` as §10.5 names it), what it seals, for which identity."""

    source: str
    line: int
    seq: int
    head: str
    genesis: str | None  # the stream identity of a version 2 statement; None for version 1
    body: dict


@dataclass
class HeldCheckpoints:
    """Every held line per stream id, in reading order; bad lines become problems in :attr:`problems`."""

    external: list[str]  # the --checkpoints paths exactly as given
    lines: dict[str, list[HeldLine]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def read_external(cls, paths: list[str | os.PathLike[str]]) -> "HeldCheckpoints":
        held = cls([str(p) for p in paths])
        for label in held.external:
            named = CHECKPOINT_FILE_RE.fullmatch(Path(label).name)
            try:
                handle = open_regular_file(label)
            except (NotRegularFile, OSError) as exc:
                held.problems.append(Problem(label, None, None, "bad-checkpoint-file", str(exc),
                                             named.group("stream") if named else ""))
                continue
            with handle:
                held._read(handle, label, named.group("stream") if named else "", own=False)
        return held

    def read_own(self, directory: TrailDirectory, stream: str) -> None:
        """Append the stream's own checkpoint file (after every external line: it is the weaker evidence)."""
        name = checkpoint_file_name(stream)
        try:
            handle = directory.open(name)
        except FileNotFoundError:
            return
        except (NotRegularFile, OSError) as exc:
            self.problems.append(Problem(name, None, None, "bad-checkpoint-file", str(exc), stream))
            return
        with handle:
            self._read(handle, name, stream, own=True)

    def streams(self) -> set[str]:
        return set(self.lines)

    def _read(self, handle, label: str, file_stream: str, *, own: bool) -> None:
        for number, raw in enumerate(iter_lines(handle, False), start=1):
            if type(raw) is not bytes:
                self.problems.append(Problem(label, number, None, "bad-checkpoint-file", raw.detail, file_stream))
                continue
            body = _parse(raw)
            if body is None:
                self.problems.append(Problem(label, number, None, "bad-checkpoint-file",
                                             "not a canonical checkpoint line", file_stream))
                continue
            statement = body["statement"]
            seq = int(statement["seq"])
            if own and statement["stream"] != file_stream:
                self.problems.append(Problem(label, number, seq, "bad-checkpoint-file",
                                             f"names the stream {statement['stream']!r}", file_stream))
                continue
            genesis = statement.get("genesis")
            self.lines.setdefault(statement["stream"], []).append(
                HeldLine(label, number, seq, statement["head"], genesis, body))


def _parse(raw: bytes) -> dict | None:
    if not raw.endswith(b"\n"):
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(body) is not dict or body.keys() != {"statement", "key_id", "signature"}:
        return None
    if type(body["key_id"]) is not str or type(body["signature"]) is not str:
        return None
    if statement_version(body["statement"]) is None or canonical_json(body) + b"\n" != raw:
        return None
    return body
