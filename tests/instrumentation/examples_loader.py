"""The pharma example's approval event class (a HumanResponseEvent with a `signature` field), loaded from examples/."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pharma_test_generation.py"


def approval_event_class():
    module = sys.modules.get("pharma_test_generation")
    if module is None:
        spec = importlib.util.spec_from_file_location("pharma_test_generation", EXAMPLE)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module.ApprovalDecisionEvent
