"""The `gxp-otel` command line: one verb per task.

Each module in this package that defines ``register(app)`` adds its verbs; this keeps every verb in its own module.
Exit codes mean the same everywhere: 0 ok, 1 a problem was found, 2 usage error.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="gxp-otel",
    help="OpenTelemetry for GxP AI workflows: verify, report and manage audit trails.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("_"):
        continue
    _module = importlib.import_module(f"{__name__}.{_info.name}")
    _register = getattr(_module, "register", None)
    if callable(_register):
        _register(app)


def main() -> None:
    app()
