# Workflow instrumentation (issue 3): `make bench-instrumentation` measures the per-run overhead of a 3-step
# workflow (uninstrumented vs OpenInference alone vs gxp-otel, 300 runs each, interleaved) and writes the table to
# docs/benchmarks-instrumentation.md. `make bench` includes it.
.PHONY: bench-instrumentation
bench: bench-instrumentation
bench-instrumentation: $(STAMP)
	nice $(BIN)/python bench/bench_instrumentation.py --runs 300 --block 10 --markdown docs/benchmarks-instrumentation.md
