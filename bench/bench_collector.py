"""Collector throughput on one core: OTLP/HTTP in -> gxpaudit out, against the same pipeline with the debug exporter
(basic verbosity) and against gxpaudit behind the oidc authenticator (every request carries a bearer JWT, every
record its authenticated subject), interleaved in one session so drift hits all alike.

Each round starts build/otelcol-gxp with GOMAXPROCS=1 on a bench config (bench/collector/otelcol-bench-*.yaml, no
sending queue: an acknowledged request is written and fsynced), drives it with build/otlpload (one prebuilt
protobuf request of workflow-shaped spans posted by several workers, so the client is not the bottleneck) and
stops it. Rate = acknowledged spans / measured seconds. After every gxpaudit round the trail is checked with the
Go verifier and must hold at least the acknowledged spans. The peer `fileexporter` (contrib's, same release) runs in
build/otelcol-fileexporter, built beside ours by `make build/otelcol-fileexporter`. Usage (after `make collector
build/otlpload build/otelcol-fileexporter`):

    .venv/bin/python bench/bench_collector.py --rounds 3 --seconds 10 [--markdown docs/benchmarks-collector.md]
        [--exporters debug,fileexporter,gxpaudit,gxpaudit-auth,gxpaudit-x3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OTELCOL = ROOT / "build" / "otelcol-gxp"
PEER = ROOT / "build" / "otelcol-fileexporter"  # contrib fileexporter, same release (make build/otelcol-fileexporter)
LOAD = ROOT / "build" / "otlpload"
VERIFY = ROOT / "build" / "gxpaudit-verify"
CONFIGS = {"debug": "otelcol-bench-debug.yaml", "gxpaudit": "otelcol-bench-gxpaudit.yaml",
           "gxpaudit-auth": "otelcol-bench-gxpaudit-auth.yaml", "gxpaudit-x3": "otelcol-bench-gxpaudit.yaml",
           "fileexporter": "peer/otelcol-bench-fileexporter.yaml", "gxpaudit-nogzip": "otelcol-bench-gxpaudit-nogzip.yaml",
           "gxpaudit-fsync-interval": "otelcol-bench-gxpaudit-fsync-interval.yaml",
           "gxpaudit-baseline": "otelcol-bench-gxpaudit.yaml"}
LABELS = {"debug": "debug (basic verbosity)", "gxpaudit": "gxpaudit",
          "gxpaudit-auth": "gxpaudit, authenticated (oidc bearer JWT)",
          "gxpaudit-x3": "gxpaudit, set of 3 gateways (aggregate)",
          "fileexporter": "contrib fileexporter v0.165.1 (JSON lines; no fsync, chain, signature or compression)",
          "gxpaudit-nogzip": "gxpaudit, rotated files not compressed (`compress: false`)",
          "gxpaudit-fsync-interval": "gxpaudit, `fsync: interval` (1 s; acknowledged before the disk has it, "
                                     "diagnostic only)",
          "gxpaudit-baseline": "gxpaudit, baseline build (`--baseline-binary`)"}
BINARIES = {"fileexporter": PEER}  # every other exporter runs in build/otelcol-gxp
GATEWAY_SETS = {"gxpaudit-x3": 3}  # exporters measured as a set of collectors, each GOMAXPROCS=1 with its own load
ISSUER = "https://issuer.gxp-otel.bench"
# --markdown rewrites the file up to this line and keeps what follows it (the reading of the numbers).
GENERATED_END = "<!-- end of the section bench/bench_collector.py writes; notes below are kept -->\n"


def oidc_credentials(work: Path) -> tuple[Path, str]:
    """A JWKS file with one Ed25519 key and a token it signs (the bench's identity provider is a key pair)."""
    import base64

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwks = work / "bench-jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "bench",
                                          "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}]}))
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "aud": "gxp-otel", "sub": "bench-client", "iat": now, "exp": now + 86400},
                       key, algorithm="EdDSA", headers={"kid": "bench"})
    return jwks, token


