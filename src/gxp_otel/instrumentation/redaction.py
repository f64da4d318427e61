"""Secrets and the payload cap on EVERY span, span event and log record, before any exporter sees them.

The workflow payloads gxp-otel captures itself (`payload.py`) are redacted and capped at capture. Everything else in
the pipeline (OpenInference's `llm.prompts`, `llm.input_messages.*`, `input.value`/`output.value` of LLM, tool,
retriever and agent spans, tool arguments and results, exception events, status descriptions, Python log records
bridged to OTel, any span the application makes itself) goes through `RecordSanitizer` here:

- every string (and every string in a string sequence) has the default secret patterns (`secrets.py`) replaced by
  `[REDACTED:<kind>]`, listed in `gxp.capture.redacted` as `"<key>: <kind>"` (`body: <kind>` for a log body);
- a string longer than `max_chars` is cut to it and listed in `gxp.capture.truncated` as
  `"<key> size=<bytes> sha256=<hex>"` (size and SHA-256 of the full UTF-8 text after redaction), so the record
  proves what was there without holding all of it.

Once per value: values gxp-otel's own capture produced are not scanned again (the enricher marks those keys per
span with `mark_clean`; span events' `gxp.event.payload` and the stream-event log records of gxp-otel's own logger
scope are produced by that capture too).

Where it sits: `RedactionSpanProcessor` and `RedactionLogRecordProcessor` are installed at the FRONT of the tracer
and logger providers' pipelines by the instrumentor. The SDK hands one `ReadableSpan` (one log record) to every
processor in order, so what this processor replaces is what every later processor (the OTLP batch processor, the
compliance batch processor, the application's own, Phoenix's) exports. Spans are immutable after end through the
public API, so the span processor replaces the `ReadableSpan`'s attribute, event and status fields (the one place
gxp-otel touches SDK span internals; the dropped-attribute and dropped-event counts are kept). Log records are
mutable in `on_emit` and are changed through their public fields.

Thread-safety: stateless apart from the clean-key table and `secrets.holds_no_secret`'s bounded table of texts
known to hold no secret (dicts; single-key operations are atomic under the GIL).
Never raises: a failure is counted (`errors_by_kind["redaction"]`) and the record goes on unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Status

from gxp_otel.instrumentation.gamp_policy import PAYLOAD_PREFIXES
from gxp_otel.instrumentation.secrets import holds_no_secret, redact_secrets
from gxp_otel.instrumentation.statistics import TelemetryStatistics

REDACTED_KEYS = "gxp.capture.redacted"
TRUNCATED_KEYS = "gxp.capture.truncated"
HASHED_KEYS = "gxp.capture.hashed"  # payload attributes replaced by their hash under a `hashed` GAMP policy
HIDDEN = "__REDACTED__"
RUN_ID_KEY = "gxp.workflow.run_id"
OWN_SCOPE = "gxp_otel.instrumentation"  # the stream-event logger: bodies come from the payload capture
_OWN_KEYS = frozenset({REDACTED_KEYS, TRUNCATED_KEYS, HASHED_KEYS, "gxp.event.payload"})


class RecordSanitizer:
    """Redacts secrets in and caps every string value of an attribute map, a log body or a status description."""

    def __init__(self, max_chars: int = 4096, statistics: TelemetryStatistics | None = None) -> None:
        self.max_chars = max(16, int(max_chars))
        self.statistics = statistics
        self._clean: dict[int, frozenset[str]] = {}
        self.policies: Any = None  # gamp_policy.RunPolicies

    # -- keys the payload capture already produced -------------------------------------------------------------
    def mark_clean(self, span_id: int, keys: Any) -> None:
        """`keys` of span `span_id` were produced by gxp-otel's payload capture (already redacted and capped)."""
        self._clean[span_id] = self._clean.get(span_id, frozenset()) | frozenset(keys)

    # -- values -------------------------------------------------------------------------------------------------
    def text(self, key: str, value: str, redacted: list[str], truncated: list[str]) -> str:
        value, kinds = redact_secrets(value)
        redacted.extend(f"{key}: {kind}" for kind in kinds)
        if len(value) > self.max_chars:
            raw = value.encode("utf-8", "surrogatepass")
            truncated.append(f"{key} size={len(raw)} sha256={hashlib.sha256(raw).hexdigest()}")
            value = value[: self.max_chars]
        return value

    def value(self, key: str, value: Any, redacted: list[str], truncated: list[str]) -> Any:
        if isinstance(value, str):
            return self.text(key, value, redacted, truncated)
        if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)) and value \
                and all(isinstance(item, str) for item in value):
            return tuple(self.text(f"{key}/{i}", item, redacted, truncated) for i, item in enumerate(value))
        if isinstance(value, Mapping):  # structured log bodies / extended attributes
            return {k: self.value(f"{key}/{k}", item, redacted, truncated) for k, item in value.items()}
        if isinstance(value, list):
            return [self.value(f"{key}/{i}", item, redacted, truncated) for i, item in enumerate(value)]
        return value

    def attributes(self, attributes: Mapping[str, Any] | None, skip: frozenset[str] = frozenset(),
                   hash_payloads: bool = False) -> dict | None:
        """A sanitised copy of `attributes` with the `gxp.capture.*` lists added, or None when nothing changed.
        With `hash_payloads` (a GAMP policy's `hashed`), payload attributes become `__REDACTED__`, their size and
        SHA-256 listed in `gxp.capture.hashed`."""
        if not attributes:
            return None
        if not hash_payloads and all(self._unchanged(key, item, skip) for key, item in attributes.items()):
            return None  # the common case: one pass, no copy
        redacted: list[str] = []
        truncated: list[str] = []
        hashed: list[str] = []
        out: dict[str, Any] = {}
        for key, item in attributes.items():
            if key in skip or key in _OWN_KEYS:
                out[key] = item
            elif hash_payloads and isinstance(item, str) and item != HIDDEN and key.startswith(PAYLOAD_PREFIXES):
                raw = item.encode("utf-8", "surrogatepass")
                hashed.append(f"{key} size={len(raw)} sha256={hashlib.sha256(raw).hexdigest()}")
                out[key] = HIDDEN
            else:
                out[key] = self.value(key, item, redacted, truncated)
        if not (redacted or truncated or hashed):
            return None
        _extend(out, REDACTED_KEYS, redacted)
        _extend(out, TRUNCATED_KEYS, truncated)
        _extend(out, HASHED_KEYS, hashed)
        return out

    def _unchanged(self, key: str, item: Any, skip: frozenset[str]) -> bool:
        """True when sanitising would leave `item` as it is (no secret, within the cap); cheap for repeated values."""
        if type(item) is not str:
            if isinstance(item, (bool, int, float)) or item is None:
                return True
            return key in skip or key in _OWN_KEYS or not (isinstance(item, (Sequence, Mapping))
                                                           and not isinstance(item, (bytes, bytearray)))
        if key in skip or key in _OWN_KEYS:
            return True
        return len(item) <= self.max_chars and holds_no_secret(item)

    # -- records ------------------------------------------------------------------------------------------------
    def sanitize_span(self, span: ReadableSpan) -> None:
        """Replace `span`'s attributes, events and status description by sanitised ones (only when changed)."""
        skip = self._clean.pop(span.context.span_id, frozenset()) if span.context is not None else frozenset()
        attributes = _plain(span._attributes)
        hash_payloads = False
        if self.policies is not None and attributes:
            run_id = attributes.get(RUN_ID_KEY)
            hash_payloads = run_id is not None and self.policies.of(run_id).hashes_payloads
        new = self.attributes(attributes, skip, hash_payloads)
        if new is not None:
            old = span._attributes
            replacement = BoundedAttributes(maxlen=None, attributes=new, immutable=True)
            replacement.dropped = getattr(old, "dropped", 0)
            span._attributes = replacement
        events = span.events
        if events:
            changed = False
            sanitized = []
            for event in events:
                attributes = self.attributes(_plain(event.attributes))
                if attributes is None:
                    sanitized.append(event)
                else:
                    changed = True
                    sanitized.append(Event(event.name, attributes, event.timestamp))
            if changed:
                old_events = span._events
                replacement_events = BoundedList(None)
                replacement_events.extend(sanitized)
                replacement_events.dropped = getattr(old_events, "dropped", 0)
                span._events = replacement_events
        status = span.status
        if status is not None and status.description:
            description, kinds = redact_secrets(status.description)
            if kinds:
                span._status = Status(status.status_code, description)

    def sanitize_log(self, log_data: Any) -> None:
        """Sanitise a log record's body and attributes in place (`ReadWriteLogRecord` or `LogData`)."""
        scope = getattr(log_data, "instrumentation_scope", None)
        if scope is not None and scope.name == OWN_SCOPE:
            return
        record = getattr(log_data, "log_record", log_data)
        redacted: list[str] = []
        truncated: list[str] = []
        body = record.body
        if body is not None:
            new_body = self.value("body", body, redacted, truncated)
            if redacted or truncated:
                record.body = new_body
        attributes = record.attributes
        new = self.attributes(attributes)
        if new is None and not (redacted or truncated):
            return
        merged = dict(new if new is not None else (attributes or {}))
        _extend(merged, REDACTED_KEYS, redacted)
        _extend(merged, TRUNCATED_KEYS, truncated)
        if attributes is None:
            record.attributes = merged
            return
        for key, item in merged.items():
            attributes[key] = item

    def failed(self, exc: Exception) -> None:
        if self.statistics is not None:
            self.statistics.error("redaction", exc)


