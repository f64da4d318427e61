"""Bounded, maskable, never-raising capture of workflow event payloads.

A payload (an event's fields, a start event's keyword arguments, a step's result) is turned into plain JSON data
by `to_jsonable`, which never raises: values JSON cannot hold are recorded in their closest form and *flagged*
(`coerced`, same reasons as docs/audit-format.md §5.1 where they overlap: `not-json-type:<type>`, `bytes`,
`non-finite-float`, `int-out-of-range`, `invalid-utf8`, `cycle`, `depth`, `non-string-key`).

Plain JSON data (exact dicts, lists, strings, numbers in range, no secret, no sensitive key: what `model_dump()` of
most events gives) needs none of that and is serialised directly (`plain_json`, proven to give the same record).
`PayloadCapture.capture` then serialises it once (orjson), hashes the full text (SHA-256) and keeps at most
`max_chars` characters of it; when content capture is off, the text is replaced by `__REDACTED__` (OpenInference's
marker). Whenever the recorded text is not the full value (cut or hidden), the size and SHA-256 of the full value
are recorded with it, so the trail proves *what* was there without showing all of it.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import orjson
from pydantic import BaseModel

from gxp_otel.instrumentation.secrets import SENSITIVE_KEYS, holds_no_secret, redact_secrets

REDACTED = "__REDACTED__"  # openinference.instrumentation.REDACTED_VALUE
MAX_DEPTH = 32
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SCALARS = (str, bool, int, float, type(None))
_PARSE = object()  # _recorded: the value is parsed back from the text


@dataclass(frozen=True, slots=True)
class CapturedPayload:
    """One payload as recorded: bounded text, the full value's SHA-256 and size, and what was coerced."""

    text: str  # JSON text, cut to the cap (or REDACTED)
    value: Any  # the JSON-safe value when it fits the cap and content is shown, else `text`
    sha256: str  # of the full UTF-8 JSON text, computed only when the text is cut or redacted ("" otherwise)
    size: int  # length in bytes of the full JSON text
    truncated: bool
    redacted: bool
    coerced: tuple[str, ...]

    def attributes(self, prefix: str) -> dict[str, Any]:
        """`<prefix>` = the text; when it is cut or hidden also `<prefix>.sha256` and `.size` of the full value and
        `.truncated`/`.redacted`; `.coerced` when something was coerced. (A full text is its own evidence: hashing
        it again would only repeat it.)"""
        attributes: dict[str, Any] = {prefix: self.text}
        if self.truncated or self.redacted:
            attributes[f"{prefix}.sha256"] = self.sha256
            attributes[f"{prefix}.size"] = self.size
            attributes[f"{prefix}.truncated" if self.truncated else f"{prefix}.redacted"] = True
        if self.coerced:
            attributes[f"{prefix}.coerced"] = list(self.coerced)
        return attributes


class PayloadCapture:
    """Turns any Python value into a `CapturedPayload`. Thread-safe: the only shared state is a small identity cache
    of recently captured events, replaced atomically, and the module's tables of keys and texts already checked."""

    _CACHE_SIZE = 64

    def __init__(self, *, max_chars: int = 4096, capture_content: bool = True) -> None:
        self.max_chars = max(16, int(max_chars))
        self.capture_content = capture_content
        self.policies: Any = None  # gamp_policy.RunPolicies: a run whose policy hashes payloads records no text
        self._recent: dict[int, tuple[Any, CapturedPayload]] = {}

    def capture_event(self, event: Any) -> CapturedPayload:
        """`capture(event_payload(event))`, reusing the result for the same event object seen recently.

        A step's output event is the next step's input: it is captured once. (Between the two points no user code
        runs on it, so reuse cannot hide a change.)"""
        hit = self._recent.get(id(event))
        if hit is not None and hit[0] is event:
            return hit[1]
        captured = self.capture(event_payload(event))
        recent = self._recent
        if len(recent) >= self._CACHE_SIZE:
            recent = {}
        recent[id(event)] = (event, captured)
        self._recent = recent
        return captured

    def capture(self, value: Any) -> CapturedPayload:
        """The value as recorded. Plain JSON data without a secret (`plain_json`) is serialised directly; anything
        else goes through `to_jsonable`. Both give the same `CapturedPayload` (tests/instrumentation/test_payload.py
        compares them on generated values)."""
        raw = plain_json(value)
        if raw is None:
            converted = models_as_mappings(value)  # pydantic models inside, as `to_jsonable` turns them into maps
            raw = plain_json(converted) if converted is not value else None
        if raw is not None:
            return self._recorded(raw, _PARSE, ())
        return self.capture_strict(value)

    def capture_strict(self, value: Any) -> CapturedPayload:
        """`capture` through `to_jsonable` always (the reference the direct path is tested against)."""
        coerced: list[str] = []
        try:
            data = to_jsonable(value, coerced)
            raw = orjson.dumps(data)
        except Exception as exc:  # to_jsonable does not raise; this guards orjson itself
            data = f"<unencodable {type(value).__name__}: {exc!r}>"
            coerced.append(f": not-json-type:{type(value).__name__}")
            raw = orjson.dumps(data)
        return self._recorded(raw, data, tuple(coerced))

    def _recorded(self, raw: bytes, data: Any, coerced: tuple[str, ...]) -> CapturedPayload:
        """`data` _PARSE: parse it back from `raw` when needed (a fresh copy: later changes to the application's
        objects cannot reach a record waiting in an export queue)."""
        if not self.capture_content or (self.policies is not None and self.policies.current().hashes_payloads):
            digest = hashlib.sha256(raw).hexdigest()
            return CapturedPayload(REDACTED, REDACTED, digest, len(raw), False, True, coerced)
        text = raw.decode("utf-8")
        if len(text) > self.max_chars:
            digest = hashlib.sha256(raw).hexdigest()
            text = text[: self.max_chars]
            return CapturedPayload(text, text, digest, len(raw), True, False, coerced)
        return CapturedPayload(text, orjson.loads(raw) if data is _PARSE else data, "", len(raw), False, False, coerced)


