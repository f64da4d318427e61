"""Entry point of the Phoenix child process: ``phoenix serve`` with its gRPC listener on loopback only.

Phoenix 20.x binds its OTLP/gRPC listener to ``[::]`` whatever ``PHOENIX_HOST`` says, which would expose an
unauthenticated trace intake on every interface. This process is started by :class:`gxp_otel.phoenix.PhoenixServer`
and runs nothing but Phoenix, so here (and only here) ``grpc.aio.server`` is wrapped: every ``[::]:<port>`` or
``0.0.0.0:<port>`` address Phoenix asks for is bound as ``127.0.0.1:<port>`` instead. HTTP is bound by
``PHOENIX_HOST=127.0.0.1``, which the parent sets.

Guarantee: in this process no gRPC port is ever bound to a non-loopback address by Phoenix.
"""

from __future__ import annotations

import sys
from typing import Any

LOOPBACK = "127.0.0.1"
_WILDCARD_HOSTS = ("[::]", "0.0.0.0", "::", "")


def loopback_address(address: str) -> str:
    """Return ``address`` with a wildcard host replaced by 127.0.0.1; other hosts are kept as they are."""
    host, sep, port = address.rpartition(":")
    if sep and host in _WILDCARD_HOSTS:
        return f"{LOOPBACK}:{port}"
    return address


class _LoopbackGrpcServer:
    """Delegates to a real ``grpc.aio.Server``; only the two bind calls rewrite their address."""

    def __init__(self, server: Any) -> None:
        self._server = server

    def add_insecure_port(self, address: str) -> int:
        return self._server.add_insecure_port(loopback_address(address))

    def add_secure_port(self, address: str, server_credentials: Any) -> int:
        return self._server.add_secure_port(loopback_address(address), server_credentials)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


def bind_grpc_to_loopback() -> None:
    """Wrap ``grpc.aio.server`` in this process so every server it creates binds loopback only."""
    import grpc.aio

    real_server = grpc.aio.server
    if getattr(real_server, "_gxp_otel_loopback", False):
        return

    def loopback_server(*args: Any, **kwargs: Any) -> _LoopbackGrpcServer:
        return _LoopbackGrpcServer(real_server(*args, **kwargs))

    loopback_server._gxp_otel_loopback = True  # type: ignore[attr-defined]
    grpc.aio.server = loopback_server


def main() -> None:
    bind_grpc_to_loopback()
    from phoenix.server.main import main as phoenix_main

    sys.argv = ["phoenix", "serve"]
    phoenix_main()


if __name__ == "__main__":
    main()
