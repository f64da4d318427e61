"""Issue 15.3: `gxp-otel phoenix start --auth` runs Phoenix with its own authentication; the demo exports and
annotates with the key, and without the key Phoenix answers 401 (a real Phoenix on free loopback ports)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gxp_otel.demo import run_demo
from gxp_otel.phoenix import PhoenixClient, PhoenixServer, free_port
from gxp_otel.phoenix.client import PhoenixApiError

pytestmark = pytest.mark.phoenix


def test_demo_against_a_phoenix_with_auth_uses_its_key_and_anonymous_calls_are_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("PHOENIX_API_KEY", raising=False)
    monkeypatch.delenv("PHOENIX_CLIENT_HEADERS", raising=False)
    http_port, grpc_port = free_port(), free_port()
    server = PhoenixServer(tmp_path, http_port=http_port, grpc_port=grpc_port, auth=True)
    try:
        result = run_demo(tmp_path, http_port=http_port, grpc_port=grpc_port, project="auth-demo", runs=1,
                          auth=True, echo=lambda _: None)
        assert result.ok, [(r.run.trace_id, r.spans_in_phoenix, r.run.spans) for r in result.runs]
        key = server.api_key()
        assert key and Path(server.api_key_file).read_text().strip() == key
        assert stat.S_IMODE(server.auth_file.stat().st_mode) == 0o600
        with pytest.raises(PhoenixApiError) as refused:
            PhoenixClient(server.url, environ={}).project_names()
        assert refused.value.status == 401
        authorised = PhoenixClient(server.url, api_key=key)
        assert "auth-demo" in authorised.project_names()
        (run,) = result.runs
        annotations = authorised.span_annotations("auth-demo", [run.run.root_span_id])
        assert [a["name"] for a in annotations] == ["audit"]
    finally:
        server.stop()