def plain_json(value: Any) -> bytes | None:
    """The JSON text of `value` when `to_jsonable` would return an equal copy of it and flag nothing, else None.

    That is when `value` is built only of exact `dict` (with `str` keys none of which is a sensitive key), `list`,
    `tuple`, `str` (none holding a secret: `holds_no_secret`, the test `redact_secrets` makes), `bool`, `None`,
    64-bit `int`, finite `float` and enum members with a `str` value, containers nested less than MAX_DEPTH deep
    (which also rules out cycles), and its text is valid UTF-8 (orjson refuses a lone surrogate). No copy is built
    and no path string formatted; a text seen clean before is not scanned again."""
    level, depth, sensitive = [value], 0, _SENSITIVE
    while level:  # breadth first: every item of `level` is at `depth`
        deeper: list[Any] = []
        push = deeper.append
        for item in level:
            kind = type(item)
            if kind is dict:
                if depth >= MAX_DEPTH:
                    return None
                for key, sub in item.items():
                    known = sensitive.get(key) if type(key) is str else True
                    if known is None:
                        known = _sensitive_key(key)
                    sub_kind = type(sub)
                    if known or (sub_kind is str and not holds_no_secret(sub)):
                        return None
                    if sub_kind is not str and sub is not None and sub_kind is not bool:
                        push(sub)
            elif kind is list or kind is tuple:
                if depth >= MAX_DEPTH:
                    return None
                for sub in item:
                    sub_kind = type(sub)
                    if sub_kind is str:
                        if not holds_no_secret(sub):
                            return None
                    elif sub is not None and sub_kind is not bool:
                        push(sub)
            elif kind is str:
                if not holds_no_secret(item):
                    return None
            elif kind is int:
                if not _INT64_MIN <= item <= _INT64_MAX:
                    return None
            elif kind is float:
                if not math.isfinite(item):
                    return None
            elif isinstance(item, enum.Enum):  # MessageRole and the like: recorded as their value, as orjson does
                if depth >= MAX_DEPTH or type(item.value) is not str or not holds_no_secret(item.value) or (
                        isinstance(item, str) and str.__str__(item) != item.value):
                    return None
            elif item is not None and kind is not bool:
                return None
        level, depth = deeper, depth + 1
    try:
        return orjson.dumps(value)
    except Exception:  # a lone surrogate: to_jsonable replaces and flags it
        return None


_SENSITIVE: dict[str, bool] = {}  # key -> SENSITIVE_KEYS.match(key): keys repeat (role, content, blocks, ...)


def _sensitive_key(key: str) -> bool:
    known = _SENSITIVE.get(key)
    if known is None:
        known = SENSITIVE_KEYS.match(key) is not None
        if len(_SENSITIVE) >= 4096:
            _SENSITIVE.clear()
        _SENSITIVE[key] = known
    return known


def model_mapping(model: BaseModel) -> Any:
    """What `to_jsonable` records a pydantic model as (then walking it like any map): a workflow event's
    `event_payload`, any other model's fields (`dict(model)`, nested models left as they are). May raise."""
    return event_payload(model) if hasattr(model, "_data") else dict(model)


def models_as_mappings(value: Any) -> Any:
    """`value` with every pydantic model inside exact dicts, lists and tuples replaced by its `model_mapping`, so
    the direct path can take payloads holding models (a message's tool calls, a run's result event); only the
    containers on the way to a model are copied. `value` itself when there is none, or when a mapping fails or a
    model or container is MAX_DEPTH deep (which also ends a cycle): `to_jsonable` flags those, the strict path.

    `to_jsonable` of the result equals `to_jsonable(value)`: it maps each model the same way, at the same depth and
    path; `plain_json` then accepts the result only where `to_jsonable` flags nothing."""
    try:
        return _without_models(value, 0)
    except _GiveUp:
        return value