def _plain(attributes: Any) -> Any:
    """The dict inside the SDK's `BoundedAttributes` (an ended span's or an event's: nothing writes it any more),
    read directly: through the mapping interface every key costs a lock and a `__getitem__`."""
    inner = getattr(attributes, "_dict", None)
    return inner if type(inner) is dict else attributes


def _extend(attributes: dict[str, Any], key: str, entries: list[str]) -> None:
    if entries:
        attributes[key] = tuple(attributes.get(key) or ()) + tuple(entries)


class RedactionSpanProcessor(SpanProcessor):
    """First in the tracer provider's pipeline: every ended span is sanitised before any exporter's processor."""

    def __init__(self, sanitizer: RecordSanitizer) -> None:
        self.sanitizer = sanitizer

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self.sanitizer.sanitize_span(span)
        except Exception as exc:
            self.sanitizer.failed(exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing buffered; the SDK base returns None, which SDK 1.40's multi-processor counts as failed


class RedactionLogRecordProcessor(LogRecordProcessor):
    """First in the logger provider's pipeline: every log record is sanitised before any exporter's processor."""

    def __init__(self, sanitizer: RecordSanitizer) -> None:
        self.sanitizer = sanitizer

    def on_emit(self, log_record: Any) -> None:
        try:
            self.sanitizer.sanitize_log(log_record)
        except Exception as exc:
            self.sanitizer.failed(exc)

    def emit(self, log_data: Any) -> None:  # opentelemetry-sdk < 1.28 called it emit
        self.on_emit(log_data)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
