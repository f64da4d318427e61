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
from gxp_otel.setup import InstrumentationHandle, instrument  # noqa: E402
from gxp_otel.config import GAMP5ComplianceConfig, GxpOtelConfig, LoggingConfig  # noqa: E402
from gxp_otel.instrumentation import GxpWorkflowInstrumentor  # noqa: E402
from gxp_otel.integration import EventLoggingMixin, setup_event_logging  # noqa: E402
from gxp_otel.audit.writer import AuditTrailWriter  # noqa: E402

__all__ = [
    "AuditTrailWriter",
    "ComplianceBatchLogRecordProcessor",
    "ComplianceBatchSpanProcessor",
    "ComplianceLogExporter",
    "ComplianceSpanExporter",
    "EventLoggingMixin",
    "GAMP5ComplianceConfig",
    "GxpOtelConfig",
    "GxpWorkflowInstrumentor",
    "InstrumentationHandle",
    "LoggingConfig",
    "__version__",
    "attribution",
    "instrument",
    "setup_event_logging",
    "verify_trail",
]
