"""Small builders for audit tests: an SDK pipeline into the trail, and line-level access to chain files."""

from __future__ import annotations

from pathlib import Path

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from gxp_otel.audit.exporters import ComplianceSpanExporter


def traced(directory: Path, **options):
    """A TracerProvider exporting synchronously into the trail (each span one durable export)."""
    exporter = ComplianceSpanExporter(directory, **options)
    provider = TracerProvider(resource=Resource.create({"service.name": "audit-tests", "enduser.id": "tester"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def chain_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("audit-") and ".jsonl" in p.name
                  and ".checkpoints." not in p.name)


def records(directory: Path) -> list[dict]:
    import gzip

    out = []
    for path in chain_files(directory):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            out.extend(orjson.loads(line) for line in handle)
    return out
