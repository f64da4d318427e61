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
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import Logger, LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode

from gxp_otel.attribution import (AGENT_ID, CORRELATION_ID, GAMP_CATEGORY, RISK_LEVEL, RUN_ID, SESSION_ID, USER_ID,
                                   declared_responder)
from gxp_otel.instrumentation.attribution_processors import emit_stamped, log_attribution_now
from gxp_otel.instrumentation.event_routing import EventFilter, EventRouter
from gxp_otel.instrumentation.payload import PayloadCapture
from gxp_otel.instrumentation.statistics import TelemetryStatistics
from gxp_otel.instrumentation.stream_coalescing import StreamCoalescer

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
HITL_DECISION = "gxp.hitl.decision"  # declared | e-signed | automated
HITL_SENDER = "gxp.hitl.sender"
SIGNATURE_MISSING = "gxp.hitl.signature_missing"  # the run's GAMP policy requires an e-signature; there is none
OUTCOME = "gxp.workflow.outcome"  # completed | cancelled | suspended | interrupted (errors: status ERROR)
RUN_CONTEXT_KEYS = frozenset({CORRELATION_ID, SESSION_ID, GAMP_CATEGORY, RISK_LEVEL})


_TYPE_FIELDS: dict[type, Any] = {}  # event class -> its `gxp_event_type_field` (a class attribute), or None


def event_type_of(event: Any) -> str:
    """The event's class name, or for events naming themselves (`gxp_event_type_field`), that field's value.

    The class attribute is read once per class (on a pydantic model class a missing one costs an exception)."""
    kind = type(event)
    try:
        field_name = _TYPE_FIELDS[kind]
    except KeyError:
        field_name = getattr(kind, "gxp_event_type_field", None)
        if len(_TYPE_FIELDS) >= 1024:
            _TYPE_FIELDS.clear()
        _TYPE_FIELDS[kind] = field_name
    if field_name:
        name = getattr(event, field_name, None)
        if isinstance(name, str) and name:
            return name
    return kind.__name__


def current_step_name() -> str | None:
    if StepWorkerStateContextVar is None:
        return None
    step_ctx = StepWorkerStateContextVar.get(None)
    state = getattr(step_ctx, "state", None)
    return getattr(state, "step_name", None)


# The OTel span of the step executing in this context, set by the step-span enrichment only where OpenInference does
# not make its span current (older releases); the step's task ends with the step, and the value with it.
current_step_span: ContextVar[trace.Span | None] = ContextVar("gxp_otel_step_span", default=None)


try:
    from workflows.plugins.basic import get_current_run_id as _get_current_run_id
except ImportError:  # pragma: no cover
    _get_current_run_id = None


def current_run_id() -> str | None:
    """The run id of the workflow run this code executes in (imported once: this is called per span and record)."""
    try:
        return _get_current_run_id() if _get_current_run_id is not None else None
    except Exception:
        return None


