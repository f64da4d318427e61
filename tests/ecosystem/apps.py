"""Small real applications (a LlamaIndex workflow, instrumented in code or zero-code) run as subprocesses.

`run_app(tmp_path, body, env)` writes `app.py` = the shared workflow + `body` and runs it with this venv's Python
(or under `opentelemetry-instrument` with `zero_code=True`), in an environment cleaned of every `OTEL_*`,
`GXP_OTEL_*`, `PHOENIX_*` and old-design variable, so that only what the test sets applies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

WORKFLOW = textwrap.dedent("""
    import asyncio, json, os, sys
    from workflows import Context, Workflow, step
    from workflows.events import Event, StartEvent, StopEvent

    class Progress(Event):
        step: str

    class Plain(Workflow):
        @step
        async def only(self, ctx: Context, ev: StartEvent) -> StopEvent:
            ctx.write_event_to_stream(Progress(step="only"))
            return StopEvent(result=ev.get("n", 0) * 2)

    async def run_once(n):
        handler = Plain(timeout=10).run(n=n)
        async for _ in handler.stream_events():
            pass
        return await handler

    def report(**values):
        print("REPORT " + json.dumps(values, default=str), flush=True)
""")

_CLEANED_PREFIXES = ("OTEL_", "GXP_OTEL_", "PHOENIX_", "OPENINFERENCE_")
_CLEANED = {"LOG_LEVEL", "LOG_DIRECTORY", "LOG_CONSOLE", "LOG_EVENT_FILE", "ENABLE_GAMP5_COMPLIANCE",
            "AUDIT_RETENTION_DAYS", "ENABLE_TAMPER_EVIDENT"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEANED_PREFIXES) and k not in _CLEANED}
    env.update({"LOG_CONSOLE": "false", "OTEL_EXPORTER_OTLP_TIMEOUT": "5"})
    env.update(extra)
    return env


def run_app(tmp_path: Path, body: str, env: dict[str, str], zero_code: bool = False,
            timeout: float = 120) -> subprocess.CompletedProcess:
    app = tmp_path / "app.py"
    app.write_text(WORKFLOW + textwrap.dedent(body), encoding="utf-8")
    command = [sys.executable, str(app)]
    if zero_code:
        command.insert(0, str(Path(sys.executable).with_name("opentelemetry-instrument")))
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)


def report_of(done: subprocess.CompletedProcess) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, f"no report; exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return json.loads(lines[-1][len("REPORT "):])
