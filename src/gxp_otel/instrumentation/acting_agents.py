"""The acting agent of a multi-agent run (LlamaIndex `AgentWorkflow`) on every span and log record it owns.

An `AgentWorkflow` runs one agent at a time; the agent in charge is named by the `current_agent_name` of the events
its steps take (`AgentInput`, `AgentSetup`, `AgentOutput`, ...). The step-span enrichment reports each step's input
event to `ActingAgents.step_started`, which keeps the acting agent per run id and returns the handoff when it changed
(the enrichment records that as an `AgentHandoff` span event and log record with `gxp.agent.handoff.from`/`.to`).

`ActingAgentSpanProcessor` / `ActingAgentLogRecordProcessor` stamp `gxp.agent.id` = the acting agent of the current
run on every span started and every log record emitted in it (LLM calls, tools, stream events). They sit in front of
the attribution processors, so in a multi-agent run the acting agent wins over the static `agent_id` of
`attribution(...)`; outside one nothing changes. A value set explicitly on a record still wins.

Thread-safety: the table is a dict keyed by run id; single-key reads and writes are atomic under the GIL. Entries are
removed when the run ends (`run_ended`) and bounded in number.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk.trace import Span, SpanProcessor
from workflows.events import Event

from gxp_otel.attribution import AGENT_ID
from gxp_otel.instrumentation.attribution_processors import is_stamped
from gxp_otel.instrumentation.stream_events import current_run_id

HANDOFF_FROM = "gxp.agent.handoff.from"
HANDOFF_TO = "gxp.agent.handoff.to"


class AgentHandoff(Event):
    """Recorded when the acting agent of a run changes (one agent handed the run to another)."""

    from_agent: str
    to_agent: str


class ActingAgents:
    def __init__(self, capacity: int = 4096) -> None:
        self._agents: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def step_started(self, run_id: str | None, event: Any) -> tuple[str, str] | None:
        """Note the agent named by a step's input event; returns (from, to) when that is a handoff."""
        agent = _agent_name(event)
        if not run_id or not isinstance(agent, str) or not agent:
            return None
        previous = self._agents.get(run_id)
        self._agents[run_id] = agent
        while len(self._agents) > self._capacity:
            self._agents.popitem(last=False)
        return (previous, agent) if previous and previous != agent else None

    def of(self, run_id: str | None) -> str | None:
        return self._agents.get(run_id) if run_id else None

    def current(self) -> str | None:
        return self.of(current_run_id()) if self._agents else None

    def run_ended(self, run_id: str | None) -> None:
        if run_id:
            self._agents.pop(run_id, None)


_DECLARES_AGENT: dict[type, bool] = {}  # event class -> whether it declares a `current_agent_name` field


def _agent_name(event: Any) -> Any:
    """`getattr(event, "current_agent_name", None)`. A workflow `Event` whose class does not declare that field
    answers from its extra data (what its `__getattr__` does), read with the public `Event.get` instead of through a
    raised AttributeError; whether a class declares it is looked up once per class."""
    if isinstance(event, Event):
        kind = type(event)
        declares = _DECLARES_AGENT.get(kind)
        if declares is None:
            declares = "current_agent_name" in kind.model_fields
            if len(_DECLARES_AGENT) >= 1024:
                _DECLARES_AGENT.clear()
            _DECLARES_AGENT[kind] = declares
        if not declares:
            return event.get("current_agent_name")
    return getattr(event, "current_agent_name", None)


class ActingAgentSpanProcessor(SpanProcessor):
    def __init__(self, agents: ActingAgents) -> None:
        self.agents = agents

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        agent = self.agents.current()
        if agent and AGENT_ID not in (span.attributes or {}):
            span.set_attribute(AGENT_ID, agent)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing buffered; the SDK base returns None, which SDK 1.40's multi-processor counts as failed


class ActingAgentLogRecordProcessor(LogRecordProcessor):
    def __init__(self, agents: ActingAgents) -> None:
        self.agents = agents

    def on_emit(self, log_record: Any) -> None:
        if is_stamped(log_record):  # the stream-event recorder set the acting agent already
            return
        agent = self.agents.current()
        if not agent:
            return
        record = getattr(log_record, "log_record", log_record)
        if record.attributes is None:
            record.attributes = {AGENT_ID: agent}
        elif AGENT_ID not in record.attributes:
            record.attributes[AGENT_ID] = agent

    def emit(self, log_data: Any) -> None:  # opentelemetry-sdk < 1.28 called it emit
        self.on_emit(log_data)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
