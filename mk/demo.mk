# The main job (issue 4): `make demo` = set-up, then `gxp-otel demo` (Phoenix on 127.0.0.1, left running).
# Other ports: `make demo PHOENIX_PORT=16006 PHOENIX_GRPC_PORT=14317` (the same as `gxp-otel demo --port --grpc-port`).
PHOENIX_PORT ?= 6006
PHOENIX_GRPC_PORT ?= 4317

demo: $(STAMP)
	$(BIN)/gxp-otel demo --port $(PHOENIX_PORT) --grpc-port $(PHOENIX_GRPC_PORT)
