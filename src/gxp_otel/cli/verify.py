"""``gxp-otel verify``: check a trail's chains, checkpoints and signatures; optionally ALCOA+ findings."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from gxp_otel.audit.report import PROBLEM_WORDS, TrailReport
from gxp_otel.audit.verifier import verify_trail


def trusted_key_option(value: str) -> str:
    """A hex public key, or a file holding one (``keygen`` writes ``KEY.pub``)."""
    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise typer.BadParameter(f"{value!r} is not a 64-hex-digit Ed25519 public key or a file holding one")
    return text


def signer_keys_option(paths: list[Path]) -> list[dict[str, str]]:
    from gxp_otel.part11.keys import load_signer_entry

    try:
        return [load_signer_entry(p) for p in paths]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _total_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.iterdir() if p.name.startswith("audit-") and ".jsonl" in p.name)


def verify(
    path: Annotated[Path, typer.Argument(exists=True, help="Trail directory (or one chain file).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for machines.")] = False,
    alcoa: Annotated[bool, typer.Option("--alcoa", help="Also compute ALCOA+ findings per record.")] = False,
    trusted_key: Annotated[
        Optional[list[str]],
        typer.Option("--trusted-key", help="A writer trust anchor: a checkpoint public key (hex or KEY.pub); "
                     "repeatable. Without one the trail's own keys are used (VERIFIED-SELF-KEYED at best)."),
    ] = None,
    checkpoints: Annotated[
        Optional[list[Path]],
        typer.Option("--checkpoints", exists=True, help="A checkpoint file held elsewhere (the auditor's copy: "
                     "detects rollback, rewrites and deleted streams); repeatable."),
    ] = None,
    max_delay: Annotated[float, typer.Option(help="Contemporaneous: max seconds from event to record.")] = 300.0,
    signer: Annotated[
        Optional[list[Path]],
        typer.Option("--signer", exists=True, help="A registered signer (KEY.signer.json from keygen --signer); "
                     "repeatable. E-signatures must then be by registered signers, as themselves."),
    ] = None,
    purger: Annotated[
        Optional[list[Path]],
        typer.Option("--purger", exists=True, help="A registered purger (a KEY.signer.json); repeatable. Purge "
                     "tombstones are honoured only when signed by one, as themselves."),
    ] = None,
) -> None:
    """Verify a trail (docs/audit-format.md §13). Exit 0: VERIFIED or VERIFIED-SELF-KEYED; 1: NOT VERIFIED;
    2: usage error; 3: UNSEALED-TAIL (a live stream, newest records not yet sealed); 4: NO RECORDS."""
    keys = [trusted_key_option(k) for k in trusted_key or []]
    signers = signer_keys_option(signer or [])
    purgers = signer_keys_option(purger or [])
    err = Console(stderr=True)
    show_progress = not as_json and sys.stderr.isatty()
    if show_progress:
        columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn())
        # Redrawn from the verifying thread (no refresh thread): with no other thread running, verification may
        # fork its worker processes (audit/parallel_verify.worker_count).
        with Progress(*columns, console=err, transient=True, auto_refresh=False) as bar:
            task = bar.add_task("verifying", total=_total_bytes(path))
            report = verify_trail(path, trusted_keys=keys, checkpoint_files=checkpoints or [], alcoa=alcoa,
                                  max_delay_s=max_delay, signers=signers, purgers=purgers,
                                  progress=_redrawing(bar, task))
    else:
        report = verify_trail(path, trusted_keys=keys, checkpoint_files=checkpoints or [], alcoa=alcoa,
                              max_delay_s=max_delay, signers=signers, purgers=purgers)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report, Console(soft_wrap=True))
    raise typer.Exit(report.exit_code)


def _print_report(report: TrailReport, out: Console) -> None:
    chains = f"{len(report.streams)} chain{'s' if len(report.streams) != 1 else ''}"
    from gxp_otel.display import markup_text, terminal_text

    verdict = report.verdict
    colour = "green" if report.ok else "yellow" if verdict in ("UNSEALED-TAIL", "NO RECORDS") else "red"
    found = "no problems found" if not report.problems else f"{len(report.problems)} problem(s)"
    out.print(f"[bold {colour}]{verdict}[/]: {markup_text(report.path)}: {chains}, {report.files} files, "
              f"{report.records} records, {found}.", highlight=False)
    if verdict == "NO RECORDS":
        out.print("  nothing to verify: no record was read (an empty or unmounted directory?)", highlight=False)
    if report.caveat:
        out.print(f"  caution: {report.caveat}.", highlight=False, markup=False)
    for s in report.streams:
        span = f"seq {s.first_seq}..{s.last_seq}" if s.last_seq is not None else "no records"
        state = "closed" if s.closed else "open"
        line = f"  stream {s.stream}: {span}, {s.sessions} session(s), {state}"
        if s.last_checkpoint:
            cp = s.last_checkpoint
            line += f"; last checkpoint seals seq {cp['seq']} at {cp['time']}, signer {cp['key_id']}"
        out.print(terminal_text(line + f"; signing key {s.key_source}"), highlight=False, markup=False)
        for note in s.notes:
            out.print(terminal_text(f"    note: {note}"), highlight=False, markup=False)
    for p in report.problems:
        where = f"{p.file}" + (f" line {p.line}" if p.line else "") + (f" seq {p.seq}" if p.seq is not None else "")
        out.print(f"  [red]{markup_text(p.kind)}[/]: "
                  f"{markup_text(f'{where}: {PROBLEM_WORDS.get(p.kind, p.kind)} ({p.detail})')}", highlight=False)
    if report.part11:
        from gxp_otel.part11.manifest import print_part11

        print_part11(report.part11, out)
    if report.alcoa:
        table = Table(title=f"ALCOA+ ({report.alcoa['records_assessed']} records assessed)")
        for column in ("principle", "passed", "failed", "first failing record"):
            table.add_column(column)
        for name, finding in report.alcoa["principles"].items():
            example = finding["examples"][0] if finding["examples"] else None
            where = f"{example['file']}:{example['line']} seq {example['seq']}: {example['reason']}" if example else ""
            table.add_row(name.capitalize(), str(finding["passed"]), str(finding["failed"]), markup_text(where))
        out.print(table)
        decisions = report.alcoa.get("decisions") or {}
        if any(decisions.values()):
            out.print(f"Decisions: {decisions.get('declared', 0)} declared by the person who answered, "
                      f"{decisions.get('e-signed', 0)} e-signed, {decisions.get('automated', 0)} automated "
                      "(not a person's)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(verify)


def _redrawing(bar: Progress, task) -> Callable[[int], None]:
    """A progress callback that advances ``task`` and redraws ``bar`` at most ten times a second."""
    last = [0.0]

    def advance(n: int) -> None:
        bar.advance(task, n)
        now = time.monotonic()
        if now - last[0] >= 0.1:
            last[0] = now
            bar.refresh()

    return advance
