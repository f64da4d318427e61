"""Replicas of a real trail's records (issue 16): the span and log bodies of a trail replayed with fresh run and
trace ids, so a benchmark or a golden test can make a large trail that looks like the example workflow's.

Pure: the same template and replica number give the same bodies. Used by bench/bench_review.py (and through it
bench/bench_verify.py) and by tests/review/review_golden.py.
"""

from __future__ import annotations

import orjson


class TrailReplicas:
    """Bodies of ``template`` (``(kind, body)`` pairs, kind ``span`` or ``log``) with each run id and trace id
    replaced by one unique to the replica number; ids are replaced as bytes of the bodies' JSON."""

    def __init__(self, template: list[tuple[str, dict]]) -> None:
        self.run_ids = sorted({b["gxp"]["run_id"] for _, b in template if b.get("gxp", {}).get("run_id")})
        self.trace_ids = sorted({b["trace_id"] for _, b in template if b.get("trace_id")})
        self.encoded = [(kind, orjson.dumps(body)) for kind, body in template]

    def __len__(self) -> int:
        return len(self.encoded)

    def batch(self, replica: int) -> dict[str, list[dict]]:
        """Replica ``replica``'s span and log bodies, in template order within each kind."""
        out: dict[str, list[dict]] = {"span": [], "log": []}
        for kind, raw in self.encoded:
            for n, old in enumerate(self.run_ids):
                raw = raw.replace(old.encode(), f"R{replica:07d}x{n}".encode())
            for n, old in enumerate(self.trace_ids):
                raw = raw.replace(old.encode(), f"{replica:024x}{n:08x}".encode())
            out[kind].append(orjson.loads(raw))
        return out
