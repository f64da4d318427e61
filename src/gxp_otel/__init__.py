"""gxp-otel: OpenTelemetry for regulated (GxP) AI workflows.

``ComplianceSpanExporter`` / ``ComplianceLogExporter`` write spans and logs to a hash-chained, signed audit trail
(docs/audit-format.md); ``verify_trail`` checks one independently.
"""

__version__ = "0.1.0"

from gxp_otel.audit.exporters import ComplianceLogExporter, ComplianceSpanExporter  # noqa: E402
from gxp_otel.audit.processors import (  # noqa: E402
    ComplianceBatchLogRecordProcessor,
    ComplianceBatchSpanProcessor,
)
from gxp_otel.audit.verifier import verify_trail  # noqa: E402
from gxp_otel.attribution import attribution  # noqa: E402
from gxp_otel.setup import instrument  # noqa: E402
from gxp_otel.audit.writer import AuditTrailWriter  # noqa: E402

__all__ = [
    "AuditTrailWriter",
    "ComplianceBatchLogRecordProcessor",
    "ComplianceBatchSpanProcessor",
    "ComplianceLogExporter",
    "ComplianceSpanExporter",
    "__version__",
    "attribution",
    "instrument",
    "verify_trail",
]
