"""Authenticated ingestion against the shipped collector configs (issue 15): a request without a valid bearer token
is refused before anything is recorded; an accepted request's records carry the authenticated subject and peer in
`ingest` (docs/audit-format.md §5.6), which no header or attribute of the client can set; the gateway config also
refuses a connection without a client certificate."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
import urllib.error
from pathlib import Path

import pytest

from ingest_auth import OidcIssuer, Pki
from otelcol_process import ROOT, Collector, audit_records, go_verify, require_build

pytestmark = pytest.mark.collector

GATEWAY_CONFIG = ROOT / "collector-config" / "otelcol-gxp-gateway.yaml"
FORGED = {"resourceSpans": [{"scopeSpans": [{"spans": [{
    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "qa approval",
    "kind": 1, "startTimeUnixNano": "1", "endTimeUnixNano": "2",
    "attributes": [{"key": "enduser.id", "value": {"stringValue": "qa.head"}},
                   {"key": "gxp.decision", "value": {"stringValue": "approved"}}]}]}]}]}


def spans_of(collector: Collector) -> list[dict]:
    if not collector.audit_dir.exists():
        return []
    return [r for r in audit_records(collector.audit_dir) if r["kind"] == "span"]


def wait_for_spans(collector: Collector, n: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(spans := spans_of(collector)) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return spans


def curl(collector: Collector, *args: str) -> int:
    """The forged request exactly as a local account would send it: curl, OTLP/JSON, no credentials of ours."""
    done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                           "-H", "Content-Type: application/json", "--data", json.dumps(FORGED), *args,
                           f"{collector.http_url}/v1/traces"], capture_output=True, text=True, timeout=30)
    return int(done.stdout or 0)


def test_a_forged_span_without_a_valid_token_is_refused_and_nothing_is_recorded(collector: Collector,
                                                                                tmp_path: Path) -> None:
    attacker = OidcIssuer(tmp_path / "attacker")  # a well-formed token, signed by a key the collector does not trust
    assert curl(collector) == 401
    assert curl(collector, "-H", "Authorization: Bearer not-a-token") == 401
    assert curl(collector, "-H", f"Authorization: Bearer {attacker.token('qa.head')}") == 401
    assert curl(collector, "-H", f"Authorization: Bearer {collector.issuer.token('qa.head', audience='other')}") == 401
    # A valid token is accepted: the refusals above were about the credentials, not the request.
    assert curl(collector, "-H", f"Authorization: Bearer {collector.token('lims-service')}") == 200
    spans = wait_for_spans(collector, 1)
    assert collector.stop() == 0
    spans = spans_of(collector)
    assert len(spans) == 1, "only the authenticated request was recorded"
    assert spans[0]["body"]["ingest"]["subject"] == "lims-service"


def test_an_authenticated_span_records_its_subject_and_peer_beside_the_declared_identity(collector: Collector) -> None:
    assert collector.post("traces", FORGED, token=collector.token("lims-service")) == 200
    (span,) = wait_for_spans(collector, 1)
    assert collector.stop() == 0
    ingest = span["body"]["ingest"]
    assert ingest["subject"] == "lims-service" and ingest["via"] == "authenticator"
    assert ingest["peer"] == "127.0.0.1"  # the connection's address (OTLP/HTTP records the IP only)
    assert span["body"]["gxp"]["user_id"] == "qa.head", "what the client declared stays recorded, as declared"
    status, report = go_verify(collector.audit_dir)
    assert status == 0 and report["ok"], report["problems"]


def test_spoofing_the_ingest_field_is_recorded_as_the_clients_claim_only(collector: Collector) -> None:
    spoofed = json.loads(json.dumps(FORGED))
    span = spoofed["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["attributes"] += [{"key": "ingest.subject", "value": {"stringValue": "qa.head"}},
                           {"key": "gxp.ingest.subject", "value": {"stringValue": "qa.head"}}]
    spoofed["resourceSpans"][0]["resource"] = {"attributes": [
        {"key": "gxp.ingest.subject", "value": {"stringValue": "qa.head"}}]}
    headers = {"gxp.ingest.subject": "qa.head", "gxp.ingest.via": "authenticator", "X-Forwarded-For": "10.9.9.9"}
    assert collector.post("traces", spoofed, token=collector.token("lab-robot-7"), headers=headers) == 200
    (record,) = wait_for_spans(collector, 1)
    assert collector.stop() == 0
    body = record["body"]
    assert body["ingest"]["subject"] == "lab-robot-7" and body["ingest"]["via"] == "authenticator"
    assert body["ingest"]["peer"] == "127.0.0.1", "X-Forwarded-For is not the peer"
    assert body["attributes"]["gxp.ingest.subject"] == {"stringValue": "qa.head"}
    assert body["resource"]["attributes"]["gxp.ingest.subject"] == {"stringValue": "qa.head"}


def test_the_gateway_refuses_a_connection_without_a_client_certificate(tmp_path: Path) -> None:
    require_build()
    gateway = Collector(tmp_path / "gw", config=GATEWAY_CONFIG, pki=Pki(tmp_path / "pki"),
                        env={"GXP_GATEWAY": "gateway.a", "GXP_AUDIT_DIR": str(tmp_path / "audit")})
    gateway.audit_dir = tmp_path / "audit"
    gateway.start()
    try:
        assert gateway.post("traces", FORGED) == 200  # client certificate and token
        no_cert = Collector(tmp_path / "gw", config=GATEWAY_CONFIG, pki=gateway.pki, client_cert=None,
                            issuer=gateway.issuer)
        no_cert.http_port = gateway.http_port
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            no_cert.post("traces", FORGED)
        assert gateway.post("traces", FORGED, token=None) == 401  # certificate without a token
        spans = wait_for_spans(gateway, 1)
        assert gateway.stop() == 0
    finally:
        gateway.kill()
    spans = spans_of(gateway)
    assert len(spans) == 1
    assert spans[0]["body"]["ingest"]["subject"] == "gxp-test-client"


def test_the_documented_local_issuer_commands_authenticate_a_client(tmp_path: Path) -> None:
    """docs/deployment.md's single-host set-up: `gxp-otel ingest-keys`, then a token from `gxp-otel ingest-token`."""
    require_build()
    cli = str(ROOT / ".venv" / "bin" / "gxp-otel")
    keys = subprocess.run([cli, "ingest-keys", str(tmp_path / "ingest")], capture_output=True, text=True, check=True)
    env = dict(line.split("=", 1) for line in keys.stdout.split())
    assert set(env) == {"GXP_OIDC_ISSUER", "GXP_OIDC_KEYS_FILE"}
    again = subprocess.run([cli, "ingest-keys", str(tmp_path / "ingest")], capture_output=True, text=True)
    assert again.returncode == 2 and "never overwritten" in again.stderr
    token = subprocess.run([cli, "ingest-token", str(tmp_path / "ingest"), "lims-service"], capture_output=True,
                           text=True, check=True).stdout.strip()
    collector = Collector(tmp_path / "collector", env=env)
    collector.start()
    try:
        assert collector.post("traces", FORGED, token=token) == 200
        assert collector.post("traces", FORGED, token=collector.token("lims-service")) == 401  # another issuer's key
        (span,) = wait_for_spans(collector, 1)
        assert collector.stop() == 0
    finally:
        collector.kill()
    assert span["body"]["ingest"]["subject"] == "lims-service"
    done = subprocess.run([cli, "verify", "--alcoa", "--json", str(collector.audit_dir)], capture_output=True,
                          text=True, timeout=120)
    alcoa = json.loads(done.stdout)["alcoa"]
    # One span: its user id declared by the client, its sender authenticated at ingestion; counted apart.
    assert alcoa["identities"] == {"declared": 1, "authenticated": 1}
