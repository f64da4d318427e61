"""Child process of the resilience tests: instrument once, run the pharma example workflow again and again.

Runs until ``--stop-file`` exists or ``--max-runs`` runs are done, printing ``run <run id> <status> <start time>``
(start as Unix seconds) after each; then
flushes, shuts the instrumentation down and prints ``{"runs": [...], "statistics": {...}}`` as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pharma_test_generation.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("pharma_test_generation", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--audit-dir", required=True)
    parser.add_argument("--otlp-endpoint", required=True)
    parser.add_argument("--stop-file", default="")
    parser.add_argument("--max-runs", type=int, default=1000)
    parser.add_argument("--pause", type=float, default=2.0)
    args = parser.parse_args()
    example = _load_example()
    from gxp_otel.setup import instrument

    handle = instrument(service_name="resilience", audit_dir=args.audit_dir, otlp_endpoint=args.otlp_endpoint)
    finished: list[str] = []
    stop = Path(args.stop_file) if args.stop_file else None

    async def loop() -> None:
        while len(finished) < args.max_runs and not (stop and stop.exists()):
            started = time.time()
            result = await example.run_pharma_test_generation()
            finished.append(result.run_id)
            print(f"run {result.run_id} {result.result['status']} {started:.3f}", flush=True)
            await asyncio.sleep(args.pause)

    try:
        asyncio.run(loop())
        handle.force_flush()
        statistics = handle.statistics()
    finally:
        handle.shutdown()
    print(json.dumps({"runs": finished, "statistics": statistics}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
