"""Span and log-record processors that stamp the attribution in force (`gxp_otel.attribution`) on every record.

They run first in their provider's pipeline (installed at the front), so exporters that export synchronously
(the compliance exporters behind a SimpleSpanProcessor, say) already see the attributes. Values set explicitly on a
record win over the attribution context. The workflow run id (`gxp.workflow.run_id`) is added to anything started
inside a workflow run, including LLM spans and Python log records from steps.

Log records also get what OpenInference's `using_user`, `using_session`, `using_metadata`, `using_tags` and
`using_attributes` put in the OTel context (`user.id`, `session.id`, `metadata`, `tag.tags`, ...; read with
OpenInference's public `get_attributes_from_context`): OpenInference stamps them on its spans only, so stream-event
and bridged log records written under them would otherwise not be attributable. gxp-otel's own attribution wins.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from opentelemetry.context import Context, get_current
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk.trace import Span, SpanProcessor

from gxp_otel.attribution import RUN_ID, current_attributes

try:  # OpenInference's context attributes (using_user / using_session / using_metadata ...)
    from openinference.instrumentation import get_attributes_from_context
except ImportError:  # pragma: no cover - OpenInference is a declared dependency of the instrumentation

    def get_attributes_from_context() -> Any:
        return ()

try:  # the keys `get_attributes_from_context` reads, to read them from one context lookup (same keys, same order)
    from openinference.instrumentation.context_attributes import CONTEXT_ATTRIBUTES as _CONTEXT_KEYS
except ImportError:  # pragma: no cover - another OpenInference layout: ask it key by key
    _CONTEXT_KEYS = None

try:  # the run id of the workflow run this code executes in
    from workflows.plugins.basic import get_current_run_id
except ImportError:  # pragma: no cover - workflows is a declared dependency

    def get_current_run_id() -> str | None:
        return None


def attribution_now() -> dict[str, Any]:
    """The attribution attributes plus the current workflow run id, as one new dict."""
    attributes = dict(current_attributes())
    run_id = get_current_run_id()
    if run_id:
        attributes[RUN_ID] = run_id
    return attributes


class AttributionSpanProcessor(SpanProcessor):
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = attribution_now()
        if not attributes:
            return
        existing = span.attributes
        if existing:  # the keys once: `in` on the SDK's attribute mapping costs a KeyError per missing key
            keys = set(existing)
            attributes = {k: v for k, v in attributes.items() if k not in keys}
        span.set_attributes(attributes)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing buffered; the SDK base returns None, which SDK 1.40's multi-processor counts as failed


def context_attributes() -> list[tuple[str, Any]]:
    """`list(get_attributes_from_context())`, read from the current context once instead of once per key."""
    if _CONTEXT_KEYS is None:
        return list(get_attributes_from_context())
    context = get_current()
    return [(key, value) for key in _CONTEXT_KEYS if (value := context.get(key)) is not None]


def log_attribution_now() -> dict[str, Any]:
    """What `AttributionLogRecordProcessor` adds to a log record emitted here (keys the record lacks): the
    attribution, the run id and OpenInference's context attributes, gxp-otel's winning."""
    attributes = attribution_now()
    for key, value in context_attributes():
        attributes.setdefault(key, value)
    return attributes


# The API `LogRecord` being emitted by gxp-otel's stream-event recorder, which set on it, before emitting, every key
# the acting-agent and attribution log processors would add (`stream_events`): they leave that one record alone.
# A record emitted meanwhile by anything else (a processor's own logging, say) is another object and stamped as ever.
_stamped_record: ContextVar[Any] = ContextVar("gxp_otel_stamped_log_record", default=None)


def emit_stamped(logger: Any, record: Any) -> None:
    """`logger.emit(record)` for a record already carrying what the log processors add (see `_stamped_record`)."""
    token = _stamped_record.set(record)
    try:
        logger.emit(record)
    finally:
        _stamped_record.reset(token)


def is_stamped(log_record: Any) -> bool:
    """Whether the SDK record `log_record` wraps the API record `emit_stamped` is emitting."""
    stamped = _stamped_record.get()
    return stamped is not None and getattr(log_record, "log_record", log_record) is stamped


class AttributionLogRecordProcessor(LogRecordProcessor):
    def on_emit(self, log_record: Any) -> None:
        if is_stamped(log_record):
            return
        attributes = log_attribution_now()
        if not attributes:
            return
        record = log_record.log_record
        existing = record.attributes
        if existing is None:
            record.attributes = attributes
            return
        for key, value in attributes.items():
            if key not in existing:
                existing[key] = value

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def install_first(provider: Any, processor: Any) -> bool:
    """Add `processor` to an SDK TracerProvider or LoggerProvider, moved to the front of its pipeline.

    Returns False (and adds nothing) when `provider` is not an SDK provider or already has a processor of this
    type. Moving to the front uses the SDK's multi-processor tuple; if that ever changes, the processor stays last,
    which still works for batching exporters.
    """
    add = getattr(provider, "add_span_processor", None) or getattr(provider, "add_log_record_processor", None)
    if add is None:
        return False
    if type(provider).__module__.startswith("phoenix.otel"):  # register()'s provider: keep Phoenix's own exporter
        original_add = add
        add = lambda p: original_add(p, replace_default_processor=False)  # noqa: E731
    multi = getattr(provider, "_active_span_processor", None) or getattr(provider, "_multi_log_record_processor", None)
    current = tuple(getattr(multi, "_span_processors", None) or getattr(multi, "_log_record_processors", None) or ())
    if any(type(p) is type(processor) for p in current):
        return False
    add(processor)
    for name in ("_span_processors", "_log_record_processors"):
        procs = getattr(multi, name, None)
        if isinstance(procs, tuple) and procs and procs[-1] is processor:
            lock = getattr(multi, "_lock", None)
            if lock is not None:
                with lock:
                    setattr(multi, name, (processor, *procs[:-1]))
            else:
                setattr(multi, name, (processor, *procs[:-1]))
    return True


def remove_processor(provider: Any, processor_type: type) -> None:
    """Remove processors of `processor_type` from an SDK provider's pipeline (used by uninstrument)."""
    multi = getattr(provider, "_active_span_processor", None) or getattr(provider, "_multi_log_record_processor", None)
    for name in ("_span_processors", "_log_record_processors"):
        procs = getattr(multi, name, None)
        if isinstance(procs, tuple):
            setattr(multi, name, tuple(p for p in procs if type(p) is not processor_type))
