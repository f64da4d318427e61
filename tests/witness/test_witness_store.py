"""The witness store and endpoint (docs/audit-format.md §7.1) on real files and a real loopback HTTP server: it holds
each statement once, byte for byte, only after it is durable; it refuses malformed and untrusted statements with
the line named and holds nothing of such a request; its own trail of receipts verifies."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gxp_otel.audit.signing import generate_key_pem
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.witness import WitnessServer, WitnessStore


def checkpoint_lines(tmp_path: Path, signer, stream: str = "app.0") -> list[bytes]:
    writer = AuditTrailWriter(tmp_path / f"trail-{stream}", stream_id=stream, signing_key=signer)
    writer.checkpoint()
    writer.close()
    return (tmp_path / f"trail-{stream}" / f"audit-{stream}.checkpoints.jsonl").read_bytes().splitlines()


def post(url: str, data: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/x-ndjson"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def signer():
    return generate_key_pem()[1]


@pytest.fixture
def server(tmp_path: Path, signer):
    pem, _ = generate_key_pem()
    key = tmp_path / "witness-key.pem"
    key.write_bytes(pem)
    key.chmod(0o600)
    store = WitnessStore(tmp_path / "witness", signing_key=key, trusted_keys=[signer.public_key_hex])
    running = WitnessServer(store, port=0).start()
    try:
        yield running
    finally:
        running.stop()


def test_statements_are_held_once_byte_for_byte_and_receipts_form_a_verified_trail(tmp_path, signer, server) -> None:
    lines = checkpoint_lines(tmp_path, signer)
    assert len(lines) == 2  # the explicit checkpoint and the close checkpoint
    assert post(server.url, lines[0] + b"\n") == (200, {"held": 1, "already_held": 0})
    assert post(server.url, b"\n".join(lines) + b"\n") == (200, {"held": 1, "already_held": 1})  # a retry
    held = server.store.held_file("app.0")
    assert held.read_bytes() == b"\n".join(lines) + b"\n"
    server.stop()
    report = verify_trail(tmp_path / "witness" / "trail")
    assert report.ok and not report.problems, (report.verdict, report.problems)
    receipts = [json.loads(line) for line in (tmp_path / "witness" / "trail").glob("audit-witness-*.jsonl")
                .__next__().read_bytes().splitlines()]
    bodies = [r["body"] for r in receipts if r["kind"] == "log"]
    assert [b["body"]["stringValue"].encode() for b in bodies] == lines
    assert all(b["attributes"]["gxp.witness.peer"]["stringValue"].startswith("127.0.0.1:") for b in bodies)


def test_malformed_and_untrusted_statements_are_refused_with_the_line_and_nothing_is_held(tmp_path, signer,
                                                                                         server) -> None:
    good = checkpoint_lines(tmp_path, signer)[0]
    other_signer = generate_key_pem()[1]
    untrusted = checkpoint_lines(tmp_path, other_signer, stream="app.1")[0]
    status, answer = post(server.url, good + b"\nnot json\n")
    assert status == 400 and answer["error"].startswith("line 2: not JSON")
    status, answer = post(server.url, good + b"\n" + untrusted + b"\n")
    assert status == 403 and "line 2: not signed by a trusted key" in answer["error"]
    status, answer = post(server.url, b'{"statement": {"stream": "../etc", "seq": "1", "head": "x"}, '
                                      b'"key_id": "none", "signature": ""}\n')
    assert status == 400 and "stream id" in answer["error"]
    assert post(server.url, b"")[0] == 400
    assert post(server.url.replace("/v1/checkpoints", "/other"), good)[0] == 404
    assert not any((tmp_path / "witness" / "held").iterdir()), "a refused request holds nothing"
