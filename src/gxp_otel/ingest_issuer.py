"""A local token issuer for authenticated ingestion on one host or in a test lab: an Ed25519 key, its JWKS file
(what the collector's ``oidc`` authenticator reads through ``GXP_OIDC_KEYS_FILE``) and EdDSA-signed JWTs (RFC 7519,
RFC 8037) naming a subject. In production the identity provider issues the tokens; this is for where there is none.

Guarantees: the private key file is created 0600 and never overwritten; a token is signed by that key only and
carries ``iss``, ``aud``, ``sub``, ``iat`` and ``exp``.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEFAULT_ISSUER = "https://gxp-otel.local"
DEFAULT_AUDIENCE = "gxp-otel"
KEY_FILE, JWKS_FILE = "issuer-key.pem", "jwks.json"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalIssuer:
    """The issuer kept in ``directory`` (``issuer-key.pem``, ``jwks.json``)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.key_file, self.jwks_file = self.directory / KEY_FILE, self.directory / JWKS_FILE

    def create(self) -> "LocalIssuer":
        """Create the key and JWKS; refuses to overwrite an existing key."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.key_id(raw), "x": _b64(raw)}
        self.jwks_file.write_text(json.dumps({"keys": [jwk]}, indent=2) + "\n")
        return self

    @staticmethod
    def key_id(raw_public: bytes) -> str:
        return "gxp-" + raw_public.hex()[:16]

    def _key(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{self.key_file} is not an Ed25519 key")
        return key

    def token(self, subject: str, issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE,
              lifetime_s: int = 86400) -> str:
        """A JWT for subject, signed with the issuer's key (EdDSA)."""
        if not subject:
            raise ValueError("a token needs a subject")
        key = self._key()
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        now = int(time.time())
        header = {"alg": "EdDSA", "typ": "JWT", "kid": self.key_id(raw)}
        claims = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": now + lifetime_s}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        return f"{signing_input}.{_b64(key.sign(signing_input.encode()))}"
