"""Scale-out on one machine (issue 15.4): applications -> an agent collector -> three gateway collectors, routed by
trace id (collector-config/otelcol-gxp-agent.yaml, the gxptraceshard processor), each gateway with its own stream,
persistent queue and mTLS + token authentication, all writing one audit store. Load is sent while one gateway is
SIGKILLed and restarted: every span the agent acknowledged ends up in the chain of its trace's gateway (a re-delivery
after the crash is a visible duplicate there, never a record in another chain), the store verifies as a whole, and
`gxp-otel report` over the store shows every run (one per trace) whole: all of its records, duplicates counted, in its
gateway's stream only, with verify's verdict; with one gateway's chain file deleted it says NOT VERIFIED."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from ingest_auth import OidcIssuer, Pki
from otelcol_process import EXIT_CODES, ROOT, Collector, audit_records, go_verify, require_build

pytestmark = pytest.mark.collector

AGENT_CONFIG = ROOT / "collector-config" / "otelcol-gxp-agent.yaml"
GATEWAY_CONFIG = ROOT / "collector-config" / "otelcol-gxp-gateway.yaml"
GATEWAYS = 3
GXP_OTEL = ROOT / ".venv" / "bin" / "gxp-otel"


def shard_of(trace_id: bytes, shards: int = GATEWAYS) -> int:
    """FNV-1a-64 of the trace id mod shards, as gxptraceshard computes it."""
    h = 0xCBF29CE484222325
    for byte in trace_id:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h % shards


def run_of(trace_id: str) -> str:
    return f"run-{trace_id}"


def request(rng: random.Random, traces: int, spans: int) -> tuple[dict, list[tuple[str, str]]]:
    now = time.time_ns()
    out, ids = [], []
    for _ in range(traces):
        trace_id = rng.randbytes(16).hex()
        run = {"key": "gxp.workflow.run_id", "value": {"stringValue": run_of(trace_id)}}
        for k in range(spans):  # one workflow run per trace: its root span, then its steps
            span_id = rng.randbytes(8).hex()
            ids.append((trace_id, span_id))
            name, role = ("scale_out.run", {"key": "gxp.workflow.name", "value": {"stringValue": "scale_out"}}) \
                if k == 0 else ("workflow step", {"key": "gxp.step.name", "value": {"stringValue": f"step {k}"}})
            out.append({"traceId": trace_id, "spanId": span_id, "name": name, "kind": 1, "attributes": [run, role],
                        "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000)})
    return {"resourceSpans": [{"scopeSpans": [{"spans": out}]}]}, ids


def review(store: Path, out: Path, runs: int, records: int) -> tuple[int, dict, dict]:
    """`gxp-otel report STORE --json` as an operator runs it: exit code, its JSON line, and the data the page embeds."""
    done = subprocess.run([str(GXP_OTEL), "report", str(store), "-o", str(out), "--json", "--max-runs", str(runs),
                           "--max-records", str(records)], capture_output=True, text=True, timeout=300)
    assert done.returncode in EXIT_CODES.values(), done.stdout + done.stderr
    embedded = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', out.read_text(), re.S)
    return done.returncode, json.loads(done.stdout), json.loads(embedded.group(1))


def assert_report_shows_each_run_whole(store: Path, acknowledged: list[tuple[str, str]], verified: dict,
                                       out: Path) -> None:
    """The review over the store lists one run per acknowledged trace with every record the store holds for it (an
    acknowledged span once, a re-delivery as a second record of the same span), all in its trace's gateway stream,
    nothing cut off the page, and the verdict and record count verify gives."""
    spans = [r for r in audit_records(store) if r["kind"] == "span"]
    status, summary, data = review(store, out, runs=len(spans) + 1, records=len(audit_records(store)) + 1)
    assert (summary["verdict"], status) == (verified["verdict"], EXIT_CODES[verified["verdict"]])
    assert summary["records_verified"] == verified["records"] and summary["problems"] == len(verified["problems"])
    assert data["totals"]["records_shown"] == data["totals"]["records"] == summary["records_in_scope"]
    assert data["totals"]["runs_shown"] == data["totals"]["runs"] == summary["runs"]
    stored: dict[str, Counter] = defaultdict(Counter)  # run -> (span id, stream) -> records, read from the files
    roots: Counter = Counter()  # run -> records of its root span (a re-delivered root is a second one)
    for record in spans:
        stored[record["body"]["gxp"]["run_id"]][(record["body"]["span_id"], record["stream"])] += 1
        roots[record["body"]["gxp"]["run_id"]] += record["body"]["name"] == "scale_out.run"
    assert summary["runs"] == len(stored)
    runs = {run["run_id"]: run for run in data["runs"]}
    rows: dict[str, Counter] = defaultdict(Counter)
    for row in data["records"]:
        if row["kind"] == "span":
            rows[row["run_id"]][(row["span_id"], row["stream"])] += 1
    acked: dict[str, set[str]] = defaultdict(set)
    for trace_id, span_id in acknowledged:
        acked[trace_id].add(span_id)
    for trace_id, span_ids in acked.items():
        stream, run = f"gateway.{shard_of(bytes.fromhex(trace_id))}", runs.get(run_of(trace_id))
        assert run is not None, f"run of trace {trace_id} ({len(span_ids)} acknowledged spans) is not in the report"
        assert run["trace_id"] == trace_id and run["root_seen"], run
        assert rows[run["run_id"]] == stored[run["run_id"]], f"the page's records of {trace_id} are not the store's"
        assert {s for s, _ in rows[run["run_id"]]} == span_ids, f"trace {trace_id}: spans missing or foreign"
        assert {w for _, w in rows[run["run_id"]]} == {stream}, f"trace {trace_id} split across streams"
        duplicates = sum(rows[run["run_id"]].values()) - len(span_ids)
        assert run["records"] == len(span_ids) + duplicates == sum(stored[run["run_id"]].values())
        assert run["steps"] == run["records"] - roots[run["run_id"]] and run["calls"] == 0, run
        assert {e["stream"] for e in run["timeline"]} <= {stream}, f"trace {trace_id}: timeline split across streams"


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
    assert_report_shows_each_run_whole(store, acknowledged, python_report, tmp_path / "review.html")

    scratch = tmp_path / "one-chain-deleted"  # the same review must notice a gateway's chain gone from the set
    shutil.copytree(store, scratch, symlinks=True)
    deleted = sorted(scratch.glob("audit-*-*.jsonl"))[0]
    gone = audit_records(scratch)[0]["stream"]
    deleted.unlink()
    status, summary, data = review(scratch, tmp_path / "review-deleted.html", runs=10_000, records=10_000)
    assert (status, summary["verdict"]) == (1, "NOT VERIFIED"), (deleted.name, summary)
    assert ("missing-stream", gone) in {(p["kind"], p.get("stream")) for p in data["integrity"]["problems"]}
