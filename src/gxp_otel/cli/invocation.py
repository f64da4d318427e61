"""How to name this command in a hint so that the user can paste it: ``gxp-otel`` only when that is what their
shell finds on PATH, else the path they ran (``.venv/bin/gxp-otel``) or ``python -m gxp_otel.cli``. Pure; reads
``sys.argv[0]``, ``sys.executable`` and PATH."""

from __future__ import annotations

import os
import shutil
import sys


def command(argv0: str | None = None) -> str:
    """The command line prefix that runs ``gxp-otel`` again, as the user can type it from where they are."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if os.path.basename(argv0) == "gxp-otel":
        found = shutil.which("gxp-otel")
        if found and os.path.realpath(found) == os.path.realpath(argv0):
            return "gxp-otel"
        return os.path.relpath(argv0) if os.path.isabs(argv0) and not os.path.relpath(argv0).startswith("..") \
            else argv0
    return f"{sys.executable} -m gxp_otel.cli"
