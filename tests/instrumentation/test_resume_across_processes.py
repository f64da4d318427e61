"""A run serialised in one process and resumed in another stays in its trace, as the audit trail shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from instr_helpers import trail_records

SCRIPT = textwrap.dedent("""
    import asyncio, json, sys
    from workflows import Context, Workflow, step
    from workflows.events import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
    import gxp_otel.setup
    from gxp_otel.attribution import attribution

    class Approval(InputRequiredEvent):
        suite: str

    class Decision(HumanResponseEvent):
        approved: bool

    class Review(Workflow):
        @step
        async def ask(self, ctx: Context, ev: StartEvent) -> Approval:
            return Approval(prefix="approve?", suite="TS-1")

        @step
        async def decide(self, ctx: Context, ev: Decision) -> StopEvent:
            return StopEvent(result={"approved": ev.approved})

    async def first(path):
        with attribution(user_id="author"):
            handler = Review(timeout=10).run()
        async for ev in handler.stream_events():
            if isinstance(ev, Approval):
                open(path, "w").write(json.dumps(handler.ctx.to_dict()))
                await handler.cancel_run()
                break
        try:
            await handler
        except Exception:
            pass

    async def second(path):
        workflow = Review(timeout=10)
        handler = workflow.run(ctx=Context.from_dict(workflow, json.loads(open(path).read())))
        with attribution(user_id="reviewer"):
            handler.ctx.send_event(Decision(response="yes", approved=True))
        print(json.dumps(await handler))

    handle = gxp_otel.setup.instrument(audit_dir=sys.argv[2], otlp_endpoint=None)
    asyncio.run(first(sys.argv[3]) if sys.argv[1] == "first" else second(sys.argv[3]))
    handle.shutdown()
""")


def test_a_run_resumed_in_another_process_is_a_child_of_the_original_run_span(tmp_path):
    from gxp_otel.audit.verifier import verify_trail

    script, trail, saved = tmp_path / "review.py", tmp_path / "trail", tmp_path / "ctx.json"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "LOG_CONSOLE": "false"}
    for phase in ("first", "second"):
        done = subprocess.run([sys.executable, str(script), phase, str(trail), str(saved)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"approved": True}
    assert verify_trail(trail).ok
    runs = sorted((r["body"] for r in trail_records(trail) if r["kind"] == "span" and r["body"]["name"] == "Review.run"),
                  key=lambda b: int(b["start_time_unix_nano"]))
    original, resumed = runs
    assert resumed["trace_id"] == original["trace_id"]
    assert resumed["parent_span_id"] == original["span_id"]
    assert resumed["attributes"]["gxp.workflow.resumed_from"] == original["attributes"]["gxp.workflow.run_id"]
    assert original["gxp"]["user_id"] == resumed["gxp"]["user_id"] == "author"
    (answer,) = [r["body"] for r in trail_records(trail) if r["kind"] == "log" and r["body"]["event_name"] == "Decision"]
    assert answer["gxp"]["user_id"] == "reviewer" and answer["trace_id"] == original["trace_id"]


PAUSE_AND_EXIT = textwrap.dedent("""
    import asyncio, json, os, signal, sys
    from workflows import Context, Workflow, step
    from workflows.events import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
    import gxp_otel.setup
    from gxp_otel.attribution import attribution, send_human_response

    class Approval(InputRequiredEvent):
        suite: str

    class Decision(HumanResponseEvent):
        approved: bool

    class Review(Workflow):
        @step
        async def ask(self, ctx: Context, ev: StartEvent) -> Approval:
            return Approval(prefix="approve?", suite="TS-1")

        @step
        async def decide(self, ctx: Context, ev: Decision) -> StopEvent:
            return StopEvent(result={"approved": ev.approved})

    async def first(path):
        with attribution(user_id="author", correlation_id="CC-2026-0042", gamp_category=5, risk_level="high"):
            handler = Review(timeout=30).run()
        async for ev in handler.stream_events():
            if isinstance(ev, Approval):
                open(path, "w").write(json.dumps(handler.ctx.to_dict()))
                if sys.argv[4:] == ["kill"]:  # killed: nothing of this process reaches the trail
                    os.kill(os.getpid(), signal.SIGKILL)
                return  # the process ends with the run paused on the reviewer: no cancel_run, no answer

    async def second(path):
        workflow = Review(timeout=30)
        handler = workflow.run(ctx=Context.from_dict(workflow, json.loads(open(path).read())))
        send_human_response(handler.ctx, Decision(response="approved", approved=True), responder="qa.reviewer")
        print(json.dumps(await handler))

    gxp_otel.setup.instrument(audit_dir=sys.argv[2], otlp_endpoint=None)
    asyncio.run(first(sys.argv[3]) if sys.argv[1] == "first" else second(sys.argv[3]))
