"""Audit-trail benchmarks (issue: audit-trail core). Run: .venv/bin/python bench/bench_audit.py [--quick]

Every comparison is A/B interleaved in one run (these machines are noisy) and reported as a ratio. Results are
printed as Markdown and, with --write, replace the audit section of docs/benchmarks.md.

1. Spans (10 attributes) through BatchSpanProcessor into ComplianceSpanExporter (chained, fsync per batch) vs into
   opentelemetry-exporter-otlp-json-file's FileSpanExporter (no chain, no fsync), with a no-op exporter as the SDK's
   own floor; also the exporters alone on the same pre-built batches of 512. Each is timed in wall-clock and in the
   process's CPU time (all threads: the SDK's export thread included), which other load on the machine moves less.
2. AuditTrailWriter alone on ~1 KB records, batches of 512, fsync="batch", vs a plain JSONL write
   (orjson + write + one fsync per batch) of the same records.
3. verify throughput (MB/s) and verify's peak RSS on trails of two sizes (flat memory = constant-memory streaming).

--skip-verify measures 1 and 2 only and, with --write, keeps the verify rows already in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from gxp_otel.audit.exporters import ComplianceSpanExporter
from gxp_otel.audit.writer import AuditTrailWriter

ROOT = Path(__file__).resolve().parents[1]
ATTRS = {f"attr.{i}": (f"value-{i}" * 3 if i % 3 else i * 1000) for i in range(10)}


class _NoopSpanExporter(SpanExporter):
    """The SDK floor: BatchSpanProcessor's own cost with an exporter that does nothing."""

    def export(self, spans):
        return SpanExportResult.SUCCESS


