"""Token streams as one record per message: `AgentStream` deltas coalesced, nothing lost.

A streaming agent (`FunctionAgent`, `ReActAgent`, ...) writes one `AgentStream` event per token, each carrying the
delta and the whole response so far; recorded one by one, a 1000-token answer is 1000 records holding ~500 copies of
the answer. `StreamCoalescer` buffers a run step's consecutive `AgentStream` events instead (nothing is exported per
token) and the recorder emits ONE record per message when the message is complete: when the same run records any
other event, when the step that streamed ends or unwinds with an exception, or when the run ends. Its body:

- `response`: the final response text (the last chunk's `response`), and `response_sha256` of it (UTF-8);
- `delta_text`: the concatenated deltas, only when it differs from `response` (so no delta is ever lost);
- `thinking`: the concatenated `thinking_delta`s, when there were any;
- `current_agent_name`, `tool_calls` and `raw` of the last chunk; `chunks`: how many events were coalesced;
- attributes `gxp.stream.chunks` and `gxp.stream.first_unix_nano` (the record's time is the last chunk's).

The user's stream is untouched: every `AgentStream` still reaches `handler.stream_events()`. Thread-safety: buffers are
keyed by (run id, span id) and touched from the run's event loop only.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace

COALESCED_TYPES = frozenset({"AgentStream"})
STEP = "gxp.step.name"
CHUNKS = "gxp.stream.chunks"
FIRST_TIME = "gxp.stream.first_unix_nano"


@dataclass
class _Buffer:
    span: trace.Span
    run_id: str | None
    first_ns: int
    step: str | None = None
    last: Any = None
    chunks: int = 0
    deltas: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CoalescedMessage:
    """What the recorder emits for one streamed message."""

    event_type: str
    body: dict[str, Any]
    span: trace.Span
    run_id: str | None
    attributes: dict[str, Any]


class StreamCoalescer:
    def __init__(self) -> None:
        self._buffers: dict[tuple[str | None, int], _Buffer] = {}

    def pending(self) -> bool:
        return bool(self._buffers)

    @staticmethod
    def accepts(event_type: str, event: Any) -> bool:
        return event_type in COALESCED_TYPES and hasattr(event, "delta")

    def add(self, event: Any, run_id: str | None, step: str | None = None) -> None:
        span = trace.get_current_span()
        key = (run_id, span.get_span_context().span_id)
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = _Buffer(span=span, run_id=run_id, first_ns=time.time_ns(),
                                                          step=step)
        buffer.last = event
        buffer.chunks += 1
        delta = getattr(event, "delta", None)
        if isinstance(delta, str) and delta:
            buffer.deltas.append(delta)
        thinking = getattr(event, "thinking_delta", None)
        if isinstance(thinking, str) and thinking:
            buffer.thinking.append(thinking)

    def take(self, *, run_id: str | None = None, everything: bool = False) -> list[CoalescedMessage]:
        """Complete and remove the buffered messages of `run_id` (or all)."""
        if not self._buffers:
            return []
        keys = [k for k in self._buffers if everything or k[0] == run_id]
        return [self._message(self._buffers.pop(k)) for k in keys]

    @staticmethod
    def _message(buffer: _Buffer) -> CoalescedMessage:
        last = buffer.last
        response = getattr(last, "response", None)
        response = response if isinstance(response, str) else ""
        body: dict[str, Any] = {"response": response,
                                "response_sha256": hashlib.sha256(response.encode("utf-8", "surrogatepass")).hexdigest(),
                                "chunks": buffer.chunks}
        delta_text = "".join(buffer.deltas)
        if delta_text != response:
            body["delta_text"] = delta_text
        if buffer.thinking:
            body["thinking"] = "".join(buffer.thinking)
        for name in ("current_agent_name", "tool_calls", "raw"):
            value = getattr(last, name, None)
            if value is not None and value != []:
                body[name] = value
        attributes: dict[str, Any] = {CHUNKS: buffer.chunks, FIRST_TIME: buffer.first_ns}
        if buffer.step:
            attributes[STEP] = buffer.step
        return CoalescedMessage(type(last).__name__, body, buffer.span, buffer.run_id, attributes)
