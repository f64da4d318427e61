"""The witness's HTTP endpoint (docs/audit-format.md §7.1): ``POST /v1/checkpoints`` with checkpoint lines.

Binds 127.0.0.1 unless told otherwise; one thread per connection, every acceptance serialised by the store.
Answers 200 with ``{"held": n, "already_held": m}`` only after the lines are durable, 400 for a malformed request
(naming the line), 403 for a statement not signed by a trusted key, 404 for another path, 413 above the size limit.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gxp_otel.witness.store import WitnessRejected, WitnessStore

MAX_REQUEST_BYTES = 1024 * 1024
PATH = "/v1/checkpoints"


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        return  # the witness's own trail is its record; no access log on stderr

    def _answer(self, status: int, document: dict) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path != PATH:
            self._answer(404, {"error": f"POST checkpoint lines to {PATH}"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(411, {"error": "Content-Length required"})
            return
        if length > MAX_REQUEST_BYTES:
            self._answer(413, {"error": f"more than {MAX_REQUEST_BYTES} bytes"})
            self.close_connection = True
            return
        payload = self.rfile.read(length)
        try:
            counts = self.server.store.accept(payload, peer=f"{self.client_address[0]}:{self.client_address[1]}")
        except WitnessRejected as exc:
            self._answer(exc.status, {"error": str(exc)})
            return
        except OSError as exc:
            self._answer(503, {"error": f"could not store: {exc}"})
            return
        self._answer(200, counts)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(200 if self.path == "/health" else 404, {"status": "ok"} if self.path == "/health" else {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: WitnessStore) -> None:
        self.store = store
        super().__init__(address, _Handler)


class WitnessServer:
    """A running witness endpoint; ``serve_forever`` blocks, ``start`` runs it in a thread (tests, embedding)."""

    def __init__(self, store: WitnessStore, host: str = "127.0.0.1", port: int = 4329) -> None:
        self.store = store
        self._server = _Server((host, port), store)
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> "WitnessServer":
        self._thread = threading.Thread(target=self._server.serve_forever, name="gxp-witness", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self.store.close()
