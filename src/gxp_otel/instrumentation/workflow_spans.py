"""Enrich OpenInference's workflow run and step spans instead of duplicating them.

OpenInference makes one span per run (`<Workflow>.run`) and per step execution (`<Workflow>.<step>`), but records the
run's input as the internal BrokerState (about 2.3 KB of noise, and half its cost per run), a keyword-built
StartEvent as `StartEvent()`, outputs as 50/200-character summaries, and no run id. Its span object funnels input
and output through two methods, `_Span.process_input(instance, bound_args)` and `_Span.process_output(instance,
result)`, called right after the span starts and right before it ends. `WorkflowSpanEnricher` wraps exactly those
two: for workflow run and step spans it records the real payloads itself (bounded, SHA-256 of the full value,
maskable) and skips OpenInference's JSON encoding; every other span (LLM, retriever, tool...) goes through
OpenInference unchanged.

Attributes set (payload masking follows OpenInference's `TraceConfig` hide_inputs/hide_outputs, applied by our own
capture, see `payload.py`):

- run span: `input.value` (the start event's payload), `gxp.workflow.name`, `gxp.workflow.class`,
  `gxp.workflow.run_id`, `gxp.workflow.start_event`, `output.value` and `gxp.workflow.output_event`, and
  `gxp.workflow.resumed_from` for a run resumed from a serialised context;
- step span: `input.value` (the input event's payload), `gxp.step.name`, `gxp.step.input_event`, `gxp.step.worker`,
  `gxp.step.retry`, `gxp.workflow.run_id`, `output.value`, `gxp.step.output_event`;
- when a payload is cut or hidden, `gxp.input.sha256`/`.size`/`.truncated` (or `.redacted`), and the same for
  `gxp.output.*`; `.coerced` when values were coerced.

Errors are recorded by OpenInference (status ERROR, exception event); waiting for an event and cancellation end a
span OK (the workflows runtime and OpenInference already treat them so). `PropagationSpanHandler` implements the
dispatcher's `capture_propagation_context`/`restore_propagation_context` (W3C trace context plus the attribution in
force), which OpenInference does not, so a run resumed elsewhere stays in its trace and keeps its attribution.
"""

from __future__ import annotations

import inspect
from typing import Any

from llama_index_instrumentation.span_handlers import BaseSpanHandler
from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gxp_otel.attribution import AGENT_ID, RUN_ID, block_attributes, current_attributes, restore_block_attributes
from gxp_otel.instrumentation.gamp_policy import RunPolicies
from gxp_otel.instrumentation.acting_agents import HANDOFF_FROM, HANDOFF_TO, ActingAgents, AgentHandoff
from gxp_otel.instrumentation.context_carrier import CONTINUES, LINK_TYPE, RESUMED_FROM, continues, resumed_from
from gxp_otel.instrumentation.payload import CapturedPayload, PayloadCapture, event_payload
from gxp_otel.instrumentation.redaction import RecordSanitizer
from gxp_otel.instrumentation.statistics import TelemetryStatistics
from gxp_otel.instrumentation.stream_events import OUTCOME, STEP_NAME, StreamEventRecorder, current_step_span

from workflows import Workflow
from workflows.events import InputRequiredEvent, StopEvent
from workflows.plugins.basic import get_current_run_id
from workflows.runtime.types.results import StepWorkerStateContextVar
from workflows.runtime.types.step_function import WorkflowRunOutputEvent, WorkflowStepOutputEvent

INPUT_VALUE, INPUT_MIME_TYPE = "input.value", "input.mime_type"
OUTPUT_VALUE, OUTPUT_MIME_TYPE = "output.value", "output.mime_type"
JSON_MIME = "application/json"
WORKFLOW_NAME = "gxp.workflow.name"
PROPAGATION_KEY = "gxp_otel"
_OUTPUT_SUMMARY_EVENTS = (WorkflowStepOutputEvent, WorkflowRunOutputEvent)


