"""What verification found: problems, per-stream summaries and the trail report (docs/audit-format.md §10).

Plain data, JSON-ready through :meth:`TrailReport.to_dict`; the CLI and the dashboard render it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PROBLEM_KINDS = (
    "torn-line",
    "malformed",
    "non-canonical",
    "modified",
    "inserted",
    "deleted",
    "duplicate",
    "reordered",
    "missing-file",
    "bad-genesis",
    "after-close",
    "key-change",
    "checkpoint-mismatch",
    "bad-signature",
    "untrusted-key",
    "truncated",
    "rewritten",
    "bad-checkpoint-file",
    "held-conflict",
    "unsealed-tail",
    "unknown-stream",
    "missing-stream",
    "bad-esignature",
    "esignature-link",
    "bad-correction",
    "correction-link",
    "bad-purge",
)

PROBLEM_WORDS = {
    "torn-line": "the file ends in the middle of a line",
    "malformed": "the line is not a valid record",
    "non-canonical": "the line was re-formatted after it was written",
    "modified": "the record's content was changed after it was written",
    "inserted": "a record was inserted or the chain was recomputed from here",
    "deleted": "records are missing from the chain",
    "duplicate": "a record appears a second time",
    "reordered": "a record is out of order",
    "missing-file": "a chain file is missing",
    "bad-genesis": "the chain does not start with its genesis record, or holds a second one",
    "after-close": "a record follows the close checkpoint without a recovery record",
    "key-change": "the checkpoint key changed to a key no writer trust anchor authorises",
    "checkpoint-mismatch": "a checkpoint does not match the records it seals",
    "bad-signature": "a checkpoint signature is invalid",
    "untrusted-key": "not signed by a key trusted for this role (writer, signer or purger)",
    "truncated": "records sealed by a held checkpoint are gone (tail cut or directory rolled back)",
    "rewritten": "a record sealed by a held checkpoint was replaced",
    "bad-checkpoint-file": "a line of the checkpoint file is invalid",
    "held-conflict": "two held checkpoint lines seal different records at one seq",
    "unsealed-tail": "the newest records are not yet sealed by a trusted checkpoint",
    "unknown-stream": "no trusted writer key ever sealed this stream",
    "missing-stream": "a stream named in the held checkpoints has no chain file",
    "bad-esignature": "an electronic signature is invalid",
    "esignature-link": "an electronic signature is not bound to a record of this trail",
    "bad-correction": "a correction is invalid (shape, reason or old value)",
    "correction-link": "a correction refers to a record that is not in this trail",
    "bad-purge": "a purge tombstone is invalid",
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    seq: int | None
    kind: str
    detail: str
    stream: str = ""

    def sort_key(self, file_order: dict[str, int]) -> tuple:
        return (self.stream, file_order.get(self.file, 1 << 30), self.file, self.line or 0, self.kind)


@dataclass
class StreamSummary:
    stream: str
    files: list[str] = field(default_factory=list)
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head: str = ""
    first_time: str = ""
    last_time: str = ""
    checkpoints: int = 0
    signed_checkpoints: int = 0
    last_checkpoint: dict[str, Any] | None = None
    key_ids: list[str] = field(default_factory=list)
    key_source: str = ""
    closed: bool = False
    sessions: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


VERDICTS = {  # docs/audit-format.md §13: verdict -> exit code
    "VERIFIED": 0,
    "VERIFIED-SELF-KEYED": 0,
    "NOT VERIFIED": 1,
    "UNSEALED-TAIL": 3,
    "NO RECORDS": 4,
}
SELF_KEYED_CAVEAT = (
    "no --trusted-key given: the trail's own keys were used, so a trail or stream rewritten and re-signed with "
    "another key, a forged stream, or records added by anyone who can write the directory are not detected")


@dataclass
class TrailReport:
    path: str
    anchored: bool = False  # writer trust anchors were given (§1.1)
    streams: list[StreamSummary] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    alcoa: dict[str, Any] | None = None
    part11: dict[str, Any] | None = None  # §12 manifestations: signatures, corrections, purges (when any)

    @property
    def verdict(self) -> str:
        """The one word of §13, computed from the problems, the records read and the trust anchors."""
        if not self.problems:
            if self.records == 0:
                return "NO RECORDS"
            return "VERIFIED" if self.anchored else "VERIFIED-SELF-KEYED"
        if self.anchored and self.records and all(p.kind == "unsealed-tail" for p in self.problems):
            return "UNSEALED-TAIL"
        return "NOT VERIFIED"

    @property
    def exit_code(self) -> int:
        return VERDICTS[self.verdict]

    @property
    def ok(self) -> bool:
        """Verified (anchored or self-keyed) with no problem and at least one record."""
        return self.exit_code == 0

    @property
    def caveat(self) -> str:
        return "" if self.anchored else SELF_KEYED_CAVEAT

    @property
    def records(self) -> int:
        return sum(s.records for s in self.streams)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "verdict": self.verdict,
            "anchored": self.anchored,
            "caveat": self.caveat,
            "path": self.path,
            "records": self.records,
            "chains": len(self.streams),
            "files": self.files,
            "bytes": self.bytes,
            "problems": [
                {"file": p.file, "line": p.line, "seq": p.seq, "kind": p.kind, "detail": p.detail, "stream": p.stream}
                for p in self.problems
            ],
            "streams": [asdict(s) for s in self.streams],
        }
        if self.alcoa is not None:
            out["alcoa"] = self.alcoa
        if self.part11 is not None:
            out["part11"] = self.part11
        return out
