"""Zero-code start-up: `opentelemetry-instrument python app.py` (entry point `gxp_llama_index_workflows`).

What it does, from the environment alone (`gxp_otel.instrument()` with `GxpOtelConfig.load()`):

- Start-up is **fail-closed** by default (GxP mode): a missing or unusable `GXP_OTEL_AUDIT_DIR`, a bad
  `GXP_OTEL_FSYNC`, `LOG_LEVEL` or any other setting prints one sentence naming the setting to stderr and ends the
  process with exit status 78 (EX_CONFIG) before any application code runs. `GXP_OTEL_FAIL_CLOSED=false` (non-GxP
  use) logs the same sentence as a warning and lets the application run without gxp-otel.
- When the application (or a distro) already installed SDK providers, the trail and the instrumentation are added to
  them and gxp-otel adds no OTLP exporter (the application owns its export).
- When none is installed yet, gxp-otel installs its own (OTLP per `OTEL_*`/Phoenix variables, plus the trail). If the
  application then installs its own SDK provider with `trace.set_tracer_provider` / `_logs.set_logger_provider`,
  gxp-otel flushes and closes its set-up, lets the application's provider become the global one, and attaches the
  trail and the instrumentation to it: the application's exporter gets its spans, and the trail is never dropped.
  (Tracers obtained from gxp-otel's provider before that switch keep exporting to the closed provider: nothing.)

The set-up depends on the instrumentor (`gxp_otel.setup` -> `gxp_otel.instrumentation`), never the reverse: this
module is the only zero-code way in. Thread-safety: start-up runs once, at interpreter start.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Collection
from typing import Any

import wrapt
from opentelemetry import _logs, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap

from gxp_otel.config import ConfigError

_log = logging.getLogger("gxp_otel.zero_code")
EXIT_CONFIG = 78  # EX_CONFIG (sysexits.h): a configuration error
_TRUE = ("1", "true", "yes", "on")


def fail_closed(env: Any = None) -> bool:
    """`GXP_OTEL_FAIL_CLOSED` (default true): refuse to run without a working audit trail."""
    value = (os.environ if env is None else env).get("GXP_OTEL_FAIL_CLOSED", "true").strip().lower()
    return value in _TRUE or value == ""


class GxpZeroCodeInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """The `opentelemetry_instrumentor` entry point; see the module docstring."""

    def instrumentation_dependencies(self) -> Collection[str]:
        from gxp_otel.instrumentation import GxpWorkflowInstrumentor

        return GxpWorkflowInstrumentor().instrumentation_dependencies()

    def _instrument(self, **kwargs: Any) -> None:
        start()
        wrapt.wrap_function_wrapper("opentelemetry.trace", "set_tracer_provider", _app_installs_provider)
        wrapt.wrap_function_wrapper("opentelemetry._logs", "set_logger_provider", _app_installs_provider)

    def _uninstrument(self, **kwargs: Any) -> None:
        unwrap(trace, "set_tracer_provider")
        unwrap(_logs, "set_logger_provider")
        from gxp_otel.setup import active_handle

        handle = active_handle()
        if handle is not None:
            handle.shutdown()


def start() -> Any:
    """`auto_setup()`, fail-closed: on a configuration error, one sentence on stderr and exit 78 (or, with
    `GXP_OTEL_FAIL_CLOSED=false`, a warning and None)."""
    from gxp_otel.setup import auto_setup

    problem = _refusal()
    if problem is None:
        try:
            return auto_setup()
        except ConfigError as exc:
            problem = str(exc)
    if fail_closed():
        sys.stderr.write(f"gxp-otel: not starting: {problem} "
                         "(GXP_OTEL_FAIL_CLOSED=false runs without gxp-otel, for non-GxP use)\n")
        sys.stderr.flush()
        os._exit(EXIT_CONFIG)  # from sitecustomize: SystemExit would become an interpreter start-up traceback
    _log.warning("gxp-otel is not running (GXP_OTEL_FAIL_CLOSED=false): %s", problem)
    return None


def _refusal() -> str | None:
    """A reason the zero-code path must not start, or None."""
    from gxp_otel.config import GxpOtelConfig

    if os.environ.get("GXP_OTEL_AUTO_SETUP", "true").strip().lower() in ("false", "0", "no", "off"):
        return ("$GXP_OTEL_AUTO_SETUP=false would run without the audit trail; unset it (the trail attaches to the "
                "application's own providers)")
    try:
        config = GxpOtelConfig.load()
    except ConfigError as exc:
        return str(exc)
    compliance = config.gamp5_compliance
    if not (compliance.enable_compliance_logging and compliance.audit_directory):
        return "$GXP_OTEL_AUDIT_DIR is not set, so there would be no audit trail"
    return None


def _app_installs_provider(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """`set_tracer_provider` / `set_logger_provider` called by the application: hand over to its provider."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.trace import TracerProvider

    from gxp_otel.setup import active_handle

    provider = args[0] if args else next(iter(kwargs.values()), None)
    handle = active_handle()
    the_apps = handle is not None and provider not in (handle.tracer_provider, handle.logger_provider)
    own_global = handle is not None and any(
        p in handle.owned_providers() for p in (trace.get_tracer_provider(), _logs.get_logger_provider()))
    if not (the_apps and own_global and isinstance(provider, (TracerProvider, LoggerProvider))):
        return wrapped(*args, **kwargs)
    handle.shutdown()  # flushes what was recorded so far, restores the globals as they were before gxp-otel
    result = wrapped(*args, **kwargs)
    start()
    return result
