"""``gxp-otel query`` (find records, with their file, line and seq) and ``gxp-otel index`` (build the on-disk index
``query`` and ``report`` use while it is fresh)."""

from __future__ import annotations

from gxp_otel.cli.invocation import command

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer

from gxp_otel.display import terminal_text
from gxp_otel.review.filters import RecordFilter, event_type, selection_from_options
from gxp_otel.review.index import StaleIndex, build_index, default_index_path
from gxp_otel.review.search import find_records

TrailPath = Annotated[Path, typer.Argument(exists=True, help="Trail directory (or one chain file).")]
TraceId = Annotated[Optional[str], typer.Option("--trace-id", help="Only records of this trace (32 hex digits).")]
RunId = Annotated[Optional[str], typer.Option("--run-id", help="Only records of this workflow run.")]
User = Annotated[Optional[str], typer.Option("--user", help="Only records attributed to this user id.")]
Agent = Annotated[Optional[str], typer.Option("--agent", help="Only records attributed to this agent id.")]
EventType = Annotated[Optional[str], typer.Option("--event-type", help="Only stream events of this type.")]
Since = Annotated[Optional[str], typer.Option("--since", help="Recorded at or after (UTC date or time).")]
Until = Annotated[Optional[str], typer.Option("--until", help="Recorded at or before (a date: to its end).")]
IndexFile = Annotated[Optional[Path], typer.Option("--index", help="Index file (default: in the trail directory).")]


def selection(trace_id=None, run_id=None, user=None, agent=None, event_type_=None, since=None, until=None) -> RecordFilter:
    try:
        return selection_from_options(trace_id=trace_id, run_id=run_id, user=user, agent=agent,
                                      event_type=event_type_, since=since, until=until)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _plain_line(hit) -> str:
    record = hit.record
    body = record["body"]
    what = body.get("name") if record["kind"] == "span" else (event_type(record) or record["kind"])
    gxp = body.get("gxp") if isinstance(body.get("gxp"), dict) else {}
    who = gxp.get("user_id") or gxp.get("agent_id") or "-"
    trace = body.get("trace_id") or "-"
    return terminal_text(f"{hit.file}:{hit.line} seq {record['seq']} {record['time']} {record['kind']} {what} "
                         f"user={who} trace={trace} run={gxp.get('run_id', '-')}")


def query(
    path: TrailPath,
    trace_id: TraceId = None,
    run_id: RunId = None,
    user: User = None,
    agent: Agent = None,
    event_type_: EventType = None,
    since: Since = None,
    until: Until = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line: file, line, seq, record.")] = False,
    index: IndexFile = None,
    no_index: Annotated[bool, typer.Option("--no-index", help="Scan the trail even when an index is fresh.")] = False,
) -> None:
    """Stream the records that match every condition given, in trail order. Exit 0: found; 1: none matched."""
    chosen = selection(trace_id, run_id, user, agent, event_type_, since, until)
    search = find_records(path, chosen, index_path=index, use_index=not no_index)
    out = sys.stdout.buffer
    found = 0
    for hit in search.hits:
        found += 1
        if as_json:
            out.write(orjson.dumps({"file": hit.file, "line": hit.line, "seq": hit.record["seq"],
                                    "record": hit.record}) + b"\n")
        else:
            out.write(_plain_line(hit).encode() + b"\n")
    out.flush()
    note = f"{found} record(s) matched ({terminal_text(chosen.describe())}); found by {search.method}"
    if search.stats.unparsed:
        note += f"; {search.stats.unparsed} line(s) could not be read as records (run {command()} verify)"
    typer.echo(note, err=True)
    raise typer.Exit(0 if found else 1)


def index(
    path: TrailPath,
    index: IndexFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Build the on-disk index of a trail from scratch. query and report use it, updated first when the trail changed."""
    started = time.perf_counter()
    target = index or default_index_path(path)
    try:
        written, count = build_index(path, target)
    except StaleIndex as exc:
        typer.echo(f"index not written: {terminal_text(exc)}", err=True)
        raise typer.Exit(1) from exc
    except OSError as exc:
        typer.echo(f"index not written: {terminal_text(exc)}", err=True)
        raise typer.Exit(2) from exc
    seconds = time.perf_counter() - started
    if as_json:
        typer.echo(json.dumps({"records": count, "trail": str(path), "index": str(written),
                               "seconds": round(seconds, 3)}))
        return
    typer.echo(f"indexed {count} records of {path} into {written} in {seconds:.1f} s")


def register(app: typer.Typer) -> None:
    app.command()(query)
    app.command()(index)