def _payload(captured: CapturedPayload, value_key: str, mime_key: str, prefix: str) -> dict[str, Any]:
    attributes = {value_key: captured.text, mime_key: JSON_MIME}
    if captured.truncated or captured.redacted:
        attributes[f"{prefix}.sha256"] = captured.sha256
        attributes[f"{prefix}.size"] = captured.size
        attributes[f"{prefix}.truncated" if captured.truncated else f"{prefix}.redacted"] = True
    if captured.coerced:
        attributes[f"{prefix}.coerced"] = list(captured.coerced)
    return attributes


def _sdk_span(span: Any) -> Any:
    """The SDK span under OpenInference's masking proxy: our attributes are set on it in one call (our own payload
    capture already applies the masking), which costs a third of going through the proxy key by key."""
    otel_span = span._otel_span
    return getattr(otel_span, "__wrapped__", otel_span)


class WorkflowSpanEnricher:
    """The `process_input`/`process_output` wrappers; `span` below is OpenInference's `_Span`. Its role marker
    (`gxp.workflow.name` or `gxp.step.name`) goes into OpenInference's own attribute map, everything else straight
    onto the SDK span."""

    def __init__(self, capture: PayloadCapture, recorder: StreamEventRecorder, statistics: TelemetryStatistics,
                 sanitizer: RecordSanitizer | None = None, agents: ActingAgents | None = None,
                 policies: RunPolicies | None = None) -> None:
        self.capture = capture
        self.agents = agents or ActingAgents()
        self.policies = policies or RunPolicies()
        self.spans_by_id: dict[str, Any] = {}
        self.recorder = recorder
        self.statistics = statistics
        self.sanitizer = sanitizer

    def _set(self, sdk_span: Any, attributes: dict[str, Any]) -> None:
        """Set attributes our capture produced (already redacted and capped: not scanned again at span end)."""
        sdk_span.set_attributes(attributes)
        if self.sanitizer is not None:
            self.sanitizer.mark_clean(sdk_span.get_span_context().span_id, attributes.keys())

    # -- wrappers (wrapt signature) -------------------------------------------------------------------------
    def process_input(self, wrapped: Any, span: Any, args: tuple, kwargs: dict) -> Any:
        instance, bound_args = _input_args(args, kwargs)
        try:
            self.spans_by_id[span.id_] = span._otel_span  # for SpanOutcomeHandler; removed when the span exits
            if isinstance(instance, Workflow) and "init_state" in bound_args.arguments:
                self._run_started(span, instance, bound_args)
                return None
            step_ctx = StepWorkerStateContextVar.get(None)
            if step_ctx is not None and instance is None and _is_step_span(span, step_ctx):
                self._step_started(span, step_ctx, bound_args)
                return None
        except Exception as exc:
            self.statistics.error("span-input", exc)
        return wrapped(*args, **kwargs)

    def process_output(self, wrapped: Any, span: Any, args: tuple, kwargs: dict) -> Any:
        try:
            attributes = span._attributes
            if STEP_NAME in attributes:
                self._step_finished(span, _output_result(args, kwargs))
                return None
            if WORKFLOW_NAME in attributes:
                self._run_finished(span, _output_result(args, kwargs))
                return None
        except Exception as exc:
            self.statistics.error("span-output", exc)
        return wrapped(*args, **kwargs)

    def handle_event(self, wrapped: Any, handler: Any, args: tuple, kwargs: dict) -> Any:
        """OpenInference's dispatcher event handler: skip the step/run output summaries, which only set the
        `output.value` we replace with the real output event anyway."""
        event = args[0] if args else kwargs.get("event")
        if type(event) in _OUTPUT_SUMMARY_EVENTS:
            return event
        return wrapped(*args, **kwargs)

    # -- run spans ------------------------------------------------------------------------------------------
    def _run_started(self, span: Any, workflow: Workflow, bound_args: inspect.BoundArguments) -> None:
        cls = type(workflow)
        span[WORKFLOW_NAME] = cls.__name__
        sdk_span = _sdk_span(span)
        run_id = get_current_run_id()
        if run_id:
            self.recorder.run_spans.opened(run_id, span._otel_span, dict(block_attributes()))
        policy = self.policies.start(run_id, current_attributes())  # before any payload of the run is captured
        self.statistics.run("started")
        if not sdk_span.is_recording():
            return
        attributes: dict[str, Any] = {"gxp.workflow.class": f"{cls.__module__}.{cls.__qualname__}",
                                      **policy.attributes()}
        if run_id and not (sdk_span.attributes or {}).get(RUN_ID):  # normally set by the attribution processor
            attributes[RUN_ID] = run_id
        previous_run = resumed_from.get()
        if previous_run:
            attributes[RESUMED_FROM] = previous_run
        continued = continues.get()
        if continued is not None:  # a new turn from a finished run's saved context: its own trace, linked
            attributes[CONTINUES] = continued[0]
            sdk_span.add_link(continued[1], {LINK_TYPE: "previous-run", RUN_ID: continued[0]})
        start_event = bound_args.arguments.get("start_event")
        if start_event is not None:
            attributes["gxp.workflow.start_event"] = type(start_event).__name__
            attributes.update(_payload(self.capture.capture_event(start_event), INPUT_VALUE, INPUT_MIME_TYPE,
                                       "gxp.input"))
        self._set(sdk_span, attributes)

    def _run_finished(self, span: Any, result: Any) -> None:
        sdk_span = _sdk_span(span)
        self.recorder.flush_streams((sdk_span.attributes or {}).get(RUN_ID), fallback=span._otel_span)
        self.recorder.run_spans.closed((sdk_span.attributes or {}).get(RUN_ID))
        self.agents.run_ended((sdk_span.attributes or {}).get(RUN_ID))
        self.statistics.run("completed")
        if result is None or not sdk_span.is_recording():
            return
        if OUTCOME not in (sdk_span.attributes or {}):
            sdk_span.set_attribute(OUTCOME, "completed")
        span._attributes.pop(OUTPUT_VALUE, None)  # OpenInference's 200-character summary
        span._attributes.pop(OUTPUT_MIME_TYPE, None)
        value = result.result if type(result) is StopEvent else event_payload(result)
        attributes = {"gxp.workflow.output_event": type(result).__name__}
        attributes.update(_payload(self.capture.capture(value), OUTPUT_VALUE, OUTPUT_MIME_TYPE, "gxp.output"))
        self._set(sdk_span, attributes)

    # -- step spans -----------------------------------------------------------------------------------------
    def _step_started(self, span: Any, step_ctx: Any, bound_args: Any = None) -> None:
        state = step_ctx.state
        span[STEP_NAME] = state.step_name
        sdk_span = _sdk_span(span)
        if trace.get_current_span().get_span_context() != sdk_span.get_span_context():
            current_step_span.set(span._otel_span)  # OpenInference < 4.5 does not make its span current
        event = getattr(step_ctx, "event", None) or _event_argument(bound_args)  # workflows < 2.26: from the call
        run_id = (sdk_span.attributes or {}).get(RUN_ID) or get_current_run_id()
        handoff = self.agents.step_started(run_id, event) if event is not None else None
        if handoff is not None:  # one agent handed the run to another (AgentWorkflow)
            self.recorder.record(AgentHandoff(from_agent=handoff[0], to_agent=handoff[1]), source="handoff",
                                 span=span._otel_span, run_id=run_id,
                                 extra={HANDOFF_FROM: handoff[0], HANDOFF_TO: handoff[1]})
        if not sdk_span.is_recording():
            return
        attributes: dict[str, Any] = {"gxp.step.retry": int(getattr(step_ctx.retry, "retry_number", 0) or 0)}
        if run_id and RUN_ID not in (sdk_span.attributes or {}):  # normally set by the attribution processor
            attributes[RUN_ID] = run_id
        agent = self.agents.of(run_id)
        if agent:
            attributes[AGENT_ID] = agent
        worker = getattr(state, "work_item_id", None) or getattr(state, "invocation_id", None)
        if worker:
            attributes["gxp.step.worker"] = str(worker)
        if event is not None:
            attributes["gxp.step.input_event"] = type(event).__name__
            attributes.update(_payload(self.capture.capture_event(event), INPUT_VALUE, INPUT_MIME_TYPE,
                                       "gxp.input"))
        self._set(sdk_span, attributes)

    def _step_finished(self, span: Any, result: Any) -> None:
        sdk_span = _sdk_span(span)
        self.recorder.flush_streams((sdk_span.attributes or {}).get(RUN_ID), fallback=span._otel_span)
        if result is None:
            return
        events = result if isinstance(result, list) else [result]
        if sdk_span.is_recording():
            span._attributes.pop(OUTPUT_VALUE, None)  # OpenInference's summary of the same event
            span._attributes.pop(OUTPUT_MIME_TYPE, None)
            if isinstance(result, list):
                captured = self.capture.capture([event_payload(e) for e in events])
            else:
                captured = self.capture.capture_event(result)
            attributes = {"gxp.step.output_event": ",".join(type(e).__name__ for e in events)}
            attributes.update(_payload(captured, OUTPUT_VALUE, OUTPUT_MIME_TYPE, "gxp.output"))
            self._set(sdk_span, attributes)
        for event in events:
            if isinstance(event, InputRequiredEvent):  # published to the stream by the runtime, not by the step
                self.recorder.record(
                    event,
                    source="step-return",
                    span=span._otel_span,
                    run_id=(sdk_span.attributes or {}).get(RUN_ID),
                    extra={STEP_NAME: span._attributes[STEP_NAME], "gxp.hitl.action": "input-required"},
                )