def _pipeline_seconds(exporter, spans: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) to create, end and export ``spans`` spans through BatchSpanProcessor."""
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=spans + 1, max_export_batch_size=512))
    tracer = provider.get_tracer("bench")
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(spans):
        with tracer.start_as_current_span("step", attributes=ATTRS):
            pass
    provider.force_flush(timeout_millis=600_000)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    provider.shutdown()
    return elapsed, cpu


def _batches(count: int) -> list:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for _ in range(count):
        with tracer.start_as_current_span("step", attributes=ATTRS):
            pass
    spans = list(memory.get_finished_spans())
    return [spans[i : i + 512] for i in range(0, len(spans), 512)]


def bench_spans(spans: int, rounds: int) -> dict:
    ours, theirs, floor, ours_alone, theirs_alone = [], [], [], [], []
    batches = _batches(spans)
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            ours.append(_pipeline_seconds(ComplianceSpanExporter(Path(tmp) / "a"), spans))
            theirs.append(_pipeline_seconds(FileSpanExporter(Path(tmp) / "b.jsonl"), spans))
            floor.append(_pipeline_seconds(_NoopSpanExporter(), spans))
            exporter = ComplianceSpanExporter(Path(tmp) / "c")
            start = time.perf_counter()
            for batch in batches:
                exporter.export(batch)
            ours_alone.append(time.perf_counter() - start)
            exporter.shutdown()
            exporter = FileSpanExporter(Path(tmp) / "d.jsonl")
            start = time.perf_counter()
            for batch in batches:
                exporter.export(batch)
            theirs_alone.append(time.perf_counter() - start)
            exporter.shutdown()
    m = statistics.median
    wall = {name: m(t[0] for t in runs) for name, runs in (("ours", ours), ("theirs", theirs), ("floor", floor))}
    cpu = {name: m(t[1] for t in runs) for name, runs in (("ours", ours), ("theirs", theirs), ("floor", floor))}
    return {
        "spans": spans,
        "ours_per_s": spans / wall["ours"],
        "theirs_per_s": spans / wall["theirs"],
        "ratio": wall["ours"] / wall["theirs"],
        "floor_per_s": spans / wall["floor"],
        "floor_ratio": wall["floor"] / wall["theirs"],
        "ours_cpu_per_s": spans / cpu["ours"],
        "theirs_cpu_per_s": spans / cpu["theirs"],
        "floor_cpu_per_s": spans / cpu["floor"],
        "ratio_cpu": cpu["ours"] / cpu["theirs"],
        "floor_ratio_cpu": cpu["floor"] / cpu["theirs"],
        "own_cpu_us": (cpu["ours"] - cpu["floor"]) / spans * 1e6,
        "theirs_own_cpu_us": (cpu["theirs"] - cpu["floor"]) / spans * 1e6,
        "ours_alone_per_s": spans / m(ours_alone),
        "theirs_alone_per_s": spans / m(theirs_alone),
        "ratio_alone": m(ours_alone) / m(theirs_alone),
    }


def _kb_bodies(count: int) -> list[dict]:
    return [
        {"attributes": {f"k{j}": {"stringValue": f"{i:08d}-" + "v" * 70} for j in range(11)}, "gxp": {"user_id": "u"}}
        for i in range(count)
    ]


def bench_writer(records: int, rounds: int) -> dict:
    bodies = _kb_bodies(512)
    ours, plain = [], []
    line_bytes = 0
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            writer = AuditTrailWriter(Path(tmp) / "a", compress=False)
            start = time.perf_counter()
            for _ in range(records // 512):
                writer.append("log", bodies)
            ours.append(time.perf_counter() - start)
            line_bytes = writer.stats["bytes"] / max(writer.stats["records"], 1)
            writer.close()
            fd = os.open(Path(tmp) / "plain.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            start = time.perf_counter()
            for _ in range(records // 512):
                os.write(fd, b"".join(orjson.dumps(b) + b"\n" for b in bodies))
                os.fsync(fd)
            plain.append(time.perf_counter() - start)
            os.close(fd)
    n = (records // 512) * 512
    m = statistics.median
    return {"records": n, "bytes_per_record": line_bytes, "ours_per_s": n / m(ours), "plain_per_s": n / m(plain),
            "ratio": m(ours) / m(plain)}


VERIFY_CHILD = """
import resource, sys, time
from gxp_otel.audit.verifier import verify_trail
start = time.perf_counter()
report = verify_trail(sys.argv[1])
elapsed = time.perf_counter() - start
assert report.ok, report.problems[:3]
print(report.bytes, report.records, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _make_trail(directory: Path, megabytes: int) -> None:
    writer = AuditTrailWriter(directory, compress=False, rotate_bytes=50_000_000)
    bodies = _kb_bodies(512)
    while writer.stats["bytes"] < megabytes * 1_000_000:
        writer.append("log", bodies)
    writer.close()


def bench_verify(sizes_mb: list[int]) -> list[dict]:
    out = []
    for megabytes in sizes_mb:
        with tempfile.TemporaryDirectory() as tmp:
            _make_trail(Path(tmp), megabytes)
            done = subprocess.run([sys.executable, "-c", VERIFY_CHILD, tmp], capture_output=True, text=True, check=True)
            size, records, elapsed, rss_kb = done.stdout.split()
            out.append({"mb": int(size) / 1e6, "records": int(records), "mb_per_s": int(size) / 1e6 / float(elapsed),
                        "peak_rss_mb": int(rss_kb) / 1024})
    return out


def span_rows(spans: dict) -> list[str]:
    """The exporter rows of the audit table (shared by the full run and --spans-only)."""
    return [
        f"| {spans['spans']} spans, 10 attributes, BatchSpanProcessor: ComplianceSpanExporter (chained, fsync per "
        f"batch) vs otlp-json-file FileSpanExporter (no chain, no fsync) | {spans['ours_per_s']:,.0f} spans/s | "
        f"{spans['theirs_per_s']:,.0f} spans/s | {spans['ratio']:.2f}x | <= 0.5x |",
        f"| same, process CPU time (all threads) | {spans['ours_cpu_per_s']:,.0f} spans/CPU-s | "
        f"{spans['theirs_cpu_per_s']:,.0f} spans/CPU-s | {spans['ratio_cpu']:.2f}x | <= 0.5x |",
        f"| same, SDK floor: a no-op exporter vs FileSpanExporter (wall / CPU) | {spans['floor_per_s']:,.0f} / "
        f"{spans['floor_cpu_per_s']:,.0f} spans/s | | {spans['floor_ratio']:.2f}x / {spans['floor_ratio_cpu']:.2f}x | "
        "(the least any exporter can take) |",
        f"| same, exporters alone on pre-built batches of 512 | {spans['ours_alone_per_s']:,.0f} spans/s | "
        f"{spans['theirs_alone_per_s']:,.0f} spans/s | {spans['ratio_alone']:.2f}x | <= 0.5x |",
        f"| same, what the exporter itself adds to the SDK floor, CPU (ours - floor) / (theirs - floor) | "
        f"{spans['own_cpu_us']:.1f} us/span | {spans['theirs_own_cpu_us']:.1f} us/span | "
        f"{spans['own_cpu_us'] / spans['theirs_own_cpu_us']:.2f}x | |",
    ]


def render(spans: dict, writer: dict, verify: list[dict] | None, command: str, load: str) -> str:
    """The audit block; ``verify`` None keeps the verify rows of the current docs/benchmarks.md."""
    measured = "the exporter and writer rows" if verify is None else "every row"
    lines = [
        "<!-- audit:begin -->",
        "## Audit trail core",
        "",
        f"Measured with `{command}` on this machine (2 cores), A/B interleaved, medians of the rounds; {measured} "
        f"at load average {load} (1, 5, 15 min, at the start).",
        "",
        "| benchmark | gxp-otel | baseline | ratio (our time / theirs) | goal |",
        "|---|---|---|---|---|",
        *span_rows(spans),
        f"| AuditTrailWriter, {writer['bytes_per_record']:.0f}-byte records, batches of 512, fsync=batch, vs plain "
        f"JSONL (orjson, write, fsync per batch) | {writer['ours_per_s']:,.0f} records/s | "
        f"{writer['plain_per_s']:,.0f} records/s | {writer['ratio']:.2f}x | >= 100k records/s |",
        "",
    ]
    if verify is None:
        lines += _current_verify_rows()
    else:
        lines += ["| verify: trail size | records | throughput | peak RSS of the verifying process |", "|---|---|---|---|"]
        for row in verify:
            lines.append(f"| {row['mb']:,.0f} MB | {row['records']:,} | {row['mb_per_s']:,.1f} MB/s | "
                         f"{row['peak_rss_mb']:,.0f} MB |")
    lines += ["", "Goals: verify >= 150 MB/s; peak memory flat (< 100 MB) as the trail grows.", "<!-- audit:end -->"]
    return "\n".join(lines) + "\n"


def _current_verify_rows() -> list[str]:
    """The verify table of the audit block in docs/benchmarks.md, as it is (``--skip-verify``)."""
    path = ROOT / "docs" / "benchmarks.md"
    block = path.read_text().split("<!-- audit:begin -->", 1)[-1].split("<!-- audit:end -->", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| verify") or
            (line.startswith("|") and " MB |" in line and "MB/s" in line) or line == "|---|---|---|---|"]
    return rows or ["(verify not measured in this run: `make bench` measures it)"]


def write_section(text: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if "<!-- audit:begin -->" in current:
        head, rest = current.split("<!-- audit:begin -->", 1)
        current = head + text + rest.split("<!-- audit:end -->\n", 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--write", action="store_true", help="replace the audit section of docs/benchmarks.md")
    parser.add_argument("--spans-only", action="store_true",
                        help="only the exporter pipeline (10,240 spans, 5 rounds); print its rows, write nothing")
    parser.add_argument("--skip-verify", action="store_true",
                        help="the exporter and writer rows only; --write keeps the verify rows already written")
    args = parser.parse_args()
    if args.spans_only:
        print("\n".join(span_rows(bench_spans(10_240, 5))))
        return
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.quick:
        spans, writer = bench_spans(2048, 2), bench_writer(20_480, 2)
        verify = None if args.skip_verify else bench_verify([20, 60])
    else:
        spans, writer = bench_spans(10_240, 5), bench_writer(102_400, 5)
        verify = None if args.skip_verify else bench_verify([100, 1000])
    flags = " ".join(flag for flag, on in (("--quick", args.quick), ("--skip-verify", args.skip_verify)) if on)
    command = f".venv/bin/python bench/bench_audit.py {flags}" if flags else "make bench"
    text = render(spans, writer, verify, command, load)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
