"""Configuration users of the old design already know, from code, environment variables or a TOML file.

`LoggingConfig` and `GAMP5ComplianceConfig` keep the old field names and defaults (log level INFO, log directory
`logs/events`, console on, rotation at 50 MB x 30 files, buffer 1000 events, flush every 5 s, retention 2555 days,
tamper evidence on). `GxpOtelConfig` bundles them with the OpenTelemetry side (service name, endpoints, payload
capture). Precedence: defaults < TOML file < environment < explicit `instrument(...)` arguments.
Every variable is listed in docs/configuration.md; `ENV_VARS` below is the single source of that table.
Invalid values raise `ConfigError` naming the field (or variable) and the bad value.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

PHOENIX_DEFAULT_ENDPOINT = "http://127.0.0.1:6006"


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and the value."""


class LogLevel(str, Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class ComplianceStandard(str, Enum):
    GAMP5 = "GAMP-5"
    CFR_PART_11 = "21 CFR Part 11"
    ALCOA_PLUS = "ALCOA+"


@dataclass
class LoggingConfig:
    """Event logging: level, console lines, the optional readable event log file, batching."""

    log_level: LogLevel = LogLevel.INFO
    log_directory: str = "logs/events"
    enable_console: bool = True
    enable_rotation: bool = True
    max_file_size_mb: int = 50
    max_files: int = 30
    buffer_size: int = 1000  # OTel batch processors' queue size
    flush_interval_seconds: float = 5  # OTel batch processors' schedule delay (OTLP export)
    enable_event_log_file: bool = False  # write the console lines also to <log_directory>/pharma_events.log
    include_event_types: list[str] = field(default_factory=list)  # empty: all
    exclude_event_types: list[str] = field(default_factory=list)
    category_logger_prefix: str = "pharma"  # stream events -> <prefix>.categorization|planning|agents|validation|workflow
    bridge_loggers: list[str] = field(default_factory=lambda: ["pharma"])  # Python loggers -> OTel logs


@dataclass
class GAMP5ComplianceConfig:
    """The audit trail: where, how long it is meant to be kept, whether checkpoints are signed."""

    enable_compliance_logging: bool = True
    compliance_standards: list[ComplianceStandard] = field(
        default_factory=lambda: [ComplianceStandard.GAMP5, ComplianceStandard.CFR_PART_11, ComplianceStandard.ALCOA_PLUS]
    )
    audit_retention_days: int = 2555  # 7 years; recorded in the trail's genesis, nothing is deleted
    enable_tamper_evident: bool = True  # sign checkpoints with `signing_key` (the chain itself is always hashed)
    hash_algorithm: str = "SHA-256"
    ensure_attributable: bool = True
    ensure_legible: bool = True
    ensure_contemporaneous: bool = True
    ensure_original: bool = True
    ensure_accurate: bool = True
    audit_directory: str | None = None  # no trail unless set (or instrument(audit_dir=...))
    signing_key: str | None = None  # Ed25519 private key file (PEM) for checkpoints
    fsync: str = "batch"
    audit_flush_interval_seconds: float = 1.0  # batch delay before records reach the trail


@dataclass
class GxpOtelConfig:
    service_name: str | None = None
    otlp_endpoint: str | None = PHOENIX_DEFAULT_ENDPOINT  # traces (Phoenix); None: no OTLP
    otlp_logs_endpoint: str | None = None  # logs over OTLP only when set (a collector; Phoenix takes traces only)
    capture_content: bool = True  # False: every payload recorded as __REDACTED__ (hash and size kept)
    payload_max_chars: int = 4096
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    gamp5_compliance: GAMP5ComplianceConfig = field(default_factory=GAMP5ComplianceConfig)

    @classmethod
    def load(cls, toml_path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> "GxpOtelConfig":
        """Defaults, then the TOML file (`toml_path`, else `$GXP_OTEL_CONFIG` when set), then the environment."""
        env = os.environ if environ is None else environ
        config = cls()
        path = toml_path if toml_path is not None else env.get("GXP_OTEL_CONFIG")
        if path:
            config = config.merged_with_toml(path)
        return config.merged_with_env(env)

    def merged_with_toml(self, path: str | os.PathLike[str]) -> "GxpOtelConfig":
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        config = copy.deepcopy(self)
        sections = {"logging": config.logging, "gamp5_compliance": config.gamp5_compliance}
        for key, value in data.get("gxp_otel", {}).items():
            _assign(config, key, value, f"[gxp_otel].{key}")
        for section, target in sections.items():
            for key, value in data.get(section, {}).items():
                _assign(target, key, value, f"[{section}].{key}")
        unknown = set(data) - {"gxp_otel", *sections}
        if unknown:
            raise ConfigError(f"unknown section(s) in {path}: {', '.join(sorted(unknown))}")
        return config

    def merged_with_env(self, environ: Mapping[str, str]) -> "GxpOtelConfig":
        config = copy.deepcopy(self)
        targets = {"": config, "logging": config.logging, "gamp5_compliance": config.gamp5_compliance}
        for var, (where, description) in ENV_VARS.items():
            if var not in environ or where is None:
                continue
            section, _, key = where.rpartition(".")
            _assign(targets[section], key, environ[var], f"${var}")
        # OTEL_EXPORTER_OTLP_*ENDPOINT are read by the SDK's exporters themselves (gxp_otel.otlp_export).
        phoenix = environ.get("PHOENIX_COLLECTOR_ENDPOINT")
        if phoenix:
            config.otlp_endpoint = phoenix
        if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
            config.otlp_endpoint = None
        compliance = config.gamp5_compliance
        if "ENABLE_GAMP5_COMPLIANCE" in environ and compliance.enable_compliance_logging and not compliance.audit_directory:
            # The old design's layout: logs/events next to logs/audit.
            compliance.audit_directory = str(Path(config.logging.log_directory).parent / "audit")
        return config


# variable -> (config field it sets, description); None: read elsewhere (documented here for the table).
# The source of each variable (OTel specification, Phoenix, OpenInference, gxp-otel, the original design) is
# `ENV_SOURCES`; docs/configuration.md lists every one of them.
ENV_VARS: dict[str, tuple[str | None, str]] = {
    "LOG_LEVEL": ("logging.log_level", "Level of the event console lines and bridged Python loggers (DEBUG..CRITICAL)"),
    "LOG_DIRECTORY": ("logging.log_directory", "Directory of the readable event log file (when enabled)"),
    "LOG_CONSOLE": ("logging.enable_console", "One readable console line per stream event (true/false)"),
    "LOG_EVENT_FILE": ("logging.enable_event_log_file", "Also write those lines to <LOG_DIRECTORY>/pharma_events.log"),
    "ENABLE_GAMP5_COMPLIANCE": ("gamp5_compliance.enable_compliance_logging", "true: write the audit trail, by default in `<LOG_DIRECTORY>/../audit` (the old layout, `logs/audit`); false: no trail"),
    "AUDIT_RETENTION_DAYS": ("gamp5_compliance.audit_retention_days", "Retention recorded in the trail's genesis (default 2555)"),
    "ENABLE_TAMPER_EVIDENT": ("gamp5_compliance.enable_tamper_evident", "Sign checkpoints with GXP_OTEL_SIGNING_KEY (false: unsigned); true without a key warns that checkpoints are unsigned"),
    "GXP_OTEL_AUDIT_DIR": ("gamp5_compliance.audit_directory", "Audit trail directory (zero-code: required unless GXP_OTEL_FAIL_CLOSED=false)"),
    "GXP_OTEL_SIGNING_KEY": ("gamp5_compliance.signing_key", "Ed25519 private key file for checkpoint signatures"),
    "GXP_OTEL_FSYNC": ("gamp5_compliance.fsync", "Trail fsync policy: batch, always, interval"),
    "GXP_OTEL_CAPTURE_CONTENT": ("capture_content", "false hides every payload (hash and size still recorded)"),
    "GXP_OTEL_PAYLOAD_MAX_CHARS": ("payload_max_chars", "Cap on each recorded payload (default 4096)"),
    "GXP_OTEL_INCLUDE_EVENTS": ("logging.include_event_types", "Comma list: record only these stream event types"),
    "GXP_OTEL_EXCLUDE_EVENTS": ("logging.exclude_event_types", "Comma list: never record these stream event types"),
    "GXP_OTEL_BRIDGE_LOGGERS": ("logging.bridge_loggers", "Comma list of Python loggers sent to OTel logs (default pharma)"),
    "GXP_OTEL_CONFIG": (None, "TOML file read before the environment"),
    "GXP_OTEL_FAIL_CLOSED": (None, "Zero-code start-up: true (default, GxP) refuses to run the application without a working audit trail (one sentence, exit 78); false (non-GxP use) warns and runs without gxp-otel"),
    "GXP_OTEL_AUTO_SETUP": (None, "Deprecated: false is refused in GxP mode (it meant running without the trail); the trail now attaches to the application's own providers"),
    "OTEL_SERVICE_NAME": ("service_name", "service.name; wins over OTEL_RESOURCE_ATTRIBUTES (default gxp-otel when neither names one)"),
    "OTEL_RESOURCE_ATTRIBUTES": (None, "Resource attributes, read by the SDK (service.name in it is kept)"),
    "OTEL_TRACES_SAMPLER": (None, "Sampler, read by the SDK; thins only OTLP export: the audit trail records every span"),
    "OTEL_TRACES_SAMPLER_ARG": (None, "Sampler argument (e.g. the traceidratio ratio), read by the SDK"),
    "OTEL_EXPORTER_OTLP_ENDPOINT": (None, "OTLP base URL for every signal, read by the SDK exporters (http: /v1/traces, /v1/logs appended); pointing at Phoenix, add OTEL_LOGS_EXPORTER=none"),
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": (None, "OTLP traces URL, used as is by the SDK exporter"),
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": ("otlp_logs_endpoint", "OTLP logs URL, used as is; setting it turns OTLP log export on (Phoenix takes traces only)"),
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": (None, "OTLP/HTTP metrics URL (a collector); unset: metrics stay in-process"),
    "OTEL_EXPORTER_OTLP_PROTOCOL": (None, "http/protobuf (default) or grpc (needs opentelemetry-exporter-otlp-proto-grpc)"),
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": (None, "Protocol of trace export only"),
    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": (None, "Protocol of log export only"),
    "OTEL_EXPORTER_OTLP_HEADERS": (None, "Export headers, read by the SDK exporter (also _TRACES_/_LOGS_ variants)"),
    "OTEL_EXPORTER_OTLP_TIMEOUT": (None, "Export timeout, read by the SDK exporter"),
    "OTEL_TRACES_EXPORTER": (None, "Comma list of otlp, console, none; none is a kill switch that wins even over instrument(config=...)"),
    "OTEL_LOGS_EXPORTER": (None, "Comma list of otlp, console, none; none turns OTLP log export off (the trail still records logs)"),
    "OTEL_BSP_SCHEDULE_DELAY": (None, "OTLP span batch delay, read by the SDK (else logging.flush_interval_seconds)"),
    "OTEL_BSP_MAX_QUEUE_SIZE": (None, "OTLP span queue size, read by the SDK (else logging.buffer_size)"),
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": (None, "OTLP span batch size, read by the SDK (else min(512, buffer))"),
    "OTEL_BLRP_SCHEDULE_DELAY": (None, "OTLP log batch delay, read by the SDK (else logging.flush_interval_seconds)"),
    "OTEL_BLRP_MAX_QUEUE_SIZE": (None, "OTLP log queue size, read by the SDK (else logging.buffer_size)"),
    "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": (None, "OTLP log batch size, read by the SDK (else min(512, buffer))"),
    "PHOENIX_COLLECTOR_ENDPOINT": (None, "Phoenix base URL when no OTEL_EXPORTER_OTLP_*ENDPOINT is set (default http://127.0.0.1:6006)"),
    "PHOENIX_PROJECT_NAME": (None, "openinference.project.name (default: the service name)"),
    "PHOENIX_API_KEY": (None, "Phoenix API key: sent as authorization: Bearer on export to Phoenix and by the REST client"),
    "PHOENIX_CLIENT_HEADERS": (None, "Extra headers (k=v,k2=v2) on export to Phoenix and by the REST client"),
    "OPENINFERENCE_HIDE_INPUTS": (None, "OpenInference TraceConfig: hide inputs (also hides event payloads)"),
    "OPENINFERENCE_HIDE_OUTPUTS": (None, "OpenInference TraceConfig: hide outputs (also hides event payloads)"),
}

_ORIGINAL_DESIGN = {"LOG_LEVEL", "LOG_DIRECTORY", "LOG_CONSOLE", "LOG_EVENT_FILE", "ENABLE_GAMP5_COMPLIANCE",
                    "AUDIT_RETENTION_DAYS", "ENABLE_TAMPER_EVIDENT"}


def env_source(var: str) -> str:
    """Who defines `var`: "OTel specification", "Phoenix", "OpenInference", "original design" or "gxp-otel"."""
    if var in _ORIGINAL_DESIGN:
        return "original design"
    for prefix, source in (("OTEL_", "OTel specification"), ("PHOENIX_", "Phoenix"),
                           ("OPENINFERENCE_", "OpenInference")):
        if var.startswith(prefix):
            return source
    return "gxp-otel"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _assign(target: Any, key: str, raw: Any, where: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(target)}
    if key not in fields:
        raise ConfigError(f"{where}: unknown field {key!r} of {type(target).__name__}")
    current = getattr(target, key)
    setattr(target, key, _coerce(key, raw, current, fields[key].type, where))


def _coerce(key: str, raw: Any, current: Any, annotation: Any, where: str) -> Any:
    text = str(annotation)
    try:
        if key == "log_level":
            return LogLevel(str(raw).upper())
        if key == "compliance_standards":
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return [ComplianceStandard(str(i).strip()) for i in items if str(i).strip()]
        if text.startswith("bool") or isinstance(current, bool):
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError("expected true or false")
        if text.startswith("list"):
            if isinstance(raw, str):
                return [part.strip() for part in raw.split(",") if part.strip()]
            return [str(i) for i in raw]
        if text.startswith("int"):
            value = int(raw)
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if text.startswith("float"):
            value = float(raw)
            if not value >= 0:
                raise ValueError("must be a non-negative number")
            return value
        if key == "fsync" and str(raw) not in ("batch", "always", "interval"):
            raise ValueError("expected batch, always or interval")
        if "None" in text and (raw is None or str(raw).strip().lower() in ("", "none")):
            return None
        return str(raw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: invalid value {raw!r} for {key}: {exc}") from exc
