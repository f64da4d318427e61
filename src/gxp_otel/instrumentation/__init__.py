"""`GxpWorkflowInstrumentor`: LlamaIndex Workflows -> OTel spans, span events and log records, on top of OpenInference.

`gxp_otel.instrument()` applies it together with providers and exporters; the zero-code path
(`opentelemetry-instrument python app.py`) goes through `gxp_otel.zero_code`, which calls `gxp_otel.instrument()`.
This package never imports the set-up (`gxp_otel.setup` depends on it, not the reverse).

What `instrument()` on this class does (and `uninstrument()` undoes):

1. instruments OpenInference's `LlamaIndexInstrumentor` unless something already did (OpenInference needs
   `llama-index-core` but does not declare it; gxp-otel declares it, and lists it in
   `instrumentation_dependencies`, so a missing core is reported as a dependency conflict instead of silently
   instrumenting nothing);
2. wraps OpenInference's `_Span.process_input`/`process_output` so workflow run and step spans carry the real payloads,
   run id, step, worker and retry (`workflow_spans`), instead of OpenInference's BrokerState encoding, and its
   `EventHandler.handle` to skip the output summaries those payloads replace; and memoises its LLM provider/system
   detection per LLM class (`llm_detection`: the same attributes, without a failed import per LLM span);
3. wraps `workflows.context.context.Context.write_event_to_stream` (one log record + one span event per stream event),
   `Context.wait_for_event` (the waiter event a pausing step has published, once) and `Context.send_event` (a
   `HumanResponseEvent` sent into a run is recorded as an attributable action);
4. adds a dispatcher span handler for trace-context propagation across processes, and wraps `Context.to_dict`,
   `Context.from_dict` and `Workflow.run` so a run resumed from a serialised context stays in its trace, and a new
   run from a finished run's context is its own trace, linked (`context_carrier`);
5. puts a dispatcher span handler in front of OpenInference's (`span_outcomes`: waiting is not an error, a paused
   run whose process ends is suspended) and wraps the public `WorkflowHandler.cancel_run` (who cancelled);
6. puts processors at the front of the SDK tracer and logger providers: redaction and the payload cap on every span
   and log record (`redaction`), the acting agent of a multi-agent run (`acting_agents`), the attribution
   (`attribution_processors`). The run's GAMP capture policy (`gamp_policy`) is chosen when the run starts.

Public APIs where they exist: the dispatcher's span-handler list, SDK span/log processors, OpenInference's
`get_attributes_from_context`, workflows' public `Context`/`Workflow`/`WorkflowHandler` methods. What remains
private: OpenInference's `_Span.process_input`/`process_output`/`EventHandler.handle` (the only place that sees a
span's bound arguments while OpenInference's OTel span exists; present unchanged since OpenInference 4.4), its
`_detect_llm_provider`/`_detect_llm_system` (wrapped only where present) and the SDK's processor tuple /
`ReadableSpan` fields (`install_first`, `redaction`).

Keyword arguments: `tracer_provider`, `logger_provider`, `meter_provider`, `config` (OpenInference `TraceConfig`),
`capture_content` (False hides every payload: one switch), `payload_max_chars` (default 4096), `event_filter`
(`EventFilter`), `event_router` (`EventRouter` or None), `statistics` (`TelemetryStatistics`).
Defaults come from the global providers and the `OPENINFERENCE_HIDE_INPUTS`/`OPENINFERENCE_HIDE_OUTPUTS` variables.

Without a `tracer_provider` it instruments the global providers as they are (no exporter, no audit trail: use
`gxp_otel.instrument()` for those).
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Collection
from typing import Any

import wrapt
from opentelemetry import _logs, metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap

from gxp_otel.instrumentation.attribution_processors import (
    AttributionLogRecordProcessor,
    AttributionSpanProcessor,
    install_first,
    remove_processor,
)
from gxp_otel.instrumentation.event_routing import EventFilter, EventRouter
from gxp_otel.instrumentation.payload import PayloadCapture
from gxp_otel.instrumentation.redaction import RecordSanitizer, RedactionLogRecordProcessor, RedactionSpanProcessor
from gxp_otel.instrumentation.statistics import TelemetryStatistics
from gxp_otel.instrumentation.stream_events import StreamEventRecorder

__all__ = ["GxpWorkflowInstrumentor", "EventFilter", "EventRouter", "PayloadCapture", "TelemetryStatistics"]

_log = logging.getLogger("gxp_otel.instrumentation")
_OI_HANDLER_MODULE = "openinference.instrumentation.llama_index._handler"
_CONTEXT_MODULE = "workflows.context.context"
_SCOPE = "gxp_otel.instrumentation"


class GxpWorkflowInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Singleton (as every `BaseInstrumentor`); `instrument()` twice is a no-op with a warning."""

    def instrumentation_dependencies(self) -> Collection[str]:
        # The floors of what the code below uses (checked against the 2.20.0 / 4.4.0 wheels; see the report of 13.6).
        return ("llama-index-workflows >= 2.20", "llama-index-core >= 0.14.10",
                "openinference-instrumentation-llama-index >= 4.4")

    @property
    def statistics(self) -> TelemetryStatistics | None:
        return getattr(self, "_statistics", None)

    @property
    def recorder(self) -> StreamEventRecorder | None:
        return getattr(self, "_recorder", None)

    def _instrument(self, **kwargs: Any) -> None:
        from openinference.instrumentation import TraceConfig
        from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

        from gxp_otel.instrumentation.context_carrier import ContextCarrier
        from gxp_otel.instrumentation.workflow_spans import PropagationSpanHandler, WorkflowSpanEnricher

        tracer_provider = kwargs.get("tracer_provider") or trace.get_tracer_provider()
        logger_provider = kwargs.get("logger_provider") or _logs.get_logger_provider()
        meter_provider = kwargs.get("meter_provider") or metrics.get_meter_provider()
        trace_config = kwargs.get("config") or TraceConfig()
        explicit = kwargs.get("capture_content")
        if explicit is False:  # the one switch: OpenInference hides inputs and outputs too
            trace_config = TraceConfig(hide_inputs=True, hide_outputs=True)
        # Our own payloads (events, run/step input and output) are hidden when either side is hidden.
        capture_content = explicit is not False and not (trace_config.hide_inputs or trace_config.hide_outputs)

        self._statistics = kwargs.get("statistics") or TelemetryStatistics()
        self._statistics.bind_meter(meter_provider)
        capture = PayloadCapture(max_chars=kwargs.get("payload_max_chars", 4096), capture_content=capture_content)
        otel_logger = logger_provider.get_logger(_SCOPE)
        self._recorder = StreamEventRecorder(
            otel_logger, capture, self._statistics, kwargs.get("event_filter"), kwargs.get("event_router")
        )
        self._providers = (tracer_provider, logger_provider)
        from gxp_otel.instrumentation.gamp_policy import RunPolicies

        self._policies = RunPolicies()  # GAMP risk-based capture, per run
        capture.policies = self._recorder.policies = self._policies
        install_first(tracer_provider, AttributionSpanProcessor())
        install_first(logger_provider, AttributionLogRecordProcessor())
        # The acting agent of a multi-agent run wins over the static agent_id: in front of the attribution.
        from gxp_otel.instrumentation.acting_agents import (ActingAgentLogRecordProcessor, ActingAgents,
                                                            ActingAgentSpanProcessor)

        self._agents = ActingAgents()
        self._recorder.agents = self._agents
        install_first(tracer_provider, ActingAgentSpanProcessor(self._agents))
        install_first(logger_provider, ActingAgentLogRecordProcessor(self._agents))
        # Secrets and the cap on every span and log record, before any exporter: these go in front of everything.
        self._sanitizer = RecordSanitizer(max_chars=capture.max_chars, statistics=self._statistics)
        self._sanitizer.policies = self._policies
        install_first(tracer_provider, RedactionSpanProcessor(self._sanitizer))
        install_first(logger_provider, RedactionLogRecordProcessor(self._sanitizer))

        openinference = LlamaIndexInstrumentor()
        self._owns_openinference = not openinference.is_instrumented_by_opentelemetry
        if not self._owns_openinference and not capture_content:
            # Hiding content is a safety property: an OpenInference instrumented earlier without it (say by
            # opentelemetry-instrument, before this instrumentor) is redone with the hiding configuration.
            openinference.uninstrument()
            self._owns_openinference = True
        if self._owns_openinference:
            openinference.instrument(tracer_provider=tracer_provider, config=trace_config, skip_dep_check=True)

        enricher = WorkflowSpanEnricher(capture, self._recorder, self._statistics, self._sanitizer,
                                        self._agents, self._policies)
        wrapt.wrap_function_wrapper(_OI_HANDLER_MODULE, "_Span.process_input", enricher.process_input)
        wrapt.wrap_function_wrapper(_OI_HANDLER_MODULE, "_Span.process_output", enricher.process_output)
        wrapt.wrap_function_wrapper(_OI_HANDLER_MODULE, "EventHandler.handle", enricher.handle_event)
        from gxp_otel.instrumentation.llm_detection import wrap_detectors

        self._detectors = wrap_detectors(wrapt.wrap_function_wrapper)  # llm.provider / llm.system once per class
        wrapt.wrap_function_wrapper(_CONTEXT_MODULE, "Context.write_event_to_stream", self._write_event_to_stream)
        wrapt.wrap_function_wrapper(_CONTEXT_MODULE, "Context.send_event", self._send_event)
        wrapt.wrap_function_wrapper(_CONTEXT_MODULE, "Context.wait_for_event", self._wait_for_event)
        carrier = ContextCarrier(self._recorder.run_spans, self._statistics)
        wrapt.wrap_function_wrapper(_CONTEXT_MODULE, "Context.to_dict", carrier.to_dict)
        wrapt.wrap_function_wrapper(_CONTEXT_MODULE, "Context.from_dict", carrier.from_dict)
        wrapt.wrap_function_wrapper("workflows.workflow", "Workflow.run", carrier.run)

        from llama_index_instrumentation import get_dispatcher

        self._propagation = PropagationSpanHandler()
        get_dispatcher().add_span_handler(self._propagation)
        from gxp_otel.instrumentation.span_outcomes import SpanOutcomeHandler, make_cancel_run

        self._outcomes = SpanOutcomeHandler()
        self._outcomes.run_spans = self._recorder.run_spans
        self._outcomes.spans_by_id = enricher.spans_by_id
        self._outcomes.recorder = self._recorder
        get_dispatcher().span_handlers.insert(0, self._outcomes)  # before OpenInference's: it decides the status
        wrapt.wrap_function_wrapper("workflows.handler", "WorkflowHandler.cancel_run",
                                    make_cancel_run(self._recorder.run_spans, self._statistics))
        atexit.register(self._end_open_runs)

    def _end_open_runs(self) -> None:
        """At exit (before the SDK providers' own exit flush) or uninstrument: runs still open are recorded as
        suspended (paused on a human) or interrupted, so their run span is in the trail (docs/instrumentation.md)."""
        recorder = getattr(self, "_recorder", None)
        if recorder is not None:
            recorder.flush_streams(everything=True)
            recorder.run_spans.end_open_runs()

    def _uninstrument(self, **kwargs: Any) -> None:
        atexit.unregister(self._end_open_runs)
        self._end_open_runs()
        from openinference.instrumentation.llama_index import _handler as oi_handler
        from workflows.context import context as workflows_context

        unwrap(oi_handler._Span, "process_input")
        unwrap(oi_handler._Span, "process_output")
        unwrap(oi_handler.EventHandler, "handle")
        for name in getattr(self, "_detectors", ()):
            unwrap(oi_handler, name)
        unwrap(workflows_context.Context, "write_event_to_stream")
        unwrap(workflows_context.Context, "send_event")
        unwrap(workflows_context.Context, "wait_for_event")
        unwrap(workflows_context.Context, "to_dict")
        unwrap(workflows_context.Context, "from_dict")
        from workflows import workflow as workflows_workflow

        unwrap(workflows_workflow.Workflow, "run")
        from llama_index_instrumentation import get_dispatcher

        dispatcher = get_dispatcher()
        dispatcher.span_handlers[:] = [h for h in dispatcher.span_handlers
                                       if h is not self._propagation and h is not self._outcomes]
        from workflows import handler as workflows_handler

        unwrap(workflows_handler.WorkflowHandler, "cancel_run")
        if self._owns_openinference:
            from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

            LlamaIndexInstrumentor().uninstrument()
        tracer_provider, logger_provider = self._providers
        remove_processor(tracer_provider, AttributionSpanProcessor)
        remove_processor(logger_provider, AttributionLogRecordProcessor)
        remove_processor(tracer_provider, RedactionSpanProcessor)
        from gxp_otel.instrumentation.acting_agents import ActingAgentLogRecordProcessor, ActingAgentSpanProcessor

        remove_processor(tracer_provider, ActingAgentSpanProcessor)
        remove_processor(logger_provider, ActingAgentLogRecordProcessor)
        remove_processor(logger_provider, RedactionLogRecordProcessor)

    # -- wrappers on workflows' Context -----------------------------------------------------------------------
    def _write_event_to_stream(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        result = wrapped(*args, **kwargs)
        event = args[0] if args else kwargs.get("ev")
        if event is not None:
            self._recorder.record(event)
        return result

    def _wait_for_event(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        """A step pausing on `ctx.wait_for_event(..., waiter_event=ev)`: the runtime publishes `ev` (usually an
        `InputRequiredEvent`) to the stream, so it is recorded like a stream event, once: only when the step
        really pauses, not when its replay finds the answer waiting."""
        recorder = self._recorder

        async def waiting() -> Any:
            from workflows.runtime.types.results import WaitingForEvent

            try:
                return await wrapped(*args, **kwargs)
            except WaitingForEvent:
                waiter = kwargs.get("waiter_event", args[1] if len(args) > 1 else None)
                if waiter is not None:
                    recorder.record(waiter, source="wait-for-event", extra={"gxp.hitl.action": "input-required"})
                raise

        return waiting()

    def _send_event(self, wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        result = wrapped(*args, **kwargs)
        try:
            from workflows.events import HumanResponseEvent

            event = args[0] if args else kwargs.get("message")
            if isinstance(event, HumanResponseEvent):
                from gxp_otel.instrumentation.context_carrier import carried_attribution, carried_span

                self._recorder.record_human_response(event, _run_id_of(instance), carried_span(instance),
                                                     carried_attribution(instance))
        except Exception as exc:
            self._statistics.error("send-event", exc)
        return result


def _run_id_of(ctx: Any) -> str | None:
    """The run id behind a workflows `Context` (external face), or None."""
    face = getattr(ctx, "_face", None)
    for adapter_name in ("_external_adapter", "_internal_adapter"):
        run_id = getattr(getattr(face, adapter_name, None), "run_id", None)
        if run_id:
            return str(run_id)
    from workflows.plugins.basic import get_current_run_id

    return get_current_run_id()
