"""Pharmaceutical test generation, instrumented with one call: a GxP LlamaIndex workflow traced to Phoenix and to a
verifiable audit trail. Runs offline: the "LLM" is LlamaIndex's MockLLM and every decision is deterministic.

    .venv/bin/python examples/pharma_test_generation.py --audit-dir /tmp/trail --no-otlp
    .venv/bin/python examples/pharma_test_generation.py --audit-dir /tmp/trail          # + Phoenix on :6006
    .venv/bin/gxp-otel verify /tmp/trail

Flow: URS ingestion -> GAMP 5 categorisation -> test planning -> parallel agent steps (`num_workers=3`, fan-out with
`ctx.send_event`, fan-in with `ctx.collect_events`) -> validation -> human approval (`InputRequiredEvent` answered in
code with a `HumanResponseEvent`, under the reviewer's identity) -> the approved test suite.

For other code (the `gxp-otel demo` command): `run_pharma_test_generation(...)` runs one workflow (instrument first),
`run_example(...)` instruments, runs, flushes, shuts down and returns the results; `PharmaTestGenerationWorkflow` is
the workflow class. This file is not in a package: load it with `importlib` (see `load_example` in the demo docs).
"""


import argparse
import os
import asyncio
import hashlib
import json
import sys
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.llms import MockLLM
from workflows import Context, Workflow, step
from workflows.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent

from gxp_otel.attribution import attribution, send_human_response
from gxp_otel.integration import EventLoggingMixin

SAMPLE_URS = """\
URS-042 Laboratory Information Management System, sample lifecycle module
REQ-001 The system shall record every sample registration with user, time and reason.
REQ-002 The system shall enforce unique sample identifiers.
REQ-003 The system shall calculate assay results with a validated custom algorithm.
REQ-004 The system shall require an electronic signature for result approval.
REQ-005 The system shall keep an audit trail of every change to a result.
REQ-006 The system shall export approved results to the ERP interface.
"""

TEST_AREAS = ("functional", "data-integrity", "security")


# -- events ------------------------------------------------------------------------------------------------------
class URSIngestedEvent(Event):
    document_name: str
    document_sha256: str
    requirements: list[dict[str, str]]


class GAMPCategorizedEvent(Event):
    requirements: list[dict[str, str]]
    gamp_category: int
    confidence: float
    rationale: str


class TestPlanEvent(Event):
    plan_id: str
    gamp_category: int
    risk_level: str
    test_areas: list[str]


class AgentRequestEvent(Event):
    agent: str
    area: str
    requirements: list[dict[str, str]]


class AgentResultEvent(Event):
    agent: str
    area: str
    test_cases: list[dict[str, Any]]
    success: bool


class ValidationRequestEvent(Event):
    test_cases: list[dict[str, Any]]


class ApprovalRequiredEvent(InputRequiredEvent):
    suite_id: str
    test_case_count: int
    summary: str


class ApprovalDecisionEvent(HumanResponseEvent):
    approved: bool
    reviewer: str
    comment: str = ""
    signature: dict = {}  # the reviewer's 21 CFR 11 electronic signature record reference, when one was made


