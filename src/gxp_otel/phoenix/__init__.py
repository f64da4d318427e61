"""Arize Phoenix, local: run it in the background on loopback (:class:`PhoenixServer`) and talk to its REST API
(:class:`PhoenixClient`). Only the server needs the ``phoenix`` extra installed; the client is standard library."""

from gxp_otel.phoenix.client import AuditAnnotation, PhoenixApiError, PhoenixClient
from gxp_otel.phoenix.server import (
    DATA_DIR_ENV,
    PhoenixError,
    PhoenixProcess,
    PhoenixServer,
    PhoenixStatus,
    free_port,
    is_healthy,
    resolve_data_dir,
)

__all__ = [
    "DATA_DIR_ENV",
    "AuditAnnotation",
    "PhoenixApiError",
    "PhoenixClient",
    "PhoenixError",
    "PhoenixProcess",
    "PhoenixServer",
    "PhoenixStatus",
    "free_port",
    "is_healthy",
    "resolve_data_dir",
]
