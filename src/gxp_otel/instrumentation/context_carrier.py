"""Serialised workflow contexts carry their trace: a run resumed from `Context.to_dict()` stays in its trace.

`ctx.to_dict()` gains one key, `"gxp_otel"`: the W3C `traceparent` of the run's span, the run id, the attribution
block the run started under and the run's `state` when it was saved: `open` (running or paused, waiting for an
answer) or `finished`. `Context.from_dict(...)` removes that key again (the workflows runtime never sees it) and
keeps it on the restored `Context`. `Workflow.run(ctx=restored)` then:

- for an `open` (paused) run: RESUMES it, as a child of the original run span, with `gxp.workflow.resumed_from` =
  the original run id and, when the caller set no attribution of its own, the serialised one;
- for a `finished` run (a new turn from a saved context): starts a NEW run, its own trace, with a span link to the
  previous run span (`gxp.link.type=previous-run`) and `gxp.workflow.continues` = the previous run id; it inherits
  no identity (only the caller's attribution applies).

A caller that already has a current span keeps it: explicit context wins. Nothing here raises into the application.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gxp_otel.attribution import block_attributes, restore_block_attributes
from gxp_otel.instrumentation.statistics import TelemetryStatistics
from gxp_otel.instrumentation.stream_events import RunSpans

CARRIER_KEY = "gxp_otel"
_CARRIER_ATTR = "_gxp_otel_carrier"
RESUMED_FROM = "gxp.workflow.resumed_from"
CONTINUES = "gxp.workflow.continues"
LINK_TYPE = "gxp.link.type"

# Set around `Workflow.run(ctx=restored)`; the run task copies them, the run span enrichment reads them.
resumed_from: ContextVar[str | None] = ContextVar("gxp_otel_resumed_from", default=None)
continues: ContextVar[tuple[str, trace.SpanContext] | None] = ContextVar("gxp_otel_continues", default=None)


class ContextCarrier:
    def __init__(self, run_spans: RunSpans, statistics: TelemetryStatistics) -> None:
        self.run_spans = run_spans
        self.statistics = statistics
        self._propagator = TraceContextTextMapPropagator()

    def to_dict(self, wrapped: Any, ctx: Any, args: tuple, kwargs: dict) -> Any:
        data = wrapped(*args, **kwargs)
        try:
            from gxp_otel.instrumentation import _run_id_of

            run_id = _run_id_of(ctx)
            known = self.run_spans.context_of(run_id)
            if isinstance(data, dict) and known is not None:
                span_context, attribution = known
                state = "open" if self.run_spans.get(run_id) is not None else "finished"
                carrier: dict[str, Any] = {"run_id": run_id, "state": state}
                self._propagator.inject(carrier, context=trace.set_span_in_context(trace.NonRecordingSpan(span_context)))
                if attribution:
                    carrier["attribution"] = dict(attribution)
                data[CARRIER_KEY] = carrier
        except Exception as exc:
            self.statistics.error("context-to-dict", exc)
        return data

    def from_dict(self, wrapped: Any, cls: Any, args: tuple, kwargs: dict) -> Any:
        carrier = None
        data = args[1] if len(args) > 1 else kwargs.get("data")
        if isinstance(data, dict) and CARRIER_KEY in data:
            data = dict(data)
            carrier = data.pop(CARRIER_KEY)
            if len(args) > 1:
                args = (args[0], data, *args[2:])
            else:
                kwargs = {**kwargs, "data": data}
        ctx = wrapped(*args, **kwargs)
        if isinstance(carrier, dict):
            try:
                setattr(ctx, _CARRIER_ATTR, carrier)
            except Exception as exc:
                self.statistics.error("context-from-dict", exc)
        return ctx

    def run(self, wrapped: Any, workflow: Any, args: tuple, kwargs: dict) -> Any:
        carrier = getattr(kwargs.get("ctx"), _CARRIER_ATTR, None)
        if not isinstance(carrier, dict):
            return wrapped(*args, **kwargs)
        tokens: list[Any] = []
        if carrier.get("state") == "finished":
            try:
                previous = trace.get_current_span(self._propagator.extract(carrier)).get_span_context()
                if previous.is_valid:
                    tokens.append(continues.set((str(carrier.get("run_id") or ""), previous)))
            except Exception as exc:
                self.statistics.error("context-resume", exc)
            try:
                return wrapped(*args, **kwargs)
            finally:
                for token in tokens:
                    token.var.reset(token)
        try:
            if not trace.get_current_span().get_span_context().is_valid and "traceparent" in carrier:
                tokens.append(context_api.attach(self._propagator.extract(carrier)))
            tokens.append(resumed_from.set(str(carrier.get("run_id") or "")))
            attribution = carrier.get("attribution")
            if isinstance(attribution, dict) and not block_attributes():
                previous = dict(block_attributes())
                restore_block_attributes(attribution)
                tokens.append(previous)
        except Exception as exc:
            self.statistics.error("context-resume", exc)
        try:
            return wrapped(*args, **kwargs)
        finally:
            for token in reversed(tokens):
                try:
                    if isinstance(token, dict):
                        restore_block_attributes(token)
                    elif hasattr(token, "var"):
                        token.var.reset(token)
                    else:
                        context_api.detach(token)
                except Exception:
                    pass


def carried_span(ctx: Any) -> trace.Span | None:
    """The original run span (non-recording) named by a restored context's carrier, or None."""
    carrier = getattr(ctx, _CARRIER_ATTR, None)
    if not isinstance(carrier, dict) or "traceparent" not in carrier:
        return None
    span = trace.get_current_span(TraceContextTextMapPropagator().extract(carrier))
    return span if span.get_span_context().is_valid else None


def carried_attribution(ctx: Any) -> dict[str, Any]:
    """The attribution the original run started under, from a restored context's carrier ({} when none)."""
    carrier = getattr(ctx, _CARRIER_ATTR, None)
    attribution = carrier.get("attribution") if isinstance(carrier, dict) else None
    return dict(attribution) if isinstance(attribution, dict) else {}