def _event_argument(bound_args: Any) -> Any:
    """The workflow event a step function was called with (its `ev` argument), or None."""
    from workflows.events import Event

    for value in getattr(bound_args, "arguments", {}).values():
        if isinstance(value, Event):
            return value
    return None


def _input_args(args: tuple, kwargs: dict) -> tuple[Any, inspect.BoundArguments]:
    instance = args[0] if args else kwargs.get("instance")
    bound_args = args[1] if len(args) > 1 else kwargs.get("bound_args")
    return instance, bound_args


def _output_result(args: tuple, kwargs: dict) -> Any:
    return args[1] if len(args) > 1 else kwargs.get("result")


def _is_step_span(span: Any, step_ctx: Any) -> bool:
    """A step span's id is `<qualname of the step>-<uuid>`; other spans inside the step have other names."""
    name = span.id_.partition("-")[0]
    step_name = step_ctx.state.step_name
    return name == step_name or name.endswith("." + step_name)


class PropagationSpanHandler(BaseSpanHandler[Any]):
    """Carries the W3C trace context and the attribution block through the dispatcher's propagation hooks.

    Creates no spans (OpenInference does). `restore_propagation_context` runs in the run's own task before the run
    span starts, so what it attaches ends with that task.
    """

    @classmethod
    def class_name(cls) -> str:
        return "GxpPropagationSpanHandler"

    def new_span(self, id_: str, bound_args: Any, instance: Any = None, parent_span_id: Any = None, tags: Any = None, **kwargs: Any) -> None:
        return None

    def prepare_to_exit_span(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None, **kwargs: Any) -> None:
        return None

    def prepare_to_drop_span(self, id_: str, bound_args: Any, instance: Any = None, err: Any = None, **kwargs: Any) -> None:
        return None

    def capture_propagation_context(self) -> dict[str, Any]:
        carrier: dict[str, Any] = {}
        TraceContextTextMapPropagator().inject(carrier)
        attribution = block_attributes()
        if attribution:
            carrier["attribution"] = dict(attribution)
        return {PROPAGATION_KEY: carrier} if carrier else {}

    def restore_propagation_context(self, context: dict[str, Any]) -> None:
        carrier = context.get(PROPAGATION_KEY)
        if not isinstance(carrier, dict):
            return
        if "traceparent" in carrier and not trace.get_current_span().get_span_context().is_valid:
            context_api.attach(TraceContextTextMapPropagator().extract(carrier))
        attribution = carrier.get("attribution")
        if isinstance(attribution, dict) and not block_attributes():
            restore_block_attributes(attribution)
