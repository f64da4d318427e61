"""Checkpoints leave the host as they are made (issue 15.5): the collector ships each signed checkpoint line to a
`gxp-otel witness` process, and a rollback of the gateway's whole directory — invisible to a verifier that only
sees the directory — is detected from the witness's held copy alone, by both verifiers."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from gxp_otel.audit.signing import generate_key_pem
from gxp_otel.phoenix import free_port

from otelcol_process import ROOT, Collector, checked_report, go_verify, require_build

pytestmark = pytest.mark.collector
GXP_OTEL = ROOT / ".venv" / "bin" / "gxp-otel"


def spans(first: int, n: int) -> dict:
    now = time.time_ns()
    return {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": f"{first + i + 1:016x}", "name": f"step {first + i}",
         "kind": 1, "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1),
         "attributes": [{"key": "enduser.id", "value": {"stringValue": "qa.reviewer"}}]} for i in range(n)]}]}]}


class Witness:
    """`gxp-otel witness` as its own process on a free loopback port."""

    def __init__(self, directory: Path, trusted_key: str) -> None:
        self.directory, self.port = directory, free_port()
        self.log = directory.parent / "witness.log"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(GXP_OTEL), "witness", str(directory), "--port", str(self.port), "--trusted-key", trusted_key],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"witness did not start:\n{self.log.read_text()}") from None
                time.sleep(0.1)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/checkpoints"

    def held(self, stream: str) -> Path:
        return self.directory / "held" / f"audit-{stream}.checkpoints.jsonl"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


def python_verify(trail: Path, *args: str, verdict: str | None = None) -> tuple[int, dict]:
    done = subprocess.run([str(GXP_OTEL), "verify", "--json", *args, str(trail)], capture_output=True, text=True,
                          timeout=120)
    return checked_report(done, verdict)


def run_session(collector: Collector, first: int, n: int) -> None:
    collector.start()
    try:
        assert collector.post("traces", spans(first, n)) == 200
        assert collector.stop() == 0  # drains the queue, writes and ships the close checkpoint
    finally:
        collector.kill()


def test_a_rolled_back_gateway_directory_is_detected_from_the_witness_copy_alone(tmp_path: Path) -> None:
    require_build()
    pem, signer = generate_key_pem()
    key_file = tmp_path / "gateway-key.pem"
    key_file.write_bytes(pem)
    key_file.chmod(0o600)
    witness = Witness(tmp_path / "witness", signer.public_key_hex)
    try:
        collector = Collector(tmp_path / "gateway", env={
            "GXP_AUDIT_STREAM": "gw.0", "GXP_AUDIT_SIGNING_KEY": str(key_file), "GXP_WITNESS_ENDPOINT": witness.endpoint})
        run_session(collector, 0, 3)
        snapshot = tmp_path / "snapshot"
        shutil.copytree(collector.audit_dir, snapshot)  # what an editor keeps, to put back later
        run_session(collector, 3, 5)  # these five spans, their checkpoints and the witness's copy follow

        own = (collector.audit_dir / "audit-gw.0.checkpoints.jsonl").read_bytes()
        assert witness.held("gw.0").read_bytes() == own, "the witness holds every checkpoint line, as written"

        shutil.rmtree(collector.audit_dir)  # the rollback: the whole directory, checkpoint file included
        shutil.copytree(snapshot, collector.audit_dir)
        status, report = python_verify(collector.audit_dir, "--trusted-key", signer.public_key_hex,
                                       verdict="VERIFIED")
        assert status == 0, "without the held copy the rollback is invisible: the attack works"
        status, report = python_verify(collector.audit_dir, "--trusted-key", signer.public_key_hex,
                                       "--checkpoints", str(witness.held("gw.0")), verdict="NOT VERIFIED")
        assert status == 1 and not report["ok"]
        assert {p["kind"] for p in report["problems"]} & {"truncated", "held-conflict"}, report["problems"]
        status, go_report = go_verify(collector.audit_dir, "--trusted-key", signer.public_key_hex,
                                      "--checkpoints", str(witness.held("gw.0")), verdict="NOT VERIFIED")
        assert status == 1 and not go_report["ok"], go_report
    finally:
        assert witness.stop() == 0
    status, own_report = python_verify(witness.directory / "trail", verdict="VERIFIED-SELF-KEYED")
    assert status == 0 and own_report["ok"], own_report["problems"]
    assert own_report["records"] >= 2 + own.count(b"\n"), "one receipt record per held statement"
