"""Names and shapes of the audit format (docs/audit-format.md §2, §4): file names, kinds, member patterns.

Shared by the writer and the verifier; holds no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from gxp_otel.audit.canonical import (
    canonical_number_free,
    envelope_prefix,
    envelope_suffix,
    hash_record_bytes,
    parse_time,
    record_line,
)

FORMAT_V1 = "gxp-otel-audit/1"
FORMAT_V2 = "gxp-otel-audit/2"
FORMAT_VERSION = FORMAT_V2  # what writers write for a new stream; a stream keeps its genesis's version (§7)
FORMATS = frozenset({FORMAT_V1, FORMAT_V2})
MAX_SEQ = 2**63 - 1  # seq is an int64 (§4): a larger decimal is malformed, never wrapped
DATA_KINDS = frozenset({"span", "log"})
CONTROL_KINDS = frozenset({"genesis", "checkpoint", "rotation", "recovery", "gap"})
RESERVED_KINDS = frozenset({"signature", "correction", "purge"})
KNOWN_KINDS = DATA_KINDS | CONTROL_KINDS | RESERVED_KINDS
ENVELOPE_MEMBERS = frozenset({"kind", "stream", "seq", "prev", "time", "body", "hash"})
CHECKPOINT_REASONS = frozenset({"interval", "rotation", "close", "recovery"})

STREAM_ID_RE = re.compile(r"\A[A-Za-z0-9._]{1,64}\Z", re.ASCII)
HEX64_RE = re.compile(r"\A[0-9a-f]{64}\Z", re.ASCII)
SEQ_RE = re.compile(r"\A(0|[1-9][0-9]{0,18})\Z", re.ASCII)
TIME_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z\Z", re.ASCII)
CHAIN_FILE_RE = re.compile(r"\Aaudit-(?P<stream>[A-Za-z0-9._]{1,64})-(?P<index>[0-9]{6})\.jsonl(?P<gz>\.gz)?\Z", re.ASCII)
CHECKPOINT_FILE_RE = re.compile(r"\Aaudit-(?P<stream>[A-Za-z0-9._]{1,64})\.checkpoints\.jsonl\Z", re.ASCII)

DEFAULT_RETENTION_DAYS = 2555
DEFAULT_ROTATE_BYTES = 50 * 1000 * 1000


@dataclass(frozen=True, order=True)
class ChainFileName:
    """A parsed chain file name; orders by (stream, index)."""

    stream: str
    index: int
    compressed: bool = False

    @property
    def plain(self) -> str:
        return chain_file_name(self.stream, self.index)

    @property
    def name(self) -> str:
        return self.plain + (".gz" if self.compressed else "")


def chain_file_name(stream: str, index: int) -> str:
    return f"audit-{stream}-{index:06d}.jsonl"


def checkpoint_file_name(stream: str) -> str:
    return f"audit-{stream}.checkpoints.jsonl"


def lock_file_name(stream: str) -> str:
    return f"audit-{stream}.lock"


def quarantine_file_name(stream: str, index: int, seq: int) -> str:
    return f"audit-{stream}-{index:06d}.quarantine-{seq}.bin"


def parse_chain_file_name(name: str) -> ChainFileName | None:
    match = CHAIN_FILE_RE.fullmatch(name)
    if match is None:
        return None
    return ChainFileName(match.group("stream"), int(match.group("index")), bool(match.group("gz")))


def envelope_problem(record: object) -> str | None:
    """Why ``record`` does not have the §4 envelope shape, or ``None`` when it does."""
    if not isinstance(record, dict):
        return "a record must be a JSON object"
    members = set(record)
    if members != ENVELOPE_MEMBERS:
        missing = sorted(ENVELOPE_MEMBERS - members)
        extra = sorted(members - ENVELOPE_MEMBERS)
        return f"record members wrong (missing {missing}, unexpected {extra})"
    checks = (
        ("kind", lambda v: isinstance(v, str) and v in KNOWN_KINDS, "a known kind"),
        ("stream", lambda v: isinstance(v, str) and STREAM_ID_RE.match(v), "a stream id"),
        ("seq", lambda v: isinstance(v, str) and SEQ_RE.match(v), "a decimal string"),
        ("prev", lambda v: isinstance(v, str) and HEX64_RE.match(v), "64 lowercase hex digits"),
        ("hash", lambda v: isinstance(v, str) and HEX64_RE.match(v), "64 lowercase hex digits"),
        ("time", lambda v: isinstance(v, str) and TIME_RE.match(v), "a recorded time YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"),
        ("body", lambda v: isinstance(v, dict), "an object"),
    )
    for member, ok, what in checks:
        if not ok(record[member]):
            return f"member {member!r} must be {what}"
    return None


@dataclass(frozen=True)
class LineCheck:
    """The result of checking one line against §10's per-line rules: a record, or a problem kind and detail."""

    record: dict | None
    problem: str | None = None
    detail: str = ""