def signing_key(work: Path) -> tuple[Path, str]:
    """An Ed25519 writer key (PKCS #8 PEM) for gxpaudit's checkpoints, and its public key in hex (the verifier's
    trust anchor): the benchmark signs, as the goal says."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path = work / "bench-writer.pem"
    if not path.exists():
        path.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        path.chmod(0o600)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return path, key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"collector exited with {process.returncode}")
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/v1/traces", data=b"",
                                                          headers={"Content-Type": "application/x-protobuf"}), timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("collector did not listen in time")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads) and of its children that ended (gxpaudit's
    deflate processes, one per rotated file: their CPU is the collector's cost too, on whatever core it ran)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def one_round(exporter: str, work: Path, seconds: float, spans: int, workers: int) -> dict:
    """One measured round: the exporter's collector(s) started, loaded for `seconds`, stopped and verified."""
    count = GATEWAY_SETS.get(exporter, 1)
    config = ROOT / "bench" / "collector" / CONFIGS[exporter]
    auth: list[str] = []
    extra: dict[str, str] = {}
    if exporter == "gxpaudit-auth":
        jwks, token = oidc_credentials(work)
        extra = {"BENCH_OIDC_ISSUER": ISSUER, "BENCH_OIDC_KEYS_FILE": str(jwks)}
        auth = ["-authorization", f"Bearer {token}"]
    trusted: list[str] = []
    if exporter.startswith("gxpaudit"):
        key_file, public_hex = signing_key(work)
        extra["BENCH_SIGNING_KEY"] = str(key_file)
        trusted = ["--trusted-key", public_hex]
    log = open(work / f"otelcol-{exporter}.log", "ab")
    collectors = []
    try:
        for k in range(count):  # a set of gateways: each its own process, core budget, port and trail
            port, audit = free_port(), work / f"audit-{exporter}-{k}-{time.monotonic_ns()}"
            env = {**os.environ, "GOMAXPROCS": "1", "BENCH_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{port}",
                   "BENCH_AUDIT_DIR": str(audit), **extra}
            if exporter == "fileexporter":
                audit.mkdir()
            binary = BINARIES.get(exporter, OTELCOL)
            process = subprocess.Popen([str(binary), "--config", str(config)], env=env,
                                       stdout=subprocess.DEVNULL if exporter == "debug" else log, stderr=log)
            collectors.append((process, port, audit))
        for process, port, _ in collectors:
            wait_listening(port, process)
        loads = [subprocess.Popen([str(LOAD), "-endpoint", f"http://127.0.0.1:{port}/v1/traces", "-spans", str(spans),
                                   "-workers", str(workers), "-duration", f"{seconds}s", "-warmup", "2s", *auth],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _, port, _ in collectors]
        cpu = {}
        for line in loads[0].stderr:  # the loads start together; the first one's markers bound the window
            cpu[line.strip()] = sum(cpu_seconds(p.pid) for p, _, _ in collectors)
        outputs = [json.loads(load.stdout.read()) for load in loads]
        for load in loads[1:]:
            load.stderr.read()
        assert all(load.wait() == 0 for load in loads)
        result = {"spans": sum(o["spans"] for o in outputs), "requests": sum(o["requests"] for o in outputs),
                  "errors": sum(o["errors"] for o in outputs), "seconds": max(o["seconds"] for o in outputs)}
        result["spans_per_second"] = sum(o["spans_per_second"] for o in outputs)
        assert result["errors"] == 0, f"{exporter}: {result['errors']} requests were not acknowledged"
        result["collector_cpu_seconds"] = cpu["measured"] - cpu["measuring"]
        result["spans_per_cpu_second"] = result["spans"] / result["collector_cpu_seconds"]
    finally:
        for process, _, _ in collectors:
            process.send_signal(signal.SIGTERM)
        for process, _, _ in collectors:
            process.wait(60)
        log.close()
    result["exporter"] = exporter
    if exporter.startswith("gxpaudit"):
        result["trail_records"] = result["trail_bytes"] = 0
        for (_, _, audit), output in zip(collectors, outputs):
            verified = subprocess.run([str(VERIFY), "--json", *trusted, str(audit)], capture_output=True, text=True)
            report = json.loads(verified.stdout)
            assert verified.returncode == 0 and report["ok"], report["problems"]
            assert report.get("verdict", "VERIFIED") == "VERIFIED", report.get("verdict")
            assert report["records"] >= output["spans"], "a trail holds fewer records than spans acknowledged"
            result["trail_records"] += report["records"]
            result["trail_bytes"] += sum(p.stat().st_size for p in audit.iterdir())
    return result


def markdown(results: list[dict], args: argparse.Namespace) -> str:
    exporters = args.exporters
    wall = {e: [r["spans_per_second"] for r in results if r["exporter"] == e] for e in exporters}
    cpu = {e: [r["spans_per_cpu_second"] for r in results if r["exporter"] == e] for e in exporters}
    med_wall = {e: statistics.median(v) for e, v in wall.items()}
    med_cpu = {e: statistics.median(v) for e, v in cpu.items()}
    lines = [
        "## Collector throughput (otelcol-gxp, one core)",
        "",
        f"OTLP/HTTP protobuf in, one exporter out, collector at `GOMAXPROCS=1`, {args.rounds} interleaved rounds of "
        f"{args.seconds:g} s (after 2 s warm-up), {args.spans} spans per request, {args.workers} client workers "
        "(`build/otlpload`: one prebuilt request, so the client costs next to nothing). No sending queue: a request "
        "is acknowledged only after gxpaudit wrote and fsynced it (`fsync: batch`, group commit), every record is "
        "hash-chained and checkpoints are Ed25519-signed (each trail verified VERIFIED against the bench's writer key); "
        "rotated files are gzipped by a child process at nice 19. *Acknowledged spans/s* is what clients saw; *spans "
        "per CPU-second* divides the spans by the CPU time of the collector and of its ended child processes (the "
        "deflate processes) in the same window, i.e. the rate of one fully used core, which is robust against other "
        "load on the machine (the 2 cores are shared).",
        "",
        "| exporter | acknowledged spans/s (rounds) | median | spans per CPU-second (rounds) | median |",
        "|---|---|---|---|---|",
    ]
    for e in exporters:
        lines.append(f"| {LABELS[e]} | {', '.join(f'{r:,.0f}' for r in wall[e])} | **{med_wall[e]:,.0f}** | "
                     f"{', '.join(f'{r:,.0f}' for r in cpu[e])} | **{med_cpu[e]:,.0f}** |")
    lines.append("")
    if "debug" in exporters and "gxpaudit" in exporters:
        lines.append(
            f"gxpaudit / debug: **{med_wall['gxpaudit'] / med_wall['debug']:.2f}** acknowledged, "
            f"**{med_cpu['gxpaudit'] / med_cpu['debug']:.2f}** per CPU-second. Goal >= 100,000 spans/s per core: "
            f"**{'met' if med_cpu['gxpaudit'] >= 100_000 else 'not met'}** per CPU-second, "
            f"**{'met' if med_wall['gxpaudit'] >= 100_000 else 'not met'}** acknowledged.")
    if "fileexporter" in exporters and "gxpaudit" in exporters:
        ratio = med_wall["gxpaudit"] / med_wall["fileexporter"]
        lines.append(
            f"gxpaudit / contrib fileexporter: **{ratio:.2f}** acknowledged, "
            f"**{med_cpu['gxpaudit'] / med_cpu['fileexporter']:.2f}** per CPU-second (goal >= 1.0 acknowledged: "
            f"**{'met' if ratio >= 1.0 else 'not met'}**).")
    if "fileexporter" in exporters and "gxpaudit-baseline" in exporters:
        lines.append(
            f"gxpaudit baseline build / contrib fileexporter: "
            f"**{med_wall['gxpaudit-baseline'] / med_wall['fileexporter']:.2f}** acknowledged, "
            f"**{med_cpu['gxpaudit-baseline'] / med_cpu['fileexporter']:.2f}** per CPU-second.")
    if "fileexporter" in exporters and "gxpaudit-nogzip" in exporters:
        lines.append(
            f"gxpaudit without compression / contrib fileexporter: "
            f"**{med_wall['gxpaudit-nogzip'] / med_wall['fileexporter']:.2f}** acknowledged, "
            f"**{med_cpu['gxpaudit-nogzip'] / med_cpu['fileexporter']:.2f}** per CPU-second (against the gxpaudit row: "
            "what compressing rotated files, in child processes at nice 19, costs the acknowledged rate).")
    if "fileexporter" in exporters and "gxpaudit-fsync-interval" in exporters:
        lines.append(
            f"gxpaudit with `fsync: interval` / contrib fileexporter: "
            f"**{med_wall['gxpaudit-fsync-interval'] / med_wall['fileexporter']:.2f}** acknowledged, "
            f"**{med_cpu['gxpaudit-fsync-interval'] / med_cpu['fileexporter']:.2f}** per CPU-second (neither waits "
            "for the disk before acknowledging: what the chain, hashes and signatures cost; against the gxpaudit row, "
            "what waiting for the fsync costs).")
    if "gxpaudit" in exporters and "gxpaudit-auth" in exporters:
        ratio = med_wall["gxpaudit-auth"] / med_wall["gxpaudit"]
        lines.append(
            f"Authenticated / unauthenticated: **{ratio:.2f}** acknowledged, "
            f"**{med_cpu['gxpaudit-auth'] / med_cpu['gxpaudit']:.2f}** per CPU-second (goal >= 0.9: "
            f"**{'met' if ratio >= 0.9 else 'not met'}**).")
    if "gxpaudit" in exporters and "gxpaudit-x3" in exporters:
        lines.append(
            f"Set of 3 gateways / one gateway: **{med_wall['gxpaudit-x3'] / med_wall['gxpaudit']:.2f}** aggregate "
            f"acknowledged spans/s (each gateway `GOMAXPROCS=1` with its own load generator, on {os.cpu_count()} "
            "cores: the set cannot scale past the cores the machine has).")
    lines += [
        "Every gxpaudit round's trail verified with `build/gxpaudit-verify` and held every acknowledged span.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work, "
        f"{platform.system()} {platform.release()}. {args.session} Command:",
        "",
        "```",
        f"make collector build/otlpload build/otelcol-fileexporter && .venv/bin/python bench/bench_collector.py --rounds {args.rounds} "
        f"--seconds {args.seconds:g} --spans {args.spans} --workers {args.workers} --exporters {','.join(exporters)}"
        + (f" --baseline-binary {args.baseline_binary}" if args.baseline_binary else ""),
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--spans", type=int, default=1000, help="spans per request")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--markdown", type=Path, help="write the results section to this file")
    parser.add_argument("--exporters", default=",".join(e for e in CONFIGS if e != "gxpaudit-baseline"),
                        help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--baseline-binary", type=Path,
                        help="an otelcol-gxp built from another commit, measured as gxpaudit-baseline (A/B of a change)")
    args = parser.parse_args()
    if args.baseline_binary:
        BINARIES["gxpaudit-baseline"] = args.baseline_binary
    args.exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    unknown = [e for e in args.exporters if e not in CONFIGS or (e == "gxpaudit-baseline" and not args.baseline_binary)]
    if unknown or not args.exporters:
        print(f"--exporters: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(CONFIGS)}",
              file=sys.stderr)
        return 2
    for binary in (OTELCOL, LOAD, VERIFY, *(BINARIES[e] for e in args.exporters if e in BINARIES)):
        if not binary.exists():
            print(f"{binary} missing: run `make collector build/otlpload build/otelcol-fileexporter`", file=sys.stderr)
            return 2
    results = []
    load_start, started = os.getloadavg()[0], time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="gxp-bench-collector-") as tmp:
        for round_number in range(args.rounds):
            shift = round_number % len(args.exporters)
            order = args.exporters[shift:] + args.exporters[:shift]  # rotate, so no exporter always runs first
            for exporter in order:
                result = one_round(exporter, Path(tmp), args.seconds, args.spans, args.workers)
                print(json.dumps(result), flush=True)
                results.append(result)
    args.session = (f"Run of {started}-{time.strftime('%H:%M', time.gmtime())} UTC, load average (1 min) "
                    f"{load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end.")
    text = markdown(results, args)
    print(text)
    if args.markdown:  # the measured section is replaced; the notes after the marker are kept
        kept = ""
        if args.markdown.exists() and GENERATED_END in args.markdown.read_text():
            kept = args.markdown.read_text().split(GENERATED_END, 1)[1]
        args.markdown.write_text(text + GENERATED_END + kept)
    return 0


if __name__ == "__main__":
    sys.exit(main())
