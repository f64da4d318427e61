"""Canonical JSON (RFC 8785) and every hash of the audit format: the one place they are computed in Python.

Audit records contain no JSON numbers (docs/audit-format.md §3), which removes the only part of JCS where fast
serialisers disagree with the standard. For number-free values, ``orjson`` with sorted keys produces exactly the JCS
bytes except in one case: object keys that mix characters above U+FFFF with characters in U+E000..U+FFFF sort
differently by UTF-8 bytes (orjson) than by UTF-16 code units (JCS). Whenever the fast output contains a 4-byte UTF-8
sequence we therefore re-serialise with the ``rfc8785`` reference implementation. Both paths are checked against
each other by property tests and against the RFC 8785 conformance vectors.

All functions here are pure and thread-safe.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any

import orjson
import rfc8785

RECORD_DOMAIN = b"gxp-otel:record:v1\x00"
CHECKPOINT_DOMAIN = b"gxp-otel:checkpoint:v1\x00"
SIGNATURE_DOMAIN = b"gxp-otel:signature:v1\x00"  # §12.1 electronic signatures
PURGE_DOMAIN = b"gxp-otel:purge:v1\x00"  # §12.3 purge tombstones
ZERO_HASH = "0" * 64

_ASTRAL_UTF8 = re.compile(rb"[\xf0-\xf4]")
_SORTED = orjson.OPT_SORT_KEYS


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical serialisation of any JSON value (dict, list, str, bool, None, int, float).

    Raises ``ValueError`` for values JSON cannot hold (NaN, lone surrogates, non-str keys, other types).
    """
    try:
        out = orjson.dumps(value, option=_SORTED)
    except orjson.JSONEncodeError:
        out = None
    if out is not None and _ASTRAL_UTF8.search(out) is None and not contains_json_number(out):
        return out
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, UnicodeEncodeError) as exc:
        raise ValueError(f"not canonicalisable: {exc}") from None


def canonical_number_free(value: Any) -> bytes:
    """:func:`canonical_json` for values known to hold no numbers (record bodies): one fast serialisation."""
    try:
        out = orjson.dumps(value, option=_SORTED)
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"not canonicalisable: {exc}") from None
    if sorted_output_is_canonical(out):
        return out
    return rfc8785.dumps(value)


def sorted_output_is_canonical(out: bytes) -> bool:
    """True when ``orjson``'s sorted-keys output ``out`` of a number-free value is its JCS form: it holds no 4-byte
    UTF-8 sequence (the one case where orjson's key order, by UTF-8 bytes, can differ from JCS's, by UTF-16 units).
    Encoders that assemble canonical bytes from orjson pieces use this same test on the whole result."""
    return out.isascii() or _ASTRAL_UTF8.search(out) is None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_NUMBER_START = re.compile(rb"[-0-9]")


def contains_json_number(json_bytes: bytes) -> bool:
    """True when the JSON text holds a number token (anything outside strings starting with ``-`` or a digit)."""
    return _JSON_NUMBER_START.search(_JSON_STRING.sub(b"", json_bytes)) is not None


def envelope_prefix(body_json: bytes) -> bytes:
    """The bytes every record line starts with: ``{"body":<canonical body>``."""
    return b'{"body":' + body_json


def envelope_suffix(kind: str, prev: str, seq: int, stream: str, time: str) -> bytes:
    """The canonical tail of a record after ``body`` (and ``hash``), given envelope members that need no escaping.

    Callers guarantee the members are plain ASCII without quotes or backslashes: ``kind`` is a known kind,
    ``prev`` hex, ``seq`` an int, ``stream`` matches the stream-id pattern and ``time`` the recorded-time pattern.
    """
    return (
        f',"kind":"{kind}","prev":"{prev}","seq":"{seq}","stream":"{stream}","time":"{time}"}}'
    ).encode("ascii")


def hash_record_bytes(unhashed_record_json: bytes) -> str:
    """``record_hash``: SHA-256 over the record domain prefix and JCS(record without ``hash``), lowercase hex."""
    return hashlib.sha256(RECORD_DOMAIN + unhashed_record_json).hexdigest()


