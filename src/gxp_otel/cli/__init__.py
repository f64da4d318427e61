"""The `gxp-otel` command line: one verb per task.

Each module in this package that defines ``register(app)`` adds its verbs; this keeps every verb in its own module.
Exit codes mean the same everywhere: 0 ok, 1 a problem was found, 2 usage error. `-h`/`--help` and `--version` work
on every level. Output into a closed pipe (`gxp-otel query ... | head`) ends the process quietly by SIGPIPE, as it
ends `cat`, instead of a traceback or exit status 1.

Start-up: ``main`` imports only the module of the verb it was given (:data:`VERB_MODULES`; every module when the
verb is not listed, or none is given, so the top-level help lists them all): `gxp-otel verify` does not import the
review, Phoenix or Part 11 code. ``app`` (for tests and embedding) holds every verb.
"""

from __future__ import annotations

import importlib
import pkgutil
import signal
import sys
from typing import Annotated, Optional

import typer

from gxp_otel import __version__

VERB_MODULES = {
    "correct": "esign", "demo": "demo", "index": "query", "ingest-keys": "ingest", "ingest-token": "ingest",
    "keygen": "keygen", "oq": "oq", "phoenix": "phoenix", "query": "query", "report": "report",
    "retention": "retention", "sign": "esign", "verify": "verify", "witness": "witness",
}
"""Each verb and the module of this package that registers it (a verb missing here still works: ``main`` then
imports every module; tests/ecosystem/test_cli_conventions.py checks the map against the modules)."""


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gxp-otel {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_print_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """OpenTelemetry for GxP AI workflows: verify, report and manage audit trails."""


def verb_modules() -> list[str]:
    """Every module of this package that may define ``register``, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_app(modules: list[str] | None = None) -> typer.Typer:
    """The command line with the verbs of ``modules`` (default: every module)."""
    built = typer.Typer(
        name="gxp-otel",
        help="OpenTelemetry for GxP AI workflows: verify, report and manage audit trails.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    built.callback()(_root)
    for name in verb_modules() if modules is None else modules:
        register = getattr(importlib.import_module(f"{__name__}.{name}"), "register", None)
        if callable(register):
            register(built)
    return built


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    if hasattr(signal, "SIGPIPE"):
        # A reader that went away (`| head`) ends the process as it ends `cat` or `grep`: quietly, by SIGPIPE,
        # instead of Python's BrokenPipeError traceback or an exit status that means "a problem was found".
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    verb = sys.argv[1] if len(sys.argv) > 1 else ""
    build_app([VERB_MODULES[verb]] if verb in VERB_MODULES else None)()