class _JsonNumber(ValueError):
    pass


def _reject_number(text: str):
    raise _JsonNumber(text)


_DECODER = json.JSONDecoder(parse_int=_reject_number, parse_float=_reject_number, parse_constant=_reject_number)
_ENVELOPE_RE = re.compile(
    r"\A(?:" + "|".join(sorted(KNOWN_KINDS)) + r")\x00[A-Za-z0-9._]{1,64}\x00(?:0|[1-9][0-9]{0,18})\x00[0-9a-f]{64}"
    r"\x00[0-9a-f]{64}\x00[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z\Z",
    re.ASCII,
)


def _envelope_ok(record: object) -> bool:
    """One regular-expression match for the common case; :func:`envelope_problem` explains failures."""
    if type(record) is not dict or record.keys() != ENVELOPE_MEMBERS or type(record["body"]) is not dict:
        return False
    members = (record["kind"], record["stream"], record["seq"], record["prev"], record["hash"], record["time"])
    return all(type(m) is str for m in members) and _ENVELOPE_RE.match("\x00".join(members)) is not None


def seq_in_range(text: str) -> bool:
    """``text`` (already matching :data:`SEQ_RE`) is at most int64's maximum."""
    return len(text) < 19 or int(text) <= MAX_SEQ


def check_line(line: bytes) -> LineCheck:
    """Apply the per-line checks of §10 to one line *without* its trailing ``\\n``: parse, shape, canonical, hash.

    Trusts nothing: the hash is recomputed from the canonical re-serialisation of the parsed record. Numbers are
    caught by the parser's hooks, which the C scanner calls only when it meets one.
    """
    try:
        record = _DECODER.decode(line.decode("utf-8"))
    except _JsonNumber as exc:
        return LineCheck(None, "malformed", f"the line holds the JSON number {exc}; the format stores numbers as strings")
    except (ValueError, RecursionError) as exc:
        return LineCheck(None, "malformed", f"not valid UTF-8 JSON: {exc}")
    if not _envelope_ok(record):
        return LineCheck(None, "malformed", envelope_problem(record) or "record envelope is malformed")
    if not seq_in_range(record["seq"]):
        return LineCheck(None, "malformed", f"seq {record['seq']} is above int64 (§4)")
    if parse_time(record["time"]) is None:
        return LineCheck(None, "malformed", f"time {record['time']} is not a real UTC calendar time (§10.2)")
    try:
        body_json = canonical_number_free(record["body"])
    except ValueError as exc:
        return LineCheck(None, "malformed", str(exc))
    head = envelope_prefix(body_json)
    tail = envelope_suffix(record["kind"], record["prev"], int(record["seq"]), record["stream"], record["time"])
    if record_line(head, record["hash"], tail) != line:
        return LineCheck(record, "non-canonical", "the line is not the RFC 8785 form of its record")
    digest = hash_record_bytes(head + tail)
    if digest != record["hash"]:
        return LineCheck(record, "modified", f"content hashes to {digest[:16]}…, the line says {record['hash'][:16]}…")
    return LineCheck(record)
