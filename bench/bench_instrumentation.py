"""Per-run overhead of instrumenting LlamaIndex workflows: a 3-step workflow (one stream event per step) and an
`AgentWorkflow` of three `FunctionAgent`s with tools and two handoffs, driven by LlamaIndex's mock LLM.

Modes, measured in one process, interleaved in blocks (A/B/C/D, then B/C/D/A, ...) so drift and noise hit all alike:

- `uninstrumented`: the workflow alone;
- `openinference`: OpenInference's LlamaIndexInstrumentor, spans through a BatchSpanProcessor into an exporter that
  encodes them as OTLP protobuf (what goes to Phoenix) and discards the bytes (no network);
- `gxp-otel`: `gxp_otel.instrument()` with the same OTLP-encoding exporter behind the same BatchSpanProcessor, plus the
  audit trail (real files, fsync per batch) for spans and logs: OpenInference + run/step enrichment + stream events
  (log record + span event);
- `gxp-otel-no-trail`: the same without the audit trail (shows what the trail costs).

Per block of runs: wall time of each run as the caller sees it, and process CPU time (all threads, background
export included) over the block *including* a final force_flush, divided by the runs. Overhead = mode minus
uninstrumented. Usage:

    .venv/bin/python bench/bench_instrumentation.py --runs 300 --block 10 [--case three-step|agents|both]
        [--markdown docs/benchmarks-instrumentation.md]

(`--markdown` writes the generated sections and keeps the notes from "### Reading these numbers" on.)
"""

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent


class Progress(Event):
    step: str
    n: int


class AEvent(Event):
    n: int


class BEvent(Event):
    n: int


class ThreeStep(Workflow):
    @step
    async def a(self, ctx: Context, ev: StartEvent) -> AEvent:
        ctx.write_event_to_stream(Progress(step="a", n=ev.get("n", 0)))
        return AEvent(n=ev.get("n", 0) + 1)

    @step
    async def b(self, ctx: Context, ev: AEvent) -> BEvent:
        ctx.write_event_to_stream(Progress(step="b", n=ev.n))
        return BEvent(n=ev.n + 1)

    @step
    async def c(self, ctx: Context, ev: BEvent) -> StopEvent:
        ctx.write_event_to_stream(Progress(step="c", n=ev.n))
        return StopEvent(result={"n": ev.n + 1})


def agent_workflow() -> Workflow:
    """intake -> stats -> qa_reviewer (two handoffs), three tool calls; a fresh one per run (the scripts are used up)."""
    from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
    from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
    from llama_index.core.llms import MockFunctionCallingLLM
    from llama_index.core.tools import FunctionTool

    def call(tool: str, **kwargs: Any) -> ChatMessage:
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id=tool, tool_name=tool,
                                                                             tool_kwargs=kwargs)])

    def llm(*script: ChatMessage) -> MockFunctionCallingLLM:
        pending = list(script)
        return MockFunctionCallingLLM(response_generator=lambda messages, **kw: pending.pop(0) if pending else
                                      ChatMessage(role=MessageRole.ASSISTANT, content="done"))

    def lookup_batch(batch_id: str) -> str:
        """Look up a batch record."""
        return f"batch {batch_id}: 12 samples, released"

    def compute_stats(values: str) -> str:
        """Summary statistics of comma-separated values."""
        numbers = [float(v) for v in values.split(",")]
        return f"mean={sum(numbers) / len(numbers):.2f}"

    answer = ChatMessage(role=MessageRole.ASSISTANT, content="Batch B-7 approved for release.")
    agents = [
        FunctionAgent(name="intake", description="Fetches the batch.", system_prompt="intake",
                      tools=[FunctionTool.from_defaults(lookup_batch)], can_handoff_to=["stats"],
                      llm=llm(call("lookup_batch", batch_id="B-7"), call("handoff", to_agent="stats", reason="n"))),
        FunctionAgent(name="stats", description="Statistics.", system_prompt="stats",
                      tools=[FunctionTool.from_defaults(compute_stats)], can_handoff_to=["qa_reviewer"],
                      llm=llm(call("compute_stats", values="1,2,3"), call("handoff", to_agent="qa_reviewer", reason="r"))),
        FunctionAgent(name="qa_reviewer", description="Concludes.", system_prompt="qa",
                      tools=[FunctionTool.from_defaults(compute_stats)], llm=llm(answer)),
    ]
    return AgentWorkflow(agents=agents, root_agent="intake", timeout=30)


CASES: dict[str, Callable[[int], tuple[Workflow, dict[str, Any]]]] = {
    "three-step": lambda i, _w=ThreeStep(timeout=30): (_w, {"n": i}),
    "agents": lambda i: (agent_workflow(), {"user_msg": "Check batch B-7"}),
}
NOTES_HEADING = "### Reading these numbers"  # --markdown keeps everything from this heading on
CASE_TITLES = {
    "three-step": "A 3-step LlamaIndex workflow writing one stream event per step",
    "agents": "An `AgentWorkflow` of three `FunctionAgent`s (mock LLM), three tool calls and two handoffs",
}


