"""Review benchmarks (issue 6). Run: .venv/bin/python bench/bench_review.py [--sizes 100000 1000000] [--markdown F]

Trails are made from a real one: the example workflow (examples/pharma_test_generation.py, 3 runs, offline) is run
once, and its span and log bodies are replayed with fresh run and trace ids through AuditTrailWriter until the trail
holds N records (cached under data/bench-review-N, reused while the generator is unchanged).

Measured, each in a fresh process (peak RSS is that process's plus its children's):
1. ``gxp-otel report`` (verification in a second process + the review pass): wall time, records/s, peak RSS.
2. ``gxp-otel query --trace-id`` without the index (full scan, MB/s) and with a fresh index (seconds); index build.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from trail_replicas import TrailReplicas

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
GENERATOR_VERSION = "1"


def _template() -> list[tuple[str, dict]]:
    """(kind, body) of the span and log records of 3 example runs, in trail order."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(ROOT / "examples" / "pharma_test_generation.py"), "--audit-dir", tmp,
                        "--no-otlp", "--runs", "3"], check=True, capture_output=True)
        records = []
        for path in sorted(Path(tmp).glob("audit-*-*.jsonl")):
            for line in path.open("rb"):
                record = orjson.loads(line)
                if record["kind"] in ("span", "log"):
                    records.append((record["kind"], record["body"]))
    return records


def make_trail(count: int) -> Path:
    """A trail of about ``count`` span/log records (plus control records), generated once and cached."""
    from gxp_otel.audit.writer import AuditTrailWriter

    target = DATA / f"bench-review-{count}"
    stamp = target / ".complete"
    if stamp.exists() and stamp.read_text() == GENERATOR_VERSION:
        return target
    if target.exists():
        for path in target.iterdir():
            path.unlink()
    replicas = TrailReplicas(_template())
    tick = [1_795_000_000_000_000_000]

    def clock() -> int:
        tick[0] += 2_000_000  # 2 ms per record: 1M records span about 33 minutes
        return tick[0]

    writer = AuditTrailWriter(target, stream_id="bench.0", fsync="interval", fsync_interval=5.0, compress=False,
                              rotate_daily=False, clock=clock, host="bench", pid=1)
    written, replica = 0, 0
    while written < count:
        replica += 1
        batch = replicas.batch(replica)
        for kind in ("span", "log"):
            writer.append(kind, batch[kind])
        written += len(replicas)
    writer.close()
    stamp.write_text(GENERATOR_VERSION)
    return target


def _trail_bytes(trail: Path) -> int:
    return sum(p.stat().st_size for p in trail.glob("audit-*-*.jsonl*"))


def _measure(argv: list[str]) -> dict:
    """Run ``gxp-otel argv`` in a fresh process; wall seconds and peak RSS (MiB) of it and its children."""
    code = (
        "import resource, sys, time\n"
        "from gxp_otel.cli import app\n"
        "t = time.perf_counter()\n"
        "try:\n    app(sys.argv[1:], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "e = time.perf_counter() - t\n"
        "r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "c = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print('MEASURE', e, r, c, file=sys.stderr)\n"
    )
    done = subprocess.run(["nice", sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=3600)
    line = [x for x in done.stderr.splitlines() if x.startswith("MEASURE")]
    if not line:
        raise RuntimeError(done.stdout + done.stderr)
    _, seconds, own, children = line[-1].split()
    return {"seconds": float(seconds), "rss_mib": round(int(own) / 1024, 1), "child_rss_mib": round(int(children) / 1024, 1),
            "stdout": done.stdout}


def page_open_seconds(page_file: Path) -> float:
    """Seconds until the page's load event in headless Debian chromium (the script has drawn both tables by then)."""
    from playwright.sync_api import sync_playwright

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri(), wait_until="load")
            page.locator("#runs-table tbody tr").first.wait_for()
            return page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
        finally:
            browser.close()


def bench(count: int) -> dict:
    started = time.perf_counter()
    trail = make_trail(count)
    generated = time.perf_counter() - started
    size = _trail_bytes(trail)
    records = sum(1 for p in trail.glob("audit-*-*.jsonl") for _ in p.open("rb"))
    out = Path(tempfile.mkdtemp()) / "review.html"
    report = _measure(["report", str(trail), "-o", str(out)])
    page_mib = out.stat().st_size / 2**20
    page_open = page_open_seconds(out) if Path("/usr/bin/chromium").exists() else None  # (no browser: not timed)
    index_file = trail / "gxp-otel-index.sqlite"
    index_file.unlink(missing_ok=True)
    trace = f"{count // 340:024x}{1:08x}"  # a trace in the middle of the trail
    scan = _measure(["query", str(trail), "--trace-id", trace, "--no-index"])
    build = _measure(["index", str(trail)])
    indexed = _measure(["query", str(trail), "--trace-id", trace])
    return {
        "records": records, "bytes": size, "generated_s": round(generated, 1),
        "report_s": round(report["seconds"], 2), "report_rate": round(records / report["seconds"]),
        "report_rss_mib": report["rss_mib"], "verify_child_rss_mib": report["child_rss_mib"],
        "page_mib": round(page_mib, 2), "page_open_s": round(page_open, 2) if page_open is not None else "n/a",
        "scan_s": round(scan["seconds"], 2), "scan_mb_s": round(size / 1e6 / scan["seconds"]),
        "scan_matches": scan["stdout"].count("\n"),
        "index_build_s": round(build["seconds"], 1), "index_query_s": round(indexed["seconds"], 3),
        "index_matches": indexed["stdout"].count("\n"),
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "# Review benchmarks (`gxp-otel report`, `query`, `index`)",
        "",
        f"Measured by `bench/bench_review.py` on {os.cpu_count()} shared CPU cores, {time.strftime('%Y-%m-%d')}. Trails "
        "replay the example workflow's records (about 2.6 KB each) with fresh ids. Peak RSS: the command's process; the "
        "verifier runs in a second process (its peak in the next column).",
        "",
        "| records | trail MB | report s | records/s | peak RSS MiB | verifier RSS MiB | page MiB | page opens in s | query scan s | scan MB/s | index build s | query with index s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['records']:,} | {r['bytes'] / 1e6:,.0f} | {r['report_s']} | {r['report_rate']:,} | {r['report_rss_mib']} | "
            f"{r['verify_child_rss_mib']} | {r['page_mib']} | {r['page_open_s']} | {r['scan_s']} | {r['scan_mb_s']} | {r['index_build_s']} | "
            f"{r['index_query_s']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        result = bench(size)
        print(json.dumps(result), flush=True)
        results.append(result)
    text = markdown(results)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + kept_notes(args.markdown))


NOTES_MARKER = "<!-- end of the part bench/bench_review.py writes; notes below are kept -->"


def kept_notes(path: Path) -> str:
    """What follows the generated part of ``path`` (from :data:`NOTES_MARKER`, or from the first ``## `` heading of
    a file written before the marker existed), so a re-run replaces the table and keeps the notes."""
    old = path.read_text() if path.exists() else ""
    if NOTES_MARKER in old:
        return "\n" + NOTES_MARKER + old.split(NOTES_MARKER, 1)[1]
    at = old.find("\n## ")
    return "\n" + NOTES_MARKER + "\n" + old[at:] if at >= 0 else "\n" + NOTES_MARKER + "\n"


if __name__ == "__main__":
    main()
