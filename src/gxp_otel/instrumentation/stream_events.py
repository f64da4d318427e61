"""Stream events -> one OTel log record and one span event each.

`ctx.write_event_to_stream(ev)` has no official hook; it runs inside the emitting step's span, so the wrapper
installed by `GxpWorkflowInstrumentor` calls `StreamEventRecorder.record(ev)` right after the real write, with the
step span current. Each recorded event becomes:

- a span event on that step span, named after the event class (Phoenix shows span events, not logs), and
- a log record with `event_name` = the event class, body = the (bounded, maskable) payload, the step span's trace
  and span ids, and the same attributes except the payload text (the body holds it).

The log record carries `gxp.event.type`, `gxp.event.source` (`stream`, `step-return` for an `InputRequiredEvent` a
step returned, `wait-for-event` for the waiter event of a step pausing in `ctx.wait_for_event`, `human-response`
for a `HumanResponseEvent` sent into the run), `gxp.step.name` when inside a step,
the run id and attribution (added by the attribution processor from the context), and the payload flags
(`gxp.event.payload.sha256`/`.size`/`.truncated`/`.redacted`/`.coerced`, see `payload.py`). The span event carries
only what its step span does not: the payload text `gxp.event.payload` with the same flags, and the source when
it is not `stream`.
The user's stream is never consumed. Nothing here raises into the workflow: failures are counted.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import Logger, SeverityNumber
from opentelemetry.context import Context

from gxp_otel.attribution import RUN_ID, USER_ID
from gxp_otel.instrumentation.attribution_processors import attribution_now
from gxp_otel.instrumentation.event_routing import EventFilter, EventRouter
from gxp_otel.instrumentation.payload import PayloadCapture
from gxp_otel.instrumentation.statistics import TelemetryStatistics

try:
    from workflows.runtime.types.results import StepWorkerStateContextVar
except ImportError:  # pragma: no cover
    StepWorkerStateContextVar = None  # type: ignore[assignment]

EVENT_TYPE = "gxp.event.type"
EVENT_SOURCE = "gxp.event.source"
EVENT_PAYLOAD = "gxp.event.payload"
STEP_NAME = "gxp.step.name"
HITL_ACTION = "gxp.hitl.action"
HITL_RESPONDER = "gxp.hitl.responder"


def event_type_of(event: Any) -> str:
    """The event's class name, or for events naming themselves (`gxp_event_type_field`), that field's value."""
    field_name = getattr(type(event), "gxp_event_type_field", None)
    if field_name:
        name = getattr(event, field_name, None)
        if isinstance(name, str) and name:
            return name
    return type(event).__name__


def current_step_name() -> str | None:
    if StepWorkerStateContextVar is None:
        return None
    step_ctx = StepWorkerStateContextVar.get(None)
    state = getattr(step_ctx, "state", None)
    return getattr(state, "step_name", None)


class RunSpans:
    """Run spans by run id (bounded): open ones, so events sent into a run from outside land on it, and the span
    contexts of recent runs, open or ended, so a serialised context can name its run's trace."""

    def __init__(self, capacity: int = 4096) -> None:
        self._spans: OrderedDict[str, trace.Span] = OrderedDict()
        self._contexts: OrderedDict[str, tuple[trace.SpanContext, dict[str, Any]]] = OrderedDict()
        self._capacity = capacity

    def opened(self, run_id: str, span: trace.Span, attribution: dict[str, Any] | None = None) -> None:
        self._spans[run_id] = span
        self._contexts[run_id] = (span.get_span_context(), dict(attribution or {}))
        for table in (self._spans, self._contexts):
            while len(table) > self._capacity:
                table.popitem(last=False)

    def closed(self, run_id: str | None) -> None:
        if run_id is not None:
            self._spans.pop(run_id, None)

    def get(self, run_id: str | None) -> trace.Span | None:
        return self._spans.get(run_id) if run_id is not None else None

    def context_of(self, run_id: str | None) -> tuple[trace.SpanContext, dict[str, Any]] | None:
        """The run span's context and the attribution block the run started under."""
        return self._contexts.get(run_id) if run_id is not None else None


class StreamEventRecorder:
    def __init__(
        self,
        logger: Logger,
        capture: PayloadCapture,
        statistics: TelemetryStatistics,
        event_filter: EventFilter | None = None,
        router: EventRouter | None = None,
    ) -> None:
        self.logger = logger
        self.capture = capture
        self.statistics = statistics
        self.event_filter = event_filter or EventFilter()
        self.router = router
        self.run_spans = RunSpans()

    def record(
        self,
        event: Any,
        *,
        source: str = "stream",
        span: trace.Span | None = None,
        run_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Record one event on `span` (default: the current span) and as a log record; never raises."""
        try:
            self._record(event, source, span, run_id, extra)
        except Exception as exc:
            self.statistics.error("stream-event", exc)

    def _record(
        self, event: Any, source: str, span: trace.Span | None, run_id: str | None, extra: dict[str, Any] | None
    ) -> None:
        event_type = event_type_of(event)
        if not self.event_filter.allows(event_type):
            self.statistics.filtered()
            return
        captured = self.capture.capture_event(event) if hasattr(event, "model_dump") else self.capture.capture(event)
        # Span event: only what the enclosing step span does not already say.
        event_attributes = captured.attributes(EVENT_PAYLOAD)
        if source != "stream":
            event_attributes[EVENT_SOURCE] = source
        if extra:
            event_attributes.update(extra)
        now = time.time_ns()
        target = span if span is not None else trace.get_current_span()
        if target.is_recording():
            target.add_event(event_type, event_attributes, timestamp=now)
        # Log record: self-contained (the attribution processor adds who and the run id from the context).
        del event_attributes[EVENT_PAYLOAD]  # the body holds the payload itself
        attributes = {EVENT_TYPE: event_type, EVENT_SOURCE: source, **event_attributes}
        if run_id is not None:
            attributes[RUN_ID] = run_id
        step = current_step_name()
        if step is not None:
            attributes.setdefault(STEP_NAME, step)
        context: Context | None = trace.set_span_in_context(target) if span is not None else None
        self.logger.emit(
            timestamp=now,
            observed_timestamp=now,
            context=context,
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body=captured.value,
            attributes=attributes,
            event_name=event_type,
        )
        self.statistics.event(event_type)
        if self.router is not None:
            self.router.route(event_type, attributes, captured.value, captured.text)

    def record_human_response(self, event: Any, run_id: str | None, fallback: trace.Span | None = None) -> None:
        """A `HumanResponseEvent` sent into run `run_id`: an attributable action, correlated to the run span, or,
        when that span has not started yet (a run resumed a moment ago), to `fallback` (its trace's origin)."""
        try:
            responder = attribution_now().get(USER_ID, "")
            extra = {HITL_ACTION: "human-response", HITL_RESPONDER: responder}
            span = self.run_spans.get(run_id) or fallback
            self.record(event, source="human-response", span=span, run_id=run_id, extra=extra)
        except Exception as exc:
            self.statistics.error("human-response", exc)
