"""Fault-injection tests write what they tried and found to test-artifacts/reliability/<name>.json, the source of the
numbers in docs/reliability.md."""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "test-artifacts" / "reliability"


def record_result(name: str, **numbers) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(numbers, indent=1) + "\n")
