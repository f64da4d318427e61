"""Workflows and an in-memory telemetry pipeline shared by the instrumentation tests."""

from __future__ import annotations

import asyncio
import glob
import json
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from workflows import Context, Workflow, step
from workflows.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class Progress(Event):
    step: str
    n: int


class AEvent(Event):
    n: int


class BEvent(Event):
    n: int


class ThreeStep(Workflow):
    """start -> a -> b -> c -> stop; each step writes one Progress event to the stream."""

    @step
    async def a(self, ctx: Context, ev: StartEvent) -> AEvent:
        ctx.write_event_to_stream(Progress(step="a", n=ev.get("n", 0)))
        await asyncio.sleep(ev.get("pause", 0))
        return AEvent(n=ev.get("n", 0) + 1)

    @step
    async def b(self, ctx: Context, ev: AEvent) -> BEvent:
        ctx.write_event_to_stream(Progress(step="b", n=ev.n))
        await asyncio.sleep(0)
        return BEvent(n=ev.n + 1)

    @step
    async def c(self, ctx: Context, ev: BEvent) -> StopEvent:
        ctx.write_event_to_stream(Progress(step="c", n=ev.n))
        return StopEvent(result={"n": ev.n + 1})


class Failing(Workflow):
    @step
    async def a(self, ctx: Context, ev: StartEvent) -> AEvent:
        ctx.write_event_to_stream(Progress(step="a", n=0))
        return AEvent(n=1)

    @step
    async def b(self, ctx: Context, ev: AEvent) -> StopEvent:
        raise ValueError("assay limit exceeded")


class Slow(Workflow):
    @step
    async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
        ctx.write_event_to_stream(Progress(step="a", n=0))
        await asyncio.sleep(5)
        return StopEvent(result="late")


class Approval(InputRequiredEvent):
    suite: str


class Decision(HumanResponseEvent):
    approved: bool


class HumanInTheLoop(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> Approval:
        return Approval(prefix="approve?", suite="TS-1")

    @step
    async def decide(self, ctx: Context, ev: Decision) -> StopEvent:
        return StopEvent(result={"approved": ev.approved})


class Weird(Workflow):
    """Writes payloads that JSON cannot hold; the run must still succeed."""

    @step
    async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
        cyclic: dict[str, Any] = {}
        cyclic["self"] = cyclic
        ctx.write_event_to_stream(Event(nan=float("nan"), raw=b"\x00\xff", obj=object(), cyclic=cyclic,
                                        huge="x" * 100_000, big=2**80, bad="a\ud800b"))
        return StopEvent(result="survived")


@dataclass
class Telemetry:
    spans: InMemorySpanExporter
    logs: InMemoryLogRecordExporter
    tracer_provider: TracerProvider
    logger_provider: LoggerProvider

    def finished_spans(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def log_records(self) -> list[Any]:
        return [d.log_record for d in self.logs.get_finished_logs()]

    def span_named(self, name: str) -> ReadableSpan:
        (span,) = [s for s in self.finished_spans() if s.name == name]
        return span


async def run_collecting(workflow: Workflow, **start: Any) -> tuple[Any, str, list[Event]]:
    """Run, consume the stream (as a user would), return (result, run id, streamed events)."""
    handler = workflow.run(**start)
    streamed = [ev async for ev in handler.stream_events()]
    return await handler, str(handler.run_id), streamed


def trail_records(audit_dir: Any) -> list[dict]:
    """Every record of every plain chain file in `audit_dir`, in file order."""
    records = []
    for path in sorted(glob.glob(f"{audit_dir}/audit-*-[0-9]*.jsonl")):
        with open(path, encoding="utf-8") as f:
            records.extend(json.loads(line) for line in f)
    return records


class Flaky(Workflow):
    """Fails its first attempt, succeeds on the retry."""

    attempts = 0

    from workflows.retry_policy import retry_policy, stop_after_attempt, wait_fixed

    @step(retry_policy=retry_policy(wait=wait_fixed(0), stop=stop_after_attempt(3)))
    async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
        type(self).attempts += 1
        if type(self).attempts == 1:
            raise RuntimeError("transient instrument error")
        return StopEvent(result="ok")


class Waits(Workflow):
    """Its only step waits for an event that never comes; the run is then cancelled."""

    @step
    async def a(self, ctx: Context, ev: StartEvent) -> StopEvent:
        ctx.write_event_to_stream(Progress(step="a", n=0))
        await asyncio.sleep(30)
        return StopEvent(result="never")
