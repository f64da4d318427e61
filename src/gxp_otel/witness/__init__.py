"""The checkpoint witness: an independent receiver of signed checkpoint statements (docs/audit-format.md §7.1).

A writer (the collector's gxpaudit with ``checkpoint.witness.endpoint``) ships each checkpoint line to the witness
as it is made; the witness keeps a held copy per stream that an auditor passes to ``gxp-otel verify --checkpoints``,
so rolling back a writer's whole directory is detected from the witness's copy alone.
"""

from gxp_otel.witness.server import WitnessServer
from gxp_otel.witness.store import WitnessRejected, WitnessStore

__all__ = ["WitnessRejected", "WitnessServer", "WitnessStore"]
