# The main job (issue 4): `make demo` = set-up, then `gxp-otel demo` (Phoenix on 127.0.0.1:6006, left running).
demo: $(STAMP)
	$(BIN)/gxp-otel demo
