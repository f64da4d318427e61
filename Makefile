# gxp-otel: `make demo` runs the main job, `make test` runs every test. Both create .venv/ first.
# Area-specific targets live in mk/*.mk (one file per area, so parallel work never edits the same lines);
# they may append to TEST_PREREQS (built before tests) and define their own targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_PREREQS :=
PYTEST_ARGS ?=

.PHONY: venv test test-faults test-compat-lowest demo bench clean
.DEFAULT_GOAL := help

help:
	@echo "make demo         run the main job (workflow -> Phoenix + verified audit trail)"
	@echo "make test         run every test (installs what it needs)"
	@echo "make test-faults  run the slow fault-injection suite too"
	@echo "make test-compat-lowest  the compatibility subset on the lowest supported dependency set (.venv-lowest)"
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

# Compatibility (issue 13.6): the lowest supported versions (.ci/constraints-lowest.txt) in a second venv, and a
# named subset of the tests that exercises every integration point with them (set-up, sampling, OTEL_*, zero-code,
# the instrumentation, the trail). `make test` covers the newest set.
LOWEST := .venv-lowest
COMPAT_TESTS := tests/ecosystem/test_sampling.py tests/ecosystem/test_otel_environment.py \
	tests/ecosystem/test_startup.py tests/instrumentation/test_setup.py tests/instrumentation/test_zero_code.py \
	tests/instrumentation/test_workflow_spans.py tests/instrumentation/test_stream_events.py \
	tests/instrumentation/test_attribution.py tests/audit

$(LOWEST)/.installed-stamp: pyproject.toml .ci/constraints-lowest.txt
	test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install -q --upgrade pip
	$(LOWEST)/bin/python -m pip install -q -c .ci/constraints-lowest.txt -e '.[llama-index,grpc]' \
		'pytest>=8,<10' 'pytest-timeout>=2.3' 'hypothesis>=6.100,<7'
	touch $@

test-compat-lowest: $(LOWEST)/.installed-stamp
	$(LOWEST)/bin/python -m pip list 2>/dev/null | grep -E '^(opentelemetry-sdk|llama-index-core|llama-index-workflows|openinference-instrumentation-llama-index) '
	$(LOWEST)/bin/python -m pytest -m "not slow and not phoenix and not browser and not collector" \
		-k "not phoenix_register" $(COMPAT_TESTS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/bench_audit.py --write

clean:
	rm -rf build dist .pytest_cache test-artifacts
