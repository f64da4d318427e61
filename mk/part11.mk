# Part 11 features (issue 7). `make oq` runs the operational-qualification suite against the installed package and
# writes the evidence to test-artifacts/oq/ (oq-evidence.html, oq-evidence.json); OQ_KEY=... OQ_USER=... sign it.
.PHONY: oq
OQ_OUT ?= test-artifacts/oq

oq: $(STAMP)
	$(BIN)/gxp-otel oq --output $(OQ_OUT) $(if $(OQ_KEY),--key $(OQ_KEY) --user-id $(OQ_USER))
