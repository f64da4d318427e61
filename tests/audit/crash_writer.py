"""A child process for crash tests: exports spans one by one through ComplianceSpanExporter and prints the span id
of each export that returned SUCCESS (an acknowledgement), flushed, so the parent knows what was promised."""

import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from gxp_otel.audit.exporters import ComplianceSpanExporter


class Acknowledging(SimpleSpanProcessor):
    def on_end(self, span):
        if self.span_exporter.export((span,)) is SpanExportResult.SUCCESS:
            sys.stdout.write(format(span.context.span_id, "016x") + "\n")
            sys.stdout.flush()


def main(directory: str) -> None:
    provider = TracerProvider()
    provider.add_span_processor(Acknowledging(ComplianceSpanExporter(directory, stream_id="crash.0",
                                                                     rotate_bytes=64 * 1024)))
    tracer = provider.get_tracer("crash")
    for i in range(1_000_000):
        with tracer.start_as_current_span(f"step-{i}", attributes={"payload": "p" * 200, "i": i}):
            pass


if __name__ == "__main__":
    main(sys.argv[1])
