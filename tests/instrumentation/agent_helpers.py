"""Real LlamaIndex multi-agent building blocks for the instrumentation tests; the only fake is the LLM.

`scripted_llm(...)` is LlamaIndex's own `MockFunctionCallingLLM` with a response generator that plays a script of
assistant messages (text, tool calls, handoffs); `triage_workflow()` is an `AgentWorkflow` of three `FunctionAgent`s
(intake -> stats -> qa_reviewer, two handoffs) with real `FunctionTool`s, one of which raises.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole, ToolCallBlock
from llama_index.core.llms.callbacks import llm_chat_callback
from llama_index.core.llms import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool

BEARER = "Bearer abcdefghijklmnopqrstuvwxyz0123456789"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
OPENAI_KEY = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ids = itertools.count(1)


def say(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, content=text)


def call(tool: str, **kwargs: Any) -> ChatMessage:
    block = ToolCallBlock(tool_call_id=f"call-{next(_ids)}", tool_name=tool, tool_kwargs=kwargs)
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=[block])


def handoff(to_agent: str, reason: str = "next") -> ChatMessage:
    return call("handoff", to_agent=to_agent, reason=reason)


class TokenStreamingMockLLM(MockFunctionCallingLLM):
    """LlamaIndex's mock LLM, streaming the way real LLMs do: each chunk's `delta` is the new piece and its message
    the text so far (the stock mock reports each piece as both)."""

    @llm_chat_callback()
    async def astream_chat(self, messages: Any, **kwargs: Any) -> Any:
        produced = self._get_response_generator()(messages, **kwargs)
        if isinstance(produced, ChatMessage):
            async def single() -> Any:
                yield ChatResponse(message=produced, delta=produced.content or "")

            return single()

        async def pieces() -> Any:
            text = ""
            async for piece in produced:
                text += piece.content or ""
                yield ChatResponse(message=say(text), delta=piece.content or "")

        return pieces()


def scripted_llm(script: Iterable[ChatMessage], *, tokens: int = 0) -> MockFunctionCallingLLM:
    """Plays `script`, one message per LLM call. With `tokens`, a text answer streams as that many chunks."""
    pending = list(script)

    def respond(messages: Any, **kwargs: Any) -> Any:
        message = pending.pop(0) if pending else say("done")
        if tokens and message.content and not any(isinstance(b, ToolCallBlock) for b in message.blocks):
            return _stream(message.content, tokens)
        return message

    return TokenStreamingMockLLM(response_generator=respond)


async def _stream(text: str, tokens: int) -> Any:
    size = max(1, -(-len(text) // tokens))
    for start in range(0, len(text), size):
        yield say(text[start:start + size])


def lookup_batch(batch_id: str, authorization: str = "") -> str:
    """Look up a batch record in the LIMS."""
    return f"batch {batch_id}: 12 samples, released; archive credentials aws_key={AWS_KEY}"


def compute_stats(values: str) -> str:
    """Compute summary statistics of comma-separated values."""
    numbers = [float(v) for v in values.split(",")]
    return f"mean={sum(numbers) / len(numbers):.2f} n={len(numbers)}"


def broken_instrument(channel: int) -> str:
    """Read an instrument channel (always fails: the instrument is offline)."""
    raise RuntimeError(f"instrument channel {channel} offline")


def triage_workflow(*, tokens: int = 0, final: str = "Batch B-7 approved for release.") -> AgentWorkflow:
    intake = FunctionAgent(
        name="intake", description="Takes the request and fetches the batch record.",
        system_prompt=f"You are intake. Use the LIMS key {OPENAI_KEY} only for lookups.",
        tools=[FunctionTool.from_defaults(lookup_batch)], can_handoff_to=["stats"],
        llm=scripted_llm([call("lookup_batch", batch_id="B-7", authorization=BEARER), handoff("stats", "numbers")]),
    )
    stats = FunctionAgent(
        name="stats", description="Computes statistics.", system_prompt="You are stats.",
        tools=[FunctionTool.from_defaults(compute_stats), FunctionTool.from_defaults(broken_instrument)],
        can_handoff_to=["qa_reviewer"],
        llm=scripted_llm([call("compute_stats", values="1,2,3"), call("broken_instrument", channel=4),
                          handoff("qa_reviewer", "review")]),
    )
    qa_reviewer = FunctionAgent(
        name="qa_reviewer", description="Reviews and concludes.", system_prompt="You are QA.",
        tools=[FunctionTool.from_defaults(compute_stats)], llm=scripted_llm([say(final)], tokens=tokens),
    )
    return AgentWorkflow(agents=[intake, stats, qa_reviewer], root_agent="intake", timeout=60)