class OtlpEncodingExporter(SpanExporter):
    """Encodes spans exactly as the OTLP exporter would, then drops the bytes (the network is not measured)."""

    def __init__(self) -> None:
        self.bytes = 0

    def export(self, spans: Any) -> SpanExportResult:
        self.bytes += len(encode_spans(spans).SerializeToString())
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


class Mode:
    """setup() -> flush callable; teardown() restores the uninstrumented state."""

    name = "uninstrumented"

    def setup(self) -> Callable[[], Any]:
        return lambda: None

    def teardown(self) -> None:
        return None


class OpenInferenceMode(Mode):
    name = "openinference"

    def setup(self) -> Callable[[], Any]:
        from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

        self.provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
        self.provider.add_span_processor(BatchSpanProcessor(OtlpEncodingExporter()))
        LlamaIndexInstrumentor().instrument(tracer_provider=self.provider)
        return self.provider.force_flush

    def teardown(self) -> None:
        from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

        LlamaIndexInstrumentor().uninstrument()
        self.provider.shutdown()


class GxpMode(Mode):
    def __init__(self, name: str, trail: bool, root: str) -> None:
        self.name = name
        self.trail = trail
        self.root = root
        self.blocks = 0

    def setup(self) -> Callable[[], Any]:
        from gxp_otel.setup import instrument

        self.blocks += 1
        audit_dir = os.path.join(self.root, self.name) if self.trail else None
        self.handle = instrument(service_name="bench", otlp_endpoint=None, audit_dir=audit_dir)
        # The Phoenix path exactly as in `openinference` mode: the same exporter behind a BatchSpanProcessor with the
        # SDK's defaults. (`span_exporters=` is the test hook: its processors export every 200 ms.)
        self.handle.tracer_provider.add_span_processor(BatchSpanProcessor(OtlpEncodingExporter()))
        return self.handle.force_flush

    def teardown(self) -> None:
        self.handle.shutdown()


async def run_block(case: str, runs: int) -> list[float]:
    times = []
    prepared = [CASES[case](i) for i in range(runs)]  # built before the clock starts
    for workflow, start_kwargs in prepared:
        start = time.perf_counter()
        handler = workflow.run(**start_kwargs)
        async for _ in handler.stream_events():
            pass
        await handler
        times.append(time.perf_counter() - start)
    return times


