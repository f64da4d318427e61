"""Python verify with many streams (issue 14.5: per-stream work must stay linear).

Run: .venv/bin/python bench/bench_many_streams.py [STREAMS ...]   (default 2048 16384)

Writes one real stream (genesis, two logs, a close checkpoint, then a rotation whose next file is absent, so every
stream has one problem, the case that was quadratic), clones it into STREAMS streams (each rechained under its own
stream id, with its checkpoint file) and times ``verify_trail`` on each size. Prints one Markdown row per size; the
microseconds per stream must stay about constant as the number of streams grows.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import orjson

from gxp_otel.audit.canonical import canonical_json, hash_record_bytes
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter


def _seed_records(work: Path) -> list[dict]:
    seed = work / "seed"
    writer = AuditTrailWriter(seed, stream_id="seed", compress=False)
    writer.append("log", [{"i": {"intValue": "1"}}])
    writer.append("log", [{"i": {"intValue": "2"}}])
    writer.close()
    records = [orjson.loads(line) for line in (seed / "audit-seed-000001.jsonl").read_bytes().splitlines()]
    records.append({"kind": "rotation", "stream": "seed", "seq": str(len(records)), "prev": "",
                    "time": records[-1]["time"], "body": {"next_file": "audit-seed-000002.jsonl"}, "hash": ""})
    return records


def _write_streams(directory: Path, records: list[dict], count: int) -> None:
    directory.mkdir()
    for number in range(count):
        stream = f"st{number:05d}"
        prev, genesis, chain, held = "0" * 64, "", [], []
        for original in records:
            record = orjson.loads(orjson.dumps(original))
            record["stream"], record["prev"] = stream, prev
            if record["kind"] == "checkpoint":
                statement = record["body"]["statement"]
                statement.update(stream=stream, head=prev, file=f"audit-{stream}-000001.jsonl")
                if "genesis" in statement:
                    statement["genesis"] = genesis
                held.append(canonical_json(record["body"]) + b"\n")
            if record["kind"] == "rotation":
                record["body"]["next_file"] = f"audit-{stream}-000002.jsonl"
            record.pop("hash")
            prev = record["hash"] = hash_record_bytes(canonical_json(record))
            genesis = genesis or prev
            chain.append(canonical_json(record) + b"\n")
        (directory / f"audit-{stream}-000001.jsonl").write_bytes(b"".join(chain))
        (directory / f"audit-{stream}.checkpoints.jsonl").write_bytes(b"".join(held))


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [2048, 16384]
    print("| streams | problems | verify | µs per stream |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="gxp-streams-") as work:
        records = _seed_records(Path(work))
        for count in sizes:
            trail = Path(work) / f"trail-{count}"
            _write_streams(trail, records, count)
            started = time.perf_counter()
            report = verify_trail(trail)
            seconds = time.perf_counter() - started
            print(f"| {count:,} | {len(report.problems):,} | {seconds:.1f} s | {seconds / count * 1e6:,.0f} |")


if __name__ == "__main__":
    main()
