"""`gxp_otel.instrument()`: one call at start-up; traces to Phoenix (OTLP) and spans + logs to the audit trail.

Guarantees:
- After it returns, `trace.get_tracer_provider()` and `_logs.get_logger_provider()` are the SDK providers in use.
  When the application already installed SDK providers, they are reused and gxp-otel only adds its processors.
- The OTLP exporter and the compliance exporters receive the same spans (and logs), each through its own batch
  processor, so a slow or absent Phoenix never delays the trail and vice versa.
- The audit trail is complete whatever the sampler: with a trail, the provider's sampler is wrapped so a dropped span
  is still recorded (`gxp_otel.trail_sampling`); the sampling decision thins only the OTLP/Phoenix export.
- A Phoenix `phoenix.otel.register(...)` provider keeps its own exporter: processors are added beside it.
- `OTEL_*` variables are read by the SDK's exporters and processors themselves (`gxp_otel.otlp_export`);
  `OTEL_TRACES_EXPORTER=none` / `OTEL_LOGS_EXPORTER=none` win even over `instrument(config=...)`.
- Fail-closed: an unusable audit directory, key or setting raises `ConfigError` naming the setting before anything
  is installed (nothing half set up is left behind).
- Idempotent: a second call returns the live handle. `handle.shutdown()` flushes, removes what was added,
  restores the previous global providers and may be called twice.
- Telemetry never raises into the workflow; failures are counted in `handle.statistics()`.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gxp_otel.extras import require

require("llama-index", "gxp_otel.instrument()")

from opentelemetry import _logs, metrics, trace  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from gxp_otel.attribution import attribution_attributes, set_default_attributes
from gxp_otel import otlp_export
from gxp_otel.config import ConfigError, GxpOtelConfig
from gxp_otel.instrumentation import GxpWorkflowInstrumentor
from gxp_otel.instrumentation.attribution_processors import AttributionSpanProcessor
from gxp_otel.instrumentation.event_routing import EventFilter
from gxp_otel.instrumentation.logging_bridge import install_event_lines, install_logging_bridge
from gxp_otel.instrumentation.counting_exporters import CountingLogRecordExporter, CountingSpanExporter
from gxp_otel.instrumentation.statistics import TelemetryStatistics
from gxp_otel.trail_sampling import TrailSimpleSpanProcessor, make_trail_complete

_log = logging.getLogger("gxp_otel.setup")
_UNSET: Any = object()
_TEST_BATCH = {"schedule_delay_millis": 200}  # extra exporters (tests): short delay
_lock = threading.Lock()
_active: "InstrumentationHandle | None" = None


@dataclass
class _Undo:
    """What instrument() changed, so shutdown() can put it back."""

    globals_before: dict[str, Any] = field(default_factory=dict)
    own_providers: list[Any] = field(default_factory=list)  # created here: shut down on exit
    added_processors: list[tuple[Any, Any]] = field(default_factory=list)  # (provider, processor) on app providers
    log_handlers: list[tuple[logging.Logger, logging.Handler]] = field(default_factory=list)
    logger_levels: list[tuple[logging.Logger, int]] = field(default_factory=list)
    sampler_before: tuple[Any, Any] | None = None  # (provider, sampler) when the sampler was wrapped


class InstrumentationHandle:
    """What `instrument()` returns; also a context manager (`with instrument(...):`)."""

    def __init__(self, config: GxpOtelConfig, tracer_provider: Any, logger_provider: Any, meter_provider: Any,
                 statistics: TelemetryStatistics, audit_dir: Path | None, undo: _Undo) -> None:
        self.config = config
        self.tracer_provider = tracer_provider
        self.logger_provider = logger_provider
        self.meter_provider = meter_provider
        self.audit_dir = audit_dir
        self._statistics = statistics
        self._undo = undo
        self._closed = False

    def statistics(self) -> dict[str, Any]:
        """Events processed, events/s, events by type, filtered, errors (by kind), runs; see `TelemetryStatistics`."""
        return self._statistics.snapshot()

    def owned_providers(self) -> list[Any]:
        """The providers this set-up created (and installed globally); empty when it added to the app's own."""
        return list(self._undo.own_providers)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export everything recorded so far (to Phoenix and, durably, to the trail); True when all succeeded."""
        ok = True
        for provider in (self.tracer_provider, self.logger_provider, self.meter_provider):
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                try:
                    ok = bool(flush(timeout_millis)) and ok
                except Exception as exc:
                    self._statistics.error("force-flush", exc)
                    ok = False
        return ok

    def shutdown(self) -> None:
        """Flush, uninstrument, remove handlers/processors, shut down own providers, restore globals. Idempotent."""
        global _active
        with _lock:
            if self._closed:
                return
            self._closed = True
            if _active is self:
                _active = None
        self.force_flush()
        instrumentor = GxpWorkflowInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        undo = self._undo
        for logger, handler in undo.log_handlers:
            logger.removeHandler(handler)
            handler.close()
        for logger, level in undo.logger_levels:
            logger.setLevel(level)
        for provider, processor in undo.added_processors:
            _remove_processor(provider, processor)
            processor.shutdown()
        for provider in undo.own_providers:
            try:
                provider.shutdown()
            except Exception:
                _log.debug("provider shutdown failed", exc_info=True)
        if undo.sampler_before is not None:
            provider, sampler = undo.sampler_before
            provider.sampler = sampler
        _restore_globals(undo.globals_before)
        set_default_attributes({})

    def __enter__(self) -> "InstrumentationHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def instrument(
    *,
    service_name: str | None = None,
    audit_dir: str | os.PathLike[str] | None = None,
    otlp_endpoint: str | None = _UNSET,
    otlp_logs_endpoint: str | None = _UNSET,
    config: GxpOtelConfig | None = None,
    user_id: str | None = None,
    agent_id: str | None = None,
    correlation_id: str | None = None,
    gamp_category: int | str | None = None,
    risk_level: str | None = None,
    capture_content: bool | None = None,
    signing_key: str | os.PathLike[str] | None = None,
    audit_options: dict[str, Any] | None = None,
    span_exporters: Sequence[SpanExporter] = (),
    log_exporters: Sequence[LogRecordExporter] = (),
    metric_readers: Sequence[Any] = (),
    batch: bool = True,
) -> InstrumentationHandle:
    """Set up tracing, logs and metrics for LlamaIndex Workflows; see the module docstring for guarantees.

    `config` defaults to `GxpOtelConfig.load()` (TOML from `$GXP_OTEL_CONFIG`, then the environment); explicit
    arguments win. `otlp_endpoint=None` turns OTLP off. `audit_dir` (or the config's audit directory) turns the audit
    trail on. `user_id`.. `risk_level` are process-wide attribution defaults (`gxp_otel.attribution` overrides them).
    `span_exporters`/`log_exporters` are added as well (e.g. in-memory ones for tests); `batch=False` exports
    synchronously (simple processors), for tests and short scripts.
    """
    global _active
    with _lock:
        if _active is not None:
            _log.warning("gxp_otel.instrument() called again: returning the live handle")
            return _active
        env = os.environ
        cfg = copy.deepcopy(config) if config is not None else GxpOtelConfig.load()
        if service_name is not None:
            cfg.service_name = service_name
        explicit_traces = otlp_endpoint is not _UNSET
        if explicit_traces:
            cfg.otlp_endpoint = otlp_endpoint
        explicit_logs = otlp_logs_endpoint is not _UNSET and otlp_logs_endpoint is not None
        if otlp_logs_endpoint is not _UNSET:
            cfg.otlp_logs_endpoint = otlp_logs_endpoint
        if capture_content is not None:
            cfg.capture_content = capture_content
        compliance = cfg.gamp5_compliance
        trail_dir, trail_field = _trail_directory(audit_dir, cfg, env)
        # Everything that can be wrong with the settings is found here, before anything is installed.
        current = trace.get_tracer_provider()
        phoenix_exports = _is_phoenix_provider(current) and not explicit_traces  # register() already exports
        traces_out = otlp_export.span_exporters(None if phoenix_exports else cfg.otlp_endpoint, explicit_traces, env)
        logs_out = otlp_export.log_exporters(cfg.otlp_logs_endpoint, explicit_logs, env) if (
            otlp_logs_endpoint is not None) else []
        trail_exporters = _trail_exporters(trail_dir, trail_field, compliance, signing_key, audit_options, env)

        undo = _Undo()
        statistics = TelemetryStatistics()
        resource = _resource(cfg, env)
        tracer_provider = _sdk_provider("trace", current, TracerProvider,
                                        lambda: TracerProvider(resource=resource), undo)
        if trail_exporters:
            undo.sampler_before = (tracer_provider, tracer_provider.sampler)
            make_trail_complete(tracer_provider)
        logger_provider = _sdk_provider("logs", _logs.get_logger_provider(), LoggerProvider,
                                        lambda: LoggerProvider(resource=resource), undo)
        readers = list(metric_readers)
        metrics_endpoint = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        if metrics_endpoint:  # Phoenix takes no metrics: only when a metrics endpoint (a collector) is configured
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        meter_provider = _sdk_provider("metrics", metrics.get_meter_provider(), MeterProvider,
                                       lambda: MeterProvider(resource=resource, metric_readers=list(readers)), undo)
        statistics.bind_meter(meter_provider)
        if _is_phoenix_provider(tracer_provider):
            # install_first would go through Phoenix's add_span_processor, which drops Phoenix's own exporter.
            _add_processor(tracer_provider, AttributionSpanProcessor(), undo)

        span_processor = BatchSpanProcessor if batch else SimpleSpanProcessor
        log_processor = BatchLogRecordProcessor if batch else SimpleLogRecordProcessor
        buffer, delay = cfg.logging.buffer_size, cfg.logging.flush_interval_seconds
        for exporter in traces_out:
            options = otlp_export.processor_options("BSP", buffer, delay, env) if batch else {}
            _add_processor(tracer_provider, span_processor(
                CountingSpanExporter(exporter, statistics, "otlp-export"), **options), undo)
        for exporter in logs_out:
            options = otlp_export.processor_options("BLRP", buffer, delay, env) if batch else {}
            _add_processor(logger_provider, log_processor(
                CountingLogRecordExporter(exporter, statistics, "otlp-export"), **options), undo)
        if trail_exporters:
            from gxp_otel.audit.processors import ComplianceBatchLogRecordProcessor, ComplianceBatchSpanProcessor

            # Batch processors that record what a full queue drops as a gap in the trail (never silent loss);
            # both span processors take every recorded span, sampled for export or not.
            spans_to_trail, logs_to_trail = trail_exporters
            if batch:
                trail_options = {"max_queue_size": max(buffer, 1), "max_export_batch_size": max(1, min(512, buffer)),
                                 "schedule_delay_millis": compliance.audit_flush_interval_seconds * 1000}
                _add_processor(tracer_provider, ComplianceBatchSpanProcessor(spans_to_trail, **trail_options), undo)
                _add_processor(logger_provider, ComplianceBatchLogRecordProcessor(logs_to_trail, **trail_options),
                               undo)
            else:
                _add_processor(tracer_provider, TrailSimpleSpanProcessor(spans_to_trail), undo)
                _add_processor(logger_provider, SimpleLogRecordProcessor(logs_to_trail), undo)
        for exporter in span_exporters:
            _add_processor(tracer_provider, span_processor(exporter, **(_TEST_BATCH if batch else {})), undo)
        for exporter in log_exporters:
            _add_processor(logger_provider, log_processor(exporter, **(_TEST_BATCH if batch else {})), undo)

        set_default_attributes(attribution_attributes(
            user_id=user_id, agent_id=agent_id, correlation_id=correlation_id,
            gamp_category=gamp_category, risk_level=risk_level))
        router = install_event_lines(cfg.logging, undo.log_handlers, undo.logger_levels)
        install_logging_bridge(cfg.logging, logger_provider, statistics, undo.log_handlers, undo.logger_levels)

        from openinference.instrumentation import TraceConfig

        trace_config = TraceConfig(hide_inputs=True, hide_outputs=True) if not cfg.capture_content else TraceConfig()
        instrumentor = GxpWorkflowInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:  # e.g. by opentelemetry-instrument: redo with our providers
            instrumentor.uninstrument()
        instrumentor.instrument(
            tracer_provider=tracer_provider, logger_provider=logger_provider, meter_provider=meter_provider,
            config=trace_config, capture_content=None if cfg.capture_content else False,
            payload_max_chars=cfg.payload_max_chars,
            event_filter=EventFilter(cfg.logging.include_event_types, cfg.logging.exclude_event_types),
            event_router=router, statistics=statistics,
        )
        handle = InstrumentationHandle(cfg, tracer_provider, logger_provider, meter_provider, statistics,
                                       Path(trail_dir) if trail_dir is not None else None, undo)
        _active = handle
        return handle


def auto_setup() -> InstrumentationHandle:
    """The zero-code path: `instrument()` from the environment; OTLP only if no SDK provider is installed yet
    (an application or distro that installed one owns its export). Providers shut down (and flush) at exit."""
    has_sdk = isinstance(trace.get_tracer_provider(), TracerProvider)
    return instrument(otlp_endpoint=None) if has_sdk else instrument()


def active_handle() -> InstrumentationHandle | None:
    """The live handle of `instrument()`, if any."""
    return _active


# -- providers and globals -------------------------------------------------------------------------------------

def _resource(cfg: GxpOtelConfig, env: Any) -> Resource:
    """`Resource.create` reads `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` itself (the latter wins, as the
    specification says); gxp-otel adds only what is missing: service.name `gxp-otel` when none is given anywhere,
    and `openinference.project.name` (`PHOENIX_PROJECT_NAME`, else the service name) for Phoenix."""
    own: dict[str, str] = {}
    if cfg.service_name and cfg.service_name != env.get("OTEL_SERVICE_NAME"):
        own["service.name"] = cfg.service_name  # an explicit argument or the TOML file
    resource = Resource.create(own)
    service = str(resource.attributes.get("service.name") or "")
    if service.startswith("unknown_service"):
        service = "gxp-otel"
        resource = resource.merge(Resource({"service.name": service}))
    if "openinference.project.name" not in resource.attributes:
        project = env.get("PHOENIX_PROJECT_NAME") or service
        resource = resource.merge(Resource({"openinference.project.name": project}))
    return resource


def _trail_directory(audit_dir: Any, cfg: GxpOtelConfig, env: Any) -> tuple[Path | None, str]:
    """The trail directory and the setting that named it (for error messages)."""
    compliance = cfg.gamp5_compliance
    if audit_dir is not None:
        return Path(audit_dir), "audit_dir"
    if not compliance.enable_compliance_logging or not compliance.audit_directory:
        return None, ""
    field_name = ("$GXP_OTEL_AUDIT_DIR" if env.get("GXP_OTEL_AUDIT_DIR") == compliance.audit_directory
                  else "gamp5_compliance.audit_directory")
    return Path(compliance.audit_directory), field_name


def _trail_exporters(trail_dir: Path | None, field_name: str, compliance: Any, signing_key: Any,
                     audit_options: dict[str, Any] | None, env: Any) -> tuple[Any, Any] | None:
    """Open the trail (span and log exporters sharing one writer), or raise `ConfigError` naming the setting."""
    if trail_dir is None:
        return None
    if trail_dir.exists() and not trail_dir.is_dir():
        raise ConfigError(f"{field_name}: {trail_dir} is not a directory (the audit trail needs one)")
    try:
        trail_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{field_name}: cannot create the audit trail directory {trail_dir}: "
                          f"{exc.strerror or exc}") from exc
    if not os.access(trail_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"{field_name}: the audit trail directory {trail_dir} is not writable by this process")
    options: dict[str, Any] = {"fsync": compliance.fsync, "retention_days": compliance.audit_retention_days}
    key_field = "signing_key"
    if signing_key is not None:  # an explicit argument wins over the configuration
        options["signing_key"] = signing_key
    elif compliance.signing_key and compliance.enable_tamper_evident:
        options["signing_key"] = compliance.signing_key
        key_field = ("$GXP_OTEL_SIGNING_KEY" if env.get("GXP_OTEL_SIGNING_KEY") == compliance.signing_key
                     else "gamp5_compliance.signing_key")
    options.update(audit_options or {})
    key = options.get("signing_key")
    if isinstance(key, (str, os.PathLike)) and not os.access(key, os.R_OK):
        raise ConfigError(f"{key_field}: cannot read the checkpoint signing key {os.fspath(key)}")
    if not options.get("signing_key") and compliance.enable_tamper_evident and (
            (env.get("ENABLE_TAMPER_EVIDENT") or "").strip().lower() in ("1", "true", "yes", "on")):
        _log.warning("ENABLE_TAMPER_EVIDENT=true but no signing key is set (GXP_OTEL_SIGNING_KEY): the trail's "
                     "checkpoints are unsigned; the chain is hashed but not signed")
    from gxp_otel.audit.exporters import ComplianceLogExporter, ComplianceSpanExporter

    try:
        spans = ComplianceSpanExporter(trail_dir, **options)
        return spans, ComplianceLogExporter(trail_dir, **options)
    except (OSError, ValueError) as exc:
        where = key_field if "key" in str(exc).lower() or "pem" in str(exc).lower() else field_name
        raise ConfigError(f"{where}: cannot open the audit trail in {trail_dir}: {exc}") from exc


def _is_phoenix_provider(provider: Any) -> bool:
    """A `phoenix.otel.TracerProvider` (from `phoenix.otel.register`), which keeps a default exporter."""
    return type(provider).__module__.startswith("phoenix.otel") and hasattr(provider, "_default_processor")


_GLOBALS = {
    "trace": (trace, "_TRACER_PROVIDER", "_TRACER_PROVIDER_SET_ONCE"),
    "logs": (_logs._internal, "_LOGGER_PROVIDER", "_LOGGER_PROVIDER_SET_ONCE"),
    "metrics": (metrics._internal, "_METER_PROVIDER", "_METER_PROVIDER_SET_ONCE"),
}


def _set_global(name: str, provider: Any, undo: _Undo) -> None:
    """Install `provider` as the global one even if another was set before (the OTel API allows it only once)."""
    module, attr, once_attr = _GLOBALS[name]
    undo.globals_before[name] = (getattr(module, attr), getattr(module, once_attr))
    from opentelemetry.util._once import Once

    once = Once()
    once.do_once(lambda: None)
    setattr(module, attr, provider)
    setattr(module, once_attr, once)


def _restore_globals(before: dict[str, Any]) -> None:
    for name, (provider, once) in before.items():
        module, attr, once_attr = _GLOBALS[name]
        setattr(module, attr, provider)
        setattr(module, once_attr, once)


def _sdk_provider(name: str, current: Any, sdk_class: type, make: Any, undo: _Undo) -> Any:
    """The app's SDK provider when it has one (we add to it), else a new one we own and install globally."""
    if isinstance(current, sdk_class):
        return current
    provider = make()
    undo.own_providers.append(provider)
    _set_global(name, provider, undo)
    return provider


def _add_processor(provider: Any, processor: Any, undo: _Undo) -> None:
    if _is_phoenix_provider(provider):  # its public switch: keep Phoenix's own exporter beside ours
        provider.add_span_processor(processor, replace_default_processor=False)
    elif hasattr(provider, "add_span_processor"):
        provider.add_span_processor(processor)
    else:
        provider.add_log_record_processor(processor)
    if provider not in undo.own_providers:
        undo.added_processors.append((provider, processor))


def _remove_processor(provider: Any, processor: Any) -> None:
    multi = getattr(provider, "_active_span_processor", None) or getattr(provider, "_multi_log_record_processor", None)
    for name in ("_span_processors", "_log_record_processors"):
        procs = getattr(multi, name, None)
        if isinstance(procs, tuple):
            setattr(multi, name, tuple(p for p in procs if p is not processor))
