"""Typed values (docs/audit-format.md §5.1): any Python value to an OTLP-style ``AnyValue``, coercing and flagging.

Nothing is dropped: a value the format cannot hold exactly is recorded in its closest form and its path is appended
to the caller's ``coerced`` list as ``"<path>: <reason>"``. Pure functions; thread-safe.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes

from gxp_otel.audit.canonical import canonical_number_free, format_double

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DEPTH = 32


def encode_value(value: Any, path: str, coerced: list[str]) -> dict[str, Any]:
    """Encode one value of any type; see the module docstring.

    Plain JSON data (what a captured payload is) takes `_encode_plain`, which builds the same tree without a path
    string per node; anything else, and anything it does not clearly accept, is encoded by `_encode`."""
    encoded = _encode_plain(value, 0)
    if encoded is not None:
        return encoded
    return _encode(value, path, coerced, 0, set())


def _encode_plain(value: Any, depth: int) -> dict[str, Any] | None:
    """`_encode(value, ...)` for a tree of exact `dict` (str keys), `list`, `tuple`, `str`, `bool`, `None`, 64-bit
    `int` and `float` nested less than MAX_DEPTH deep, which `_encode` encodes flagging nothing (a cycle reaches the
    depth limit); None for anything else, which the caller then encodes with `_encode`.
    Equal to `_encode` on every such tree (tests/audit/test_values.py)."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is dict:
        if depth >= MAX_DEPTH:
            return None
        items: dict[str, Any] = {}
        for key, item in value.items():
            sub_kind = type(item)
            if type(key) is not str:
                return None
            if sub_kind is str:
                items[key] = {"stringValue": item}
                continue
            sub = _encode_plain(item, depth + 1)
            if sub is None:
                return None
            items[key] = sub
        return {"kvlistValue": items}
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            return None
        array = []
        for item in value:
            if type(item) is str:
                array.append({"stringValue": item})
                continue
            sub = _encode_plain(item, depth + 1)
            if sub is None:
                return None
            array.append(sub)
        return {"arrayValue": array}
    if value is None:
        return {}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        return {"intValue": str(value)} if INT64_MIN <= value <= INT64_MAX else None
    if kind is float:
        return {"doubleValue": format_double(value)}
    return None


def encode_attributes(attributes: Mapping[str, Any] | None, path: str, coerced: list[str]) -> dict[str, Any]:
    """Encode an attribute map (str keys, OTel attribute values) to ``{key: AnyValue}``.

    The common SDK types take a fast path; anything else goes through :func:`encode_value`.
    """
    out: dict[str, Any] = {}
    if not attributes:
        return out
    # The SDK's BoundedAttributes iterates through the Mapping ABC (slow); its backing dict holds the same items.
    # Only the exact SDK class is unwrapped: a subclass may report different items than its backing dict holds.
    items = attributes._dict if type(attributes) is BoundedAttributes else attributes
    for key, value in items.items():
        kind = type(value)
        if type(key) is str:
            if kind is str:
                out[key] = {"stringValue": value}
                continue
            if kind is bool:
                out[key] = {"boolValue": value}
                continue
            if kind is int and INT64_MIN <= value <= INT64_MAX:
                out[key] = {"intValue": str(value)}
                continue
        name = _key(key, path, coerced)
        out[name] = _encode(value, f"{path}/{name}", coerced, 0, set())
    return out


def _key(key: Any, path: str, coerced: list[str]) -> str:
    if type(key) is not str:
        key = str(key)
        coerced.append(f"{path}/{key}: non-string-key")
    return key


def encode_body(body: dict[str, Any]) -> bytes:
    """The canonical bytes of a record body (number-free, §3). A body holding lone surrogates, which JSON cannot,
    is recorded with each replaced by U+FFFD and its path appended to the body's ``coerced`` list."""
    try:
        return canonical_number_free(body)
    except ValueError:
        coerced: list[str] = []
        clean = sanitize_strings(body, "", coerced)
        clean["coerced"] = list(clean.get("coerced", [])) + coerced
        return canonical_number_free(clean)


def sanitize_strings(tree: Any, path: str, coerced: list[str]) -> Any:
    """Copy of a JSON tree with lone surrogates in keys and strings replaced by U+FFFD, each flagged.

    The slow path, taken only when canonical serialisation of a body failed.
    """
    if isinstance(tree, str):
        return _valid_text(tree, path, coerced)
    if isinstance(tree, list):
        return [sanitize_strings(item, f"{path}/{i}", coerced) for i, item in enumerate(tree)]
    if isinstance(tree, dict):
        return {
            _valid_text(key, f"{path}/{key}", coerced): sanitize_strings(item, f"{path}/{key}", coerced)
            for key, item in tree.items()
        }
    return tree


def _valid_text(text: str, path: str, coerced: list[str]) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        coerced.append(f"{_replace_surrogates(path.lstrip('/'))}: invalid-utf8")  # the path holds the bad key too
        return _replace_surrogates(text)


def _replace_surrogates(text: str) -> str:
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def _encode(value: Any, path: str, coerced: list[str], depth: int, active: set[int]) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": bool(value)}
    if isinstance(value, str):
        return {"stringValue": str(value)}
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return {"intValue": str(int(value))}
        coerced.append(f"{path}: int-out-of-range")
        return {"stringValue": str(int(value))}
    if isinstance(value, float):
        return {"doubleValue": format_double(float(value))}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if depth >= MAX_DEPTH:
        coerced.append(f"{path}: depth")
        return {"stringValue": f"<depth limit {MAX_DEPTH} exceeded>"}
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if id(value) in active:
            coerced.append(f"{path}: cycle")
            return {"stringValue": "<cycle>"}
        active.add(id(value))
        try:
            if isinstance(value, Mapping):
                items: dict[str, Any] = {}
                for key, item in value.items():
                    name = _key(key, path, coerced)
                    items[name] = _encode(item, f"{path}/kvlistValue/{name}", coerced, depth + 1, active)
                return {"kvlistValue": items}
            if isinstance(value, (set, frozenset)):
                coerced.append(f"{path}: not-json-type:{type(value).__name__}")
                value = sorted(value, key=repr)
            return {
                "arrayValue": [
                    _encode(item, f"{path}/arrayValue/{i}", coerced, depth + 1, active)
                    for i, item in enumerate(value)
                ]
            }
        finally:
            active.discard(id(value))
    coerced.append(f"{path}: not-json-type:{type(value).__name__}")
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not lose the record
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return {"stringValue": text}


def scalar_text(any_value: Mapping[str, Any]) -> str | None:
    """The text of a string, int or bool AnyValue (used for the GxP fields, §5.5); ``None`` otherwise."""
    if "stringValue" in any_value:
        return any_value["stringValue"]
    if "intValue" in any_value:
        return any_value["intValue"]
    if "boolValue" in any_value:
        return "true" if any_value["boolValue"] else "false"
    return None
