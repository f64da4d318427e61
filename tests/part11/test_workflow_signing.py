"""`sign(...)` inside a LlamaIndex workflow step: the approval is a signed record of the same trail and trace."""

from __future__ import annotations

import asyncio

import pytest
from workflows import Context, Workflow, step
from workflows.events import StartEvent, StopEvent

import gxp_otel.setup
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.part11.esign import sign
from p11_helpers import PASSPHRASE, lines


class ApprovalWorkflow(Workflow):
    signer_key = None

    @step
    async def approve(self, ctx: Context, ev: StartEvent) -> StopEvent:
        signed = sign({"suite_id": ev.suite_id, "decision": "approved"}, meaning="approval", reason="meets URS-042",
                      key=self.signer_key, user_id="alice", passphrase=PASSPHRASE)
        return StopEvent(result=signed)


@pytest.fixture()
def instrumented(tmp_path):
    import gxp_otel

    stale = gxp_otel.setup.active_handle()
    if stale is not None:  # instrument() returns an active handle as it is: start from none
        stale.shutdown()
    handle = gxp_otel.instrument(service_name="p11-test", audit_dir=tmp_path, otlp_endpoint=None,
                                 otlp_logs_endpoint=None, user_id="qa.author")
    assert handle.audit_dir == tmp_path
    yield tmp_path
    handle.shutdown()


def test_sign_in_a_step_writes_a_signed_record_of_the_runs_trace_into_the_instrumented_trail(instrumented, alice):
    ApprovalWorkflow.signer_key = alice

    async def run():
        return await ApprovalWorkflow(timeout=30).run(suite_id="TS-1")

    signed = asyncio.run(run())
    gxp_otel.setup.active_handle().shutdown()
    report = verify_trail(instrumented)
    assert report.ok, report.problems
    (shown,) = report.part11["signatures"]
    assert shown["linked"] and shown["printed_name"] == "Alice Example" and shown["meaning"] == "approval"
    records = [r for path in sorted(instrumented.glob("audit-*.jsonl")) if ".checkpoints." not in path.name
               for r in lines(path)]
    subject = next(r for r in records if r["hash"] == signed.record["hash"])
    run_span = next(r for r in records if r["kind"] == "span" and r["body"]["parent_span_id"] == "")
    assert subject["body"]["trace_id"] == run_span["body"]["trace_id"] != ""
    assert subject["body"]["body"]["kvlistValue"]["suite_id"] == {"stringValue": "TS-1"}
