"""Credentials for authenticated ingestion in the collector tests: an OIDC issuer's signing key (the JWKS file the
shipped configs read through GXP_OIDC_KEYS_FILE) that mints bearer tokens for a subject, and a small PKI (a CA, a
server certificate for 127.0.0.1, client certificates) for the gateway config's mutual TLS. Real keys and real
signatures; only the issuer is local (a key pair and a file instead of a network identity provider).
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import time
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

ISSUER = "https://issuer.gxp-otel.test"
AUDIENCE = "gxp-otel"


class OidcIssuer:
    """An Ed25519 token signer and its JWKS file."""

    def __init__(self, directory: Path, kid: str = "gxp-test-1") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ed25519.Ed25519PrivateKey.generate()
        self.kid = kid
        raw = self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
               "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}
        self.jwks_file = directory / "oidc-jwks.json"
        self.jwks_file.write_text(json.dumps({"keys": [jwk]}))

    def token(self, subject: str, audience: str = AUDIENCE, issuer: str = ISSUER, lifetime_s: int = 3600) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "sub": subject, "iat": now, "exp": now + lifetime_s}
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def env(self) -> dict[str, str]:
        return {"GXP_OIDC_ISSUER": ISSUER, "GXP_OIDC_AUDIENCE": AUDIENCE, "GXP_OIDC_KEYS_FILE": str(self.jwks_file)}


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gxp-otel test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(directory: Path, stem: str, cert: x509.Certificate, key) -> tuple[Path, Path]:
    cert_file, key_file = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


@dataclass
class Pki:
    """A CA with one server certificate (127.0.0.1) and client certificates issued on demand."""

    directory: Path

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self._ca = (x509.CertificateBuilder().subject_name(_name("gxp-otel test CA")).issuer_name(_name("gxp-otel test CA"))
                    .public_key(self._ca_key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                    .sign(self._ca_key, hashes.SHA256()))
        self.ca_file = self.directory / "ca.crt"
        self.ca_file.write_bytes(self._ca.public_bytes(serialization.Encoding.PEM))
        self.server_cert, self.server_key = self.issue("127.0.0.1", server=True)

    def issue(self, common_name: str, server: bool = False) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(self._ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1)))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(common_name))]),
                                            critical=False)
        cert = builder.sign(self._ca_key, hashes.SHA256())
        return _write(self.directory, ("server" if server else f"client-{common_name}"), cert, key)

    def env(self) -> dict[str, str]:
        return {"GXP_TLS_CERT_FILE": str(self.server_cert), "GXP_TLS_KEY_FILE": str(self.server_key),
                "GXP_TLS_CLIENT_CA_FILE": str(self.ca_file)}

    def client_context(self, common_name: str | None) -> ssl.SSLContext:
        """A TLS client context trusting the CA, presenting a client certificate for common_name (None: none)."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if common_name is not None:
            cert, key = self.issue(common_name)
            context.load_cert_chain(str(cert), str(key))
        return context
