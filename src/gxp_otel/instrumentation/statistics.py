"""Counters of what the instrumentation did: events recorded, filtered, telemetry errors; also as OTel metrics.

`TelemetryStatistics.snapshot()` is what `instrument(...).statistics()` returns. Counting is thread-safe (one lock,
held for a few dictionary updates) and never raises. The same counts are exported as OTel metrics when a meter
provider is given: `gxp.workflow.events` (attribute `gxp.event.type`), `gxp.workflow.runs`
(attribute `gxp.run.outcome`) and `gxp.telemetry.errors` (attribute `gxp.error.kind`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from opentelemetry.metrics import MeterProvider

_log = logging.getLogger("gxp_otel.instrumentation")


class TelemetryStatistics:
    """Process-wide tallies; `error()` also logs the first error of each kind at WARNING (then DEBUG)."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._events: Counter[str] = Counter()
        self._filtered = 0
        self._errors: Counter[str] = Counter()
        self._runs: Counter[str] = Counter()
        self._event_counter = self._error_counter = self._run_counter = None
        if meter_provider is not None:
            self.bind_meter(meter_provider)

    def bind_meter(self, meter_provider: MeterProvider) -> None:
        try:
            meter = meter_provider.get_meter("gxp_otel.instrumentation")
            self._event_counter = meter.create_counter(
                "gxp.workflow.events", unit="{event}", description="Workflow stream events recorded"
            )
            self._run_counter = meter.create_counter(
                "gxp.workflow.runs", unit="{run}", description="Workflow runs seen, by outcome"
            )
            self._error_counter = meter.create_counter(
                "gxp.telemetry.errors", unit="{error}", description="Telemetry errors contained (never raised)"
            )
        except Exception:  # a broken meter provider must not stop tracing
            _log.debug("metrics unavailable", exc_info=True)

    def event(self, event_type: str) -> None:
        with self._lock:
            self._events[event_type] += 1
        if self._event_counter is not None:
            self._event_counter.add(1, {"gxp.event.type": event_type})

    def filtered(self) -> None:
        with self._lock:
            self._filtered += 1

    def run(self, outcome: str) -> None:
        with self._lock:
            self._runs[outcome] += 1
        if self._run_counter is not None:
            self._run_counter.add(1, {"gxp.run.outcome": outcome})

    def error(self, kind: str, exc: BaseException | None = None) -> None:
        with self._lock:
            self._errors[kind] += 1
            first = self._errors[kind] == 1
        try:
            _log.log(logging.WARNING if first else logging.DEBUG, "telemetry error contained: %s", kind, exc_info=exc)
            if self._error_counter is not None:
                self._error_counter.add(1, {"gxp.error.kind": kind})
        except Exception:
            pass

    def snapshot(self) -> dict[str, Any]:
        """`events_processed`, `events_per_second`, `events_by_type`, `events_filtered`, `errors`, `errors_by_kind`, `runs`."""
        with self._lock:
            elapsed = max(time.monotonic() - self._started, 1e-9)
            processed = sum(self._events.values())
            return {
                "events_processed": processed,
                "events_per_second": processed / elapsed,
                "events_by_type": dict(self._events),
                "events_filtered": self._filtered,
                "errors": sum(self._errors.values()),
                "errors_by_kind": dict(self._errors),
                "runs": dict(self._runs),
                "uptime_seconds": elapsed,
            }
