# Audit-trail review (issue 6). `make review TRAIL=<dir>` writes review.html (the self-contained review page);
# `make bench-review` measures report/query/index on 100k- and 1M-record trails (generated once under data/) and
# writes docs/benchmarks-review.md. `make bench` includes it.
.PHONY: review bench-review
TRAIL ?= data/audit

review: $(STAMP)
	$(BIN)/gxp-otel report $(TRAIL) -o review.html

bench: bench-review
bench-review: $(STAMP) chromium
	nice $(BIN)/python bench/bench_review.py --sizes 100000 1000000 --markdown docs/benchmarks-review.md
