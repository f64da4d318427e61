"""``gxp-otel oq``: operational qualification of the installed package, with HTML and JSON evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def oq(
    output: Annotated[Path, typer.Option(help="Directory for oq-evidence.json/.html (and .sig.json).")],
    key: Annotated[Optional[Path], typer.Option("--key", exists=True, dir_okay=False,
                                                help="Sign the evidence with your signer key.")] = None,
    user_id: Annotated[Optional[str], typer.Option("--user-id", help="Your user id (with --key).")] = None,
    passphrase_env: Annotated[Optional[str], typer.Option(help="Read the passphrase from this variable.")] = None,
) -> None:
    """Run the OQ test suite against the installed gxp-otel and write the evidence. Exit 0: every clause passed;
    1: a test failed (see the report); 2: usage error or pytest missing."""
    from gxp_otel.part11.cli_support import fail, read_passphrase
    from gxp_otel.part11.keys import SignerAuthenticationError, SignerKey
    from gxp_otel.part11.oq import PytestMissing, run_oq

    signer = passphrase = None
    if key is not None:
        if not user_id:
            fail("--key needs --user-id")
        signer = SignerKey.load(key)
        passphrase = read_passphrase(passphrase_env)
    try:
        evidence = run_oq(output, signer=signer, user_id=user_id, passphrase=passphrase)
    except PytestMissing as exc:
        fail(str(exc))
    except SignerAuthenticationError as exc:
        fail(str(exc), 1)
    for clause in evidence["clauses"]:
        typer.echo(f"{clause['result']}  {clause['clause']}: {clause['requirement']}")
    signed = " (signed)" if key is not None else ""
    typer.echo(f"OQ {evidence['result']} in {evidence['wall_seconds']} s: {len(evidence['tests'])} tests; evidence "
               f"{output / 'oq-evidence.html'}, {output / 'oq-evidence.json'}{signed}")
    raise typer.Exit(0 if evidence["result"] == "PASS" else 1)


def register(app: typer.Typer) -> None:
    app.command()(oq)
