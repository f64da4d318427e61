"""Ed25519 checkpoint keys (docs/audit-format.md §7), via ``cryptography``.

Keys are PKCS#8 PEM files (what ``gxp-otel keygen`` writes and Go's ``x509.ParsePKCS8PrivateKey`` reads), optionally
encrypted with a passphrase taken from ``GXP_OTEL_SIGNING_KEY_PASSPHRASE``. Private keys never enter the trail; only
the raw public key and its id do.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gxp_otel.audit.canonical import checkpoint_message

UNSIGNED_KEY_ID = "none"
_HEX_SIGNATURE = re.compile(r"\A[0-9a-f]{128}\Z", re.ASCII)
_HEX_KEY = re.compile(r"\A[0-9a-f]{64}\Z", re.ASCII)
PASSPHRASE_ENV = "GXP_OTEL_SIGNING_KEY_PASSPHRASE"


def key_id_for(public_raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class CheckpointSigner:
    """Signs checkpoint statements. Thread-safe (Ed25519 signing is stateless)."""

    private_key: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_key_hex(self) -> str:
        return self.public_raw.hex()

    @property
    def key_id(self) -> str:
        return key_id_for(self.public_raw)

    def sign(self, statement: dict[str, str]) -> str:
        return self.private_key.sign(checkpoint_message(statement)).hex()

    @classmethod
    def from_seed(cls, seed_hex: str) -> "CheckpointSigner":
        return cls(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex)))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "CheckpointSigner":
        data = Path(path).read_bytes()
        passphrase = os.environ.get(PASSPHRASE_ENV)
        try:
            key = serialization.load_pem_private_key(data, password=passphrase.encode() if passphrase else None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"signing key {path}: cannot load an Ed25519 PKCS#8 PEM key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"signing key {path}: not an Ed25519 key")
        return cls(key)


def resolve_signer(signing_key: "str | os.PathLike[str] | CheckpointSigner | None") -> CheckpointSigner | None:
    if signing_key is None or isinstance(signing_key, CheckpointSigner):
        return signing_key
    return CheckpointSigner.from_file(signing_key)


def generate_key_pem(passphrase: bytes | None = None) -> tuple[bytes, CheckpointSigner]:
    key = Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return pem, CheckpointSigner(key)


def verify_statement(public_key_hex: str, statement: dict[str, str], signature_hex: str) -> bool:
    """True only for a valid Ed25519 signature by that key over the statement's canonical bytes.

    Both hex strings must be lowercase (§3): ``bytes.fromhex`` alone would accept an edited, upper-cased copy.
    """
    if _HEX_SIGNATURE.match(signature_hex) is None or _HEX_KEY.match(public_key_hex) is None:
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        public.verify(bytes.fromhex(signature_hex), checkpoint_message(statement))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
