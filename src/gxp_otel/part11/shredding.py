"""Optional crypto-shredding of personal data: the trail holds a salted commitment, a vault holds the value.

OPTIONAL, opt-in per value. Instead of recording a personal value (a patient's name, an e-mail address) the
application records ``vault.commit(value)``, a string ``gxp-shred:v1:<hex>`` where ``hex`` is
``SHA-256("gxp-otel:shred:v1" || 0x00 || salt || JCS(value))`` with a random 16-byte salt. The vault (a directory
apart from the trail, 0700, one 0600 file per value) keeps ``salt`` and ``value``. While the entry exists an
authorised reviewer can :meth:`~PersonalDataVault.reveal` the value, which is checked against the commitment; after
:meth:`~PersonalDataVault.erase` (a GDPR erasure) the value is gone for good, and the trail still verifies because it
never held the value. The salt makes guessing a small value set (names, dates of birth) from the commitment
infeasible. Erasures are logged in the vault's ``erasures.jsonl`` with who, when and why.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import orjson

from gxp_otel.audit.canonical import canonical_json, format_time_ns

SHRED_DOMAIN = b"gxp-otel:shred:v1\x00"
PREFIX = "gxp-shred:v1:"
_COMMITMENT = re.compile(r"\Agxp-shred:v1:([0-9a-f]{64})\Z", re.ASCII)


def _digest(salt: bytes, value: Any) -> str:
    return hashlib.sha256(SHRED_DOMAIN + salt + canonical_json(value)).hexdigest()


class PersonalDataVault:
    """Salted values behind commitments. Thread-safe for distinct values (one file each, written atomically)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def commit(self, value: Any) -> str:
        """Store ``value`` (any JSON value) under a fresh salt; return the commitment to record instead of it."""
        salt = os.urandom(16)
        digest = _digest(salt, value)
        path = self.directory / f"{digest}.json"
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(canonical_json({"salt": salt.hex(), "value": value}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        return PREFIX + digest

    def reveal(self, commitment: str) -> tuple[bool, Any]:
        """``(True, value)`` while the entry exists, ``(False, None)`` once erased; ``ValueError`` when the vault
        entry does not match the commitment (it was altered)."""
        digest = _digest_of(commitment)
        path = self.directory / f"{digest}.json"
        if not path.exists():
            return False, None
        entry = orjson.loads(path.read_bytes())
        if _digest(bytes.fromhex(entry["salt"]), entry["value"]) != digest:
            raise ValueError(f"vault entry {path.name} does not match its commitment: it was altered")
        return True, entry["value"]

    def erase(self, commitment: str, *, reason: str, erased_by: str) -> bool:
        """Destroy the value behind ``commitment`` (overwritten, fsynced, unlinked); log who, when and why."""
        if not reason.strip() or not erased_by.strip():
            raise ValueError("an erasure needs a reason and the user erasing")
        digest = _digest_of(commitment)
        path = self.directory / f"{digest}.json"
        existed = path.exists()
        if existed:
            size = path.stat().st_size
            with open(path, "r+b") as handle:
                handle.write(b"\0" * size)
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()
        line = canonical_json({"commitment": commitment, "erased_by": erased_by, "reason": reason,
                               "time": format_time_ns(time.time_ns()), "existed": existed}) + b"\n"
        fd = os.open(self.directory / "erasures.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return existed


def is_commitment(text: Any) -> bool:
    return isinstance(text, str) and _COMMITMENT.match(text) is not None


def _digest_of(commitment: str) -> str:
    match = _COMMITMENT.match(commitment) if isinstance(commitment, str) else None
    if match is None:
        raise ValueError(f"{commitment!r} is not a gxp-shred:v1 commitment")
    return match.group(1)