class RunSpans:
    """Run spans by run id (bounded): open ones, so events sent into a run from outside land on it, and the span
    contexts of recent runs, open or ended, so a serialised context can name its run's trace."""

    def __init__(self, capacity: int = 4096) -> None:
        self._spans: OrderedDict[str, trace.Span] = OrderedDict()
        self._waiting: set[str] = set()  # open runs paused on a human (input-required recorded, no answer yet)
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
            self._waiting.discard(run_id)

    def waiting(self, run_id: str | None, paused: bool = True) -> None:
        """Run `run_id` is paused waiting for an answer (or, `paused=False`, has been answered)."""
        if run_id is None:
            return
        if paused and run_id in self._spans:
            self._waiting.add(run_id)
        elif not paused:
            self._waiting.discard(run_id)

    def is_waiting(self, run_id: str | None) -> bool:
        return run_id in self._waiting

    def end_open_runs(self) -> int:
        """End the span of every run still open (the process is ending): a run paused on a human is recorded as
        `gxp.workflow.outcome=suspended` with status OK (a resumed run continues its trace from this span); any other
        as `interrupted`, status ERROR. Returns how many were ended."""
        ended = 0
        for run_id, span in list(self._spans.items()):
            try:
                if not span.is_recording():  # already ended (cancelled as the event loop closed, say)
                    continue
                if run_id in self._waiting:
                    span.set_attribute(OUTCOME, "suspended")
                    span.set_status(Status(StatusCode.OK))
                else:
                    span.set_attribute(OUTCOME, "interrupted")
                    span.set_status(Status(StatusCode.ERROR, "the process ended before the run did"))
                span.end()
                ended += 1
            except Exception:
                pass
        self._spans.clear()
        self._waiting.clear()
        return ended

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
        self.coalescer = StreamCoalescer()
        self.policies: Any = None  # gamp_policy.RunPolicies
        self.agents: Any = None  # acting_agents.ActingAgents of a multi-agent run

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
        run = run_id or current_run_id()
        if span is None and self.coalescer.accepts(event_type, event):  # a token: one record per message
            self.coalescer.add(event, run, current_step_name())
            return
        self.flush_streams(run)  # a streamed message is complete once its run records anything else
        captured = self.capture.capture_event(event) if hasattr(event, "model_dump") else self.capture.capture(event)
        self._emit(event_type, captured, source, span, run_id, extra)

    def flush_streams(self, run_id: str | None = None, fallback: trace.Span | None = None,
                      everything: bool = False) -> None:
        """Emit the coalesced token-stream messages of `run_id` (or all); on `fallback` when their span ended."""
        try:
            for message in self.coalescer.take(run_id=run_id, everything=everything):
                target = message.span if message.span.is_recording() or fallback is None else fallback
                self._emit(message.event_type, self.capture.capture(message.body), "stream", target,
                           message.run_id, message.attributes)
        except Exception as exc:
            self.statistics.error("stream-event", exc)

    def _emit(self, event_type: str, captured: Any, source: str, span: trace.Span | None, run_id: str | None,
              extra: dict[str, Any] | None) -> None:
        # Span event: only what the enclosing step span does not already say.
        event_attributes = captured.attributes(EVENT_PAYLOAD)
        if source != "stream":
            event_attributes[EVENT_SOURCE] = source
        if extra:
            event_attributes.update(extra)
        now = time.time_ns()
        target = span if span is not None else trace.get_current_span()
        if span is None and not target.get_span_context().is_valid:
            # OpenInference releases before 4.5 do not make their spans current: the step span, as the enrichment saw it
            fallback = current_step_span.get()
            if fallback is not None:
                target = span = fallback
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
        # What the acting-agent and attribution log processors add, in their order and only where a key is missing,
        # set here before the SDK makes its record (they then find every key present): one dict instead of a locked
        # set per key on the record's attribute map. The processors still stamp every other log record.
        agents = self.agents
        if agents is not None:
            agent = agents.current()
            if agent:
                attributes.setdefault(AGENT_ID, agent)
        for key, value in log_attribution_now().items():
            attributes.setdefault(key, value)
        context: Context | None = trace.set_span_in_context(target) if span is not None else None
        emit_stamped(self.logger, LogRecord(
            timestamp=now,
            observed_timestamp=now,
            context=context,
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body=captured.value,
            attributes=attributes,
            event_name=event_type,
        ))
        self.statistics.event(event_type)
        if extra and extra.get(HITL_ACTION) == "input-required":
            self.run_spans.waiting(run_id or attributes.get(RUN_ID) or current_run_id())
        if self.router is not None:
            self.router.route(event_type, attributes, captured.value, captured.text)

    def record_human_response(self, event: Any, run_id: str | None, fallback: trace.Span | None = None,
                              run_attribution: dict[str, Any] | None = None) -> None:
        """A `HumanResponseEvent` sent into run `run_id`, correlated to the run span, or, when that span has not
        started yet (a run resumed a moment ago), to `fallback` (its trace's origin).

        A person's answer only when the answering side declared who answered (`send_human_response`): then
        `gxp.hitl.action=human-response`, `gxp.hitl.responder` and `enduser.id` = that person, `gxp.hitl.decision` =
        `declared` (`e-signed` only when the event's `signature` is a record reference `{stream, seq, hash}`, what
        `gxp_otel.sign(...)` returns and audit-format.md §12.4 checks; any other value, for example a bare key id
        and signature, would be a claim the verifier rejects, so it is `declared`). Anything else is
        `automated-response` / `automated`, with `gxp.hitl.sender` = the sending step (or `application`) and no
        responder. Either way the record carries the run's correlation id, session, GAMP category and risk level
        (`run_attribution`, the attribution the run started under), so a search by change-control number finds it.
        """
        try:
            responder = declared_responder()
            if responder:
                signed = _is_record_reference(getattr(event, "signature", None))
                extra = {HITL_ACTION: "human-response", HITL_RESPONDER: responder, USER_ID: responder,
                         HITL_DECISION: "e-signed" if signed else "declared"}
            else:
                extra = {HITL_ACTION: "automated-response", HITL_DECISION: "automated",
                         HITL_SENDER: current_step_name() or "application"}
            if self.policies is not None:
                policy = self.policies.of(run_id)
                extra["gxp.capture.policy"] = policy.name
                if responder and policy.signature_required and extra[HITL_DECISION] != "e-signed":
                    extra[SIGNATURE_MISSING] = True
            run_context = self.run_spans.context_of(run_id)
            for key, value in {**(run_attribution or {}), **(run_context[1] if run_context else {})}.items():
                if key in RUN_CONTEXT_KEYS:
                    extra[key] = value
            span = self.run_spans.get(run_id) or fallback
            self.run_spans.waiting(run_id, paused=False)
            self.record(event, source="human-response", span=span, run_id=run_id, extra=extra)
        except Exception as exc:
            self.statistics.error("human-response", exc)


def _is_record_reference(value: Any) -> bool:
    """Whether ``value`` (a dict, or a model with ``model_dump``) has the shape of a §12 record reference."""
    from gxp_otel.part11.statements import reference_problem

    if hasattr(value, "model_dump"):
        value = value.model_dump()
    return value is not None and reference_problem(value) is None
