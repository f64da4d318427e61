"""Counters of what the instrumentation did: events recorded, filtered, telemetry errors; also as OTel metrics.

`TelemetryStatistics.snapshot()` is what `instrument(...).statistics()` returns. Counting is thread-safe (one lock,
held for a few dictionary updates) and never raises. The same counts are exported as OTel metrics when a meter
provider is given: `gxp.workflow.events` (attribute `gxp.event.type`), `gxp.workflow.runs`
(attribute `gxp.run.outcome`) and `gxp.telemetry.errors` (attribute `gxp.error.kind`). They are observable
(asynchronous) counters read from the tallies at collection time, so counting costs nothing extra per event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

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
        self._bound: set[int] = set()
        if meter_provider is not None:
            self.bind_meter(meter_provider)

    def bind_meter(self, meter_provider: MeterProvider) -> None:
        """Export the tallies as observable counters of `meter_provider` (once per provider)."""
        if id(meter_provider) in self._bound:
            return
        self._bound.add(id(meter_provider))
        try:
            meter = meter_provider.get_meter("gxp_otel.instrumentation")
            meter.create_observable_counter(
                "gxp.workflow.events", callbacks=[self._observe(lambda: self._events, "gxp.event.type")],
                unit="{event}", description="Workflow stream events recorded")
            meter.create_observable_counter(
                "gxp.workflow.runs", callbacks=[self._observe(lambda: self._runs, "gxp.run.outcome")],
                unit="{run}", description="Workflow runs seen, by outcome")
            meter.create_observable_counter(
                "gxp.telemetry.errors", callbacks=[self._observe(lambda: self._errors, "gxp.error.kind")],
                unit="{error}", description="Telemetry errors contained (never raised)")
        except Exception:  # a broken meter provider must not stop tracing
            _log.debug("metrics unavailable", exc_info=True)

    def _observe(self, counter: Any, key: str) -> Any:
        def callback(options: CallbackOptions) -> list[Observation]:
            with self._lock:
                return [Observation(value, {key: name}) for name, value in counter().items()]

        return callback

    def event(self, event_type: str) -> None:
        with self._lock:
            self._events[event_type] += 1

    def filtered(self) -> None:
        with self._lock:
            self._filtered += 1

    def run(self, outcome: str) -> None:
        with self._lock:
            self._runs[outcome] += 1

    def error(self, kind: str, exc: BaseException | None = None) -> None:
        with self._lock:
            self._errors[kind] += 1
            first = self._errors[kind] == 1
        try:
            _log.log(logging.WARNING if first else logging.DEBUG, "telemetry error contained: %s", kind, exc_info=exc)
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
