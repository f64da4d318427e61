# Collector distribution and Go tests (issue 5). `make collector` builds build/otelcol-gxp (the otelcol-gxp
# distribution, via the upstream builder), build/gxpaudit-verify (the Go verifier) and build/gxpaudit-vector (plays
# a test vector against the Go writer, for the Python cross-checks); `make go-test` runs the Go tests of the
# gxpaudit module. The Go module cache and proxy supply every module; the distribution's checksums are
# pinned by collector-config/otelcol-gxp.go.sum (copied in before the builder resolves modules).
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
GXPAUDIT_DIR := exporters/gxpauditexporter
GXPAUDIT_SOURCES := $(shell find $(GXPAUDIT_DIR) -name '*.go' -o -name go.mod -o -name go.sum)
STRICTENV_DIR := collector-config/strictenvprovider
STRICTENV_SOURCES := $(shell find $(STRICTENV_DIR) -name '*.go' -o -name go.mod -o -name go.sum)
TRACESHARD_DIR := collector-config/traceshardprocessor
TRACESHARD_SOURCES := $(shell find $(TRACESHARD_DIR) -name '*.go' -o -name go.mod -o -name go.sum)
OTELCOL_SRC := build/otelcol-gxp-src
GO_NICE := nice -n 10 env PATH="$(dir $(GO)):$$PATH" GOFLAGS=-buildvcs=false

.PHONY: collector go-test

collector: build/otelcol-gxp build/gxpaudit-verify build/gxpaudit-vector

build/otelcol-gxp: collector-config/builder-config.yaml collector-config/otelcol-gxp.go.sum $(GXPAUDIT_SOURCES) $(STRICTENV_SOURCES) $(TRACESHARD_SOURCES)
	mkdir -p $(OTELCOL_SRC)
	cp collector-config/otelcol-gxp.go.sum $(OTELCOL_SRC)/go.sum
	$(GO_NICE) $(GO) run go.opentelemetry.io/collector/cmd/builder@v0.165.0 \
		--config collector-config/builder-config.yaml --skip-compilation
	@cmp -s $(OTELCOL_SRC)/go.sum collector-config/otelcol-gxp.go.sum || \
		echo "note: the distribution's go.sum changed; review and copy $(OTELCOL_SRC)/go.sum to collector-config/otelcol-gxp.go.sum"
	cd $(OTELCOL_SRC) && $(GO_NICE) $(GO) build -p 2 -trimpath -ldflags=-s -o ../otelcol-gxp .

build/gxpaudit-verify: $(GXPAUDIT_SOURCES)
	mkdir -p build
	cd $(GXPAUDIT_DIR) && $(GO_NICE) $(GO) build -p 2 -trimpath -o ../../build/gxpaudit-verify ./cmd/gxpaudit-verify

build/gxpaudit-vector: $(GXPAUDIT_SOURCES)
	mkdir -p build
	cd $(GXPAUDIT_DIR) && $(GO_NICE) $(GO) build -p 2 -trimpath -o ../../build/gxpaudit-vector ./cmd/gxpaudit-vector

go-test:
	cd $(GXPAUDIT_DIR) && $(GO_NICE) $(GO) vet ./... && $(GO_NICE) $(GO) test -p 2 -count=1 ./...
	cd $(STRICTENV_DIR) && $(GO_NICE) $(GO) vet ./... && $(GO_NICE) $(GO) test -count=1 ./...
	cd $(TRACESHARD_DIR) && $(GO_NICE) $(GO) vet ./... && $(GO_NICE) $(GO) test -count=1 ./...

TEST_PREREQS += go-test collector

build/otlpload: $(GXPAUDIT_SOURCES)
	mkdir -p build
	cd $(GXPAUDIT_DIR) && $(GO_NICE) $(GO) build -p 2 -trimpath -o ../../build/otlpload ./cmd/otlpload

# The benchmark peer: OTLP receiver + contrib fileexporter on the same release (bench/collector/peer/, never shipped).
# The builder's `go mod tidy` would fetch fileexporter's test-only modules, which the module proxy refuses, so the
# builder only generates the sources and the module files pinned in bench/collector/peer/ are copied in.
PEER_SRC := build/otelcol-fileexporter-src
build/otelcol-fileexporter: bench/collector/peer/builder-config-fileexporter.yaml bench/collector/peer/otelcol-fileexporter.go.mod bench/collector/peer/otelcol-fileexporter.go.sum
	mkdir -p $(PEER_SRC)
	$(GO_NICE) $(GO) run go.opentelemetry.io/collector/cmd/builder@v0.165.0 \
		--config bench/collector/peer/builder-config-fileexporter.yaml --skip-compilation --skip-get-modules
	cp bench/collector/peer/otelcol-fileexporter.go.mod $(PEER_SRC)/go.mod
	cp bench/collector/peer/otelcol-fileexporter.go.sum $(PEER_SRC)/go.sum
	cd $(PEER_SRC) && $(GO_NICE) $(GO) build -p 2 -trimpath -ldflags=-s -o ../otelcol-fileexporter .

.PHONY: bench-collector
bench: bench-collector
bench-collector: $(STAMP) collector build/otlpload build/otelcol-fileexporter
	$(BIN)/python bench/bench_collector.py --rounds 3 --seconds 10 --workers 8 --markdown docs/benchmarks-collector.md
