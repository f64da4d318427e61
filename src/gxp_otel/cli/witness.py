"""``gxp-otel witness``: receive signed checkpoint statements and hold them where the writer's host cannot."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Optional

import typer


def witness(
    directory: Annotated[Path, typer.Argument(help="Witness directory: held/ (checkpoint files), trail/ (its own trail).")],
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one, printed).")] = 4329,
    signing_key: Annotated[
        Optional[Path], typer.Option(exists=True, dir_okay=False, help="Key that signs the witness's own checkpoints.")
    ] = None,
    trusted_key: Annotated[
        Optional[list[str]],
        typer.Option(help="Hold only statements signed by this writer key (hex, or a .pub file); repeatable."),
    ] = None,
) -> None:
    """Serve POST /v1/checkpoints: hold each signed checkpoint statement a writer ships (gxpaudit
    `checkpoint.witness.endpoint`) in DIRECTORY/held/audit-<stream>.checkpoints.jsonl, for
    `gxp-otel verify TRAIL --checkpoints DIRECTORY/held/audit-<stream>.checkpoints.jsonl`."""
    from gxp_otel.witness import WitnessServer, WitnessStore

    keys = []
    for value in trusted_key or []:
        path = Path(value)
        keys.append(path.read_text().strip() if path.is_file() else value)
    try:
        store = WitnessStore(directory, signing_key=signing_key, trusted_keys=keys)
    except OSError as exc:
        typer.echo(f"error: {directory}: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        server = WitnessServer(store, host=host, port=port)
    except OSError as exc:
        store.close()
        typer.echo(f"error: cannot listen on {host}:{port}: {exc}", err=True)
        raise typer.Exit(2) from None
    signal.signal(signal.SIGTERM, _interrupt)
    typer.echo(f"witness listening on {server.url}; holding in {store.held_dir}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends serve_forever like Ctrl-C: the store closes with a close checkpoint


def register(app: typer.Typer) -> None:
    app.command()(witness)
