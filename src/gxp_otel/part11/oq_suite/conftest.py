"""Fixtures of the OQ suite: a signed trail written through the OpenTelemetry SDK, signer keys, tamper helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from gxp_otel.audit.exporters import ComplianceSpanExporter
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.part11.keys import SignerKey

PASSPHRASE = "oq passphrase 1"
SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"  # RFC 8032 test 2


@pytest.fixture(scope="session")
def writer_key() -> CheckpointSigner:
    return CheckpointSigner.from_seed(SEED)


@pytest.fixture(scope="session")
def signer(tmp_path_factory) -> SignerKey:
    return SignerKey.create(tmp_path_factory.mktemp("oq-keys") / "qa.key", printed_name="Quinn Assurance",
                            user_id="qa.1", passphrase=PASSPHRASE)


@pytest.fixture(scope="session")
def base_trail(tmp_path_factory, writer_key) -> Path:
    """Twelve spans of one workflow run, attributed to a user, checkpointed every four records, closed."""
    directory = tmp_path_factory.mktemp("oq-trail")
    exporter = ComplianceSpanExporter(directory, signing_key=writer_key, compress=False, checkpoint_records=4)
    provider = TracerProvider(resource=Resource.create({"service.name": "oq", "enduser.id": "qa.author"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("oq")
    with tracer.start_as_current_span("workflow.run", attributes={"gxp.workflow.run_id": "run-1"}):
        for step in range(11):
            with tracer.start_as_current_span(f"step-{step}", attributes={"step.index": step}):
                pass
    provider.shutdown()
    return directory


@pytest.fixture()
def trail(base_trail, tmp_path) -> Path:
    """A private copy of the base trail, to tamper with."""
    return Path(shutil.copytree(base_trail, tmp_path / "trail"))


def chain_file(directory: Path, stream: str = "") -> Path:
    """The first chain file of the application's stream (``stream="esign"``: of the signatures' own stream)."""
    (path,) = [p for p in sorted(directory.glob("audit-*-000001.jsonl")) if p.name.startswith("audit-esign.")
               == (stream == "esign")]
    return path


def records(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]
