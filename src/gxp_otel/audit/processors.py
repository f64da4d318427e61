"""Batch processors for the audit path that never lose records silently.

The SDK's batch processors keep a bounded deque and, when it is full, push the oldest item out with only a log
warning. These subclasses give the SDK a deque that counts exactly what it pushes out and tells the trail's writer,
which records a ``gap`` with the count at its next write (docs/audit-format.md §6.4). Use them with the compliance
exporters (``instrument()`` does).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from gxp_otel.audit.exporters import ComplianceLogExporter, ComplianceSpanExporter


class _DropCountingQueue(collections.deque):
    """The SDK's queue, with push and pop under one lock so that a drop is counted exactly when it happens."""

    def __init__(self, maxlen: int, on_drop: Callable[[], None]) -> None:
        super().__init__([], maxlen)
        self._lock = threading.Lock()
        self._on_drop = on_drop

    def appendleft(self, item) -> None:
        with self._lock:
            dropping = len(self) == self.maxlen
            super().appendleft(item)
        if dropping:
            self._on_drop()

    def pop(self):
        with self._lock:
            return super().pop()


def _install(processor, signal: str, writer) -> None:
    def dropped() -> None:
        processor.dropped += 1
        writer.note_loss(signal, 1, f"SDK {signal} queue full: the oldest queued item was dropped")

    inner = processor._batch_processor  # the SDK keeps its queue private; it is swapped once, while empty
    inner._queue = _DropCountingQueue(inner._max_queue_size, dropped)


class ComplianceBatchSpanProcessor(BatchSpanProcessor):
    """``BatchSpanProcessor`` that records spans dropped from its full queue in the audit trail as a gap."""

    def __init__(self, exporter: ComplianceSpanExporter, **options) -> None:
        super().__init__(exporter, **options)
        self.dropped = 0
        _install(self, "spans", exporter.writer)

    def on_end(self, span) -> None:
        """Every recorded span, sampled for export or not (the SDK's processor skips unsampled ones): the trail is
        complete whatever the sampler; `gxp_otel.trail_sampling` keeps dropped spans recorded for it."""
        self._batch_processor.emit(span)


class ComplianceBatchLogRecordProcessor(BatchLogRecordProcessor):
    """``BatchLogRecordProcessor`` that records log records dropped from its full queue as a gap."""

    def __init__(self, exporter: ComplianceLogExporter, **options) -> None:
        super().__init__(exporter, **options)
        self.dropped = 0
        _install(self, "logs", exporter.writer)
