"""The operational-qualification suite: tests shipped with the package, run by `gxp-otel oq` against the installed
code on the user's machine (see gxp_otel.part11.oq for the clause map)."""
