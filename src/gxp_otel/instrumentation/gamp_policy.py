"""GAMP 5 risk-based capture: what a run records, from its GAMP software category and risk level.

The policy is chosen per run, when the run starts, from the attribution it starts under (`gxp.gamp.category`,
`gxp.risk.level`; `gxp_otel.attribution(gamp_category=..., risk_level=...)`), recorded on the run span
(`gxp.capture.policy` and the fields below) and on its approvals, and applied to every payload of that run.

| category | risk   | payloads | approvals need an e-signature | fsync (trail) | checkpoint every (trail) |
|----------|--------|----------|-------------------------------|---------------|--------------------------|
| 5        | high   | full     | yes                           | batch         | 60 s                     |
| 5        | medium | full     | yes                           | batch         | 60 s                     |
| 5        | low    | full     | no                            | batch         | 300 s                    |
| 4        | high   | full     | yes                           | batch         | 60 s                     |
| 4        | medium | full     | no                            | batch         | 300 s                    |
| 4        | low    | full     | no                            | batch         | 300 s                    |
| 3        | high   | full     | no                            | batch         | 300 s                    |
| 3        | medium | hashed   | no                            | interval      | 300 s                    |
| 3        | low    | hashed   | no                            | interval      | 300 s                    |
| 1        | any    | hashed   | no                            | interval      | 600 s                    |

- A run without a category, or with one not in the table, gets 5/high; a missing or unknown risk level is `high`.
  So 5/high, the default, captures exactly what gxp-otel always captured: never less.
- `full`: payloads are recorded as JSON text, redacted and bounded at `payload_max_chars` (docs/instrumentation.md).
  `hashed`: the text is replaced by `__REDACTED__`, with the SHA-256 and size of the full value (`.redacted`), for
  gxp-otel's own payloads (run/step input and output, stream-event bodies) and OpenInference's payload attributes
  (`input.value`, `output.value`, `llm.input_messages.*`, `llm.output_messages.*`, `llm.prompts`, `tool.parameters`,
  `retrieval.documents.*`); every stream event is still one record (the event happened; its content is hashed).
- Approvals: when the policy requires an e-signature and a human decision is not e-signed, its record carries
  `gxp.hitl.signature_missing=true` (the review page shows it).
- fsync and checkpoint cadence are properties of the trail writer (one per directory, shared by all runs). The run
  records what its policy requires (`gxp.capture.fsync`, `gxp.capture.checkpoint_interval_s`) so a reviewer can
  compare it with the writer's configuration (`GXP_OTEL_FSYNC`, `audit_options`); it is not changed per run.

Thread-safety: `RunPolicies` is a bounded dict keyed by run id; single-key operations are atomic under the GIL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gxp_otel.attribution import GAMP_CATEGORY, RISK_LEVEL

try:  # the run id of the workflow run this code executes in
    from workflows.plugins.basic import get_current_run_id as _current_run_id
except ImportError:  # pragma: no cover - workflows is a declared dependency of the instrumentation

    def _current_run_id() -> str | None:
        return None

POLICY = "gxp.capture.policy"
PAYLOADS = "gxp.capture.payloads"
SIGNATURE_REQUIRED = "gxp.capture.signature_required"
FSYNC = "gxp.capture.fsync"
CHECKPOINT_INTERVAL = "gxp.capture.checkpoint_interval_s"
PAYLOAD_PREFIXES = ("input.value", "output.value", "llm.input_messages.", "llm.output_messages.", "llm.prompts",
                    "tool.parameters", "retrieval.documents.")


@dataclass(frozen=True, slots=True)
class CapturePolicy:
    category: int
    risk: str
    payloads: str  # "full" | "hashed"
    signature_required: bool
    fsync: str  # what the run requires of the trail writer: "batch" | "interval"
    checkpoint_interval_s: int

    @property
    def name(self) -> str:
        return f"{self.category}/{self.risk}"

    @property
    def hashes_payloads(self) -> bool:
        return self.payloads == "hashed"

    def attributes(self) -> dict[str, Any]:
        return {POLICY: self.name, PAYLOADS: self.payloads, SIGNATURE_REQUIRED: self.signature_required,
                FSYNC: self.fsync, CHECKPOINT_INTERVAL: self.checkpoint_interval_s}


def _row(category: int, risk: str, payloads: str, signature: bool, fsync: str, checkpoint: int) -> CapturePolicy:
    return CapturePolicy(category, risk, payloads, signature, fsync, checkpoint)


POLICY_TABLE: dict[tuple[int, str], CapturePolicy] = {
    (p.category, p.risk): p
    for p in (
        _row(5, "high", "full", True, "batch", 60), _row(5, "medium", "full", True, "batch", 60),
        _row(5, "low", "full", False, "batch", 300),
        _row(4, "high", "full", True, "batch", 60), _row(4, "medium", "full", False, "batch", 300),
        _row(4, "low", "full", False, "batch", 300),
        _row(3, "high", "full", False, "batch", 300), _row(3, "medium", "hashed", False, "interval", 300),
        _row(3, "low", "hashed", False, "interval", 300),
        _row(1, "high", "hashed", False, "interval", 600), _row(1, "medium", "hashed", False, "interval", 600),
        _row(1, "low", "hashed", False, "interval", 600),
    )
}
STRICTEST = POLICY_TABLE[(5, "high")]
_RISKS = {"high": "high", "h": "high", "medium": "medium", "med": "medium", "m": "medium", "low": "low", "l": "low"}


def policy_for(category: Any, risk: Any) -> CapturePolicy:
    """The table's row for a GAMP category (1/3/4/5, int or text like "5" or "Category 4") and risk level."""
    try:
        digits = "".join(ch for ch in str(category) if ch.isdigit())
        number = int(digits) if digits else None
    except ValueError:
        number = None
    level = _RISKS.get(str(risk).strip().lower(), "high") if risk is not None else "high"
    return POLICY_TABLE.get((number, level), STRICTEST) if number is not None else STRICTEST


class RunPolicies:
    """The policy of each recent run, by run id."""

    def __init__(self, capacity: int = 4096) -> None:
        self._policies: OrderedDict[str, CapturePolicy] = OrderedDict()
        self._capacity = capacity

    def start(self, run_id: str | None, attributes: Mapping[str, Any]) -> CapturePolicy:
        policy = policy_for(attributes.get(GAMP_CATEGORY), attributes.get(RISK_LEVEL))
        if run_id:
            self._policies[run_id] = policy
            while len(self._policies) > self._capacity:
                self._policies.popitem(last=False)
        return policy

    def of(self, run_id: str | None) -> CapturePolicy:
        """The run's policy; the strictest for an unknown run (never capture less by mistake)."""
        return self._policies.get(run_id, STRICTEST) if run_id else STRICTEST

    def current(self) -> CapturePolicy:
        if not self._policies:
            return STRICTEST
        return self.of(_current_run_id())
