"""``gxp-otel retention list|purge|hold|release``: retention period, legal hold and signed purge of old files."""

from __future__ import annotations

from gxp_otel.cli.invocation import command

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from gxp_otel.audit.canonical import format_time_ns
from gxp_otel.audit.format import DEFAULT_RETENTION_DAYS
from gxp_otel.display import terminal_text
from gxp_otel.part11.cli_support import fail, read_passphrase
from gxp_otel.part11.keys import SignerAuthenticationError, SignerKey

retention_app = typer.Typer(help="Retention: list what may be purged, purge with a signed tombstone, legal hold.",
                            no_args_is_help=True)
TrailArg = Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Trail directory.")]
BeforeOpt = Annotated[str, typer.Option(help="Cut-off date (UTC), YYYY-MM-DD: only files whose last record is older.")]
DaysOpt = Annotated[int, typer.Option(help="Minimum retention in days (default 7 years).")]
TrustedKeyOpt = Annotated[Optional[list[str]], typer.Option(
    "--trusted-key", help="A writer trust anchor (hex or KEY.pub), repeatable: a stream not sealed by one is kept.")]
CheckpointsOpt = Annotated[Optional[list[Path]], typer.Option(
    "--checkpoints", exists=True, help="The auditor's held (WORM) checkpoint copy, repeatable: a stream it shows "
    "rolled back or rewritten is kept (evidence is never purged).")]


def _anchors(trusted_key: list[str] | None, checkpoints: list[Path] | None) -> dict:
    from gxp_otel.cli.verify import trusted_key_option

    return {"trusted_keys": [trusted_key_option(k) for k in trusted_key or []],
            "checkpoint_files": list(checkpoints or [])}


def _date_ns(text: str) -> int:
    try:
        moment = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        fail(f"--before {text!r} is not a date YYYY-MM-DD")
    return int(moment.timestamp()) * 1_000_000_000


@retention_app.command("list")
def list_files(trail: TrailArg, before: BeforeOpt, retention_days: DaysOpt = DEFAULT_RETENTION_DAYS,
               as_json: Annotated[bool, typer.Option("--json")] = False,
               purger: Annotated[Optional[list[Path]], typer.Option(
                   "--purger", exists=True, help="A registered purger (KEY.signer.json) whose tombstones count; "
                   "repeatable (purge itself honours its own key's).")] = None,
               trusted_key: TrustedKeyOpt = None, checkpoints: CheckpointsOpt = None) -> None:
    """List every chain file and whether it may be purged (and why not)."""
    from gxp_otel.cli.verify import signer_keys_option
    from gxp_otel.part11.retention import survey

    try:
        rows = survey(trail, before_ns=_date_ns(before), retention_days=retention_days,
                      purgers=signer_keys_option(purger or []), **_anchors(trusted_key, checkpoints))
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([{"stream": r.stream, "file": r.file, "first_time": r.first_time,
                                "last_time": r.last_time, "file_system_time": format_time_ns(r.fs_time_ns),
                                "eligible": r.eligible, "why_not": r.why_not, "clock_warnings": r.clock_warnings}
                               for r in rows], indent=2))
        return
    for r in rows:
        state = "PURGEABLE" if r.eligible else f"kept: {r.why_not}"
        typer.echo(terminal_text(f"{r.file}  records {r.date_span}  last record {r.last_time or '?'}  {state}"))
        for warning in r.clock_warnings:
            typer.echo(terminal_text(f"    clock warning: {warning}"))


@retention_app.command("purge")
def purge_files(
    trail: TrailArg, before: BeforeOpt,
    reason: Annotated[str, typer.Option(help="Why the files are purged (required).")],
    policy: Annotated[str, typer.Option(help="The retention policy applied, e.g. 'SOP-QA-017 v3'.")],
    key: Annotated[Path, typer.Option("--key", exists=True, dir_okay=False, help="Your signer key.")],
    user_id: Annotated[str, typer.Option("--user-id", help="Your user id.")],
    retention_days: DaysOpt = DEFAULT_RETENTION_DAYS,
    passphrase_env: Annotated[Optional[str], typer.Option(help="Read the passphrase from this variable.")] = None,
    checkpoint_key: Annotated[Optional[Path], typer.Option(help="Checkpoint key for the retention stream.")] = None,
    accept_clock_jumps: Annotated[bool, typer.Option(help="Also purge files whose recorded times step back "
                                                     "(after checking `retention list`'s clock warnings).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    trusted_key: TrustedKeyOpt = None, checkpoints: CheckpointsOpt = None,
) -> None:
    """Purge closed files past retention and not on hold, after writing a signed tombstone into the trail."""
    from gxp_otel.part11.retention import purge

    passphrase = read_passphrase(passphrase_env)
    try:
        purged = purge(trail, before_ns=_date_ns(before), reason=reason, policy=policy, key=SignerKey.load(key),
                       user_id=user_id, passphrase=passphrase, retention_days=retention_days,
                       checkpoint_key=checkpoint_key, accept_clock_jumps=accept_clock_jumps,
                       **_anchors(trusted_key, checkpoints))
    except SignerAuthenticationError as exc:
        fail(str(exc), 1)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps({"purged": [{"file": s.file, "first_seq": s.first_seq, "last_seq": s.last_seq,
                                           "date_span": s.date_span, "sha256": s.sha256,
                                           "clock_warnings": list(s.clock_warnings)} for s in purged]}))
        return
    if not purged:
        typer.echo(f"nothing to purge (see `{command()} retention list`)")
    for status in purged:
        typer.echo(terminal_text(f"purged {status.file} (seq {status.first_seq}..{status.last_seq}, records dated "
                                 f"{status.date_span}, sha256 {status.sha256[:16]}…)"))
        for warning in status.clock_warnings:
            typer.echo(terminal_text(f"    clock warning: {warning}"))


@retention_app.command("hold")
def hold(trail: TrailArg, reason: Annotated[str, typer.Option(help="Why (litigation, inspection, ...).")],
         by: Annotated[str, typer.Option(help="User id placing the hold.")],
         stream: Annotated[str, typer.Option(help="One stream, or * for the whole trail.")] = "*",
         as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False) -> None:
    """Place a legal hold: nothing under it is purged until it is released."""
    from gxp_otel.part11.retention import place_hold

    try:
        hold_id = place_hold(trail, reason=reason, placed_by=by, stream=stream)
        typer.echo(json.dumps({"hold_id": hold_id}) if as_json else terminal_text(hold_id))
    except ValueError as exc:
        fail(str(exc))


@retention_app.command("release")
def release(trail: TrailArg, hold_id: Annotated[str, typer.Argument(help="The hold id `hold` printed.")],
            reason: Annotated[str, typer.Option(help="Why the hold ends.")],
            by: Annotated[str, typer.Option(help="User id releasing the hold.")],
            as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False) -> None:
    """Release a legal hold (it stays listed in legal-hold.json with who, when and why)."""
    from gxp_otel.part11.retention import release_hold

    try:
        release_hold(trail, hold_id, reason=reason, released_by=by)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(json.dumps({"released": hold_id}) if as_json else f"released {terminal_text(hold_id)}")


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
