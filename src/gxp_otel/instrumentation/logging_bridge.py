"""Python `logging` -> OTel log records, with the trace and span of the code that logged.

`OTelLoggingHandler` is attached by `instrument()` to the configured loggers (default `pharma`, so `pharma.*`).
It is small on purpose (the SDK's own handler is deprecated and copies every `extra` field unchecked): body = the
formatted message, attributes = logger name, code location, exception type/message/stacktrace and scalar `extra`
fields (other values as their repr, flagged under `gxp.log.coerced`). Lines that gxp-otel itself routes to category
loggers are skipped: the stream event behind them is already a log record. Never raises (logging's own
`handleError` is not used: a telemetry failure must not print into the application's stderr per record).
"""

from __future__ import annotations

import logging
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider, SeverityNumber

from gxp_otel.instrumentation.event_routing import GXP_EVENT_LINE, EventRouter
from gxp_otel.instrumentation.statistics import TelemetryStatistics
from gxp_otel.instrumentation.stream_events import current_step_span

_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", GXP_EVENT_LINE, "taskName"}
_SCALARS = (str, bool, int, float)
_SEVERITY = {
    logging.DEBUG: (SeverityNumber.DEBUG, "DEBUG"),
    logging.INFO: (SeverityNumber.INFO, "INFO"),
    logging.WARNING: (SeverityNumber.WARN, "WARN"),
    logging.ERROR: (SeverityNumber.ERROR, "ERROR"),
    logging.CRITICAL: (SeverityNumber.FATAL, "FATAL"),
}


def _severity(levelno: int) -> tuple[SeverityNumber, str]:
    if levelno in _SEVERITY:
        return _SEVERITY[levelno]
    for level in sorted(_SEVERITY, reverse=True):
        if levelno >= level:
            return _SEVERITY[level][0], logging.getLevelName(levelno)
    return SeverityNumber.TRACE, logging.getLevelName(levelno)


class OTelLoggingHandler(logging.Handler):
    def __init__(self, logger_provider: LoggerProvider, statistics: TelemetryStatistics | None = None, level: int = logging.NOTSET) -> None:
        super().__init__(level=level)
        self._provider = logger_provider
        self._statistics = statistics
        self._loggers: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, GXP_EVENT_LINE, False):
            return
        try:
            logger = self._loggers.get(record.name)
            if logger is None:
                logger = self._loggers[record.name] = self._provider.get_logger(record.name)
            number, text = _severity(record.levelno)
            context = None
            if not trace.get_current_span().get_span_context().is_valid:  # OpenInference < 4.5: the step's span
                step_span = current_step_span.get()
                if step_span is not None:
                    context = trace.set_span_in_context(step_span)
            logger.emit(
                context=context,
                timestamp=int(record.created * 1e9),
                severity_number=number,
                severity_text=text,
                body=record.getMessage(),
                attributes=self._attributes(record),
            )
        except Exception as exc:
            if self._statistics is not None:
                self._statistics.error("logging-bridge", exc)

    @staticmethod
    def _attributes(record: logging.LogRecord) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "log.logger": record.name,
            "code.file.path": record.pathname,
            "code.function.name": record.funcName,
            "code.line.number": record.lineno,
        }
        coerced = []
        for key, value in vars(record).items():
            if key in _RESERVED:
                continue
            if isinstance(value, _SCALARS):
                attributes[key] = value
            else:
                attributes[key] = repr(value)[:1024]
                coerced.append(f"attributes/{key}: not-json-type:{type(value).__name__}")
        if coerced:
            attributes["gxp.log.coerced"] = coerced
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            attributes["exception.type"] = exc_type.__name__
            attributes["exception.message"] = str(exc)
            attributes["exception.stacktrace"] = "".join(traceback.format_exception(exc_type, exc, tb))
        return attributes


# -- installation by instrument(): every change is recorded in the given lists so shutdown() can undo it ---------

Handlers = list[tuple[logging.Logger, logging.Handler]]
Levels = list[tuple[logging.Logger, int]]


def install_event_lines(config: Any, handlers: Handlers, levels: Levels) -> EventRouter | None:
    """Console (and optional rotating file) handlers on the category prefix logger; the router that feeds them.

    `config` is a `gxp_otel.config.LoggingConfig`. None when neither console nor file is on (nothing is formatted).
    """
    if not (config.enable_console or config.enable_event_log_file):
        return None
    level = logging.getLevelName(config.log_level.value)
    prefix_logger = logging.getLogger(config.category_logger_prefix)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    new: list[logging.Handler] = []
    if config.enable_console:
        new.append(logging.StreamHandler())
    if config.enable_event_log_file:
        directory = Path(config.log_directory)
        directory.mkdir(parents=True, exist_ok=True)
        rotate = config.enable_rotation
        new.append(RotatingFileHandler(directory / "pharma_events.log",
                                       maxBytes=config.max_file_size_mb * 1024 * 1024 if rotate else 0,
                                       backupCount=config.max_files if rotate else 0))
    for handler in new:
        handler.setFormatter(formatter)
        handler.setLevel(level)
        prefix_logger.addHandler(handler)
        handlers.append((prefix_logger, handler))
    _lower_level(prefix_logger, level, levels)
    return EventRouter(prefix=config.category_logger_prefix, level=logging.INFO)


def install_logging_bridge(config: Any, logger_provider: LoggerProvider, statistics: TelemetryStatistics,
                           handlers: Handlers, levels: Levels) -> None:
    """An `OTelLoggingHandler` on each of `config.bridge_loggers`, at `config.log_level`."""
    level = logging.getLevelName(config.log_level.value)
    for name in config.bridge_loggers:
        logger = logging.getLogger(name)
        handler = OTelLoggingHandler(logger_provider, statistics, level=level)
        logger.addHandler(handler)
        handlers.append((logger, handler))
        _lower_level(logger, level, levels)


def _lower_level(logger: logging.Logger, level: int, levels: Levels) -> None:
    if logger.level == logging.NOTSET or logger.level > level:
        levels.append((logger, logger.level))
        logger.setLevel(level)
