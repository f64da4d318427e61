"""Every collector configuration the project ships is checked by `otelcol-gxp validate` (issue 13.8, 15.6): with its
variables set it validates; with a required variable unset it is refused with a message naming the variable; the
single-collector config exposes gxpaudit's own metrics through the collector's telemetry."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ingest_auth import OidcIssuer
from otelcol_process import OTELCOL, ROOT, Collector, require_build

pytestmark = pytest.mark.collector

COLLECTOR_CONFIGS = sorted(p for p in [*(ROOT / "collector-config").glob("*.yaml"), *(ROOT / "bench" / "collector").glob("*.yaml")]
                           if p.name != "builder-config.yaml")


def environment(tmp_path: Path) -> dict[str, str]:
    """Every variable the shipped configs reference, set to a usable value."""
    issuer = OidcIssuer(tmp_path / "oidc")
    values = {
        "GXP_AUDIT_DIR": tmp_path / "audit", "GXP_COLLECTOR_STATE_DIR": tmp_path / "state", "GXP_GATEWAY": "gateway.a",
        "GXP_OIDC_ISSUER": "https://issuer.gxp-otel.test", "GXP_TLS_CERT_FILE": tmp_path / "server.crt",
        "GXP_TLS_KEY_FILE": tmp_path / "server.key", "GXP_TLS_CLIENT_CA_FILE": tmp_path / "ca.crt",
        "GXP_GATEWAY_0_ENDPOINT": "127.0.0.1:4401", "GXP_GATEWAY_1_ENDPOINT": "127.0.0.1:4402",
        "GXP_GATEWAY_2_ENDPOINT": "127.0.0.1:4403", "GXP_GATEWAY_CA_FILE": tmp_path / "ca.crt",
        "GXP_AGENT_CERT_FILE": tmp_path / "agent.crt", "GXP_AGENT_KEY_FILE": tmp_path / "agent.key",
        "GXP_AGENT_TOKEN_FILE": tmp_path / "agent-token",
        "BENCH_OTLP_HTTP_ENDPOINT": "127.0.0.1:4399", "BENCH_AUDIT_DIR": tmp_path / "bench",
        "BENCH_OIDC_ISSUER": "https://issuer.gxp-otel.test", "BENCH_OIDC_KEYS_FILE": issuer.jwks_file,
    }
    return {"PATH": os.environ["PATH"], **{k: str(v) for k, v in values.items()}}


def validate(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(OTELCOL), "validate", "--config", str(config)], env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_configs_under_test_are_the_shipped_ones() -> None:
    names = {p.name for p in COLLECTOR_CONFIGS}
    assert {"otelcol-gxp.yaml", "otelcol-gxp-gateway.yaml", "otelcol-gxp-agent.yaml",
            "otelcol-bench-gxpaudit.yaml"} <= names


@pytest.mark.parametrize("config", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_every_shipped_collector_config_validates(config: Path, tmp_path: Path) -> None:
    require_build()
    done = validate(config, environment(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("variable", ["GXP_GATEWAY", "GXP_AUDIT_DIR", "GXP_OIDC_ISSUER", "GXP_TLS_CLIENT_CA_FILE",
                                      "GXP_COLLECTOR_STATE_DIR"])
def test_the_gateway_config_names_a_missing_required_variable(variable: str, tmp_path: Path) -> None:
    require_build()
    env = environment(tmp_path)
    del env[variable]
    done = validate(ROOT / "collector-config" / "otelcol-gxp-gateway.yaml", env)
    assert done.returncode != 0
    assert f"environment variable {variable} is not set" in done.stdout + done.stderr, done.stdout + done.stderr


def test_the_collector_exposes_gxpaudits_own_metrics(collector: Collector) -> None:
    request = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175", "name": "step", "kind": 1,
         "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns())}]}]}]}
    assert collector.post("traces", request) == 200
    wanted = ["otelcol_exporter_gxpaudit_records_written", "otelcol_exporter_gxpaudit_bytes_written",
              "otelcol_exporter_gxpaudit_fsyncs", "otelcol_exporter_gxpaudit_append_duration",
              "otelcol_exporter_gxpaudit_gap_records", "otelcol_exporter_gxpaudit_lost",
              "otelcol_exporter_gxpaudit_write_errors", "otelcol_exporter_gxpaudit_checkpoint_age"]
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{collector.metrics_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        missing = [name for name in wanted if name not in text]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not missing, text[:3000]
    records = [line for line in text.splitlines() if line.startswith("otelcol_exporter_gxpaudit_records_written")]
    assert records and float(records[0].rsplit(" ", 1)[1]) >= 2  # genesis and the span
    assert collector.stop() == 0
