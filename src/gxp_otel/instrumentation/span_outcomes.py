"""How a span ended, as it happened: waiting is not an error, a cancelled run says who cancelled it, a run paused on a
human whose process ends is suspended.

`SpanOutcomeHandler` is a llama-index-instrumentation span handler (public dispatcher API) placed FIRST in the
dispatcher's handlers, so it sees a span being dropped before OpenInference ends it. It finds the OTel span of the
dispatcher span by its id in `spans_by_id` (filled by the span enrichment as OpenInference opens each span; this
works with OpenInference releases that do not make their span current, 4.4 for one), else the current span. It sets the final status OK (the OTel API makes OK final, so
OpenInference's later ERROR is ignored; its `exception` event stays, naming what unwound the span) when:

- the span unwinds with `WaitingForEvent` (a tool or agent step pausing in `ctx.wait_for_event`): `gxp.span.waiting`;
- a run span unwinds with `CancelledError` while the run was paused on a human (`input-required` recorded, no answer
  yet), as when the process ends with the run paused: `gxp.workflow.outcome=suspended`;
- a run span unwinds after `handler.cancel_run()`: `gxp.workflow.outcome=cancelled` (set by `cancel_run` below).

`cancel_run(wrapped, handler, ...)` wraps the public `WorkflowHandler.cancel_run`: before cancelling, the run span gets
`gxp.workflow.outcome=cancelled` and `gxp.workflow.cancelled_by` = the `enduser.id` in force where `cancel_run()` was
called (omitted when none is). Thread-safety: called on the event loop of the run; never raises.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index_instrumentation.span_handlers import BaseSpanHandler
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from gxp_otel.attribution import USER_ID
from gxp_otel.instrumentation.attribution_processors import attribution_now
from gxp_otel.instrumentation.stream_events import OUTCOME, RunSpans, current_run_id

WAITING = "gxp.span.waiting"
CANCELLED_BY = "gxp.workflow.cancelled_by"

try:
    from workflows.runtime.types.results import WaitingForEvent
except ImportError:  # pragma: no cover - older workflows
    WaitingForEvent = None  # type: ignore[assignment,misc]


class SpanOutcomeHandler(BaseSpanHandler[Any]):
    """Creates no spans; only decides the final status of waiting, suspended and cancelled ones (see module)."""

    run_spans: Any = None
    recorder: Any = None  # StreamEventRecorder: a step or run unwinding completes its streamed messages first
    spans_by_id: Any = None  # dispatcher span id -> OpenInference's OTel span, while open

    @classmethod
    def class_name(cls) -> str:
        return "GxpSpanOutcomeHandler"

    def new_span(self, id_: str, bound_args: Any, instance: Any = None, parent_span_id: Any = None, tags: Any = None, **kwargs: Any) -> None:
        return None

    def prepare_to_exit_span(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None, **kwargs: Any) -> None:
        if self.spans_by_id is not None:
            self.spans_by_id.pop(id_, None)
        return None

    def prepare_to_drop_span(self, id_: str, bound_args: Any, instance: Any = None, err: Any = None, **kwargs: Any) -> None:
        try:
            self._dropping(id_, err)
        except Exception:
            pass
        return None

    def _dropping(self, id_: str, err: Any) -> None:
        span = self.spans_by_id.pop(id_, None) if self.spans_by_id is not None else None
        if self.recorder is not None and self.recorder.coalescer.pending():
            self.recorder.flush_streams(current_run_id(), fallback=span)  # before OpenInference ends the span
        if err is None:
            return
        if span is None:
            span = trace.get_current_span()
            if getattr(span, "name", None) != id_.partition("-")[0]:
                return
        if not span.is_recording():
            return
        if WaitingForEvent is not None and isinstance(err, WaitingForEvent):
            span.set_attribute(WAITING, True)
            span.set_status(Status(StatusCode.OK))
            return
        run_spans: RunSpans | None = self.run_spans
        if run_spans is None or not isinstance(err, asyncio.CancelledError):
            return
        run_id = current_run_id()
        run_span = run_spans.get(run_id)
        if run_span is None or run_span.get_span_context() != span.get_span_context():
            return
        if run_spans.is_waiting(run_id):
            span.set_attribute(OUTCOME, "suspended")
            span.set_status(Status(StatusCode.OK))


def make_cancel_run(run_spans: RunSpans, statistics: Any) -> Any:
    """The wrapt wrapper of `WorkflowHandler.cancel_run` (see module docstring)."""

    def cancel_run(wrapped: Any, handler: Any, args: tuple, kwargs: dict) -> Any:
        try:
            run_id = getattr(handler, "run_id", None)
            span = run_spans.get(str(run_id) if run_id is not None else None)
            if span is not None and span.is_recording():
                attributes: dict[str, Any] = {OUTCOME: "cancelled"}
                who = attribution_now().get(USER_ID)
                if who:
                    attributes[CANCELLED_BY] = who
                span.set_attributes(attributes)
                span.set_status(Status(StatusCode.OK))
        except Exception as exc:
            statistics.error("cancel-run", exc)
        return wrapped(*args, **kwargs)

    return cancel_run
