"""The old design's integration patterns, as thin helpers over `instrument()` and the stream-event recording.

- `setup_event_logging(config=None, **kwargs)`: `instrument(...)`, or the live handle when already instrumented.
- `EventLoggingMixin` for `Workflow` subclasses: `log_workflow_event(ctx, event_type, message, data)` and
  `log_agent_interaction(ctx, agent, request_data, result_data, success)` write a `GxpWorkflowEvent` to the run's
  stream (so stream consumers see them, as in the old design), which the instrumentation records as a log record
  and a span event named `event_type`, on the step span, attributed like everything else.
  `log_agent_interaction` attributes its record to the agent (`gxp.agent.id` = `agent`).
- `get_statistics()`: the live handle's statistics (`events_processed`, `events_per_second`, `errors`, ...).

Never raises into the workflow: a failure to log is counted, not propagated.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from workflows.events import Event

from gxp_otel.attribution import attribution
from gxp_otel.config import GxpOtelConfig

_log = logging.getLogger("gxp_otel.integration")


class GxpWorkflowEvent(Event):
    """A named workflow event; recorded under `event_type` (not the class name). Stream consumers see it too."""

    event_type: str
    message: str = ""
    timestamp: str = ""
    payload: dict[str, Any] | None = None

    # StreamEventRecorder names the record after this field instead of the class.
    gxp_event_type_field: ClassVar[str] = "event_type"


def setup_event_logging(config: GxpOtelConfig | None = None, **instrument_kwargs: Any) -> Any:
    """`gxp_otel.instrument(config=config, **kwargs)`, or the live handle if `instrument()` already ran."""
    from gxp_otel.setup import active_handle, instrument

    return active_handle() or instrument(config=config, **instrument_kwargs)


def get_statistics() -> dict[str, Any]:
    """The live handle's statistics, or the zero-code instrumentor's, or `{}` when not instrumented."""
    from gxp_otel.instrumentation import GxpWorkflowInstrumentor
    from gxp_otel.setup import active_handle

    handle = active_handle()
    if handle is not None:
        return handle.statistics()
    statistics = GxpWorkflowInstrumentor().statistics
    return statistics.snapshot() if statistics is not None else {}


class EventLoggingMixin:
    """Mix into a `Workflow` subclass; the methods may be called from any step with its `ctx`."""

    def setup_event_logging(self, config: GxpOtelConfig | None = None, **instrument_kwargs: Any) -> Any:
        return setup_event_logging(config, **instrument_kwargs)

    def get_event_statistics(self) -> dict[str, Any]:
        return get_statistics()

    def log_workflow_event(self, ctx: Any, event_type: str, message: str, data: dict[str, Any] | None = None) -> None:
        """Record `event_type` with `message` and `data` (any values; non-JSON ones are coerced and flagged)."""
        _write(ctx, GxpWorkflowEvent(
            event_type=event_type, message=message, timestamp=_now(), payload=dict(data) if data else None))

    def log_agent_interaction(
        self,
        ctx: Any,
        agent: str,
        request_data: dict[str, Any] | None = None,
        result_data: dict[str, Any] | None = None,
        success: bool = True,
    ) -> None:
        """Record an `AgentInteractionEvent` attributed to `agent` (its `gxp.agent.id`)."""
        event = GxpWorkflowEvent(
            event_type="AgentInteractionEvent",
            message=f"{agent} {'succeeded' if success else 'failed'}",
            timestamp=_now(),
            payload={"agent": agent, "request": request_data, "result": result_data, "success": bool(success)},
        )
        with attribution(agent_id=agent):
            _write(ctx, event)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _write(ctx: Any, event: GxpWorkflowEvent) -> None:
    try:
        ctx.write_event_to_stream(event)
    except Exception:
        _log.warning("gxp-otel: could not write %s to the workflow stream", event.event_type, exc_info=True)