class _GiveUp(Exception):
    pass


def _without_models(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            raise _GiveUp
        copy = None
        for key, item in value.items():
            if type(item) in _SCALARS:
                continue
            new = _without_models(item, depth + 1)
            if new is not item:
                if copy is None:
                    copy = dict(value)
                copy[key] = new
        return value if copy is None else copy
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            raise _GiveUp
        array = None
        for i, item in enumerate(value):
            if type(item) in _SCALARS:
                continue
            new = _without_models(item, depth + 1)
            if new is not item:
                if array is None:
                    array = list(value)
                array[i] = new
        return value if array is None else (array if kind is list else tuple(array))
    if isinstance(value, BaseModel):
        if depth >= MAX_DEPTH:
            raise _GiveUp
        try:
            mapped = model_mapping(value)
        except Exception:
            raise _GiveUp from None
        return _without_models(mapped, depth)  # its items are one level deeper, as in `to_jsonable`
    return value


def event_payload(event: Any) -> Any:
    """The fields of a workflow event as one map: declared fields plus keyword-built ones (`StartEvent(n=3)`)."""
    try:
        dumped = event.model_dump()
    except Exception:
        dumped = dict(getattr(event, "__dict__", {}))
        extra = getattr(event, "_data", None)
        if extra:
            dumped["_data"] = dict(extra)
    extra = dumped.pop("_data", None)
    if isinstance(extra, Mapping):
        for key, item in extra.items():
            dumped.setdefault(key, item)
    return dumped


def to_jsonable(value: Any, coerced: list[str], path: str = "", _depth: int = 0, _seen: set[int] | None = None) -> Any:
    """A JSON-safe copy of `value`; every lossy step appends `"<path>: <reason>"` to `coerced`. Never raises."""
    kind = type(value)
    if kind is str:
        return _checked_str(value, coerced, path)
    if kind in _SCALARS:
        if kind is float and not math.isfinite(value):
            coerced.append(f"{path}: non-finite-float")
            return repr(value)
        if kind is int and not (_INT64_MIN <= value <= _INT64_MAX):
            coerced.append(f"{path}: int-out-of-range")
            return str(value)
        return value
    if _depth >= MAX_DEPTH:
        coerced.append(f"{path}: depth")
        return f"<depth limit {MAX_DEPTH} exceeded>"
    seen = _seen if _seen is not None else set()
    if isinstance(value, (Mapping, list, tuple, set, frozenset, BaseModel)) or dataclasses.is_dataclass(value):
        if id(value) in seen:
            coerced.append(f"{path}: cycle")
            return "<cycle>"
        seen.add(id(value))
        try:
            return _container(value, coerced, path, _depth, seen)
        finally:
            seen.discard(id(value))
    return _leaf(value, coerced, path)


def _container(value: Any, coerced: list[str], path: str, depth: int, seen: set[int]) -> Any:
    if isinstance(value, BaseModel):
        try:
            value = model_mapping(value)
        except Exception:
            coerced.append(f"{path}: not-json-type:{type(value).__name__}")
            return _safe_repr(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                coerced.append(f"{path}/{key!s}: non-string-key")
                key = str(key)
            if SENSITIVE_KEYS.match(key) and item is not None:
                coerced.append(f"{path}/{key}: secret-redacted:sensitive-key")
                out[key] = "[REDACTED:sensitive-key]"
                continue
            out[key] = to_jsonable(item, coerced, f"{path}/{key}", depth + 1, seen)
        return out
    if isinstance(value, (set, frozenset)):
        coerced.append(f"{path}: not-json-type:{type(value).__name__}")
        value = sorted(value, key=repr)
    return [to_jsonable(item, coerced, f"{path}/{i}", depth + 1, seen) for i, item in enumerate(value)]


def _leaf(value: Any, coerced: list[str], path: str) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        coerced.append(f"{path}: bytes")
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, coerced, path)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, PurePath)):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):  # str subclass
        return _checked_str(str(value), coerced, path)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return to_jsonable(int(value), coerced, path)
    if isinstance(value, float):
        return to_jsonable(float(value), coerced, path)
    coerced.append(f"{path}: not-json-type:{type(value).__name__}")
    return _safe_repr(value)


def _checked_str(value: str, coerced: list[str], path: str) -> str:
    try:
        if not value.isascii():  # ASCII is valid UTF-8: no copy needed to know it
            value.encode("utf-8")
    except UnicodeEncodeError:
        coerced.append(f"{path}: invalid-utf8")
        # Lone surrogates are the only str content UTF-8 cannot hold; each becomes U+FFFD.
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    value, secrets = redact_secrets(value)
    coerced.extend(f"{path}: secret-redacted:{kind}" for kind in secrets)
    return value


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"
    return _checked_str(text[:1024], [], "")
