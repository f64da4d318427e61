"""The otelcol-gxp collector as a real process for tests: started from the repository's own config on free
loopback ports with temporary directories, waited for through its health check, and stopped (SIGTERM, or SIGKILL
for crash tests) by the test that started it.

The binaries come from `make collector` (a prerequisite of `make test`). Outside CI a missing build skips these
tests with the command to run; in CI it fails them.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gxp_otel.phoenix import free_port
from ingest_auth import OidcIssuer, Pki

ROOT = Path(__file__).resolve().parents[2]
OTELCOL = ROOT / "build" / "otelcol-gxp"
GO_VERIFY = ROOT / "build" / "gxpaudit-verify"
CONFIG = ROOT / "collector-config" / "otelcol-gxp.yaml"


def require_build() -> None:
    missing = [p for p in (OTELCOL, GO_VERIFY) if not p.exists()]
    if missing:
        message = f"{', '.join(str(p) for p in missing)} missing: run `make collector`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Collector:
    """One otelcol-gxp process; `start()` returns once its health check answers.

    Ingestion is authenticated as in the shipped configs: `issuer` (one per work directory unless given) mints the
    bearer tokens `post` sends for `subject`; `pki`, when set (the gateway config), serves TLS and `post` presents a
    client certificate for `client_cert` (None: none).
    """

    work: Path
    config: Path = CONFIG
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    issuer: OidcIssuer | None = None
    pki: Pki | None = None
    subject: str = "gxp-test-client"
    client_cert: str | None = "gxp-test-agent"

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        if self.issuer is None:
            self.issuer = OidcIssuer(self.work / "credentials")
        self.audit_dir = self.work / "audit"
        self.state_dir = self.work / "state"
        self.http_port, self.grpc_port, self.health_port = free_port(), free_port(), free_port()
        self.metrics_port = free_port()
        self.log_path = self.work / "otelcol.log"
        self._tls_context: ssl.SSLContext | None = None

    @property
    def http_url(self) -> str:
        return f"{'https' if self.pki else 'http'}://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 30.0) -> "Collector":
        env = {
            **os.environ,
            "GXP_AUDIT_DIR": str(self.audit_dir),
            "GXP_COLLECTOR_STATE_DIR": str(self.state_dir),
            "GXP_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.http_port}",
            "GXP_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.grpc_port}",
            "GXP_HEALTH_ENDPOINT": f"127.0.0.1:{self.health_port}",
            "GXP_METRICS_PORT": str(self.metrics_port),
            "GXP_PHOENIX_ENDPOINT": f"http://127.0.0.1:{free_port()}",  # no Phoenix here: that pipeline only retries
            **self.issuer.env(),
            **(self.pki.env() if self.pki else {}),
            **self.env,
        }
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([str(OTELCOL), "--config", str(self.config)], env=env, stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"otelcol-gxp exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"otelcol-gxp not healthy within {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the collector drains its queues and the audit exporter writes its close checkpoint."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed or closed."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def token(self, subject: str | None = None) -> str:
        return self.issuer.token(subject or self.subject)

    def post(self, signal_path: str, payload: dict, timeout: float = 10.0, token: str | None = "",
             headers: dict[str, str] | None = None) -> int:
        """POST one OTLP/JSON request with a bearer token for `subject` (or `token`; None sends none); returns
        the HTTP status (raises on connection errors)."""
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        token = self.token() if token == "" else token
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"{self.http_url}/v1/{signal_path}", data=json.dumps(payload).encode(),
                                         headers=all_headers, method="POST")
        context: ssl.SSLContext | None = None
        if self.pki is not None:
            if self._tls_context is None:
                self._tls_context = self.pki.client_context(self.client_cert)
            context = self._tls_context
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


def audit_records(trail: Path) -> list[dict]:
    """Every complete record line of the plain chain files in trail, in file order."""
    records = []
    for path in sorted(trail.glob("audit-*-*.jsonl")):
        for line in path.read_bytes().split(b"\n")[:-1]:  # a collector may be mid-write: skip a partial last line
            records.append(json.loads(line))
    return records


EXIT_CODES = {"VERIFIED": 0, "VERIFIED-SELF-KEYED": 0, "NOT VERIFIED": 1, "UNSEALED-TAIL": 3, "NO RECORDS": 4}
"""docs/audit-format.md §13: verdict -> exit code (2 is a usage error, never a verdict)."""


def checked_report(done: subprocess.CompletedProcess, verdict: str | None) -> tuple[int, dict]:
    """A verifier's (exit status, JSON report): a usage error or a crash fails, the exit status must be the one §13
    gives the report's verdict, and the verdict must be `verdict` when given."""
    assert done.returncode in set(EXIT_CODES.values()), f"exit {done.returncode}: {done.stderr}"
    report = json.loads(done.stdout)
    assert done.returncode == EXIT_CODES[report["verdict"]], (done.returncode, report["verdict"])
    if verdict is not None:
        assert report["verdict"] == verdict, report["problems"]
    return done.returncode, report


def go_verify(trail: Path, *args: str, verdict: str | None = None) -> tuple[int, dict]:
    """Run the Go verifier with --json; returns (exit status, report), checked by checked_report."""
    done = subprocess.run([str(GO_VERIFY), "--json", *args, str(trail)], capture_output=True, text=True, timeout=60)
    return checked_report(done, verdict)
