"""Write the Go verifier benchmark's trail (docs/benchmarks.md, "Go verifier"): span records whose every attribute
holds escapes (\\", \\n, \\t, \\\\), typographic quotes, emoji and accented letters, so the verifier's string scan meets
a byte that is not plain ASCII every few bytes. Deterministic (seeded ids, a fixed clock), uncompressed, one stream.

    .venv/bin/python bench/make_hostile_trail.py /tmp/hostile-trail --records 100000 --attributes 36
"""

from __future__ import annotations

import argparse
import random

from gxp_otel.audit.writer import AuditTrailWriter

HOSTILE = 'He said "stop"\n\tthen \u201cquoted\u201d \U0001F600\U0001F9EA caf\u00e9 \\ path C:\\tmp\\x '


def span_body(index: int, attributes: int, rnd: random.Random) -> dict:
    return {"name": f"llm.call.{index % 7}", "trace_id": f"{rnd.getrandbits(128):032x}",
            "span_id": f"{rnd.getrandbits(64):016x}", "parent_span_id": None, "kind": "INTERNAL",
            "status": {"code": "OK"}, "start_time": "2026-12-02T08:00:00.000000000Z",
            "end_time": "2026-12-02T08:00:01.000000000Z",
            "attributes": {f"attr.{k:02d}": f"{HOSTILE} #{index}-{k}" for k in range(attributes)},
            "events": [], "links": []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--attributes", type=int, default=36)
    args = parser.parse_args()
    tick = [1_795_000_000_000_000_000]

    def clock() -> int:
        tick[0] += 2_000_000
        return tick[0]

    writer = AuditTrailWriter(args.directory, stream_id="bench.0", fsync="interval", fsync_interval=5.0,
                              compress=False, rotate_daily=False, clock=clock, host="bench", pid=1)
    rnd = random.Random(7)
    batch = []
    for index in range(args.records):
        batch.append(span_body(index, args.attributes, rnd))
        if len(batch) == 100:
            writer.append("span", batch)
            batch = []
    if batch:
        writer.append("span", batch)
    writer.close()


if __name__ == "__main__":
    main()
