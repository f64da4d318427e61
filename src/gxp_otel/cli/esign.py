"""``gxp-otel sign`` and ``gxp-otel correct``: electronic signatures and corrections appended to a trail."""

from __future__ import annotations

from gxp_otel.cli.invocation import command

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gxp_otel.audit.canonical import canonical_json, contains_json_number
from gxp_otel.display import terminal_text
from gxp_otel.part11.cli_support import fail, read_passphrase, resolve_record
from gxp_otel.part11.keys import SignerAuthenticationError, SignerKey
from gxp_otel.part11.statements import meaning_of

if TYPE_CHECKING:
    from gxp_otel.audit.writer import AuditTrailWriter

TrailArg = Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Trail directory.")]
KeyOpt = Annotated[Path, typer.Option("--key", exists=True, dir_okay=False, help="Your signer key (keygen --signer).")]
UserOpt = Annotated[str, typer.Option("--user-id", help="Your user id (first identification component).")]
PassEnvOpt = Annotated[Optional[str], typer.Option(help="Read the passphrase from this variable instead of a prompt.")]
CheckpointKeyOpt = Annotated[
    Optional[Path], typer.Option(help="Checkpoint key for this tool's own stream (else its checkpoints are unsigned).")]


def _authenticated(key: Path, user_id: str, passphrase: str) -> SignerKey:
    """Check both components before anything is written (a failed signing leaves no trace in the trail)."""
    try:
        signer = SignerKey.load(key)
        signer.unlock(user_id, passphrase)
    except SignerAuthenticationError as exc:
        fail(str(exc), 1)
    except ValueError as exc:
        fail(str(exc))
    return signer


def _writer(trail: Path, checkpoint_key: Optional[Path]) -> AuditTrailWriter:
    """A writer on the trail's first free ``esign.N`` stream: signatures never resume an application's stream."""
    from gxp_otel.audit.writer import AuditTrailBusyError, AuditTrailWriter  # here: every other verb skips its imports

    for number in range(1000):
        try:
            return AuditTrailWriter(trail, stream_id=f"esign.{number}", signing_key=checkpoint_key, compress=False)
        except AuditTrailBusyError:
            continue
    fail(f"{trail}: every esign stream is busy")


