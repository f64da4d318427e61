"""A stream's seals as the verifier checks them: its genesis (§10.3), the keys its genesis and recovery records put
in force, and its checkpoints (§10.4), under the writer trust anchors or self-keyed.

Functions of the verifier's per-stream state (``verifier._StreamState``: ``report``, ``keys``, ``trusted``,
``anchored``, ``key_in_force``, ``genesis``, ``version``, ``retention``, ``summary``); they report problems through
``state.report`` and change only that state. Pure apart from it; not thread-safe.
"""

from __future__ import annotations

import re

from gxp_otel.audit.format import FORMAT_V2, FORMATS
from gxp_otel.audit.held import statement_version
from gxp_otel.audit.signing import UNSIGNED_KEY_ID, key_id_for, verify_statement

# A public key as the writer records it: 64 lowercase hex digits (§3). An upper-cased copy decodes to the same key,
# but signatures are verified only under the lowercase form, so it is no key of the chain's: `malformed`.
_PUBLIC_KEY_HEX = re.compile(r"\A[0-9a-f]{64}\Z", re.ASCII)


def genesis(record: dict, seq: int, name: str, number: int, state, original: bool) -> bool:
    """The stream's one genesis sets its format and identity; any other genesis is ``bad-genesis`` (§10.3)."""
    if seq != 0 or state.genesis_seen:
        if original:
            state.report(name, number, seq, "bad-genesis", "a second genesis record in the stream")
        return False
    state.genesis_seen = True
    fmt = record["body"].get("format")
    if type(fmt) is not str or fmt not in FORMATS:
        state.report(name, number, seq, "malformed", f"genesis format {fmt!r} is not one this verifier knows")
        return False
    state.version, state.genesis = fmt, record["hash"]
    retention = record["body"].get("retention_days")
    state.retention = retention if type(retention) is str else None
    return True


def take_key(kind: str, body: dict, seq: int, name: str, number: int, state) -> None:
    key_id, public = body.get("key_id"), body.get("public_key")
    if not isinstance(key_id, str) or not isinstance(public, str):
        state.report(name, number, seq, "malformed", "genesis/recovery record without key_id and public_key")
        return
    if key_id != UNSIGNED_KEY_ID:
        valid = _PUBLIC_KEY_HEX.match(public) is not None and key_id_for(bytes.fromhex(public)) == key_id
        if not valid:
            state.report(name, number, seq, "malformed", "public_key does not match key_id")
            return
        state.keys[key_id] = public
    summary = state.summary
    if kind == "recovery" and state.key_in_force != key_id:
        if state.anchored and key_id in state.trusted:
            summary.notes.append(f"checkpoint key changed to {key_id} at seq {seq} (a trusted writer key)")
        else:
            why = "is not a trusted writer key" if state.anchored else "is authorised by no writer trust anchor"
            state.report(name, number, seq, "key-change", f"the key in force changes to {key_id}, which {why}")
    state.key_in_force = key_id
    if key_id not in summary.key_ids:
        summary.key_ids.append(key_id)


def signature_problem(state, key_id: str, statement: dict, signature: str) -> tuple[str, str] | None:
    """Anchored: only a trusted writer key; self-keyed: the key the chain names (``none`` passes unsigned)."""
    if state.anchored and key_id not in state.trusted:
        return "untrusted-key", f"signed by {key_id}, which is not a trusted writer key"
    if key_id == UNSIGNED_KEY_ID:
        return None if signature == "" else ("bad-signature", "an unsigned checkpoint carries a signature")
    public = state.trusted.get(key_id) if state.anchored else state.keys.get(key_id)
    if public is None:
        return "bad-signature", f"signed by unknown key {key_id}"
    if not verify_statement(public, statement, signature):
        return "bad-signature", f"signature does not verify under {key_id}"
    return None


def check_checkpoint(record: dict, seq: int, name: str, number: int, state, assessment) -> bool:
    """§10.4, first failure only; True for a valid checkpoint."""
    body = record["body"]
    statement = body.get("statement")
    key_id, signature = body.get("key_id"), body.get("signature")
    version = statement_version(statement)
    if body.keys() != {"statement", "key_id", "signature"} or version is None or type(key_id) is not str \
            or type(signature) is not str or (state.version is not None and version != state.version):
        state.report(name, number, seq, "malformed", "checkpoint body does not have the §7 shape of this stream")
        return False
    plain = name[:-3] if name.endswith(".gz") else name
    expected = {"stream": state.summary.stream, "seq": str(seq - 1), "head": record["prev"], "file": plain,
                "time": record["time"]}
    if version == FORMAT_V2:
        if state.genesis is not None:
            expected["genesis"] = state.genesis
        if state.retention is not None:
            expected["retention_days"] = state.retention
    wrong = [k for k, v in expected.items() if statement[k] != v]
    if wrong:
        state.report(name, number, seq, "checkpoint-mismatch", f"statement {', '.join(wrong)} do not match the chain")
        return False
    if key_id != state.key_in_force:
        state.report(name, number, seq, "bad-signature", f"signed by {key_id}, the key in force is {state.key_in_force}")
        return False
    problem = signature_problem(state, key_id, statement, signature)
    if problem is not None:
        state.report(name, number, seq, *problem)
        return False
    summary = state.summary
    summary.checkpoints += 1
    summary.last_checkpoint = {"seq": seq - 1, "time": statement["time"], "key_id": key_id, "file": plain}
    if key_id != UNSIGNED_KEY_ID:
        summary.signed_checkpoints += 1
        if assessment is not None:
            assessment.sealed(summary.stream)
    summary.closed = statement["reason"] == "close"
    return True
