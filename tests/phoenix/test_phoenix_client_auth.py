"""Issue 13.5: the REST client sends Phoenix's own credentials (`PHOENIX_API_KEY`, `PHOENIX_CLIENT_HEADERS`) on
every call, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gxp_otel.phoenix.client import AuditAnnotation, PhoenixClient


def test_api_key_and_client_headers_go_with_every_rest_call(monkeypatch):
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body):
            seen.append({k.lower(): v for k, v in self.headers.items()})
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            self._answer({"data": [{"name": "p", "id": "UHJvamVjdDox"}]})

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer({"data": [{"id": "a1"}]})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("PHOENIX_API_KEY", "secret-key")
        monkeypatch.setenv("PHOENIX_CLIENT_HEADERS", "x-tenant=qa")
        client = PhoenixClient(f"http://127.0.0.1:{server.server_address[1]}")
        assert client.project_names() == ["p"]
        assert client.annotate([AuditAnnotation("00f067aa0ba902b7", "verified", "ok", {})]) == ["a1"]
        assert PhoenixClient(client.base_url, api_key="other").project_names() == ["p"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert [h["authorization"] for h in seen] == ["Bearer secret-key", "Bearer secret-key", "Bearer other"]
    assert all(h["x-tenant"] == "qa" for h in seen)