# the hash state after the bytes every record's hash input starts with: the domain and ``{"body":``
_RECORD_HASH_START = hashlib.sha256(RECORD_DOMAIN + envelope_prefix(b""))
_LINE = b'%b,"hash":"%b"%b'  # the line from its head, hash and tail; ``record_line`` and ``encode_record`` share it
_LINE_FROM_BODY = envelope_prefix(b"%b") + _LINE[2:] + b"\n"


def hash_body_and_tail(body_json: bytes | memoryview, tail: bytes | memoryview) -> str:
    """``record_hash`` of the record whose JCS without ``hash`` is ``envelope_prefix(body_json) + tail``: the same
    digest as :func:`hash_record_bytes`, from the pre-seeded state (no concatenation). Thread-safe."""
    hasher = _RECORD_HASH_START.copy()
    hasher.update(body_json)
    hasher.update(tail)
    return hasher.hexdigest()


def encode_record(kind: str, stream: str, seq: int, prev: str, time: str, body_json: bytes) -> tuple[str, bytes]:
    """Return ``(hash, line)`` for one record; ``line`` is canonical JSON plus ``\\n``.

    Equivalent to ``canonical_json(record)`` (JCS orders the members body, hash, kind, prev, seq, stream, time)
    but serialises the body only once; the same bytes as :func:`hash_record_bytes` and :func:`record_line`, with
    the body copied once (into the line) instead of four times. Thread-safe: the shared hash state is only copied.
    """
    tail = envelope_suffix(kind, prev, seq, stream, time)
    hasher = _RECORD_HASH_START.copy()
    hasher.update(body_json)
    hasher.update(tail)
    digest = hasher.hexdigest()
    return digest, _LINE_FROM_BODY % (body_json, digest.encode("ascii"), tail)


def record_line(head: bytes, digest: str, tail: bytes) -> bytes:
    """The canonical line (without ``\\n``) from the envelope pieces and a ``hash`` member value."""
    return _LINE % (head, digest.encode("ascii"), tail)


def checkpoint_message(statement: dict[str, str]) -> bytes:
    """The exact bytes an Ed25519 checkpoint signature covers."""
    return CHECKPOINT_DOMAIN + canonical_json(statement)


def signature_message(statement: dict) -> bytes:
    """The exact bytes an Ed25519 electronic signature (§12.1) covers."""
    return SIGNATURE_DOMAIN + canonical_json(statement)


def purge_message(statement: dict) -> bytes:
    """The exact bytes an Ed25519 purge tombstone signature (§12.3) covers."""
    return PURGE_DOMAIN + canonical_json(statement)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_last_second: tuple[int | None, str] = (None, "")  # one-entry cache: records arrive many per second


def format_time_ns(ns: int) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` with exactly nine fractional digits. Thread-safe: the cache is an
    immutable pair, read once and replaced by rebinding."""
    global _last_second
    seconds, nanos = divmod(ns, 1_000_000_000)
    cached = _last_second
    if cached[0] != seconds:
        cached = (seconds, datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
        _last_second = cached
    return f"{cached[1]}.{nanos:09d}Z"


_TIME_RE = re.compile(r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{9})Z\Z", re.ASCII)


_parsed_second: tuple[str, int] = ("", 0)  # one-entry cache, as for formatting


def parse_time(text: str) -> int | None:
    """Inverse of :func:`format_time_ns`; ``None`` when ``text`` is not in that exact form. Thread-safe (as above)."""
    global _parsed_second
    cached = _parsed_second
    if text[:19] == cached[0] and len(text) == 30 and text[19] == "." and text[29] == "Z":  # the cached second's
        fraction = text[20:29]
        if fraction.isascii() and fraction.isdigit():
            return cached[1] + int(fraction)
    match = _TIME_RE.match(text)
    if match is None:
        return None
    prefix = text[:19]
    cached = _parsed_second
    if cached[0] != prefix:
        try:
            moment = datetime(*(int(g) for g in match.groups()[:6]), tzinfo=timezone.utc)
        except ValueError:
            return None
        cached = (prefix, int(moment.timestamp()) * 1_000_000_000)
        _parsed_second = cached
    return cached[1] + int(match.group(7))


def format_double(value: float) -> str:
    """A double as the string the format stores: ECMAScript Number-to-String, ``NaN``/``Infinity``/``-Infinity``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return rfc8785.dumps(value).decode("ascii")
