"""Signer keys for electronic signatures: one Ed25519 key per individual, unlocked by two components (11.200).

A signer key file is canonical JSON holding the signer's printed name, user id, key id and public key, and the
private key as PKCS#8 PEM encrypted under a key derived from the passphrase with scrypt (so a stolen file resists
guessing). Signing needs both components: the user id (compared with the file's) and the passphrase (which alone
decrypts the key). A :class:`SigningSession` implements 11.200(a)(1): the first signing of a continuous session
uses all components; later signings within ``idle_timeout`` need the passphrase; after that, all components again.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from gxp_otel.audit.canonical import canonical_json
from gxp_otel.audit.signing import key_id_for

SIGNER_KEY_FORMAT = "gxp-otel-signer-key/1"
SIGNER_FORMAT = "gxp-otel-signer/1"  # KEY.signer.json: the public identity, for the verifiers' signer registry
MIN_PASSPHRASE = 8
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class SignerAuthenticationError(Exception):
    """The user id or passphrase is wrong (which one is not said), or the session needs all components again."""


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8")).hex().encode("ascii")


@dataclass(frozen=True)
class SignerKey:
    """A signer key file's public part; :meth:`unlock` needs the two components."""

    path: Path
    printed_name: str
    user_id: str
    key_id: str
    public_key: str
    _document: dict = field(repr=False, compare=False)

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, printed_name: str, user_id: str, passphrase: str) -> "SignerKey":
        """Write a new key file (mode 0600, never overwriting) and ``PATH.pub`` (hex public key)."""
        if not printed_name.strip() or not user_id.strip():
            raise ValueError("a signer key needs the signer's printed name and user id")
        if len(passphrase) < MIN_PASSPHRASE:
            raise ValueError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
        key = Ed25519PrivateKey.generate()
        salt = os.urandom(16)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(_derive(passphrase, salt, _SCRYPT_N, _SCRYPT_R,
                                                                              _SCRYPT_P)))
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        document = {
            "format": SIGNER_KEY_FORMAT, "printed_name": printed_name.strip(), "user_id": user_id.strip(),
            "key_id": key_id_for(public), "public_key": public.hex(),
            "kdf": {"name": "scrypt", "salt": salt.hex(), "n": str(_SCRYPT_N), "r": str(_SCRYPT_R),
                    "p": str(_SCRYPT_P)},
            "private_key": pem.decode("ascii"),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(canonical_json(document) + b"\n")
        path.with_name(path.name + ".pub").write_text(public.hex() + "\n")
        certificate = {key: document[key] for key in ("printed_name", "user_id", "key_id", "public_key")}
        path.with_name(path.name + ".signer.json").write_bytes(
            canonical_json({"format": SIGNER_FORMAT, **certificate}) + b"\n")
        return cls.load(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "SignerKey":
        path = Path(path)
        try:
            document = orjson.loads(path.read_bytes())
            assert document["format"] == SIGNER_KEY_FORMAT
            public = document["public_key"]
            assert key_id_for(bytes.fromhex(public)) == document["key_id"]
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AssertionError):
            raise ValueError(f"{path}: not a gxp-otel signer key (make one with `gxp-otel keygen --signer`)") from None
        return cls(path, document["printed_name"], document["user_id"], document["key_id"], public, document)

    def unlock(self, user_id: str, passphrase: str) -> Ed25519PrivateKey:
        """The private key, given both components; :class:`SignerAuthenticationError` otherwise."""
        if not hmac.compare_digest(user_id.strip().encode(), self.user_id.encode()):
            self.check_passphrase(passphrase)  # same work either way: the error does not tell which component failed
            raise SignerAuthenticationError("user id or passphrase is wrong")
        return self.check_passphrase(passphrase)

    def check_passphrase(self, passphrase: str) -> Ed25519PrivateKey:
        kdf = self._document["kdf"]
        secret = _derive(passphrase, bytes.fromhex(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        try:
            key = serialization.load_pem_private_key(self._document["private_key"].encode("ascii"), password=secret)
        except (ValueError, TypeError):
            raise SignerAuthenticationError("user id or passphrase is wrong") from None
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if not isinstance(key, Ed25519PrivateKey) or public.hex() != self.public_key:
            raise SignerAuthenticationError(f"{self.path}: the private key does not match the public key")
        return key


def load_signer_entry(path: str | os.PathLike[str]) -> dict[str, str]:
    """A ``KEY.signer.json`` (printed name, user id, key id, public key), checked to be self-consistent."""
    try:
        entry = orjson.loads(Path(path).read_bytes())
        assert entry["format"] == SIGNER_FORMAT and all(
            isinstance(entry[k], str) and entry[k] for k in ("printed_name", "user_id", "key_id", "public_key"))
        assert key_id_for(bytes.fromhex(entry["public_key"])) == entry["key_id"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AssertionError):
        raise ValueError(f"{path}: not a signer identity file (keygen --signer writes KEY.signer.json)") from None
    return {k: entry[k] for k in ("printed_name", "user_id", "key_id", "public_key")}


@dataclass
class SigningSession:
    """A continuous period of controlled signing by one individual (11.200(a)(1)). Not thread-safe: one per person.

    Opening it checks all components. :meth:`authenticate` returns the private key and the ``authentication`` value
    for the next statement: ``all-components`` the first time, ``session`` later when only the passphrase is given
    within ``idle_timeout`` seconds of the previous signing.
    """

    key: SignerKey
    idle_timeout: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _last: float | None = None
    _first_pending: bool = True

    @classmethod
    def open(cls, key: SignerKey | str | os.PathLike[str], user_id: str, passphrase: str,
             **options) -> "SigningSession":
        key = key if isinstance(key, SignerKey) else SignerKey.load(key)
        key.unlock(user_id, passphrase)
        session = cls(key, **options)
        session._last = session.clock()
        return session

    def authenticate(self, passphrase: str, user_id: str | None = None) -> tuple[Ed25519PrivateKey, str]:
        now = self.clock()
        expired = self._last is None or now - self._last > self.idle_timeout
        if user_id is not None:
            private = self.key.unlock(user_id, passphrase)
            mode = "all-components"
        elif expired:
            raise SignerAuthenticationError("the signing session expired: give the user id and the passphrase")
        else:
            private = self.key.check_passphrase(passphrase)
            mode = "all-components" if self._first_pending else "session"
        self._first_pending = False
        self._last = now
        return private, mode
