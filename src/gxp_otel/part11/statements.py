"""Shapes of the Part 11 record bodies (docs/audit-format.md §12): building, checking and verifying statements.

No I/O and no writer imports: the verifier uses this module as it uses the format modules. Each ``*_problem``
function returns ``None`` for a well-formed body, else a sentence saying what is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gxp_otel.audit.canonical import parse_time
from gxp_otel.audit.format import HEX64_RE, SEQ_RE, STREAM_ID_RE, parse_chain_file_name
from gxp_otel.audit.signing import key_id_for

SIGNATURE_FORMAT = "gxp-otel-signature/1"
PURGE_FORMAT = "gxp-otel-purge/1"
RETENTION_STREAM = "retention"
MEANINGS = ("authorship", "review", "approval", "responsibility")
MEANING_ALIASES = {
    "author": "authorship", "authored": "authorship", "reviewed": "review", "approve": "approval",
    "approved": "approval", "responsible": "responsibility",
}
AUTHENTICATIONS = ("all-components", "session")
SIGNATURE_MEMBERS = frozenset(
    {"format", "record", "signer", "key_id", "public_key", "time", "meaning", "reason", "authentication"})
CORRECTION_MEMBERS = frozenset({"original", "path", "old_value", "new_value", "reason", "corrected_by"})
PURGE_MEMBERS = frozenset({"format", "stream", "files", "key_in_force", "before", "retention_days", "policy", "reason",
                           "purged_by", "key_id", "public_key", "time"})
PURGED_FILE_MEMBERS = frozenset({"file", "sha256", "first_seq", "last_seq", "last_hash", "last_time", "checkpoint"})
DAY_NS = 86_400 * 1_000_000_000
_SIGNATURE_HEX = re.compile(r"\A[0-9a-f]{128}\Z", re.ASCII)


def meaning_of(text: str) -> str:
    """The §12.1 meaning for ``text`` (``approved`` -> ``approval``); ``ValueError`` for anything else."""
    meaning = MEANING_ALIASES.get(text.strip().lower(), text.strip().lower())
    if meaning not in MEANINGS:
        raise ValueError(f"meaning must be one of {', '.join(MEANINGS)} (or approved, reviewed, ...), not {text!r}")
    return meaning


def record_reference(stream: str, seq: int, record_hash: str) -> dict[str, str]:
    return {"stream": stream, "seq": str(seq), "hash": record_hash}


def reference_problem(ref: Any) -> str | None:
    if not (isinstance(ref, dict) and set(ref) == {"stream", "seq", "hash"}):
        return "the record reference is not {stream, seq, hash}"
    if not (isinstance(ref["stream"], str) and STREAM_ID_RE.match(ref["stream"])
            and isinstance(ref["seq"], str) and SEQ_RE.match(ref["seq"])
            and isinstance(ref["hash"], str) and HEX64_RE.match(ref["hash"])):
        return "the record reference has a malformed stream, seq or hash"
    return None


def _person_problem(person: Any, what: str) -> str | None:
    if not (isinstance(person, dict) and set(person) == {"printed_name", "user_id"}
            and all(isinstance(v, str) and v.strip() for v in person.values())):
        return f"{what} must be {{printed_name, user_id}}, both not empty"
    return None


def verify_ed25519(public_key_hex: str, message: bytes, signature_hex: Any) -> bool:
    """True only for a valid signature; lowercase hex is required (an upper-cased copy is an edit)."""
    if not (isinstance(signature_hex, str) and _SIGNATURE_HEX.match(signature_hex)
            and isinstance(public_key_hex, str) and HEX64_RE.match(public_key_hex)):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _key_problem(statement: dict) -> str | None:
    public = statement.get("public_key")
    if not (isinstance(public, str) and HEX64_RE.match(public)):
        return "public_key is not 64 lowercase hex digits"
    if statement.get("key_id") != key_id_for(bytes.fromhex(public)):
        return "key_id is not the id of public_key"
    return None


def signature_problem(body: Any) -> str | None:
    """Why a ``signature`` body is not a valid §12.1 signature (shape, key id, Ed25519), or ``None``."""
    from gxp_otel.audit.canonical import signature_message

    if not (isinstance(body, dict) and set(body) == {"statement", "signature"}):
        return "body is not {statement, signature}"
    statement = body["statement"]
    if not (isinstance(statement, dict) and set(statement) == SIGNATURE_MEMBERS):
        return "statement members are not those of §12.1"
    problem = (reference_problem(statement["record"]) or _person_problem(statement["signer"], "signer")
               or _key_problem(statement))
    if problem:
        return problem
    if statement["format"] != SIGNATURE_FORMAT:
        return f"format is not {SIGNATURE_FORMAT}"
    if statement["meaning"] not in MEANINGS:
        return f"meaning {statement['meaning']!r} is not one of {', '.join(MEANINGS)}"
    if statement["authentication"] not in AUTHENTICATIONS:
        return "authentication is not all-components or session"
    if not isinstance(statement["time"], str) or parse_time(statement["time"]) is None:
        return "time is not a UTC time of the recorded-time form"
    if not isinstance(statement["reason"], str):
        return "reason is not a string"
    if not verify_ed25519(statement["public_key"], signature_message(statement), body["signature"]):
        return f"the signature does not verify under {statement['key_id']}"
    return None


def correction_problem(body: Any) -> str | None:
    """Why a ``correction`` body is not of the §12.2 shape (the link and old value are checked against the trail)."""
    if not (isinstance(body, dict) and set(body) == CORRECTION_MEMBERS):
        return "body members are not those of §12.2"
    problem = reference_problem(body["original"]) or _person_problem(body["corrected_by"], "corrected_by")
    if problem:
        return problem
    if not (isinstance(body["path"], str) and body["path"].startswith("/")):
        return "path is not a JSON Pointer into the original body"
    if not (isinstance(body["reason"], str) and body["reason"].strip()):
        return "a correction needs a reason"
    return None


def purge_problem(body: Any) -> str | None:
    """Why a ``purge`` body is not a valid §12.3 tombstone (shape, key id, Ed25519), or ``None``."""
    from gxp_otel.audit.canonical import purge_message

    if not (isinstance(body, dict) and set(body) == {"statement", "signature"}):
        return "body is not {statement, signature}"
    statement = body["statement"]
    if not (isinstance(statement, dict) and set(statement) == PURGE_MEMBERS):
        return "statement members are not those of §12.3"
    if statement["format"] != PURGE_FORMAT:
        return f"format is not {PURGE_FORMAT}"
    stream = statement["stream"]
    if not (isinstance(stream, str) and STREAM_ID_RE.match(stream)):
        return "stream is not a stream id"
    if not all(isinstance(statement[m], str) for m in ("before", "retention_days", "policy", "reason", "time")) \
            or parse_time(statement["before"]) is None or parse_time(statement["time"]) is None \
            or not SEQ_RE.match(statement["retention_days"]):
        return "before, retention_days, policy, reason or time is malformed"
    files = statement["files"]
    if not (isinstance(files, list) and files and all(_purged_file_ok(f, stream) for f in files)):
        return "files is not a non-empty list of §12.3 purged files of the stream"
    if not _key_in_force_ok(statement["key_in_force"]):
        return "key_in_force is not {key_id, public_key} of one key (or none)"
    retained_until = parse_time(statement["time"]) - int(statement["retention_days"]) * DAY_NS
    limit = min(parse_time(statement["before"]), retained_until)
    if any(parse_time(f["last_time"]) >= limit for f in files):
        return "a purged file's last record is not older than the cut-off and the retention period"
    problem = _person_problem(statement["purged_by"], "purged_by") or _key_problem(statement)
    if problem:
        return problem
    if not verify_ed25519(statement["public_key"], purge_message(statement), body["signature"]):
        return f"the tombstone signature does not verify under {statement['key_id']}"
    return None


def _purged_file_ok(entry: Any, stream: str) -> bool:
    if not (isinstance(entry, dict) and set(entry) == PURGED_FILE_MEMBERS and isinstance(entry["checkpoint"], dict)):
        return False
    if not all(isinstance(entry[m], str) for m in PURGED_FILE_MEMBERS - {"checkpoint"}):
        return False
    parsed = parse_chain_file_name(entry["file"])
    return (parsed is not None and parsed.stream == stream and HEX64_RE.match(entry["sha256"]) is not None
            and SEQ_RE.match(entry["first_seq"]) is not None and SEQ_RE.match(entry["last_seq"]) is not None
            and HEX64_RE.match(entry["last_hash"]) is not None and parse_time(entry["last_time"]) is not None)


def _key_in_force_ok(key: Any) -> bool:
    if not (isinstance(key, dict) and set(key) == {"key_id", "public_key"}):
        return False
    key_id, public = key["key_id"], key["public_key"]
    if key_id == "none":
        return public == ""
    return (isinstance(public, str) and HEX64_RE.match(public) is not None
            and key_id == key_id_for(bytes.fromhex(public)))


def pointer_get(document: Any, pointer: str) -> tuple[bool, Any]:
    """RFC 6901: ``(True, value)`` at ``pointer`` in ``document``, ``(False, None)`` when there is none (an array
    index with a leading zero, such as ``01``, names no element)."""
    if pointer == "":
        return True, document
    current = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isascii() and token.isdigit() and (token == "0" or token[0] != "0") \
                and int(token) < len(current):  # RFC 6901 array-index: no leading zeros
            current = current[int(token)]
        else:
            return False, None
    return True, current


def pointer_token(key: str) -> str:
    """One RFC 6901 reference token for ``key``."""
    return key.replace("~", "~0").replace("/", "~1")
