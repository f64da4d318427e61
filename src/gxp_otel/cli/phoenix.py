"""`gxp-otel phoenix start|stop|status`: a local Phoenix on 127.0.0.1, its state under the data directory.

Exit codes: ``start`` 0 when Phoenix is healthy, 1 when it could not be started; ``stop`` 0 (also when nothing ran);
``status`` 0 when a Phoenix answers, 1 when none does.
"""

from __future__ import annotations

from gxp_otel.cli.invocation import command

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from gxp_otel.phoenix.server import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HTTP_PORT,
    PhoenixError,
    PhoenixServer,
    PhoenixStatus,
)

DataDirOption = Annotated[
    Optional[Path],
    typer.Option("--data-dir", envvar="GXP_OTEL_DATA_DIR", help="Project data directory (default ./data)."),
]
PortOption = Annotated[
    int,
    typer.Option("--port", envvar="GXP_OTEL_PHOENIX_PORT", help="HTTP port: UI, REST API and OTLP/HTTP (0 = any free)."),
]
GrpcPortOption = Annotated[
    int,
    typer.Option("--grpc-port", envvar="GXP_OTEL_PHOENIX_GRPC_PORT", help="OTLP/gRPC port (0 = any free)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the status as JSON.")]

phoenix_app = typer.Typer(
    name="phoenix",
    help="Run a local Arize Phoenix (traces UI) on 127.0.0.1 in the background.",
    no_args_is_help=True,
)


def _status_json(status: PhoenixStatus) -> str:
    return json.dumps(asdict(status), indent=2)


def _describe(status: PhoenixStatus) -> str:
    if status.state == "running":
        return f"Phoenix is running at {status.url} (OTLP/HTTP {status.url}/v1/traces, gRPC 127.0.0.1:{status.grpc_port}); {status.detail}"
    if status.state == "starting":
        return f"Phoenix is starting at {status.url}; {status.detail}"
    if status.state == "foreign":
        return f"Phoenix answers at {status.url} but was not started by gxp-otel here: {status.detail}"
    return f"Phoenix is not running (would use {status.url})"


@phoenix_app.command("start")
def start(
    data_dir: DataDirOption = None,
    port: PortOption = DEFAULT_HTTP_PORT,
    grpc_port: GrpcPortOption = DEFAULT_GRPC_PORT,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for /healthz.")] = 120.0,
    auth: Annotated[bool, typer.Option("--auth", help="Phoenix's own authentication: logins and an API key "
                                       "(kept 0600 in the data directory) for export and the REST API.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Start Phoenix in the background (or find ours already running) and wait until it is healthy."""
    from gxp_otel.extras import MissingExtraError, require

    try:
        require("phoenix", "gxp-otel phoenix start")
    except MissingExtraError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    server = PhoenixServer(data_dir, http_port=port, grpc_port=grpc_port, auth=auth)
    already = server.status().process is not None
    try:
        status = server.start(timeout=timeout)
    except PhoenixError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(_status_json(status))
        return
    typer.echo(("Phoenix was already running. " if already else "") + _describe(status))
    typer.echo(f"Open {status.url} in a browser. Stop it with: {command()} phoenix stop")
    if server.api_key():
        typer.echo(f"Phoenix requires its API key: export PHOENIX_API_KEY=$(cat {server.api_key_file})")


@phoenix_app.command("stop")
def stop(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Stop the Phoenix started from this data directory (and no other process)."""
    server = PhoenixServer(data_dir)
    record = server.read_record()
    stopped = server.stop()
    if as_json:
        typer.echo(json.dumps({"stopped": stopped, "pid": record.pid if (record and stopped) else None}))
    elif stopped:
        typer.echo(f"Phoenix stopped (pid {record.pid if record else '?'}).")
    else:
        typer.echo("Phoenix was not running from this data directory; nothing stopped.")


@phoenix_app.command("status")
def status(
    data_dir: DataDirOption = None,
    port: PortOption = DEFAULT_HTTP_PORT,
    as_json: JsonOption = False,
) -> None:
    """Say whether Phoenix runs, where, with which process, data and log."""
    current = PhoenixServer(data_dir, http_port=port).status()
    typer.echo(_status_json(current) if as_json else _describe(current))
    if current.state == "stopped":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(phoenix_app)
