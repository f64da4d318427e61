"""gxp-otel: OpenTelemetry for regulated (GxP) AI workflows.

``instrument()`` traces LlamaIndex Workflows to Phoenix and to the audit trail; ``ComplianceSpanExporter`` /
``ComplianceLogExporter`` write spans and logs to a hash-chained, signed audit trail (docs/audit-format.md);
``verify_trail`` checks one independently. Names are imported lazily, so the verifier and the CLI do not load the
instrumentation stack (LlamaIndex, OpenInference) they do not need.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "AuditTrailWriter": "gxp_otel.audit.writer",
    "ComplianceBatchLogRecordProcessor": "gxp_otel.audit.processors",
    "ComplianceBatchSpanProcessor": "gxp_otel.audit.processors",
    "ComplianceLogExporter": "gxp_otel.audit.exporters",
    "ComplianceSpanExporter": "gxp_otel.audit.exporters",
    "verify_trail": "gxp_otel.audit.verifier",
    "instrument": "gxp_otel.setup",
    "InstrumentationHandle": "gxp_otel.setup",
    "GAMP5ComplianceConfig": "gxp_otel.config",
    "GxpOtelConfig": "gxp_otel.config",
    "LoggingConfig": "gxp_otel.config",
    "GxpWorkflowInstrumentor": "gxp_otel.instrumentation",
    "EventLoggingMixin": "gxp_otel.integration",
    "setup_event_logging": "gxp_otel.integration",
    "sign": "gxp_otel.part11.esign",
    "send_human_response": "gxp_otel.attribution",
}

# Imported eagerly (it is light): the function shares its module's name, and a lazy lookup would find the module
# once anything imported ``gxp_otel.attribution``.
from gxp_otel.attribution import attribution  # noqa: E402

__all__ = sorted([*_EXPORTS, "attribution", "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gxp_otel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
