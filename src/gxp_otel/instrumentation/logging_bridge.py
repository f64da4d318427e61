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
from typing import Any

from opentelemetry._logs import LoggerProvider, SeverityNumber

from gxp_otel.instrumentation.event_routing import GXP_EVENT_LINE
from gxp_otel.instrumentation.statistics import TelemetryStatistics

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
            logger.emit(
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
