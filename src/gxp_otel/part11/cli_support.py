"""What the Part 11 verbs share: reading a passphrase, making a signer key, naming the record to act on."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from gxp_otel.display import terminal_text
from gxp_otel.part11.keys import SignerKey
from gxp_otel.part11.lookup import records_at, trace_root_record
from gxp_otel.part11.statements import record_reference


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {terminal_text(message)}", err=True)
    raise typer.Exit(code)


def read_passphrase(passphrase_env: str | None, *, confirm: bool = False) -> str:
    """From the named variable (automation, tests) or typed at a hidden prompt (people)."""
    if passphrase_env:
        value = os.environ.get(passphrase_env)
        if not value:
            fail(f"${passphrase_env} is empty")
        return value
    return typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)


def make_signer_key(out: Path, printed_name: str | None, user_id: str | None, passphrase_env: str | None) -> None:
    if not printed_name or not user_id:
        fail("a signer key needs both --signer \"Full Name\" and --user-id ID")
    passphrase = read_passphrase(passphrase_env, confirm=True)
    try:
        key = SignerKey.create(out, printed_name=printed_name, user_id=user_id, passphrase=passphrase)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(f"signer {terminal_text(key.printed_name)} ({terminal_text(key.user_id)}), key id {key.key_id}\n"
               f"signer key {out} (encrypted; sign with your user id and passphrase)\n"
               f"public key {out}.pub: {key.public_key} (for verify --trusted-key)\n"
               f"identity {out}.signer.json (for the signer registry: verify --signer)")


def resolve_record(trail: Path, seq: int | None, stream: str | None, trace_id: str | None) -> dict[str, str]:
    """The reference {stream, seq, hash} of the record named on the command line; exits 2 when there is none."""
    if (seq is None) == (trace_id is None):
        fail("name the record with exactly one of --seq N (and --stream S) or --trace-id T")
    if trace_id is not None:
        record = trace_root_record(trail, trace_id.lower())
        if record is None:
            fail(f"no span of trace {trace_id} in {trail}")
        return record_reference(record["stream"], int(record["seq"]), record["hash"])
    streams = sorted({p.stream for p in _all_files(trail)}) if stream is None else [stream]
    found = [c for candidates in records_at(trail, [(s, seq) for s in streams]).values() for c in candidates]
    if len(found) != 1:
        fail(f"seq {seq} names {len(found)} intact records in {trail}; add --stream (streams: {', '.join(streams)})")
    (record, _file, _line), = found
    return record_reference(record["stream"], seq, record["hash"])


def _all_files(trail: Path):
    from gxp_otel.audit.format import parse_chain_file_name

    return [p for p in map(parse_chain_file_name, os.listdir(trail)) if p is not None]

