"""Every shipped collector config listens on loopback by default (exposing a port is an explicit operator choice)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "collector-config").glob("*.yaml"))
ENDPOINT = re.compile(r"^\s*endpoint:\s*(?P<value>\S+)", re.MULTILINE)
DEFAULT = re.compile(r"\$\{env:[A-Z0-9_]+:-(?P<default>[^}]+)\}")
OPERATOR_SET = re.compile(r"\A\$\{env:[A-Z0-9_]+(:-)?\}\Z")  # no default (must be set) or empty (off by default)


@pytest.mark.parametrize("config", [c for c in CONFIGS if "builder" not in c.name], ids=lambda p: p.name)
def test_every_endpoint_defaults_to_loopback(config):
    endpoints = [m.group("value") for m in ENDPOINT.finditer(config.read_text())]
    assert endpoints, "no endpoints found"
    for value in endpoints:
        if OPERATOR_SET.match(value):
            continue  # an address only the operator gives: nothing is exposed or sent anywhere by default
        default = DEFAULT.search(value)
        address = default.group("default") if default else value
        host = re.sub(r"^[a-z]+://", "", address).rsplit(":", 1)[0]
        assert host in ("127.0.0.1", "localhost", "[::1]"), f"{config.name}: {value}"
