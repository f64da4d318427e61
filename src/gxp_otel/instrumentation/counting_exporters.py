"""Exporter wrappers that count failed exports in the telemetry statistics (Phoenix or a collector down).

The SDK's batch processors log a failed export and move on; these wrappers make the failure visible in
``handle.statistics()["errors_by_kind"]["otlp-export"]`` (and the error counter metric). They never raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from gxp_otel.instrumentation.statistics import TelemetryStatistics


class _Counting:
    def __init__(self, inner: Any, statistics: TelemetryStatistics, kind: str) -> None:
        self._inner, self._statistics, self._kind = inner, statistics, kind

    def _export(self, batch: Sequence[Any], failure: Any) -> Any:
        try:
            result = self._inner.export(batch)
        except Exception as exc:  # an exporter that raises must not stop the processor
            self._statistics.error(self._kind, exc)
            return failure
        if result is failure:
            self._statistics.error(self._kind)
        return result

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        self._inner.shutdown(*args, **kwargs)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class CountingSpanExporter(_Counting, SpanExporter):
    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        return self._export(spans, SpanExportResult.FAILURE)


class CountingLogRecordExporter(_Counting, LogRecordExporter):
    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        return self._export(batch, LogRecordExportResult.FAILURE)
