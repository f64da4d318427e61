"""Electronic signatures bound to audit records (21 CFR 11.50, 11.70, 11.100, 11.200; docs/audit-format.md §12.1).

``sign(...)`` is the one entry point, in a workflow step or from ``gxp-otel sign``: it authenticates the signer
(both components, or a :class:`~gxp_otel.part11.keys.SigningSession`), then appends a ``signature`` record whose
Ed25519 statement binds the signed record's stream, seq and hash, the printed name, user id, UTC time and meaning.
Given a ``subject`` instead of a record, it first appends the subject as a ``log`` record (correlated to the
current span) and signs that record, through the same writer, so the signature follows its record in one chain.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gxp_otel.audit.canonical import format_time_ns, signature_message
from gxp_otel.audit.values import encode_value
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.part11.keys import SignerKey, SigningSession
from gxp_otel.part11.statements import SIGNATURE_FORMAT, meaning_of, record_reference

SUBJECT_EVENT = "gxp.esignature.subject"


@dataclass(frozen=True)
class SignedRecord:
    """What :func:`sign` wrote: the signed record's reference, the signature record's, and the statement."""

    record: dict[str, str]
    signature: dict[str, str]
    statement: dict[str, Any]

    def manifestation(self) -> str:
        """The 11.50 manifestation: printed name, UTC date and time, meaning."""
        s = self.statement
        return (f"Signed by {s['signer']['printed_name']} ({s['signer']['user_id']}) on {s['time']} UTC, "
                f"meaning: {s['meaning']}" + (f", reason: {s['reason']}" if s["reason"] else ""))


def signature_body(private: Ed25519PrivateKey, key: SignerKey, record: Mapping[str, str], *, meaning: str,
                   reason: str, authentication: str, time_ns: int) -> dict[str, Any]:
    """The §12.1 body: the statement and its Ed25519 signature over the domain-separated JCS bytes."""
    statement = {
        "format": SIGNATURE_FORMAT, "record": dict(record),
        "signer": {"printed_name": key.printed_name, "user_id": key.user_id},
        "key_id": key.key_id, "public_key": key.public_key, "time": format_time_ns(time_ns),
        "meaning": meaning_of(meaning), "reason": reason, "authentication": authentication,
    }
    return {"statement": statement, "signature": private.sign(signature_message(statement)).hex()}


def subject_body(subject: Mapping[str, Any], user_id: str, time_ns: int) -> dict[str, Any]:
    """A §5.4 ``log`` body holding what is being signed, correlated to the current span when there is one."""
    from opentelemetry import trace

    from gxp_otel import __version__

    context = trace.get_current_span().get_span_context()
    coerced: list[str] = []
    body = {
        "resource": {"attributes": {}}, "scope": {"name": "gxp_otel.part11", "version": __version__},
        "gxp": {"user_id": user_id}, "time_unix_nano": str(time_ns), "observed_time_unix_nano": str(time_ns),
        "severity_number": "9", "severity_text": "INFO", "event_name": SUBJECT_EVENT,
        "body": encode_value(dict(subject), "body", coerced),
        "attributes": {"enduser.id": {"stringValue": user_id}},
        "trace_id": f"{context.trace_id:032x}" if context.is_valid else "",
        "span_id": f"{context.span_id:016x}" if context.is_valid else "",
        "trace_flags": f"{int(context.trace_flags):02x}" if context.is_valid else "00",
        "dropped_attributes": "0",
    }
    if coerced:
        body["coerced"] = coerced
    return body


@contextmanager
def trail_writer(trail: "str | os.PathLike[str] | AuditTrailWriter | None",
                 **options: Any) -> Iterator[AuditTrailWriter]:
    """The writer to append through: the given one; the process's shared writer when ``trail`` is None or the
    directory ``gxp_otel.instrument()`` writes; else a writer of its own on the directory's first free ``esign.N``
    stream (like ``gxp-otel sign``): a signature never resumes another writer's stream, which would continue that
    stream under another (or no) checkpoint key (a ``key-change``, §6.2)."""
    if isinstance(trail, AuditTrailWriter):
        yield trail
        return
    from gxp_otel.setup import active_handle

    handle = active_handle()
    active = handle.audit_dir if handle is not None else None
    if trail is None:
        if active is None:
            raise ValueError("no trail: pass trail=DIR, or call gxp_otel.instrument(audit_dir=...) first")
        trail = active
    if "stream_id" in options or (active is not None and os.path.realpath(trail) == os.path.realpath(active)):
        writer = AuditTrailWriter.shared(trail, **options)
        try:
            yield writer
        finally:
            writer.release()
        return
    writer = _own_stream_writer(trail, options)
    try:
        yield writer
    finally:
        writer.close()


def _own_stream_writer(trail: "str | os.PathLike[str]", options: dict[str, Any]) -> AuditTrailWriter:
    from gxp_otel.audit.writer import AuditTrailBusyError

    for number in range(1000):
        try:
            return AuditTrailWriter(trail, stream_id=f"esign.{number}", **{"compress": False, **options})
        except AuditTrailBusyError:
            continue
    raise ValueError(f"{trail}: every esign stream is busy")


def sign(
    subject: Mapping[str, Any] | None = None,
    *,
    meaning: str,
    passphrase: str,
    reason: str = "",
    key: "SignerKey | str | os.PathLike[str] | None" = None,
    user_id: str | None = None,
    session: SigningSession | None = None,
    record: Mapping[str, str] | None = None,
    trail: "str | os.PathLike[str] | AuditTrailWriter | None" = None,
) -> SignedRecord:
    """Sign ``subject`` (appended as a record first) or an existing ``record`` reference ({stream, seq, hash}).

    Authenticate with ``key`` + ``user_id`` + ``passphrase`` (all components), or with an open ``session`` and the
    passphrase. Raises ``SignerAuthenticationError`` (nothing is written) or ``ValueError`` for bad arguments.
    """
    if (subject is None) == (record is None):
        raise ValueError("sign exactly one of: subject (a new record) or record (an existing one)")
    meaning = meaning_of(meaning)
    if session is not None:
        signer, (private, mode) = session.key, session.authenticate(passphrase, user_id)
    else:
        if key is None or user_id is None:
            raise ValueError("sign needs key, user_id and passphrase (or a SigningSession)")
        signer = key if isinstance(key, SignerKey) else SignerKey.load(key)
        private, mode = signer.unlock(user_id, passphrase), "all-components"
    with trail_writer(trail) as writer:
        now = time.time_ns()
        if record is None:
            (seq, digest), = writer.append("log", [subject_body(subject, signer.user_id, now)])
            record = record_reference(writer.stream_id, seq, digest)
        body = signature_body(private, signer, record, meaning=meaning, reason=reason, authentication=mode,
                              time_ns=now)
        (seq, digest), = writer.append("signature", [body])
        return SignedRecord(dict(record), record_reference(writer.stream_id, seq, digest), body["statement"])
