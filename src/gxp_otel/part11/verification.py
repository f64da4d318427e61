"""The §12 checks of ``verify_trail``: electronic signatures, corrections and purge tombstones.

``verify_trail`` creates one :class:`Part11Verification` per run and calls it at three points: when a chain file is
absent (:meth:`covers_missing_file`), for every accepted record of a reserved kind (:meth:`observe`) and once after
all streams (:meth:`finish`, link checks and the manifestations for the report). Writer-free and trusting nothing:
tombstones count only when their line verifies and their statement's Ed25519 signature does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gxp_otel.audit.canonical import canonical_json, encode_record, parse_time
from gxp_otel.audit.format import FORMAT_V2, HEX64_RE, MAX_SEQ, SEQ_RE, STREAM_ID_RE, parse_chain_file_name
from gxp_otel.audit.held import statement_version
from gxp_otel.audit.report import Problem, TrailReport
from gxp_otel.audit.signing import verify_statement
from gxp_otel.part11.lookup import describe, iter_records, records_at
from gxp_otel.part11.statements import (
    RETENTION_STREAM,
    correction_problem,
    pointer_get,
    purge_problem,
    signature_problem,
)


@dataclass
class _Pending:
    """A reference to check once every stream is read: where it was made and what it points at."""

    kind: str
    body: dict
    stream: str
    file: str
    line: int
    seq: int
    time: str
    hash: str = ""  # the record's own hash (a signature's, which e-signed decisions cite)


@dataclass
class _Decision:
    """An e-signed decision (§12.4): where it is, who answered, and the signature reference it cites (None when it
    has none of the §12.4 shape)."""

    stream: str
    file: str
    line: int
    seq: int
    responder: str
    ref: tuple[str, str, str] | None


E_SIGNED = {"stringValue": "e-signed"}


Registry = dict[str, tuple[str, str, str]]  # key_id -> (printed_name, user_id, public_key)


@dataclass
class Part11Verification:
    """Trust anchors by role (§1.1): ``trusted`` writer keys vouch only for checkpoints (also those embedded in a
    tombstone), ``signers`` only for e-signatures, ``purgers`` only for tombstones."""

    root: Path
    trusted: dict[str, str]  # writer anchors: key_id -> public key hex, empty when self-keyed
    signers: Registry = field(default_factory=dict)
    purgers: Registry = field(default_factory=dict)
    # stream -> plain file name -> (purged file entry, tombstone statement), valid tombstones only
    tombstones: dict[str, dict[str, tuple[dict, dict]]] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    decisions: list[_Decision] = field(default_factory=list)
    identities: dict[str, tuple[str, str]] = field(default_factory=dict)
    purge_problems: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)  # (file, line) -> kind, why
    self_claimed: set[str] = field(default_factory=set)  # streams already noted: signer identities unchecked

    def __post_init__(self) -> None:
        self._load_tombstones()

    @property
    def any_anchor(self) -> bool:
        return bool(self.trusted or self.signers or self.purgers)

    # ------------------------------------------------------------------ purge tombstones

    def _load_tombstones(self) -> None:
        """The valid tombstones of §12.3 (conditions 1-7); why each other purge record is not honoured."""
        if not any(p.stream == RETENTION_STREAM for p in filter(None, map(parse_chain_file_name, _names(self.root)))):
            return
        candidates: list[tuple[dict, str, int]] = []
        for record, file, line in iter_records(self.root, [RETENTION_STREAM]):
            if record["kind"] != "purge":
                continue
            problem = self._purge_problem(record["body"], record["time"])
            if problem is None:
                candidates.append((record["body"]["statement"], file, line))
            else:
                self.purge_problems[(file, line)] = problem
        valid = _prefix_closed(candidates)
        for statement, file, line in candidates:
            if (file, line) not in valid:
                self.purge_problems[(file, line)] = ("bad-purge", "its files are not a prefix of the stream "
                                                     "(a file before them is neither present nor purged)")
                continue
            for entry in statement["files"]:
                plain = entry["file"][:-3] if entry["file"].endswith(".gz") else entry["file"]
                self.tombstones.setdefault(statement["stream"], {}).setdefault(plain, (entry, statement))

    def _purge_problem(self, body: Any, recorded: str) -> tuple[str, str] | None:
        """Conditions 2-6 of §12.3: shape and signature, purger role, bounded time, retention, embedded checkpoint."""
        problem = purge_problem(body)
        if problem is not None:
            return "bad-purge", problem
        statement = body["statement"]
        who = statement["purged_by"]
        identity = (who["printed_name"], who["user_id"])
        registered = self.purgers.get(statement["key_id"])
        if registered is None or registered[2] != statement["public_key"]:
            why = "is not a registered purger (--purger)" if self.purgers else "cannot be checked: no purger registry"
            return ("untrusted-key" if self.purgers else "not-honoured"), f"{statement['key_id']} {why}"
        if registered[:2] != identity:
            return "bad-purge", f"{statement['key_id']} is registered to {registered[1]}, not {identity[1]}"
        if parse_time(statement["time"]) > parse_time(recorded) or statement["before"] > statement["time"]:
            return "bad-purge", "its time is later than the purge record's recorded time, or before is after time"
        return self._embedded_problem(statement)

    def _embedded_problem(self, statement: dict) -> tuple[str, str] | None:
        key = statement["key_in_force"]
        for entry in statement["files"]:
            checkpoint = entry["checkpoint"]
            inner = checkpoint.get("statement") if type(checkpoint) is dict else None
            version = statement_version(inner)
            plain = entry["file"][:-3] if entry["file"].endswith(".gz") else entry["file"]
            if version is None or checkpoint.keys() != {"statement", "key_id", "signature"} \
                    or type(checkpoint["key_id"]) is not str or type(checkpoint["signature"]) is not str \
                    or inner["stream"] != statement["stream"] or inner["file"] != plain:
                return "bad-purge", f"{plain}: the embedded checkpoint is not a checkpoint of that file"
            if version == FORMAT_V2 and int(statement["retention_days"]) < int(inner["retention_days"]):
                return "bad-purge", f"retention_days {statement['retention_days']} is shorter than the stream's " \
                                    f"{inner['retention_days']} (its genesis)"
            digest, _ = encode_record("checkpoint", inner["stream"], int(inner["seq"]) + 1, inner["head"],
                                      inner["time"], canonical_json(checkpoint))
            if digest != entry["last_hash"] or str(int(inner["seq"]) + 1) != entry["last_seq"]:
                return "bad-purge", f"{plain}: last_seq/last_hash are not those of its embedded checkpoint"
            unsigned = key["key_id"] == "none" and checkpoint["signature"] == "" and not self.trusted
            if checkpoint["key_id"] != key["key_id"] or (self.trusted and key["public_key"] not in self.trusted.values()) \
                    or not (unsigned or verify_statement(key["public_key"], inner, checkpoint["signature"])):
                return "bad-purge", f"{plain}: the embedded checkpoint is not signed by the key in force" + \
                    (" (a trusted writer key)" if self.trusted else "")
        return None

    def _signer_problem(self, key_id: str, public: str, identity: tuple[str, str]) -> tuple[str, str] | None:
        """E-signatures: the signer registry is the only anchor (§12.1); with any anchor given it is required."""
        registered = self.signers.get(key_id)
        if registered is not None and registered[:2] != identity:
            return "bad-esignature", f"{key_id} is registered to {registered[0]} ({registered[1]}), " \
                                     f"not {identity[0]} ({identity[1]})"
        if self.any_anchor and (registered is None or registered[2] != public):
            return "untrusted-key", f"signed by {key_id}, which is not in the signer registry (--signer)"
        return None

    def covers_missing_file(self, state: Any, plain_name: str) -> bool:
        """True when a valid tombstone names this absent file; the chain then continues from the tombstone."""
        covered = self.tombstones.get(state.summary.stream, {}).get(plain_name)
        if covered is None:
            return False
        entry, statement = covered
        key = statement["key_in_force"]
        inner = entry["checkpoint"]["statement"]
        if inner["format"] == FORMAT_V2 and state.genesis is None:
            state.version, state.genesis, state.retention = FORMAT_V2, inner["genesis"], inner["retention_days"]
        state.expected, state.last_hash = int(entry["last_seq"]) + 1, entry["last_hash"]
        state.started, state.resync = True, False
        if key["key_id"] != "none":
            state.keys[key["key_id"]] = key["public_key"]
        state.key_in_force = key["key_id"]
        if key["key_id"] not in state.summary.key_ids:
            state.summary.key_ids.append(key["key_id"])
        who = statement["purged_by"]
        state.summary.notes.append(
            f"{plain_name} (seq {entry['first_seq']}..{entry['last_seq']}) purged by policy at {statement['time']} by "
            f"{who['printed_name']} ({who['user_id']}): {statement['reason']}")
        return True

    def _purged_seq(self, stream: str, seq: int) -> bool:
        entries = self.tombstones.get(stream, {}).values()
        return any(int(e["first_seq"]) <= seq <= int(e["last_seq"]) for e, _ in entries)

    # ------------------------------------------------------------------ records of the reserved kinds

    def observe(self, record: dict, seq: int, file: str, line: int, state: Any) -> None:
        kind, body, stream = record["kind"], record["body"], state.summary.stream
        if kind == "purge":
            if stream != RETENTION_STREAM:
                state.report(file, line, seq, "bad-purge", f"purge records belong in the stream {RETENTION_STREAM!r}")
                return
            problem = self.purge_problems.get((file, line))
            if problem is not None and problem[0] == "not-honoured":
                state.summary.notes.append(f"tombstone at seq {seq} not honoured: no purger registry given (--purger)")
            elif problem is not None:
                state.report(file, line, seq, *problem)
            return
        checker = signature_problem if kind == "signature" else correction_problem
        problem = checker(body)
        if problem is not None:
            state.report(file, line, seq, "bad-esignature" if kind == "signature" else "bad-correction", problem)
            return
        if kind == "signature":
            statement = body["statement"]
            signer = (statement["signer"]["printed_name"], statement["signer"]["user_id"])
            if not self.any_anchor and stream not in self.self_claimed:
                self.self_claimed.add(stream)
                state.summary.notes.append("e-signature identities are the trail's own claims: no signer registry "
                                           "(--signer) or other trust anchor was given")
            # with a registry entry for the key, the registered identity decides (§12.1); else the first one does
            known = self.identities.setdefault(statement["key_id"], signer) if statement["key_id"] not in self.signers \
                else signer
            if known != signer:
                state.report(file, line, seq, "bad-esignature",
                             f"key {statement['key_id']} signs as {signer[1]} but signed as {known[1]} before (11.100)")
                return
            problem = self._signer_problem(statement["key_id"], statement["public_key"], signer)
            if problem is not None:
                state.report(file, line, seq, *problem)
                return
        self.pending.append(_Pending(kind, body, stream, file, line, seq, record["time"], record["hash"]))

    def observe_decision(self, record: dict, seq: int, file: str, line: int, state: Any) -> None:
        """An accepted ``log`` record; kept when it is an e-signed decision (§12.4), checked in :meth:`finish`."""
        attributes = record["body"].get("attributes")
        if type(attributes) is not dict or attributes.get("gxp.hitl.decision") != E_SIGNED:
            return
        responder = attributes.get("gxp.hitl.responder")
        who = responder.get("stringValue") if type(responder) is dict and responder.keys() == {"stringValue"} else None
        self.decisions.append(_Decision(state.summary.stream, file, line, seq, who if type(who) is str else "",
                                        _decision_reference(record["body"].get("body"))))

    # ------------------------------------------------------------------ after all streams

    def finish(self, report: TrailReport) -> None:
        """Check every reference against the trail, note interrupted purges, attach the manifestations."""
        refs = {self._target(p) for p in self.pending}
        found = records_at(self.root, [(s, int(q)) for s, q, _h in refs]) if refs else {}
        corrections = [p for p in self.pending if p.kind == "correction"]
        shown: dict[str, list[dict[str, Any]]] = {"signatures": [], "corrections": []}
        bound: dict[tuple[str, str, str], str] = {}  # valid signature records (stream, seq, hash) -> signer user id
        copies: dict[str, int] = {}
        for item in self.pending:
            if item.kind == "signature":
                copies[item.body["signature"]] = copies.get(item.body["signature"], 0) + 1
        for item in self.pending:
            if item.kind == "signature" and copies[item.body["signature"]] > 1:  # §12.1: a copied signature (11.70)
                report.problems.append(Problem(item.file, item.line, item.seq, "bad-esignature",
                                               f"the same signature is in {copies[item.body['signature']]} "
                                               "signature records: a copy (11.70)", item.stream))
                continue
            stream, seq, digest = self._target(item)
            candidates = found.get((stream, int(seq)), [])
            hit = next((c[0] for c in candidates if c[0]["hash"] == digest), None)
            kind, problem = self._link_problem(item, hit, candidates, corrections)
            if problem is not None:
                report.problems.append(Problem(item.file, item.line, item.seq, kind, problem, item.stream))
            elif item.kind == "signature":
                bound[(item.stream, str(item.seq), item.hash)] = item.body["statement"]["signer"]["user_id"]
            what = describe(hit) if hit else "" if problem else f"{stream} seq {seq} (purged by policy)"
            entry = {"stream": item.stream, "seq": item.seq, "file": item.file, "line": item.line,
                     "record": {"stream": stream, "seq": seq, "hash": digest, "what": what}, "linked": problem is None}
            shown["signatures" if item.kind == "signature" else "corrections"].append(_manifestation(item, entry))
        self._check_decisions(report, bound)
        self._note_interrupted_purges(report)
        purges = [{"stream": st["stream"], "file": plain, "first_seq": e["first_seq"], "last_seq": e["last_seq"],
                   "time": st["time"], "purged_by": st["purged_by"], "reason": st["reason"], "policy": st["policy"]}
                  for files in self.tombstones.values() for plain, (e, st) in sorted(files.items())]
        if shown["signatures"] or shown["corrections"] or purges:
            report.part11 = {**shown, "purges": purges}

    def _link_problem(self, item: _Pending, hit: dict | None, candidates: list,
                      corrections: list[_Pending]) -> tuple[str, str | None]:
        stream, seq, _digest = self._target(item)
        link = "esignature-link" if item.kind == "signature" else "correction-link"
        if hit is None and candidates:
            return link, f"{stream} seq {seq} has another hash than the one referenced"
        if hit is None:
            purged = self._purged_seq(stream, int(seq))
            return link, None if purged else f"the referenced record {stream} seq {seq} is not in the trail"
        if stream == item.stream and int(seq) >= item.seq:
            return link, "a record can only refer to an earlier record of its stream"
        if item.kind == "correction":
            return "bad-correction", _old_value_problem(item, hit, corrections)
        return link, None

    def _check_decisions(self, report: TrailReport, bound: dict[tuple[str, str, str], str]) -> None:
        """§12.4: each e-signed decision cites a valid e-signature of its responder, earlier in its stream, cited by
        no earlier decision; else ``decision-signature`` at the decision."""
        cited: set[tuple[str, str, str]] = set()
        for item in self.decisions:
            ref = item.ref
            if ref is None:
                why = "recorded as e-signed without a signature reference {stream, seq, hash} in its body"
            elif ref not in bound:  # a signature purged by a valid tombstone is noted, like a purged signed record
                why = None if self._purged_seq(ref[0], int(ref[1])) else \
                    f"recorded as e-signed, but {ref[0]} seq {ref[1]} is not a valid e-signature of this trail"
            elif bound[ref] != item.responder:
                why = f"recorded as e-signed by {item.responder!r}, but the signature is {bound[ref]!r}'s"
            elif ref[0] == item.stream and int(ref[1]) >= item.seq:
                why = "a decision can only cite an earlier signature of its stream"
            elif ref in cited:
                why = f"{ref[0]} seq {ref[1]} is already cited by an earlier e-signed decision"
            else:
                why = None
            if ref is not None:
                cited.add(ref)
            if why is not None:
                report.problems.append(Problem(item.file, item.line, item.seq, "decision-signature", why, item.stream))

    @staticmethod
    def _target(item: _Pending) -> tuple[str, str, str]:
        ref = item.body["statement"]["record"] if item.kind == "signature" else item.body["original"]
        return ref["stream"], ref["seq"], ref["hash"]

    def _note_interrupted_purges(self, report: TrailReport) -> None:
        summaries = {s.stream: s for s in report.streams}
        for stream, files in self.tombstones.items():
            for plain in files:
                if (self.root / plain).exists() or (self.root / (plain + ".gz")).exists():
                    if stream in summaries:
                        summaries[stream].notes.append(f"{plain} is named by a purge record but still present "
                                                       "(an interrupted purge): it was verified as usual")


def _decision_reference(value: Any) -> tuple[str, str, str] | None:
    """The record reference an e-signed decision cites (§12.4): ``body`` = kvlistValue with member ``signature`` =
    kvlistValue of exactly ``stream``, ``seq`` (ASCII decimal), ``hash`` (64 lowercase hex), each a stringValue."""
    fields = value.get("kvlistValue") if type(value) is dict and value.keys() == {"kvlistValue"} else None
    ref = fields.get("signature") if type(fields) is dict else None
    members = ref.get("kvlistValue") if type(ref) is dict and ref.keys() == {"kvlistValue"} else None
    if type(members) is not dict or members.keys() != {"stream", "seq", "hash"}:
        return None
    out = []
    for name in ("stream", "seq", "hash"):
        item = members[name]
        if type(item) is not dict or item.keys() != {"stringValue"} or type(item["stringValue"]) is not str:
            return None
        out.append(item["stringValue"])
    stream, seq, digest = out
    if not (STREAM_ID_RE.fullmatch(stream) and SEQ_RE.fullmatch(seq) and int(seq) <= MAX_SEQ
            and HEX64_RE.fullmatch(digest)):
        return None
    return stream, seq, digest


def _manifestation(item: _Pending, entry: dict[str, Any]) -> dict[str, Any]:
    """What every human-readable form shows: for a signature printed name, UTC time and meaning (11.50)."""
    if item.kind == "signature":
        s = item.body["statement"]
        return {**entry, "printed_name": s["signer"]["printed_name"], "user_id": s["signer"]["user_id"],
                "meaning": s["meaning"], "time": s["time"], "reason": s["reason"], "key_id": s["key_id"],
                "authentication": s["authentication"]}
    b = item.body
    return {**entry, "path": b["path"], "old_value": b["old_value"], "new_value": b["new_value"],
            "reason": b["reason"], "corrected_by": b["corrected_by"], "time": item.time}


def _old_value_problem(item: _Pending, original: dict, corrections: list[_Pending]) -> str | None:
    body = item.body
    present, value = pointer_get(original["body"], body["path"])
    if present and value == body["old_value"]:
        return None
    ref = body["original"]
    for other in corrections:
        if other is not item and other.body["original"] == ref and other.body["path"] == body["path"] \
                and other.body["new_value"] == body["old_value"]:
            return None
    return f"old_value is not the value at {body['path']} in the original or in an earlier correction"


def _prefix_closed(candidates: list[tuple[dict, str, int]]) -> set[tuple[str, int]]:
    """Condition 7 of §12.3: the least set of tombstones, per stream, whose files each are 000001 or follow a file
    named by this tombstone or by one already in the set (so a middle file cannot be tombstoned away)."""
    valid: set[tuple[str, int]] = set()
    named: dict[str, set[int]] = {}
    changed = True
    while changed:
        changed = False
        for statement, file, line in candidates:
            if (file, line) in valid:
                continue
            own = {parse_chain_file_name(e["file"]).index for e in statement["files"]}
            done = named.get(statement["stream"], set())
            if all(i == 1 or i - 1 in own or i - 1 in done for i in own):
                valid.add((file, line))
                named.setdefault(statement["stream"], set()).update(own)
                changed = True
    return valid


def _names(root: Path) -> list[str]:
    return os.listdir(root)