def sign_command(
    trail: TrailArg,
    meaning: Annotated[str, typer.Option(help="authorship, review, approval or responsibility (approved, ...).")],
    key: KeyOpt,
    user_id: UserOpt,
    reason: Annotated[str, typer.Option(help="Why you sign (shown with the signature).")] = "",
    seq: Annotated[Optional[int], typer.Option(help="Seq of the record to sign.")] = None,
    stream: Annotated[Optional[str], typer.Option(help="Stream of --seq when the trail has several.")] = None,
    trace_id: Annotated[Optional[str], typer.Option(help="Sign this trace (its root span record).")] = None,
    run_id: Annotated[Optional[str], typer.Option(help="Sign this workflow run (its root span, gxp.run_id).")] = None,
    trusted_key: Annotated[
        Optional[list[str]],
        typer.Option("--trusted-key", help="Writer trust anchor for the verification before signing; repeatable."),
    ] = None,
    passphrase_env: PassEnvOpt = None,
    checkpoint_key: CheckpointKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Sign a record of TRAIL: appends a signature record (printed name, user id, UTC time, meaning) bound to it.

    The record is looked up only in chains that verify (with --trusted-key when given), a --trace-id or --run-id
    naming more than one record is refused, and what is about to be signed (stream, seq) is shown before the
    passphrase is asked for."""
    from gxp_otel.cli.verify import trusted_key_option
    from gxp_otel.part11.esign import sign

    try:
        meaning = meaning_of(meaning)
    except ValueError as exc:
        fail(str(exc))
    record = _record_to_sign(trail, seq, stream, trace_id, run_id, [trusted_key_option(k) for k in trusted_key or []])
    passphrase = read_passphrase(passphrase_env)
    signer = _authenticated(key, user_id, passphrase)
    writer = _writer(trail, checkpoint_key)
    try:
        signed = sign(record=record, meaning=meaning, reason=reason, key=signer, user_id=user_id,
                      passphrase=passphrase, trail=writer)
    except ValueError as exc:
        fail(str(exc))
    finally:
        writer.close()
    if as_json:
        typer.echo(json.dumps({"record": signed.record, "signature": signed.signature, "statement": signed.statement}))
    else:
        typer.echo(f"{terminal_text(signed.manifestation())}\nsigned record {terminal_text(record['stream'])} seq "
                   f"{terminal_text(record['seq'])}; signature record {signed.signature['stream']} seq "
                   f"{signed.signature['seq']}")


def _record_to_sign(trail: Path, seq: Optional[int], stream: Optional[str], trace_id: Optional[str],
                    run_id: Optional[str], trusted_keys: list[str]) -> dict[str, str]:
    """The reference to sign, resolved only within chains that verify; exits 2 when it is absent or ambiguous."""
    from gxp_otel.audit.verifier import verify_trail
    from gxp_otel.part11.lookup import describe, signing_candidates
    from gxp_otel.part11.statements import record_reference

    if sum(x is not None for x in (seq, trace_id, run_id)) != 1:
        fail("name the record with exactly one of --seq N (and --stream S), --trace-id T or --run-id R")
    report = verify_trail(trail, trusted_keys=trusted_keys)
    broken = {p.stream for p in report.problems}
    if seq is not None:
        reference = resolve_record(trail, seq, stream, None)
        if reference["stream"] in broken:
            fail(f"stream {reference['stream']} does not verify ({report.verdict}): run {command()} verify; "
                 "nothing is signed in a chain that does not verify")
        found = [(reference, "")]
    else:
        what = f"trace {trace_id}" if trace_id is not None else f"run {run_id}"
        candidates = signing_candidates(trail, trace_id=trace_id.lower() if trace_id else None, run_id=run_id)
        excluded = sorted({r["stream"] for r, _f, _l in candidates if r["stream"] in broken})
        found = [(record_reference(r["stream"], int(r["seq"]), r["hash"]), f" ({f} line {n}): {describe(r)}")
                 for r, f, n in candidates if r["stream"] not in broken]
        note = f"; not considered, their chains do not verify: {', '.join(excluded)}" if excluded else ""
        if not found:
            fail(f"no span of {what} in a chain of {trail} that verifies{note}")
        if len(found) > 1:
            listed = "; ".join(f"stream {ref['stream']} seq {ref['seq']}{where}" for ref, where in found)
            fail(f"{what} names {len(found)} records, sign one with --stream S --seq N: {listed}{note}")
    reference, where = found[0]
    typer.echo(terminal_text(f"about to sign: stream {reference['stream']} seq {reference['seq']}{where} "
                             f"[{report.verdict}]"), err=True)
    return reference


def correct_command(
    trail: TrailArg,
    path: Annotated[str, typer.Option(help="JSON Pointer of the value in the record body, e.g. /attributes/x.")],
    reason: Annotated[str, typer.Option(help="Why the value is corrected (required).")],
    key: KeyOpt,
    user_id: UserOpt,
    seq: Annotated[Optional[int], typer.Option(help="Seq of the record to correct.")] = None,
    stream: Annotated[Optional[str], typer.Option(help="Stream of --seq when the trail has several.")] = None,
    new_value: Annotated[Optional[str], typer.Option(help="The new value as JSON (no numbers: use strings).")] = None,
    new_string: Annotated[Optional[str], typer.Option(help="Shortcut: the new value {\"stringValue\": TEXT}.")] = None,
    passphrase_env: PassEnvOpt = None,
    checkpoint_key: CheckpointKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Correct a value of a record of TRAIL: a signed correction record with old value, new value and reason.
    The original record is never changed."""
    from gxp_otel.part11.corrections import correct

    if (new_value is None) == (new_string is None):
        fail("give exactly one of --new-value JSON or --new-string TEXT")
    try:
        value = json.loads(new_value) if new_value is not None else {"stringValue": new_string}
    except json.JSONDecodeError as exc:
        fail(f"--new-value is not JSON: {exc}")
    if contains_json_number(canonical_json(value)):
        fail("--new-value holds a JSON number; the trail stores numbers as strings (e.g. {\"intValue\": \"3\"})")
    record = resolve_record(trail, seq, stream, None)
    passphrase = read_passphrase(passphrase_env)
    signer = _authenticated(key, user_id, passphrase)
    writer = _writer(trail, checkpoint_key)
    try:
        reference, signed = correct(record, path=path, new_value=value, reason=reason, key=signer, user_id=user_id,
                                    passphrase=passphrase, trail=writer)
    except ValueError as exc:
        fail(str(exc))
    finally:
        writer.close()
    if as_json:
        typer.echo(json.dumps({"correction": reference, "record": record, "signature": signed.signature,
                               "statement": signed.statement}))
        return
    typer.echo(terminal_text(f"correction {reference['stream']} seq {reference['seq']} of {record['stream']} seq "
                             f"{record['seq']} {path}") + f"\n{terminal_text(signed.manifestation())}")


def register(app: typer.Typer) -> None:
    app.command("sign")(sign_command)
    app.command("correct")(correct_command)
