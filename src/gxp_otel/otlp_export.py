"""Which exporters the OTLP/Phoenix path gets, from `OTEL_*` exactly as the OpenTelemetry specification defines them.

The SDK's own exporters read their variables themselves: an exporter built without an `endpoint` applies the
specification's rules (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` used as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` +
`/v1/traces`; headers, timeout, compression, certificates), and a batch processor built without limits reads
`OTEL_BSP_*` / `OTEL_BLRP_*`. This module only decides *which* exporters exist:

- `OTEL_TRACES_EXPORTER` / `OTEL_LOGS_EXPORTER`: comma lists of `otlp`, `console`, `none` (`none` wins: a kill switch,
  honoured even over `instrument(config=...)`).
- `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` (default) or `grpc` (needs the
  `opentelemetry-exporter-otlp-proto-grpc` package; a missing one is a `ConfigError` naming it).
- Without any `OTEL_EXPORTER_OTLP_*ENDPOINT`, traces go to Phoenix: an explicit `instrument(otlp_endpoint=...)`, the
  TOML `otlp_endpoint`, `PHOENIX_COLLECTOR_ENDPOINT`, or http://127.0.0.1:6006 (a base URL; `/v1/traces` is
  appended), with `PHOENIX_API_KEY` (as `authorization: Bearer ...`) and `PHOENIX_CLIENT_HEADERS` as headers.
- Logs go over OTLP when an OTLP endpoint for them is configured: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, the generic
  `OTEL_EXPORTER_OTLP_ENDPOINT` (the specification's endpoint for every signal; set `OTEL_LOGS_EXPORTER=none` when it
  is a Phoenix, which takes traces only) or `instrument(otlp_logs_endpoint=...)`. The Phoenix variables never send
  logs.

None of this touches the audit trail, which is not an "exporter" in the `OTEL_*_EXPORTER` sense.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from gxp_otel.config import ConfigError

_TRACES, _LOGS = "traces", "logs"


def exporter_names(signal: str, env: Mapping[str, str]) -> set[str]:
    """`OTEL_<SIGNAL>_EXPORTER` as a set (default {"otlp"}); unknown names are a `ConfigError`."""
    var = f"OTEL_{signal.upper()}_EXPORTER"
    raw = env.get(var, "").strip()
    names = {part.strip().lower() for part in raw.split(",") if part.strip()} or {"otlp"}
    unknown = names - {"otlp", "console", "none"}
    if unknown:
        raise ConfigError(f"${var}: unsupported exporter(s) {', '.join(sorted(unknown))} (use otlp, console or none)")
    return set() if "none" in names else names


def protocol(signal: str, env: Mapping[str, str]) -> str:
    var = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
    value = (env.get(var) or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf").strip().lower()
    if value not in ("http/protobuf", "grpc"):
        raise ConfigError(f"${var if env.get(var) else 'OTEL_EXPORTER_OTLP_PROTOCOL'}: unsupported protocol {value!r} "
                          "(use http/protobuf or grpc)")
    return value


def endpoint_from_environment(signal: str, env: Mapping[str, str]) -> bool:
    return bool(env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def phoenix_headers(env: Mapping[str, str]) -> dict[str, str]:
    """Phoenix's own variables: `PHOENIX_CLIENT_HEADERS` (`k=v,k2=v2`, values URL-encoded) and `PHOENIX_API_KEY`."""
    headers: dict[str, str] = {}
    for item in (env.get("PHOENIX_CLIENT_HEADERS") or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers[unquote(key.strip()).lower()] = unquote(value.strip())
    key = (env.get("PHOENIX_API_KEY") or "").strip()
    if key:
        headers["authorization"] = f"Bearer {key}"
    return headers


def signal_url(endpoint: str, signal: str) -> str:
    """A base URL (`http://host:port`, what Phoenix's variables hold) -> `http://host:port/v1/<signal>`; a URL that
    already names a path is used as is."""
    stripped = endpoint.rstrip("/")
    scheme_sep = stripped.find("://")
    path = stripped[scheme_sep + 3:].partition("/")[2] if scheme_sep >= 0 else ""
    return stripped if path else f"{stripped}/v1/{signal}"


def span_exporters(phoenix_endpoint: str | None, explicit: bool, env: Mapping[str, str]) -> list[Any]:
    """The OTLP/console span exporters. `phoenix_endpoint`: the configured base URL or None (OTLP off);
    `explicit`: it was passed to `instrument()` (then it wins over `OTEL_EXPORTER_OTLP_*ENDPOINT`)."""
    names = exporter_names(_TRACES, env)
    exporters: list[Any] = []
    if "console" in names:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporters.append(ConsoleSpanExporter())
    if "otlp" in names and phoenix_endpoint is not None:
        exporters.append(_otlp(_TRACES, None if (endpoint_from_environment(_TRACES, env) and not explicit)
                               else phoenix_endpoint, env))
    return exporters


def log_exporters(logs_endpoint: str | None, explicit: bool, env: Mapping[str, str]) -> list[Any]:
    """The OTLP/console log exporters; see the module docstring for when logs go over OTLP."""
    names = exporter_names(_LOGS, env)
    exporters: list[Any] = []
    if "console" in names:
        from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter

        exporters.append(ConsoleLogRecordExporter())
    if "otlp" in names and (logs_endpoint or endpoint_from_environment(_LOGS, env)):
        exporters.append(_otlp(_LOGS, logs_endpoint if (explicit or not endpoint_from_environment(_LOGS, env))
                               else None, env))
    return exporters


def _otlp(signal: str, endpoint: str | None, env: Mapping[str, str]) -> Any:
    """An SDK OTLP exporter; `endpoint=None` lets it apply the specification's environment rules itself."""
    grpc = protocol(signal, env) == "grpc"
    kwargs: dict[str, Any] = {}
    if endpoint is not None:
        kwargs["endpoint"] = endpoint if grpc else signal_url(endpoint, signal)
        headers = phoenix_headers(env)
        if headers:
            kwargs["headers"] = headers
    try:
        if signal == _TRACES and grpc:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        elif signal == _TRACES:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        elif grpc:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as OTLPSpanExporter
    except ImportError as exc:
        package = "opentelemetry-exporter-otlp-proto-grpc" if grpc else "opentelemetry-exporter-otlp-proto-http"
        raise ConfigError(f"OTLP {'gRPC' if grpc else 'HTTP'} export needs the {package} package "
                          f"(pip install {package}): {exc}") from exc
    return OTLPSpanExporter(**kwargs)


def processor_options(prefix: str, queue_size: int, delay_s: float, env: Mapping[str, str]) -> dict[str, Any]:
    """Batch limits from the gxp-otel configuration, only where the SDK's `OTEL_<prefix>_*` is not set (the SDK
    then reads that variable itself)."""
    options: dict[str, Any] = {}
    if f"OTEL_{prefix}_MAX_QUEUE_SIZE" not in env:
        options["max_queue_size"] = max(queue_size, 1)
    if f"OTEL_{prefix}_MAX_EXPORT_BATCH_SIZE" not in env:
        queue = options.get("max_queue_size") or int(env[f"OTEL_{prefix}_MAX_QUEUE_SIZE"])
        options["max_export_batch_size"] = max(1, min(512, queue))
    if f"OTEL_{prefix}_SCHEDULE_DELAY" not in env:
        options["schedule_delay_millis"] = delay_s * 1000
    return options
