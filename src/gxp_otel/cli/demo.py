"""`gxp-otel demo`: the main job end to end (what `make demo` runs); see `gxp_otel.demo` for the steps.

Exit codes: 0 every run's trace is in Phoenix and the trail verified; 1 otherwise (the summary says what failed).
"""

from __future__ import annotations

from gxp_otel.cli.invocation import command

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gxp_otel.phoenix.server import DEFAULT_GRPC_PORT, DEFAULT_HTTP_PORT, resolve_data_dir

if TYPE_CHECKING:
    from gxp_otel.demo import DemoResult

DEMO_PROJECT = "gxp-otel-demo"
"""``gxp_otel.demo.DEMO_PROJECT`` (tests/ecosystem/test_cli_conventions.py): ``gxp_otel.demo`` is imported only when the
demo runs: every other verb (verify) would pay for its imports."""


def _summary(result: DemoResult) -> str:
    report = result.report
    spans = sum(r.run.spans for r in result.runs)
    in_phoenix = sum(r.spans_in_phoenix for r in result.runs)
    events = sum(r.run.stream_events for r in result.runs)
    lines = ["", "Summary"]
    lines.append(f"  workflow runs      {len(result.runs)}  ({result.example_seconds:.1f} s)")
    lines.append(f"  spans              {spans} in the audit trail, {in_phoenix} in Phoenix"
                 + ("" if result.all_arrived else "  <- NOT ALL ARRIVED"))
    lines.append(f"  stream events      {events}")
    stats = result.example_output.get("statistics") or {}
    if stats:
        lines.append(f"  telemetry errors   {stats.get('errors', '?')} {stats.get('errors_by_kind') or ''}".rstrip())
    if report is not None:
        signed = sum(s.signed_checkpoints for s in report.streams)
        chain = "verified" if report.ok else f"FAILED: {len(report.problems)} problem(s)"
        lines.append(f"  audit records      {report.records} in {len(report.streams)} chain(s), {report.files} file(s)")
        lines.append(f"  chain status       {chain}; {signed} signed checkpoint(s), key {result.public_key_file}")
        for problem in report.problems[:5]:
            lines.append(f"    {problem.file}:{problem.line} seq {problem.seq}: {problem.kind}: {problem.detail}")
    lines.append("")
    lines.append(f"Traces in Phoenix (project {result.project}):")
    outcomes = {str(o.get("run_id")): o.get("result") or {} for o in result.example_output.get("runs", [])}
    for r in result.runs:
        outcome = outcomes.get(r.run.run_id, {})
        what = f" ({outcome.get('status')} by {outcome.get('reviewer')}, {outcome.get('test_cases')} test cases)" if outcome else ""
        lines.append(f"  run {r.run.run_id or '?'}{what}: {r.spans_in_phoenix}/{r.run.spans} spans in Phoenix")
        lines.append(f"      {r.trace_url}")
        if r.annotation:
            lines.append(f"      {r.annotation}")
    lines.append("")
    default_dir = result.data_dir == resolve_data_dir(None)
    stop = f"{command()} phoenix stop" + ("" if default_dir else f" --data-dir {result.data_dir}")
    lines.append(f"Phoenix keeps running at {result.phoenix_url} so you can look; stop it with: {stop}")
    lines.append(f"Verify the trail yourself: {command()} verify {result.audit_dir} --trusted-key {result.public_key_file}")
    lines.append(f"Done in {result.wall_seconds:.1f} s" + (f" (Phoenix start {result.phoenix_start_seconds:.1f} s)." if result.phoenix_started else "."))
    return "\n".join(lines)


def _summary_json(result: DemoResult) -> dict:
    report = result.report
    return {
        "ok": result.ok, "phoenix_url": result.phoenix_url, "project": result.project,
        "audit_dir": str(result.audit_dir), "public_key_file": str(result.public_key_file),
        "verified": bool(report is not None and report.ok), "wall_seconds": round(result.wall_seconds, 3),
        "runs": [{"trace_id": r.run.trace_id, "spans_in_trail": r.run.spans, "spans_in_phoenix": r.spans_in_phoenix,
                  "run_id": r.run.run_id, "url": r.trace_url, "audit": r.annotation} for r in result.runs],
    }


def demo(
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", envvar="GXP_OTEL_DATA_DIR", help="Data directory (default ./data).")
    ] = None,
    port: Annotated[int, typer.Option("--port", envvar="GXP_OTEL_PHOENIX_PORT", help="Phoenix HTTP port.")] = DEFAULT_HTTP_PORT,
    grpc_port: Annotated[
        int, typer.Option("--grpc-port", envvar="GXP_OTEL_PHOENIX_GRPC_PORT", help="Phoenix gRPC port.")
    ] = DEFAULT_GRPC_PORT,
    example: Annotated[Optional[Path], typer.Option(help="Workflow script to run instead of the example.")] = None,
    project: Annotated[str, typer.Option(help="Phoenix project for the traces.")] = DEMO_PROJECT,
    runs: Annotated[int, typer.Option(min=1, help="Concurrent workflow runs.")] = 2,
    auth: Annotated[bool, typer.Option("--auth", help="Start Phoenix with its own authentication; the demo exports "
                                       "and annotates with its API key.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
) -> None:
    """Run the example pharma workflow traced into a local Phoenix, verify its audit trail, link each trace."""
    from gxp_otel.demo import DemoError, run_demo
    from gxp_otel.extras import MissingExtraError, require
    from gxp_otel.phoenix.client import PhoenixApiError
    from gxp_otel.phoenix.server import PhoenixError

    try:
        require("llama-index", "gxp-otel demo")
        require("phoenix", "gxp-otel demo")
    except MissingExtraError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    echo = (lambda text: typer.echo(text, err=True)) if as_json else typer.echo
    try:
        result = run_demo(resolve_data_dir(data_dir), http_port=port, grpc_port=grpc_port, example=example,
                          project=project, runs=runs, auth=auth, echo=echo)
    except (DemoError, PhoenixError, PhoenixApiError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(json.dumps(_summary_json(result), indent=2))
    else:
        typer.echo(_summary(result))
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(demo)
