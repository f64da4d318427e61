"""`opentelemetry-instrument python app.py`: no code change, spans and stream events reach the audit trail."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from instr_helpers import trail_records

APP = textwrap.dedent("""
    import asyncio
    from workflows import Context, Workflow, step
    from workflows.events import Event, StartEvent, StopEvent

    class Progress(Event):
        step: str

    class Plain(Workflow):
        @step
        async def only(self, ctx: Context, ev: StartEvent) -> StopEvent:
            ctx.write_event_to_stream(Progress(step="only"))
            return StopEvent(result=ev.get("n", 0) * 2)

    async def main():
        handler = Plain(timeout=10).run(n=21)
        async for _ in handler.stream_events():
            pass
        print("result", await handler)

    asyncio.run(main())
""")


def test_opentelemetry_instrument_traces_an_unmodified_app_into_the_trail(tmp_path):
    from gxp_otel.audit.verifier import verify_trail

    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    trail = tmp_path / "trail"
    env = {**os.environ, "GXP_OTEL_AUDIT_DIR": str(trail), "OTEL_TRACES_EXPORTER": "none", "LOG_CONSOLE": "false"}
    env.pop("GXP_OTEL_CONFIG", None)
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    done = subprocess.run([str(launcher), sys.executable, "app.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "result 42"
    assert verify_trail(trail).ok
    records = trail_records(trail)
    spans = {r["body"]["name"]: r["body"] for r in records if r["kind"] == "span"}
    assert set(spans) == {"Plain.run", "Plain.only"}
    assert spans["Plain.only"]["parent_span_id"] == spans["Plain.run"]["span_id"]
    assert [e["name"] for e in spans["Plain.only"]["events"]] == ["Progress"]
    (log,) = [r["body"] for r in records if r["kind"] == "log"]
    assert log["event_name"] == "Progress"
    assert log["span_id"] == spans["Plain.only"]["span_id"]
    assert log["gxp"]["run_id"] == spans["Plain.run"]["gxp"]["run_id"]
