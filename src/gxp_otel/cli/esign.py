"""``gxp-otel sign`` and ``gxp-otel correct``: electronic signatures and corrections appended to a trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from gxp_otel.audit.canonical import canonical_json, contains_json_number
from gxp_otel.audit.writer import AuditTrailBusyError, AuditTrailWriter
from gxp_otel.display import terminal_text
from gxp_otel.part11.cli_support import fail, read_passphrase, resolve_record
from gxp_otel.part11.keys import SignerAuthenticationError, SignerKey
from gxp_otel.part11.statements import meaning_of

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
    passphrase_env: PassEnvOpt = None,
    checkpoint_key: CheckpointKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Sign a record of TRAIL: appends a signature record (printed name, user id, UTC time, meaning) bound to it."""
    from gxp_otel.part11.esign import sign

    try:
        meaning = meaning_of(meaning)
    except ValueError as exc:
        fail(str(exc))
    record = resolve_record(trail, seq, stream, trace_id)
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
    typer.echo(terminal_text(f"correction {reference['stream']} seq {reference['seq']} of {record['stream']} seq "
                             f"{record['seq']} {path}") + f"\n{terminal_text(signed.manifestation())}")


def register(app: typer.Typer) -> None:
    app.command("sign")(sign_command)
    app.command("correct")(correct_command)
