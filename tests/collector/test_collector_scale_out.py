"""Scale-out on one machine (issue 15.4): applications -> an agent collector -> three gateway collectors, routed by
trace id (collector-config/otelcol-gxp-agent.yaml, the gxptraceshard processor), each gateway with its own stream,
persistent queue and mTLS + token authentication, all writing one audit store. Load is sent while one gateway is
SIGKILLed and restarted: every span the agent acknowledged ends up in the chain of its trace's gateway (a re-delivery
after the crash is a visible duplicate there, never a record in another chain), and the store verifies as a whole."""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from ingest_auth import OidcIssuer, Pki
from otelcol_process import ROOT, Collector, audit_records, go_verify, require_build

pytestmark = pytest.mark.collector

AGENT_CONFIG = ROOT / "collector-config" / "otelcol-gxp-agent.yaml"
GATEWAY_CONFIG = ROOT / "collector-config" / "otelcol-gxp-gateway.yaml"
GATEWAYS = 3


def shard_of(trace_id: bytes, shards: int = GATEWAYS) -> int:
    """FNV-1a-64 of the trace id mod shards, as gxptraceshard computes it."""
    h = 0xCBF29CE484222325
    for byte in trace_id:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h % shards


def request(rng: random.Random, traces: int, spans: int) -> tuple[dict, list[tuple[str, str]]]:
    now = time.time_ns()
    out, ids = [], []
    for _ in range(traces):
        trace_id = rng.randbytes(16).hex()
        for _ in range(spans):
            span_id = rng.randbytes(8).hex()
            ids.append((trace_id, span_id))
            out.append({"traceId": trace_id, "spanId": span_id, "name": "workflow step", "kind": 1,
                        "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000)})
    return {"resourceSpans": [{"scopeSpans": [{"spans": out}]}]}, ids


def stored_spans(store: Path) -> dict[tuple[str, str], list[str]]:
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record in audit_records(store) if store.exists() else []:
        if record["kind"] == "span":
            where[(record["body"]["trace_id"], record["body"]["span_id"])].append(record["stream"])
    return where


@pytest.mark.parametrize("requests,kills", [pytest.param(45, 1, id="bounded"),
                                            pytest.param(300, 3, id="heavy", marks=pytest.mark.slow)])
def test_an_agent_routes_by_trace_id_to_three_gateways_and_a_killed_gateway_loses_nothing(
        tmp_path: Path, requests: int, kills: int) -> None:
    require_build()
    store, pki, issuer = tmp_path / "audit-store", Pki(tmp_path / "pki"), OidcIssuer(tmp_path / "oidc")
    gateways = [Collector(tmp_path / f"gateway{k}", config=GATEWAY_CONFIG, pki=pki, issuer=issuer,
                          env={"GXP_GATEWAY": f"gateway.{k}", "GXP_AUDIT_DIR": str(store)}) for k in range(GATEWAYS)]
    agent_cert, agent_key = pki.issue("agent-1")
    token_file = tmp_path / "agent-token"
    token_file.write_text(issuer.token("agent-1"))
    agent = Collector(tmp_path / "agent", config=AGENT_CONFIG, issuer=issuer, subject="pharma-app", env={
        **{f"GXP_GATEWAY_{k}_ENDPOINT": f"127.0.0.1:{g.grpc_port}" for k, g in enumerate(gateways)},
        "GXP_GATEWAY_CA_FILE": str(pki.ca_file), "GXP_AGENT_CERT_FILE": str(agent_cert),
        "GXP_AGENT_KEY_FILE": str(agent_key), "GXP_AGENT_TOKEN_FILE": str(token_file)})
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))  # fresh ids every run; nothing depends on them
    acknowledged: list[tuple[str, str]] = []
    kill_at = {requests * (i + 1) // (kills + 1): i for i in range(kills)}
    try:
        for gateway in gateways:
            gateway.start()
        agent.start()
        for r in range(requests):
            if r in kill_at:
                gateways[1].kill()  # SIGKILL: whatever it acknowledged is in its persistent queue
                for _ in range(5):  # the agent keeps acknowledging; gateway 1's shard waits in the agent's queue
                    payload, ids = request(rng, traces=4, spans=3)
                    if agent.post("traces", payload) == 200:
                        acknowledged += ids
                gateways[1].start()
            payload, ids = request(rng, traces=4, spans=3)
            if agent.post("traces", payload) == 200:
                acknowledged += ids
        deadline = time.monotonic() + 90
        while set(acknowledged) - stored_spans(store).keys() and time.monotonic() < deadline:
            time.sleep(0.25)
        assert agent.stop() == 0
        for gateway in gateways:
            assert gateway.stop() == 0
    finally:
        for c in (agent, *gateways):
            c.kill()

    where = stored_spans(store)
    missing = set(acknowledged) - where.keys()
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged spans are in no chain"
    duplicates = 0
    for trace_id, span_id in acknowledged:
        streams = where[(trace_id, span_id)]
        assert set(streams) == {f"gateway.{shard_of(bytes.fromhex(trace_id))}"}, (trace_id, streams)
        duplicates += len(streams) - 1
    print(f"{len(acknowledged)} acknowledged spans, {duplicates} visible duplicate deliveries")
    status, report = go_verify(store)
    assert status == 0 and report["ok"], report["problems"]
    assert sorted(s["stream"] for s in report["streams"]) == [f"gateway.{k}" for k in range(GATEWAYS)]
    spans_per_stream = {s["stream"]: s for s in report["streams"]}
    assert all(s["closed"] for s in spans_per_stream.values())
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "gxp-otel"), "verify", "--json", str(store)],
                          capture_output=True, text=True, timeout=120)
    python_report = json.loads(done.stdout)
    assert done.returncode == 0 and python_report["ok"], python_report["problems"]
    assert python_report["records"] == report["records"], "both verifiers read the same set"
    subjects = {r["body"]["ingest"]["subject"] for r in audit_records(store) if r["kind"] == "span"}
    assert subjects == {"agent-1"}, "the gateways record the agent as the authenticated sender"