# -- the workflow ------------------------------------------------------------------------------------------------
class PharmaTestGenerationWorkflow(Workflow, EventLoggingMixin):
    """Deterministic: the same URS always yields the same categorisation, plan and test cases."""

    def __init__(self, *args: Any, llm: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.llm = llm or MockLLM(max_tokens=24)

    @step
    async def ingest_urs(self, ctx: Context, ev: StartEvent) -> URSIngestedEvent:
        text = str(ev.get("urs_text") or SAMPLE_URS)
        name = str(ev.get("document_name") or "URS-042.txt")
        requirements = [
            {"id": line.split(" ", 1)[0], "text": line.split(" ", 1)[1]}
            for line in text.splitlines()
            if line.startswith("REQ-")
        ]
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self.log_workflow_event(ctx, "URSIngestionEvent", "URS ingested",
                                {"document": name, "requirements": len(requirements), "sha256": digest})
        return URSIngestedEvent(document_name=name, document_sha256=digest, requirements=requirements)

    @step
    async def categorize(self, ctx: Context, ev: URSIngestedEvent) -> GAMPCategorizedEvent:
        custom = any("custom" in r["text"].lower() for r in ev.requirements)
        configured = any("interface" in r["text"].lower() for r in ev.requirements)
        category, confidence = (5, 0.92) if custom else (4, 0.85) if configured else (3, 0.8)
        rationale = "custom algorithm requirement" if custom else "configured product" if configured else "COTS"
        self.log_workflow_event(ctx, "GAMPCategorizationEvent", "GAMP categorisation completed",
                                {"category": category, "confidence": confidence, "rationale": rationale})
        return GAMPCategorizedEvent(requirements=ev.requirements, gamp_category=category,
                                    confidence=confidence, rationale=rationale)

    @step
    async def plan_tests(self, ctx: Context, ev: GAMPCategorizedEvent) -> AgentRequestEvent | None:
        risk = "high" if ev.gamp_category == 5 else "medium" if ev.gamp_category == 4 else "low"
        plan_id = f"TP-{hashlib.sha256(repr(ev.requirements).encode()).hexdigest()[:8]}"
        await ctx.store.set("expected_agents", len(TEST_AREAS))
        self.log_workflow_event(ctx, "TestPlanningEvent", "Test plan created",
                                {"plan_id": plan_id, "risk_level": risk, "areas": list(TEST_AREAS)})
        for area in TEST_AREAS:  # fan out: one agent request per test area, handled by parallel workers
            ctx.send_event(AgentRequestEvent(agent=f"{area}-agent", area=area, requirements=ev.requirements))
        return None

    @step(num_workers=3)
    async def agent_worker(self, ctx: Context, ev: AgentRequestEvent) -> AgentResultEvent:
        test_cases = []
        for i, requirement in enumerate(ev.requirements, start=1):
            completion = await self.llm.acomplete(f"Write a {ev.area} test for {requirement['id']}")
            test_cases.append({
                "id": f"TC-{ev.area[:3].upper()}-{i:03d}",
                "requirement": requirement["id"],
                "area": ev.area,
                "objective": f"Verify {requirement['text'][:60]}",
                "draft": completion.text[:80],
            })
        self.log_agent_interaction(ctx, ev.agent, {"area": ev.area, "requirements": len(ev.requirements)},
                                   {"test_cases": len(test_cases)}, success=True)
        return AgentResultEvent(agent=ev.agent, area=ev.area, test_cases=test_cases, success=True)

    @step
    async def collect_results(self, ctx: Context, ev: AgentResultEvent) -> ValidationRequestEvent | None:
        expected = await ctx.store.get("expected_agents", default=len(TEST_AREAS))
        results = ctx.collect_events(ev, [AgentResultEvent] * expected)
        if results is None:
            return None
        cases = [case for result in sorted(results, key=lambda r: r.area) for case in result.test_cases]
        return ValidationRequestEvent(test_cases=cases)

    @step
    async def validate(self, ctx: Context, ev: ValidationRequestEvent) -> ApprovalRequiredEvent:
        ids = [case["id"] for case in ev.test_cases]
        problems = [] if len(ids) == len(set(ids)) else ["duplicate test case ids"]
        covered = sorted({case["requirement"] for case in ev.test_cases})
        self.log_workflow_event(ctx, "ValidationEvent", "Test suite validated",
                                {"test_cases": len(ids), "requirements_covered": covered, "problems": problems})
        await ctx.store.set("test_cases", ev.test_cases)
        suite_id = f"TS-{hashlib.sha256(','.join(ids).encode()).hexdigest()[:8]}"
        return ApprovalRequiredEvent(prefix="Approve the generated test suite? ", suite_id=suite_id,
                                     test_case_count=len(ids), summary=f"{len(ids)} cases, {len(covered)} requirements")

    @step
    async def finalize(self, ctx: Context, ev: ApprovalDecisionEvent) -> StopEvent:
        cases = await ctx.store.get("test_cases", default=[])
        status = "approved" if ev.approved else "rejected"
        self.log_workflow_event(ctx, "ApprovalRecordedEvent", f"Suite {status} by {ev.reviewer}",
                                {"approved": ev.approved, "reviewer": ev.reviewer, "comment": ev.comment})
        return StopEvent(result={"status": status, "reviewer": ev.reviewer, "test_cases": len(cases),
                                 "test_case_ids": [c["id"] for c in cases]})


# -- running it --------------------------------------------------------------------------------------------------
@dataclass
class PharmaRunResult:
    run_id: str
    result: dict[str, Any]
    stream_event_types: list[str] = field(default_factory=list)


async def run_pharma_test_generation(
    *,
    urs_text: str = SAMPLE_URS,
    user_id: str = "qa.author",
    reviewer_id: str = "qa.reviewer",
    approve: bool = True,
    correlation_id: str | None = None,
    timeout: float = 60.0,
    signer_key: str | None = None,
    signer_passphrase: str | None = None,
) -> PharmaRunResult:
    """Run the workflow once as `user_id`; the approval is answered in code by `reviewer_id`. Call `instrument()` first."""
    workflow = PharmaTestGenerationWorkflow(timeout=timeout)
    correlation = correlation_id or f"req-{uuid.uuid4().hex[:12]}"
    with attribution(user_id=user_id, correlation_id=correlation, gamp_category=5, risk_level="high"):
        handler = workflow.run(urs_text=urs_text, document_name="URS-042.txt")
    seen: list[str] = []
    async for event in handler.stream_events():
        seen.append(getattr(event, "event_type", None) or type(event).__name__)
        if isinstance(event, ApprovalRequiredEvent):
            comment = "Reviewed against URS-042" if approve else "Coverage insufficient"
            with attribution(user_id=reviewer_id, correlation_id=correlation):
                signature: dict = {}
                if signer_key is not None:  # the reviewer signs; credentials never enter the workflow or its events
                    from gxp_otel.part11.esign import sign

                    signed = sign({"run_id": str(handler.run_id), "suite_id": event.suite_id, "summary": event.summary,
                                   "decision": "approved" if approve else "rejected"},
                                  meaning="approval" if approve else "review", reason=comment, key=signer_key,
                                  user_id=reviewer_id, passphrase=signer_passphrase or "")
                    signature = dict(signed.signature)
                # The answering side declares who answered: recorded as this person's decision, not an automated one.
                send_human_response(handler.ctx, ApprovalDecisionEvent(
                    response="approved" if approve else "rejected", approved=approve, reviewer=reviewer_id,
                    comment=comment, signature=signature), responder=reviewer_id)
    result = await handler
    return PharmaRunResult(run_id=str(handler.run_id), result=result, stream_event_types=seen)


def run_example(
    *,
    audit_dir: str | Path | None,
    otlp_endpoint: str | None = "http://127.0.0.1:6006",
    runs: int = 1,
    service_name: str = "pharma-test-generation",
    signing_key: str | None = None,
    approve: bool = True,
    signer_key: str | None = None,
    signer_passphrase: str | None = None,
) -> tuple[list[PharmaRunResult], dict[str, Any]]:
    """Instrument, run `runs` workflows concurrently, flush, shut down; returns the results and the statistics."""
    from gxp_otel.setup import instrument

    handle = instrument(service_name=service_name, audit_dir=audit_dir, otlp_endpoint=otlp_endpoint,
                        signing_key=signing_key, agent_id="pharma-test-generator")
    try:
        async def all_runs() -> list[PharmaRunResult]:
            return list(await asyncio.gather(*(
                run_pharma_test_generation(user_id=f"qa.author{i}", approve=approve, signer_key=signer_key,
                                           signer_passphrase=signer_passphrase) for i in range(runs))))

        results = asyncio.run(all_runs())
        handle.force_flush()
        return results, handle.statistics()
    finally:
        handle.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audit-dir", help="write the audit trail here")
    parser.add_argument("--otlp-endpoint", default="http://127.0.0.1:6006", help="Phoenix / OTLP HTTP base URL")
    parser.add_argument("--no-otlp", action="store_true", help="do not export to Phoenix")
    parser.add_argument("--runs", type=int, default=1, help="concurrent workflow runs")
    parser.add_argument("--signing-key", help="Ed25519 private key (PEM) for signed checkpoints")
    parser.add_argument("--reject", action="store_true", help="the reviewer rejects the suite")
    parser.add_argument("--signer-key", help="the reviewer's signer key (gxp-otel keygen --signer ... --user-id "
                        "qa.reviewer); the passphrase is read from $GXP_OTEL_SIGNER_PASSPHRASE")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args(argv)
    results, stats = run_example(audit_dir=args.audit_dir, otlp_endpoint=None if args.no_otlp else args.otlp_endpoint,
                                 runs=args.runs, signing_key=args.signing_key, approve=not args.reject,
                                 signer_key=args.signer_key,
                                 signer_passphrase=os.environ.get("GXP_OTEL_SIGNER_PASSPHRASE"))
    if args.json:
        print(json.dumps({"runs": [asdict(r) for r in results], "statistics": stats}, indent=2, default=str))
    else:
        for r in results:
            print(f"run {r.run_id}: {r.result['status']} by {r.result['reviewer']}, {r.result['test_cases']} test cases")
        print(f"events recorded: {stats['events_processed']}, telemetry errors: {stats['errors']}")
        if args.audit_dir:
            print(f"audit trail: {args.audit_dir}  (verify: gxp-otel verify {args.audit_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
