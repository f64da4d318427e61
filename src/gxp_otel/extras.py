"""Optional parts of gxp-otel and the pip extra that brings each; a missing one is one sentence naming it.

The base install (`pip install gxp-otel`) is the audit-trail exporters, the verifier, the review page and the CLI.
`gxp-otel[llama-index]` adds the LlamaIndex Workflows instrumentation (`gxp_otel.instrument()`, zero-code,
`gxp-otel demo`), `gxp-otel[phoenix]` a local Phoenix, `gxp-otel[grpc]` OTLP/gRPC export.
"""

from __future__ import annotations

import importlib.util

EXTRAS: dict[str, tuple[str, ...]] = {
    "llama-index": ("wrapt", "workflows", "llama_index.core", "llama_index_instrumentation", "openinference.instrumentation.llama_index",
                    "opentelemetry.instrumentation", "opentelemetry.exporter.otlp.proto.http"),
    "phoenix": ("phoenix.server", "phoenix.otel"),
    "grpc": ("grpc", "opentelemetry.exporter.otlp.proto.grpc"),
}


class MissingExtraError(ImportError):
    """A feature needs a pip extra that is not installed; the message names the extra and the install command."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


def require(extra: str, feature: str) -> None:
    """Raise `MissingExtraError` when a module of `extra` cannot be imported."""
    missing = [m for m in EXTRAS[extra] if not _installed(m)]
    if missing:
        raise MissingExtraError(f"{feature} needs the gxp-otel[{extra}] extra, which is not installed "
                                f"(missing {missing[0]}): pip install 'gxp-otel[{extra}]'")
