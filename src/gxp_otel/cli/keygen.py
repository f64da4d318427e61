"""``gxp-otel keygen``: create the Ed25519 key a writer signs its checkpoints with."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from gxp_otel.audit.signing import PASSPHRASE_ENV, generate_key_pem


def keygen(
    out: Annotated[Path, typer.Argument(help="Private key file to create (PKCS#8 PEM, mode 0600).")],
    passphrase_env: Annotated[
        Optional[str], typer.Option(help=f"Encrypt with the passphrase in this variable (writers read {PASSPHRASE_ENV}).")
    ] = None,
    signer: Annotated[
        Optional[str], typer.Option("--signer-name", "--signer",
                                    help="Make a personal electronic-signature key for this printed name (Part 11); "
                                         "--signer is the old spelling (elsewhere --signer is a KEY.signer.json file).")
    ] = None,
    user_id: Annotated[Optional[str], typer.Option(help="The signer's user id (with --signer-name).")] = None,
) -> None:
    """Create a checkpoint signing key; also writes OUT.pub (hex public key) for `verify --trusted-key`.

    With --signer-name and --user-id: a personal signature key instead, encrypted with a passphrase (prompted, or from
    --passphrase-env), for `gxp-otel sign` and `gxp_otel.sign(...)`."""
    if out.exists():
        typer.echo(f"error: {out} exists; keys are never overwritten", err=True)
        raise typer.Exit(2)
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a key directory it creates is the owner's only
    if signer is not None or user_id is not None:
        from gxp_otel.part11.cli_support import make_signer_key

        make_signer_key(out, signer, user_id, passphrase_env)
        return
    passphrase = None
    if passphrase_env:
        value = os.environ.get(passphrase_env)
        if not value:
            typer.echo(f"error: ${passphrase_env} is empty", err=True)
            raise typer.Exit(2)
        passphrase = value.encode()
    pem, signer = generate_key_pem(passphrase)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path = out.with_name(out.name + ".pub")
    public_path.write_text(signer.public_key_hex + "\n")
    typer.echo(f"key id {signer.key_id}\nprivate key {out} (keep it off the trail's host if you can)\n"
               f"public key {public_path}: {signer.public_key_hex}")


def register(app: typer.Typer) -> None:
    app.command()(keygen)
