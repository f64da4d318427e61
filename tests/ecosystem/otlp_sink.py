"""A real OTLP/HTTP (protobuf) receiver on 127.0.0.1 and a free port, for the ecosystem tests.

It accepts every POST, answers 200 with an empty export response, and keeps each request's path, headers and the
decoded `ExportTraceServiceRequest` / `ExportLogsServiceRequest`, so a test can check what an application (often a
subprocess) really sent. The test that starts it stops it (`with OtlpSink() as sink:`); nothing else is touched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def spans(self) -> list[Any]:
        request = ExportTraceServiceRequest.FromString(self.body)
        return [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]

    def resource_attributes(self) -> dict[str, Any]:
        request = ExportTraceServiceRequest.FromString(self.body)
        return {kv.key: kv.value.string_value for rs in request.resource_spans for kv in rs.resource.attributes}

    def log_records(self) -> list[Any]:
        request = ExportLogsServiceRequest.FromString(self.body)
        return [r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records]


class OtlpSink:
    """`with OtlpSink() as sink:` -> `sink.url` (http://127.0.0.1:PORT), `sink.received`, `sink.spans(path)`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with sink._lock:
                    sink.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def requests(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def spans(self, path: str = "/v1/traces") -> list[Any]:
        return [s for r in self.requests(path) for s in r.spans()]

    def __enter__(self) -> "OtlpSink":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class GrpcOtlpSink:
    """A real OTLP/gRPC trace receiver on 127.0.0.1 and a free port: `with GrpcOtlpSink() as sink:` -> `sink.url`,
    `sink.spans()`."""

    def __init__(self) -> None:
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

        self.requests: list[Any] = []
        sink = self

        class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):  # noqa: N802 (the generated service's name)
                sink.requests.append(request)
                return trace_service_pb2.ExportTraceServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spans(self) -> list[Any]:
        return [s for r in list(self.requests) for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]

    def __enter__(self) -> "GrpcOtlpSink":
        self._server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.stop(grace=None).wait(10)
