"""Corrections, never edits (21 CFR 11.10(e), Annex 11 §9; docs/audit-format.md §12.2).

A correction is a new record that names the original by stream, seq and hash, the JSON Pointer of the corrected
value, the old and new value and a required reason. The original record is never touched. :func:`correct` fills in
the old value itself (the original's value, or the latest correction's new value) so it cannot be mistyped, and
signs the correction with the author's key (meaning ``authorship``): who corrected is authenticated, not claimed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gxp_otel.audit.canonical import canonical_json, contains_json_number
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.part11.esign import SignedRecord, sign, trail_writer
from gxp_otel.part11.keys import SignerKey, SigningSession
from gxp_otel.part11.lookup import iter_records, record_with_hash
from gxp_otel.part11.statements import pointer_get, reference_problem


def effective_value(root: Path, original: Mapping[str, str], path: str) -> Any:
    """The current value at ``path`` of the original: its own, or the ``new_value`` of the latest correction.

    Reads the whole trail for corrections (they are rare; a correction is an interactive act)."""
    record, _present = record_with_hash(root, original["stream"], int(original["seq"]), original["hash"])
    if record is None:
        raise ValueError(f"{original['stream']} seq {original['seq']} with that hash is not in the trail {root}")
    present, value = pointer_get(record["body"], path)
    if not present:
        raise ValueError(f"the original record has no value at {path!r}")
    latest = None
    for record, _file, _line in iter_records(root):
        body = record["body"]
        if record["kind"] == "correction" and body.get("original") == dict(original) and body.get("path") == path:
            if latest is None or record["time"] >= latest[0]:
                latest = (record["time"], body.get("new_value"))
    return value if latest is None else latest[1]


def correct(
    original: Mapping[str, str],
    *,
    path: str,
    new_value: Any,
    reason: str,
    passphrase: str,
    key: "SignerKey | str | os.PathLike[str] | None" = None,
    user_id: str | None = None,
    session: SigningSession | None = None,
    trail: "str | os.PathLike[str] | AuditTrailWriter | None" = None,
) -> tuple[dict[str, str], SignedRecord]:
    """Append a correction of ``original`` ({stream, seq, hash}) at ``path`` and sign it; return both references.

    Raises ``ValueError`` (nothing written) for a missing reason, an original not in the trail, a path it lacks,
    or a value the format cannot hold (a JSON number: write ``{"intValue": "3"}`` or a string)."""
    if not reason.strip():
        raise ValueError("a correction needs a reason (11.10(e), Annex 11 §9)")
    if reference_problem(dict(original)) or not path.startswith("/"):
        raise ValueError("original must be {stream, seq, hash} and path a JSON Pointer such as /attributes/name")
    if contains_json_number(canonical_json(new_value)):
        raise ValueError("new_value holds a JSON number; the trail stores numbers as strings "
                         "(docs/audit-format.md §3)")
    signer = session.key if session is not None else key if isinstance(key, SignerKey) else SignerKey.load(key)
    if session is None:
        signer.unlock(user_id or "", passphrase)  # authenticate before anything is written
    with trail_writer(trail) as writer:
        writer.flush()
        old_value = effective_value(writer.directory, original, path)
        body = {"original": dict(original), "path": path, "old_value": old_value, "new_value": new_value,
                "reason": reason, "corrected_by": {"printed_name": signer.printed_name, "user_id": signer.user_id}}
        (seq, digest), = writer.append("correction", [body])
        reference = {"stream": writer.stream_id, "seq": str(seq), "hash": digest}
        signed = sign(record=reference, meaning="authorship", reason=reason, passphrase=passphrase, key=signer,
                      user_id=user_id, session=session, trail=writer)
    return reference, signed
