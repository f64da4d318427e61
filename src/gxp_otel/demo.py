"""The end-to-end demo (``gxp-otel demo``, ``make demo``): one workflow script, traced to Phoenix and to a verified trail.

Steps, each checked rather than assumed:

1. Phoenix: reuse the one answering at the chosen port, else start ours (``PhoenixServer``) and leave it running.
2. Run the example workflow script in a child process (``--audit-dir --otlp-endpoint --signing-key --runs --json``;
   the Phoenix project through ``PHOENIX_PROJECT_NAME``), so the script's one ``instrument()`` call is all the
   instrumentation there is. The child's exit flushes and closes everything; its JSON gives runs and statistics.
3. Find the runs the script recorded in the trail (records written since step 2 began), and confirm through
   Phoenix's REST API that every run's trace arrived with exactly as many spans as the trail holds for it.
4. Verify the whole trail (signatures checked against the demo key's public half, not the trail's own claim).
5. Annotate each run's root span in Phoenix with its audit status, and return a summary with the trace links.

Running it again appends new runs to the same trail (the writer resumes its stream) and to the same Phoenix project.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gxp_otel.audit.report import TrailReport
from gxp_otel.audit.signing import generate_key_pem
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.phoenix.audit_status import RunInTrail, audit_annotation, runs_in_trail
from gxp_otel.phoenix.client import PhoenixApiError, PhoenixClient
from gxp_otel.phoenix.server import PhoenixServer, free_port, port_is_free

DEMO_PROJECT = "gxp-otel-demo"
EXAMPLE = Path("examples") / "pharma_test_generation.py"


class DemoError(RuntimeError):
    """The demo could not complete one of its steps; the message says which and why."""


@dataclass
class RunResult:
    run: RunInTrail
    spans_in_phoenix: int
    trace_url: str
    annotation: str = ""


@dataclass
class DemoResult:
    phoenix_url: str
    data_dir: Path
    phoenix_started: bool
    phoenix_start_seconds: float
    project: str
    audit_dir: Path
    public_key_file: Path
    example_seconds: float
    runs: list[RunResult] = field(default_factory=list)
    example_output: dict = field(default_factory=dict)
    report: TrailReport | None = None
    wall_seconds: float = 0.0

    @property
    def all_arrived(self) -> bool:
        return bool(self.runs) and all(r.spans_in_phoenix == r.run.spans for r in self.runs)

    @property
    def ok(self) -> bool:
        return self.all_arrived and self.report is not None and self.report.ok


def find_example(explicit: Path | None = None) -> Path:
    """The example script: ``explicit``, else ``examples/pharma_test_generation.py`` under the current directory or
    the source checkout this package runs from."""
    candidates = [explicit] if explicit else [Path.cwd() / EXAMPLE, Path(__file__).resolve().parents[2] / EXAMPLE,
                                              Path(__file__).resolve().parent / EXAMPLE]  # shipped in the wheel
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            return candidate.resolve()
    raise DemoError(f"example workflow not found (looked for {', '.join(str(c) for c in candidates)})")


def ensure_signing_key(key_file: Path) -> Path:
    """Create the demo's Ed25519 checkpoint key (and ``.pub``) once; later runs reuse it. Returns the .pub path."""
    public_file = key_file.with_name(key_file.name + ".pub")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem, signer = generate_key_pem()
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        public_file.write_text(signer.public_key_hex + "\n")
    return public_file


def _trail_time_now() -> str:
    now = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 1_000_000_000)) + f".{now % 1_000_000_000:09d}Z"


def run_demo(
    data_dir: Path,
    *,
    http_port: int,
    grpc_port: int,
    example: Path | None = None,
    project: str = DEMO_PROJECT,
    runs: int = 2,
    arrival_timeout: float = 60.0,
    auth: bool = False,
    echo=print,
) -> DemoResult:
    """Do the five steps above; raise :class:`DemoError` when a step cannot be done at all."""
    started = time.monotonic()
    script = find_example(example)
    server = PhoenixServer(data_dir, http_port=http_port, grpc_port=grpc_port, auth=auth)
    phoenix_started, phoenix_seconds = False, 0.0
    status = server.status()
    if status.state in ("running", "foreign"):
        echo(f"Phoenix: reusing the one at {status.url}")
        url = status.url
    else:
        if not port_is_free(server.grpc_port):  # e.g. a collector on 4317; the demo sends over HTTP only
            taken, server.grpc_port = server.grpc_port, free_port()
            echo(f"Phoenix: gRPC port {taken} is taken, using {server.grpc_port} instead")
        echo(f"Phoenix: starting on {server.url} (data in {server.phoenix_dir}) ...")
        t0 = time.monotonic()
        url = server.start().url
        phoenix_started, phoenix_seconds = True, time.monotonic() - t0
        echo(f"Phoenix: healthy after {phoenix_seconds:.1f} s")

    audit_dir = server.data_dir / "audit"
    key_file = server.data_dir / "keys" / "demo-checkpoint-key.pem"
    public_file = ensure_signing_key(key_file)
    result = DemoResult(url, server.data_dir, phoenix_started, phoenix_seconds, project, audit_dir, public_file, 0.0)

    since = _trail_time_now()
    env = dict(os.environ)
    api_key = server.api_key()  # a Phoenix started here with --auth: export and annotations send its key
    if api_key:
        env["PHOENIX_API_KEY"] = api_key
    env.update(
        PHOENIX_COLLECTOR_ENDPOINT=url,
        PHOENIX_PROJECT_NAME=project,
        GXP_OTEL_AUDIT_DIR=str(audit_dir),
        GXP_OTEL_SIGNING_KEY=str(key_file),
    )
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        env.pop(variable, None)
    echo(f"Workflow: running {script.name} (audit trail in {audit_dir})")
    t0 = time.monotonic()
    command = [sys.executable, str(script), "--audit-dir", str(audit_dir), "--otlp-endpoint", url,
               "--signing-key", str(key_file), "--runs", str(runs), "--json"]
    completed = subprocess.run(command, env=env, cwd=script.parent, check=False, stdout=subprocess.PIPE)
    result.example_seconds = time.monotonic() - t0
    if completed.returncode != 0:
        raise DemoError(f"{script.name} exited with status {completed.returncode}")
    try:
        result.example_output = json.loads(completed.stdout)
    except ValueError as error:
        raise DemoError(f"{script.name} did not print its JSON result: {completed.stdout[-500:]!r}") from error

    recorded = [r for r in runs_in_trail(audit_dir, since=since) if r.root_span_id]
    if not recorded:
        raise DemoError(f"{script.name} finished but recorded no workflow run in {audit_dir}")
    client = PhoenixClient(url, api_key=api_key)
    ids = [r.trace_id for r in recorded]
    counts = client.wait_for_spans(project, ids, {r.trace_id: r.spans for r in recorded}, timeout=arrival_timeout)
    try:
        project_id = client.project_id(project)
    except PhoenixApiError:
        project_id = ""
    result.runs = [
        RunResult(r, counts.get(r.trace_id, 0), client.trace_url(project_id, r.trace_id) if project_id else "")
        for r in recorded
    ]

    result.report = verify_trail(audit_dir, trusted_keys=[public_file.read_text().strip()])
    annotations = [audit_annotation(r.run, result.report, audit_dir) for r in result.runs]
    arrived = [(rr, a) for rr, a in zip(result.runs, annotations) if rr.spans_in_phoenix > 0]
    if arrived:
        client.annotate([a for _, a in arrived])
        for run_result, annotation in arrived:
            run_result.annotation = annotation.explanation
    result.wall_seconds = time.monotonic() - started
    return result
