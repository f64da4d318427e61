"""Sampling thins what goes to Phoenix/OTLP, never the audit trail.

`TrailCompleteSampler` wraps whatever sampler is configured (`OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG`, a
sampler given in code, or the parent's decision carried by a `traceparent ...-00`). It keeps that sampler's decision
for everything downstream — the sampled flag, the propagated `traceparent`, the OTLP export — but turns `DROP` into
`RECORD_ONLY`: the span is still recorded, so span processors see it when it ends. The SDK's own
`BatchSpanProcessor`/`SimpleSpanProcessor` (the OTLP path) skip spans whose sampled flag is off, exactly as without
this wrapper; the audit trail's `ComplianceBatchSpanProcessor` takes every recorded span. Result: the trail is
complete whatever the sampler; sampling reduces only the export volume.

Thread-safety: stateless apart from the wrapped sampler, which the SDK already calls from any thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

_log = logging.getLogger("gxp_otel.trail_sampling")


class TrailCompleteSampler(Sampler):
    """Delegates to `inner`; a `DROP` becomes `RECORD_ONLY` (recorded for the trail, not sampled for export)."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None, trace_state: Any = None) -> SamplingResult:
        result = self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        if result.decision is Decision.DROP:
            return SamplingResult(Decision.RECORD_ONLY, result.attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"TrailComplete{{{self.inner.get_description()}}}"


def make_trail_complete(provider: TracerProvider) -> None:
    """Wrap `provider.sampler` (once). Tracers obtained from `provider` afterwards use the wrapper; the SDK copies
    the sampler into each tracer, so `instrument()` does this before any instrumentation asks for its tracer."""
    if not isinstance(provider.sampler, TrailCompleteSampler):
        provider.sampler = TrailCompleteSampler(provider.sampler)


class TrailSimpleSpanProcessor(SimpleSpanProcessor):
    """`SimpleSpanProcessor` (synchronous export, for tests and short scripts) that exports every recorded span,
    sampled or not, like `ComplianceBatchSpanProcessor` does for the batched trail. Export errors are logged, never
    raised into the code that ended the span."""

    def on_end(self, span: ReadableSpan) -> None:
        with suppress_instrumentation():
            try:
                self.span_exporter.export((span,))
            except Exception:
                _log.exception("exporting a span to the audit trail failed")
