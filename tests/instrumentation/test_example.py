"""The pharma example runs offline into a verifying trail, with the reviewer's approval attributed to the reviewer."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from instr_helpers import trail_records

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pharma_test_generation.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("pharma_test_generation", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_two_concurrent_example_runs_make_a_verifying_attributed_trail(example, tmp_path):
    from gxp_otel.audit.verifier import verify_trail

    results, stats = example.run_example(audit_dir=tmp_path, otlp_endpoint=None, runs=2)
    assert [r.result["status"] for r in results] == ["approved", "approved"]
    assert all(r.result["test_cases"] == 18 for r in results)
    assert stats["errors"] == 0
    assert verify_trail(tmp_path).ok
    records = trail_records(tmp_path)
    spans = [r["body"] for r in records if r["kind"] == "span"]
    logs = [r["body"] for r in records if r["kind"] == "log"]
    for result in results:
        run_spans = [s for s in spans if s["gxp"].get("run_id") == result.run_id]
        names = Counter(s["name"] for s in run_spans if s["name"].startswith("PharmaTestGenerationWorkflow."))
        assert names == {"PharmaTestGenerationWorkflow.run": 1, "PharmaTestGenerationWorkflow.ingest_urs": 1,
                         "PharmaTestGenerationWorkflow.categorize": 1, "PharmaTestGenerationWorkflow.plan_tests": 1,
                         "PharmaTestGenerationWorkflow.agent_worker": 3,
                         "PharmaTestGenerationWorkflow.collect_results": 3,
                         "PharmaTestGenerationWorkflow.validate": 1, "PharmaTestGenerationWorkflow.finalize": 1}
        assert len({s["trace_id"] for s in run_spans}) == 1
        run_logs = {l["event_name"]: l for l in logs if l["gxp"].get("run_id") == result.run_id}
        assert set(run_logs) >= {"URSIngestionEvent", "GAMPCategorizationEvent", "TestPlanningEvent",
                                 "AgentInteractionEvent", "ValidationEvent", "ApprovalRequiredEvent",
                                 "ApprovalDecisionEvent", "ApprovalRecordedEvent"}
        assert run_logs["ApprovalDecisionEvent"]["gxp"]["user_id"] == "qa.reviewer"
        assert run_logs["ApprovalRequiredEvent"]["gxp"]["user_id"].startswith("qa.author")
        assert run_logs["AgentInteractionEvent"]["gxp"]["agent_id"].endswith("-agent")
    assert stats["events_processed"] == len(logs)


def test_command_line_runs_offline(tmp_path):
    done = subprocess.run([sys.executable, str(EXAMPLE), "--audit-dir", str(tmp_path / "trail"), "--no-otlp"],
                          capture_output=True, text=True, timeout=120, env={"LOG_CONSOLE": "false", "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "approved by qa.reviewer, 18 test cases" in done.stdout
