"""``gxp-otel ingest-keys`` / ``ingest-token``: a local issuer for the collector's authenticated ingestion."""

from __future__ import annotations

from gxp_otel.cli.invocation import command

from pathlib import Path
from typing import Annotated

import typer

from gxp_otel.ingest_issuer import DEFAULT_AUDIENCE, DEFAULT_ISSUER, LocalIssuer


def ingest_keys(
    directory: Annotated[Path, typer.Argument(help="Directory for issuer-key.pem (0600) and jwks.json.")],
) -> None:
    """Create a local token issuer: the collector reads DIRECTORY/jwks.json (GXP_OIDC_KEYS_FILE) and accepts the
    tokens `gxp-otel ingest-token DIRECTORY SUBJECT` prints (GXP_OIDC_ISSUER=https://gxp-otel.local)."""
    issuer = LocalIssuer(directory)
    if issuer.key_file.exists():
        typer.echo(f"error: {issuer.key_file} exists; keys are never overwritten", err=True)
        raise typer.Exit(2)
    issuer.create()
    typer.echo(f"GXP_OIDC_ISSUER={DEFAULT_ISSUER}\nGXP_OIDC_KEYS_FILE={issuer.jwks_file}")


def ingest_token(
    directory: Annotated[Path, typer.Argument(help="The issuer directory of `gxp-otel ingest-keys`.")],
    subject: Annotated[str, typer.Argument(help="Who the token names (recorded as ingest.subject).")],
    days: Annotated[float, typer.Option(help="Validity in days.")] = 1.0,
    audience: Annotated[str, typer.Option(help="Audience (GXP_OIDC_AUDIENCE).")] = DEFAULT_AUDIENCE,
) -> None:
    """Print a bearer token (JWT) for SUBJECT, for OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>."""
    issuer = LocalIssuer(directory)
    if not issuer.key_file.exists():
        typer.echo(f"error: {issuer.key_file} missing: run `{command()} ingest-keys {directory}` first", err=True)
        raise typer.Exit(2)
    try:
        typer.echo(issuer.token(subject, audience=audience, lifetime_s=int(days * 86400)))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    app.command("ingest-keys")(ingest_keys)
    app.command("ingest-token")(ingest_token)
