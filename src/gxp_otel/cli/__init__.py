"""The `gxp-otel` command line: one verb per task.

Each module in this package that defines ``register(app)`` adds its verbs; this keeps every verb in its own module.
Exit codes mean the same everywhere: 0 ok, 1 a problem was found, 2 usage error. `-h`/`--help` and `--version` work
on every level. Output into a closed pipe (`gxp-otel query ... | head`) ends the process quietly by SIGPIPE, as it
ends `cat`, instead of a traceback or exit status 1.
"""

from __future__ import annotations

import importlib
import pkgutil
import signal
from typing import Annotated, Optional

import typer

from gxp_otel import __version__

app = typer.Typer(
    name="gxp-otel",
    help="OpenTelemetry for GxP AI workflows: verify, report and manage audit trails.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gxp-otel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_print_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """OpenTelemetry for GxP AI workflows: verify, report and manage audit trails."""


for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("_"):
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    _register = getattr(_module, "register", None)
    if callable(_register):
        _register(app)


def main() -> None:
    if hasattr(signal, "SIGPIPE"):
        # A reader that went away (`| head`) ends the process as it ends `cat` or `grep`: quietly, by SIGPIPE,
        # instead of Python's BrokenPipeError traceback or an exit status that means "a problem was found".
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()
