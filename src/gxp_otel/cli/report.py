"""``gxp-otel report``: the self-contained HTML review of a trail (integrity, runs, timelines, ALCOA+, exports)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from gxp_otel.cli.query import Agent, EventType, IndexFile, RunId, Since, TraceId, TrailPath, Until, User, selection
from gxp_otel.audit.report import VERDICTS
from gxp_otel.cli.verify import signer_keys_option, trusted_key_option
from gxp_otel.display import terminal_text
from gxp_otel.review.build import DEFAULT_PHOENIX_URL, ReviewOptions, build_review
from gxp_otel.review.render import render_review


def report(
    path: TrailPath,
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML file to write.")] = Path("review.html"),
    trace_id: TraceId = None,
    run_id: RunId = None,
    user: User = None,
    agent: Agent = None,
    event_type_: EventType = None,
    since: Since = None,
    until: Until = None,
    trusted_key: Annotated[
        Optional[list[str]], typer.Option("--trusted-key", help="Trusted checkpoint public key (hex or file); repeatable.")
    ] = None,
    checkpoints: Annotated[
        Optional[list[Path]],
        typer.Option("--checkpoints", exists=True, help="A checkpoint file held elsewhere (detects rollback)."),
    ] = None,
    signer: Annotated[
        Optional[list[Path]],
        typer.Option("--signer", exists=True, help="A registered signer (KEY.signer.json), as for verify; repeatable."),
    ] = None,
    purger: Annotated[
        Optional[list[Path]],
        typer.Option("--purger", exists=True, help="A registered purger (KEY.signer.json), as for verify; repeatable."),
    ] = None,
    phoenix_url: Annotated[str, typer.Option("--phoenix-url", help="Phoenix base URL for trace links.")] = DEFAULT_PHOENIX_URL,
    max_runs: Annotated[int, typer.Option(min=1, help="Runs kept on the page (the most recent).")] = 500,
    max_records: Annotated[int, typer.Option(min=1, help="Records kept on the page (the newest).")] = 5000,
    max_delay: Annotated[float, typer.Option(help="Contemporaneous: max seconds from event to record.")] = 300.0,
    index: IndexFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Write the review page. Exit codes are verify's (docs/audit-format.md §13): 0 VERIFIED or VERIFIED-SELF-KEYED,
    1 NOT VERIFIED, 3 UNSEALED-TAIL, 4 NO RECORDS; 2 usage error or the page could not be written."""
    options = ReviewOptions(
        selection=selection(trace_id, run_id, user, agent, event_type_, since, until),
        trusted_keys=tuple(trusted_key_option(k) for k in trusted_key or []),
        checkpoint_files=tuple(checkpoints or []),
        signers=tuple(signer_keys_option(signer or [])),
        purgers=tuple(signer_keys_option(purger or [])),
        phoenix_url=phoenix_url,
        max_runs=max_runs,
        max_records=max_records,
        max_delay_s=max_delay,
        index_path=index,
    )
    started = time.perf_counter()
    err = Console(stderr=True)
    if err.is_terminal:
        with err.status(f"verifying {path} and gathering the review ..."):
            data = build_review(path, options)
    else:
        data = build_review(path, options)
    try:
        _write_private(output, render_review(data).encode("utf-8"))
    except OSError as exc:
        typer.echo(f"cannot write {terminal_text(output)}: {exc.strerror}", err=True)
        raise typer.Exit(2) from exc
    integrity = data["integrity"]
    verdict = integrity["verdict"] if integrity["verdict"] != "NOT VERIFIED" else \
        f"NOT VERIFIED ({integrity['problems_total']} problem(s))"
    if as_json:
        typer.echo(json.dumps({"output": str(output), "verdict": integrity["verdict"],
                               "problems": integrity["problems_total"], "records_verified": integrity["records"],
                               "records_in_scope": data["totals"]["records"], "runs": data["totals"]["runs"],
                               "scope": data["scope"], "seconds": round(time.perf_counter() - started, 3)}))
    else:
        typer.echo(f"{terminal_text(output)}: {verdict}; {integrity['records']} records verified, "
                   f"{data['totals']['records']} in scope ({terminal_text(data['scope'])}), {data['totals']['runs']} "
                   f"run(s); {time.perf_counter() - started:.1f} s")
    raise typer.Exit(VERDICTS[integrity["verdict"]])  # the exit codes of verify (docs/audit-format.md §13)


def _write_private(output: Path, page: bytes) -> None:
    """Write the page mode 0600 (it holds the trail's content), also when it replaces an older, wider one."""
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with open(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(page)


def register(app: typer.Typer) -> None:
    app.command()(report)
