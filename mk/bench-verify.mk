# Verifier speed (issue 16). `make bench-verify` measures, in one interleaved run on one ~380 MB example-workflow
# trail (generated once under data/), openssl's SHA-256, a per-line orjson+sha256 floor, `gxp-otel verify`,
# `verify --alcoa`, `gxp-otel report` and the Go gxpaudit-verify, and writes the verify block of docs/benchmarks.md.
# `make bench` includes it.
.PHONY: bench-verify

bench: bench-verify
bench-verify: $(STAMP) build/gxpaudit-verify
	$(BIN)/python bench/bench_verify.py --write