""")


def test_a_paused_run_whose_process_exits_is_suspended_and_the_resumed_run_has_its_parent_in_the_trail(tmp_path):
    from gxp_otel.audit.verifier import verify_trail

    script, trail, saved = tmp_path / "pause.py", tmp_path / "trail", tmp_path / "ctx.json"
    script.write_text(PAUSE_AND_EXIT, encoding="utf-8")
    env = {**os.environ, "LOG_CONSOLE": "false"}
    for phase in ("first", "second"):
        done = subprocess.run([sys.executable, str(script), phase, str(trail), str(saved)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"approved": True}
    report = verify_trail(trail, alcoa=True)
    assert report.ok
    assert report.alcoa["principles"]["complete"]["failed"] == 0
    assert report.alcoa["principles"]["attributable"]["failed"] == 0
    assert report.alcoa["decisions"] == {"declared": 1, "e-signed": 0, "automated": 0}
    records = trail_records(trail)
    runs = sorted((r["body"] for r in records if r["kind"] == "span" and r["body"]["name"] == "Review.run"),
                  key=lambda b: int(b["start_time_unix_nano"]))
    original, resumed = runs
    assert original["attributes"]["gxp.workflow.outcome"] == {"stringValue": "suspended"}
    assert original["status"]["code"] != "ERROR"
    assert resumed["parent_span_id"] == original["span_id"] and resumed["trace_id"] == original["trace_id"]
    assert resumed["attributes"]["gxp.workflow.outcome"] == {"stringValue": "completed"}
    (answer,) = [r["body"] for r in records if r["kind"] == "log" and r["body"].get("event_name") == "Decision"]
    assert answer["gxp"]["user_id"] == "qa.reviewer"
    assert answer["attributes"]["gxp.hitl.action"] == {"stringValue": "human-response"}
    # 12.5: the approval carries the run's context, though the answering process set no attribution
    assert answer["gxp"]["correlation_id"] == "CC-2026-0042"
    assert answer["gxp"]["gamp_category"] == "5" and answer["gxp"]["risk_level"] == "high"


def test_complete_fails_for_a_resumed_run_whose_original_run_span_is_not_in_the_trail(tmp_path):
    """The first process is SIGKILLed while the run is paused: its run span never reaches the trail. The resumed
    run in a second process points to it; ALCOA+ Complete must say so instead of passing."""
    from gxp_otel.audit.verifier import verify_trail

    script, trail, saved = tmp_path / "pause.py", tmp_path / "trail", tmp_path / "ctx.json"
    script.write_text(PAUSE_AND_EXIT, encoding="utf-8")
    env = {**os.environ, "LOG_CONSOLE": "false"}
    killed = subprocess.run([sys.executable, str(script), "first", str(trail), str(saved), "kill"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9 and saved.exists()
    done = subprocess.run([sys.executable, str(script), "second", str(trail), str(saved)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = verify_trail(trail, alcoa=True)
    complete = report.alcoa["principles"]["complete"]
    assert complete["failed"] == 1
    assert "resumed run's parent run span" in complete["examples"][0]["reason"]