def measure(modes: list[Mode], runs: int, block: int, warmup: int, case: str = "three-step") -> dict[str, dict[str, Any]]:
    workflow = case
    for mode in modes:  # warm-up: imports, caches, first trail files
        flush = mode.setup()
        asyncio.run(run_block(workflow, warmup))
        flush()
        mode.teardown()
    walls: dict[str, list[float]] = {m.name: [] for m in modes}
    cpus: dict[str, list[float]] = {m.name: [] for m in modes}
    block_walls: dict[str, list[float]] = {m.name: [] for m in modes}  # median wall per block, for paired A/B
    for round_no in range(runs // block):
        order = modes[round_no % len(modes):] + modes[: round_no % len(modes)]
        for mode in order:
            flush = mode.setup()
            cpu0 = time.process_time()
            times = asyncio.run(run_block(workflow, block))
            walls[mode.name].extend(times)
            block_walls[mode.name].append(statistics.median(times))
            flush()
            cpus[mode.name].append((time.process_time() - cpu0) / block)
            mode.teardown()
    base_wall = statistics.median(walls["uninstrumented"])
    base_cpu = statistics.median(cpus["uninstrumented"])
    results = {}
    for mode in modes:
        wall, cpu = walls[mode.name], cpus[mode.name]
        results[mode.name] = {
            "runs": len(wall),
            "wall_median_ms": statistics.median(wall) * 1e3,
            "wall_p90_ms": sorted(wall)[int(len(wall) * 0.9)] * 1e3,
            "cpu_per_run_ms": statistics.median(cpu) * 1e3,
            "overhead_wall_ms": (statistics.median(wall) - base_wall) * 1e3,
            "overhead_cpu_ms": (statistics.median(cpu) - base_cpu) * 1e3,
        }
    # Paired A/B: in each round every mode ran one block back to back; the per-round difference of block medians
    # cancels the drift between rounds. Its quartiles show how far apart the modes really are.
    for name in ("gxp-otel", "gxp-otel-no-trail"):
        diffs = sorted((g - o) * 1e3 for g, o in zip(block_walls[name], block_walls["openinference"]))
        q = statistics.quantiles(diffs, n=4)
        results[name]["paired_vs_openinference_ms"] = {"median": statistics.median(diffs), "q1": q[0], "q3": q[2]}
        # The goal's own figure per round: this mode's CPU overhead over OpenInference's, both against the
        # uninstrumented block of the same round.
        ratios = sorted((g - u) / (o - u) for g, o, u in zip(cpus[name], cpus["openinference"], cpus["uninstrumented"])
                        if o > u)
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        results[name]["cpu_overhead_ratio"] = {
            "overall": results[name]["overhead_cpu_ms"] / results["openinference"]["overhead_cpu_ms"],
            "median": statistics.median(ratios), "q1": q[0], "q3": q[2]}
    return results


def markdown(results: dict[str, dict[str, Any]], args: argparse.Namespace, case: str = "three-step") -> str:
    """The section for docs/benchmarks.md: what was measured, the table, the command, the verdict."""
    table = [
        "| mode | runs | wall median (ms) | wall p90 (ms) | CPU per run incl. export (ms) | overhead wall (ms) | overhead CPU (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        table.append(f"| {name} | {r['runs']} | {r['wall_median_ms']:.2f} | {r['wall_p90_ms']:.2f} | "
                     f"{r['cpu_per_run_ms']:.2f} | {r['overhead_wall_ms']:+.2f} | {r['overhead_cpu_ms']:+.2f} |")
    oi, gxp = results["openinference"], results["gxp-otel"]
    paired = gxp["paired_vs_openinference_ms"]
    paired_nt = results["gxp-otel-no-trail"]["paired_vs_openinference_ms"]
    ratio, ratio_nt = gxp["cpu_overhead_ratio"], results["gxp-otel-no-trail"]["cpu_overhead_ratio"]
    if ratio["overall"] <= 1 and ratio["median"] <= 1:
        verdict = "met"
    elif ratio["q1"] <= 1:
        verdict = f"not shown: {ratio['overall']:.2f}x, per-round median {ratio['median']:.2f}x, within noise (its IQR contains 1)"
    else:
        verdict = f"NOT met: {ratio['overall']:.2f}x"

    return "\n".join([
        f"## Workflow instrumentation overhead: {case}",
        "",
        f"{CASE_TITLES[case]}, run by a caller that consumes the stream.",
        "Modes are measured in one process, interleaved in blocks of runs (rotating order), after a warm-up:",
        "`openinference` = OpenInference's instrumentor alone; `gxp-otel` = `gxp_otel.instrument()`: OpenInference",
        "plus run/step enrichment, one log record and one span event per stream event, and the audit trail (real files,",
        "fsync per batch); `gxp-otel-no-trail` = the same without the trail. Both OpenInference and gxp-otel encode",
        "their spans as OTLP protobuf (what goes to Phoenix) into an exporter that drops the bytes: no network.",
        "Wall = one run as the caller sees it (median); CPU = process CPU time, all threads, over a block *including*",
        "the final flush (background export and trail writing), per run (median over blocks).",
        "",
        *table,
        "",
        "Paired A/B per round (block median of the mode minus the OpenInference block run next to it), wall ms: "
        f"gxp-otel {paired['median']:+.3f} (IQR {paired['q1']:+.3f} .. {paired['q3']:+.3f}); "
        f"gxp-otel-no-trail {paired_nt['median']:+.3f} (IQR {paired_nt['q1']:+.3f} .. {paired_nt['q3']:+.3f}).",
        "",
        "CPU overhead over OpenInference's (the goal's figure): gxp-otel "
        f"{ratio['overall']:.2f}x (per round: median {ratio['median']:.2f}x, IQR {ratio['q1']:.2f} .. {ratio['q3']:.2f}); "
        f"gxp-otel-no-trail {ratio_nt['overall']:.2f}x (per round: median {ratio_nt['median']:.2f}x, "
        f"IQR {ratio_nt['q1']:.2f} .. {ratio_nt['q3']:.2f}).",
        "",
        f"Goal (gxp-otel's CPU overhead <= OpenInference's alone, issues 12 and 16): **{verdict}** "
        f"({gxp['overhead_cpu_ms']:+.2f} ms vs {oi['overhead_cpu_ms']:+.2f} ms per run; load average "
        f"{os.getloadavg()[0]:.1f} at the end).",
        "",
        f"Command: `.venv/bin/python bench/bench_instrumentation.py --runs {args.runs} --block {args.block}"
        f" --case {args.case}`"
        f" (`make bench-instrumentation`; python {sys.version.split()[0]}, {os.cpu_count()} CPUs, shared machine).",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per mode")
    parser.add_argument("--block", type=int, default=10, help="runs per interleaved block")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--case", choices=[*CASES, "both"], default="both")
    args = parser.parse_args(argv)
    os.environ["LOG_CONSOLE"] = "false"
    os.environ.pop("GXP_OTEL_CONFIG", None)
    logging.getLogger("opentelemetry").setLevel(logging.ERROR)
    cases = list(CASES) if args.case == "both" else [args.case]
    sections, everything = [], {}
    for case in cases:
        with tempfile.TemporaryDirectory(prefix="gxp-bench-") as root:
            modes = [Mode(), OpenInferenceMode(), GxpMode("gxp-otel", True, root),
                     GxpMode("gxp-otel-no-trail", False, root)]
            everything[case] = results = measure(modes, args.runs, args.block, args.warmup, case)
        sections.append(markdown(results, args, case))
    if args.json:
        print(json.dumps(everything, indent=2))
    table = "\n\n".join(sections)
    print(table)
    if args.markdown:
        notes = ""  # the hand-written notes under the generated block are kept
        if os.path.exists(args.markdown):
            with open(args.markdown, encoding="utf-8") as f:
                current = f.read()
            at = current.find(NOTES_HEADING)
            notes = "\n" + current[at:] if at >= 0 else ""
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(table + "\n" + notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
