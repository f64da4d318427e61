"""An e-signature identity whose key comes from a seed: for vectors and tests only (real keys come from
`gxp-otel keygen --signer-name ... --user-id ...`). Shared by tests/audit/attack_helpers.py and
tests/vectors/part11/make_part11_vectors.py."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gxp_otel.audit.signing import key_id_for

RFC8032_TEST2_SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"


@dataclass(frozen=True)
class Signer:
    """A signer of ``printed_name`` / ``user_id`` with the Ed25519 key of ``seed`` (64 hex digits)."""

    printed_name: str
    user_id: str
    seed: str = RFC8032_TEST2_SEED

    @property
    def private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(self.seed))

    @property
    def public_key(self) -> str:
        return self.private.public_key().public_bytes_raw().hex()

    @property
    def key_id(self) -> str:
        return key_id_for(bytes.fromhex(self.public_key))

    def unlock(self, user_id: str, passphrase: str) -> Ed25519PrivateKey:
        return self.private

    @property
    def entry(self) -> dict[str, str]:
        """The signer registry entry (what ``KEY.signer.json`` holds, ``verify --signer``)."""
        return {"printed_name": self.printed_name, "user_id": self.user_id, "key_id": self.key_id,
                "public_key": self.public_key}
