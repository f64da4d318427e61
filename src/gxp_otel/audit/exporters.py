"""``ComplianceSpanExporter`` and ``ComplianceLogExporter``: thin SDK adapters onto one shared ``AuditTrailWriter``.

Each maps its signal to the canonical bytes of record bodies (``span_encoding.py`` for spans, ``records.py`` for
logs) and hands them to the writer; everything else (ordering, durability, gaps) is the writer's. ``export`` returns SUCCESS only once the batch is durable per the fsync policy,
FAILURE (never raises) otherwise, and the lost records are recorded as a ``gap`` as soon as writing works again.
Two exporters on the same directory in one process share one writer. ``shutdown`` is idempotent; ``export`` after
shutdown returns FAILURE.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from gxp_otel.audit.records import log_body
from gxp_otel.audit.span_encoding import span_body_json
from gxp_otel.audit.values import encode_body
from gxp_otel.audit.writer import AuditTrailError, AuditTrailWriter

_logger = logging.getLogger(__name__)


class _ComplianceExporter:
    """The shared mechanism: map items to encoded bodies, append them as one group, count and report failures."""

    kind: str
    signal: str

    def __init__(
        self,
        audit_dir: str | os.PathLike[str] | None = None,
        *,
        writer: AuditTrailWriter | None = None,
        **writer_options: Any,
    ) -> None:
        if (audit_dir is None) == (writer is None):
            raise TypeError("give exactly one of audit_dir or writer")
        self._owns_writer = writer is None
        self.writer = writer if writer is not None else AuditTrailWriter.shared(audit_dir, **writer_options)
        self._shutdown = False
        self.exported = 0
        self.failed = 0

    def _export(self, items: Sequence[Any], to_body: Callable[[Any], bytes]) -> bool:
        if self._shutdown:
            return False
        bodies = []
        unmappable = 0
        for item in items:
            try:
                bodies.append(to_body(item))
            except Exception:  # a malformed SDK object must not stop the rest of the batch
                unmappable += 1
                _logger.exception("gxp-otel: could not map a %s to an audit record", self.kind)
        try:
            if unmappable:
                self.writer.note_loss(self.signal, unmappable, f"{self.kind} could not be mapped to a record")
            if bodies:
                self.writer.append_encoded(self.kind, bodies)
        except AuditTrailError as exc:
            self.failed += len(bodies)
            _logger.error("gxp-otel: audit trail write failed, %d %s recorded as lost: %s", len(bodies), self.signal, exc)
            return False
        self.exported += len(bodies)
        return unmappable == 0

    def shutdown(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        if self._owns_writer:
            self.writer.release()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        if self._shutdown:
            return True
        try:
            self.writer.flush()
        except (AuditTrailError, OSError):
            return False
        return True


class ComplianceSpanExporter(_ComplianceExporter, SpanExporter):
    """Writes ended spans to the audit trail in ``audit_dir`` (see :class:`AuditTrailWriter` for options)."""

    kind = "span"
    signal = "spans"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS if self._export(spans, span_body_json) else SpanExportResult.FAILURE


class ComplianceLogExporter(_ComplianceExporter, LogRecordExporter):
    """Writes log records to the audit trail in ``audit_dir`` (see :class:`AuditTrailWriter` for options)."""

    kind = "log"
    signal = "logs"

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS if self._export(batch, _log_body_json) else LogRecordExportResult.FAILURE


def _log_body_json(record: ReadableLogRecord) -> bytes:
    return encode_body(log_body(record))
