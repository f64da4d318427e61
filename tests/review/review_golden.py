"""The review's output pinned byte for byte (issue 16): a SHA-256 per trail and option set of what the review pass
gathers (the page's data but the verifier's integrity and ALCOA+ sections and the volatile fields) and of the page
rendered from it with the verifier's sections fixed.

The digests in ``review_golden.json`` were written by the review code before its scan was made faster (commit
2534daf); a change that alters what the page shows must regenerate them on purpose:
``.venv/bin/python tests/review/review_golden.py`` (and say why in the commit). To see what changed, run the same
command on both commits with ``--dump DIR`` and diff the JSON files.

Trails: every vector trail (tests/vectors/negative, tests/vectors/part11), the example workflow's trail as it wrote
it (tests/review/data/example-trail) and a multi-file trail made from that one by a deterministic writer (many
runs, rotation, a chain file per 64 KiB), each with the default caps and with small ones (runs evicted, records
and timelines cut, histogram coarsened).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import orjson

from gxp_otel.review import ReviewOptions, build_review, render_review
from gxp_otel.review import build as review_build

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "bench"))
from trail_replicas import TrailReplicas  # noqa: E402  (bench/: the same replicas the review benchmark writes)

ROOT = HERE.parents[1]
GOLDEN = HERE / "review_golden.json"
EXAMPLE = HERE / "data" / "example-trail"
VECTOR_TRAILS = sorted([*(ROOT / "tests" / "vectors" / "negative").glob("*/trail"),
                        *(ROOT / "tests" / "vectors" / "part11").glob("*/trail")])
OPTIONS = {
    "default": ReviewOptions(use_index=False),
    "small-caps": ReviewOptions(use_index=False, max_runs=2, max_records=7),
}
SMALL_HISTOGRAM = 40  # TimeHistogram.LIMIT for "small-caps": the histogram coarsens on small trails too
VOLATILE = ("generated", "tool", "trail", "integrity", "alcoa")
FIXED_INTEGRITY = {"ok": True, "verdict": "VERIFIED", "anchored": True, "caveat": "", "path": "-", "records": 0,
                   "chains": 0, "files": 0, "bytes": 0, "streams": [], "problems_total": 0, "problems": []}


def replicated_trail(target: Path, count: int = 6) -> Path:
    """The example trail's span and log bodies written ``count`` times, with fresh run and trace ids, by a
    writer whose identity, clock and rotation are fixed: the same bytes on every run."""
    from gxp_otel.audit.writer import AuditTrailWriter

    template = []
    for path in sorted(EXAMPLE.glob("audit-*-*.jsonl")):
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            if record["kind"] in ("span", "log"):
                template.append((record["kind"], record["body"]))
    replicas = TrailReplicas(template)
    tick = [1_795_000_000_000_000_000]

    def clock() -> int:
        tick[0] += 2_000_000
        return tick[0]

    writer = AuditTrailWriter(target, stream_id="golden.0", fsync="interval", fsync_interval=3600.0,
                              rotate_bytes=64 * 1024, rotate_daily=False, compress=False, checkpoint_interval=10**9,
                              checkpoint_records=10**9, clock=clock, host="golden", pid=1, writer_name="golden",
                              config_fingerprint="0" * 64)
    for replica in range(1, count + 1):
        batch = replicas.batch(replica)
        for kind in ("span", "log"):
            writer.append(kind, batch[kind])
    writer.close()
    return target


def review_bytes(trail: Path, option: str) -> tuple[bytes, bytes]:
    """(the gathered data as JSON, the page) of ``trail`` under ``OPTIONS[option]``, without the volatile fields."""
    limit = review_build.TimeHistogram.LIMIT
    if option == "small-caps":
        review_build.TimeHistogram.LIMIT = SMALL_HISTOGRAM
    try:
        data = build_review(trail, OPTIONS[option])
    finally:
        review_build.TimeHistogram.LIMIT = limit
    gathered = {k: v for k, v in data.items() if k not in VOLATILE}
    page = render_review({**data, "generated": "-", "tool": "-", "trail": "-", "integrity": FIXED_INTEGRITY,
                          "alcoa": None})
    return orjson.dumps(gathered), page.encode()


def digests(trail: Path, option: str) -> dict[str, str]:
    data, page = review_bytes(trail, option)
    return {"data": hashlib.sha256(data).hexdigest(), "page": hashlib.sha256(page).hexdigest()}


def cases(scratch: Path) -> dict[str, Path]:
    """Every trail the golden digests cover, by a stable name."""
    named = {str(path.parent.relative_to(ROOT / "tests" / "vectors")): path for path in VECTOR_TRAILS}
    named["example-trail"] = EXAMPLE
    named["example-replicated"] = replicated_trail(scratch / "replicated")
    return named


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, help="also write each case's data JSON into this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        golden = {}
        for name, trail in cases(Path(tmp)).items():
            for option in OPTIONS:
                golden[f"{name} {option}"] = digests(trail, option)
                if args.dump:
                    args.dump.mkdir(parents=True, exist_ok=True)
                    data, page = review_bytes(trail, option)
                    stem = f"{name} {option}".replace("/", "_").replace(" ", "_")
                    (args.dump / f"{stem}.json").write_bytes(data)
                    (args.dump / f"{stem}.html").write_bytes(page)
    GOLDEN.write_bytes(orjson.dumps(golden, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    print(f"{len(golden)} digests written to {GOLDEN}")


if __name__ == "__main__":
    main()
