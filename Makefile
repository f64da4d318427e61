# gxp-otel: `make demo` runs the main job, `make test` runs every test. Both create .venv/ first.
# Area-specific targets live in mk/*.mk (one file per area, so parallel work never edits the same lines);
# they may append to TEST_PREREQS (built before tests) and define their own targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_PREREQS :=
PYTEST_ARGS ?=

.PHONY: venv test test-faults demo bench clean
.DEFAULT_GOAL := help

help:
	@echo "make demo         run the main job (workflow -> Phoenix + verified audit trail)"
	@echo "make test         run every test (installs what it needs)"
	@echo "make test-faults  run the slow fault-injection suite too"
	@echo "make bench        run the benchmarks, results into docs/benchmarks.md"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,llama-index,grpc,phoenix]'
	touch $@

venv: $(STAMP)

-include mk/*.mk

test: $(STAMP) $(TEST_PREREQS)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-faults: $(STAMP) $(TEST_PREREQS)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/bench_audit.py --write

clean:
	rm -rf build dist .pytest_cache test-artifacts
