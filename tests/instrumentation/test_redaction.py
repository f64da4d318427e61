"""12.2: secrets and the payload cap on EVERY span and log record (OpenInference's LLM and tool spans included), before
either exporter sees them: the in-memory exporter and the audit trail both get the redacted, capped record."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agent_helpers import AWS_KEY, BEARER, OPENAI_KEY, triage_workflow
from instr_helpers import trail_records

SECRETS = (OPENAI_KEY, BEARER.split()[1], AWS_KEY)


@pytest.fixture
def traced(telemetry, tmp_path):
    """The in-memory pipeline plus the audit trail's exporters on the same providers (added after instrument())."""
    from gxp_otel.audit.exporters import ComplianceLogExporter, ComplianceSpanExporter

    spans, logs = ComplianceSpanExporter(tmp_path), ComplianceLogExporter(tmp_path)
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    yield telemetry, tmp_path
    spans.shutdown()
    logs.shutdown()


async def run_agents(**kwargs):
    handler = triage_workflow(**kwargs).run(user_msg=f"Check batch B-7; my key is {OPENAI_KEY}")
    async for _ in handler.stream_events():
        pass
    return await handler


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_no_secret_reaches_any_exporter_from_llm_tool_or_agent_spans(traced):
    telemetry, trail = traced
    result = asyncio.run(run_agents())
    assert "approved" in str(result)
    spans = telemetry.finished_spans()
    llm = [s for s in spans if s.attributes.get("openinference.span.kind") == "LLM"]
    tools = [s for s in spans if s.attributes.get("openinference.span.kind") == "TOOL"]
    assert llm and tools
    for span in spans:
        assert not leaks(repr(dict(span.attributes)) + repr([dict(e.attributes) for e in span.events])), span.name
    flagged = [k for s in llm for k in s.attributes.get("gxp.capture.redacted", ())]
    assert any(k.startswith("llm.input_messages.") and k.endswith(": openai-key") for k in flagged)
    assert any(": bearer-token" in k for k in flagged) and any(": aws-access-key" in k for k in flagged)
    for log in telemetry.log_records():
        assert not leaks(repr(log.body) + repr(dict(log.attributes or {})))
    records = trail_records(trail)
    assert {r["kind"] for r in records} >= {"span", "log"}
    assert not leaks("\n".join(map(repr, records)))
    assert "[REDACTED:" in "\n".join(map(repr, records))


def test_the_payload_cap_applies_to_openinference_values_with_size_and_hash_of_the_full_text(telemetry_factory):
    telemetry = telemetry_factory(payload_max_chars=256)
    final = "RESULT " + "x" * 5000
    asyncio.run(run_agents(final=final))
    capped = [s for s in telemetry.finished_spans() if s.attributes.get("gxp.capture.truncated")]
    assert capped
    for span in telemetry.finished_spans():
        for key, value in span.attributes.items():
            if isinstance(value, str) and not key.startswith("gxp.capture"):
                assert len(value) <= 256, (span.name, key)
    entry = next(e for s in capped for e in s.attributes["gxp.capture.truncated"] if "output" in e)
    key, size, digest = entry.split(" ")
    assert int(size.removeprefix("size=")) > 256 and len(digest.removeprefix("sha256=")) == 64


def test_log_records_of_any_logger_are_redacted_and_capped(telemetry_factory):
    telemetry = telemetry_factory(payload_max_chars=64)
    logger = telemetry.logger_provider.get_logger("app.lims")
    long_text = "y" * 1000
    logger.emit(body=f"login with api_key={OPENAI_KEY[3:]} ok", attributes={"header": BEARER, "note": long_text})
    (record,) = [r for r in telemetry.log_records() if r.body and "login" in r.body]
    assert "[REDACTED:" in record.body and OPENAI_KEY[3:] not in record.body
    assert BEARER.split()[1] not in record.attributes["header"]
    assert len(record.attributes["note"]) == 64
    assert record.attributes["gxp.capture.truncated"] == (
        f"note size=1000 sha256={hashlib.sha256(long_text.encode()).hexdigest()}",)
    assert "body: credential" in record.attributes["gxp.capture.redacted"]


def test_spans_the_application_makes_itself_are_redacted_too(telemetry):
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("lims.call") as span:
        span.set_attribute("http.request.header.authorization", BEARER)
        span.add_event("retry", {"detail": f"token {BEARER}"})
    (done,) = [s for s in telemetry.finished_spans() if s.name == "lims.call"]
    assert BEARER.split()[1] not in repr(dict(done.attributes)) + repr([dict(e.attributes) for e in done.events])
    assert done.events[0].attributes["gxp.capture.redacted"] == ("detail: bearer-token",)


@pytest.mark.parametrize("secret", [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", OPENAI_KEY,
    "sk-ant-" + "a" * 30, AWS_KEY, "ASIA" + "B" * 16, "ghp_" + "c" * 36, "gho_" + "d" * 36, "xoxb-1234567890-abc",
    "eyJhbGciOiJI.eyJzdWIiOiIx.c2lnbmF0dXJl", "BEARER " + "e" * 20, "Password: hunter22", "PWD=abcd",
    "secret = s3cr3tvalue", "API-KEY: zzzzzz", "apikey=qwerty", "Access_Token=tttt", "auth-token: uuuu",
])
def test_every_kind_of_secret_is_found_in_any_case(secret):
    """The cheap pre-check in secrets.py never lets a secret the patterns find go unscanned."""
    from gxp_otel.instrumentation.secrets import redact_secrets

    text, kinds = redact_secrets(f"before {secret} after")
    assert kinds and "[REDACTED:" in text
    assert secret.split()[-1] not in text


@pytest.mark.parametrize("secret", ["pa\u017f\u017fword=hunter22", "ap\u0131_key: abcd1234", "ap\u0130_key: abcd1234",
                                    "\u017fecret = s3cr3tvalue", "acce\u017f\u017f_token=tttt"])
def test_letters_the_regex_matches_case_insensitively_are_not_missed_by_the_pre_check(secret):
    """re's IGNORECASE matches long s, dotless i, dotted capital I and the Kelvin sign to ASCII letters, which
    str.lower() does not produce: the pre-check folds them first."""
    from gxp_otel.instrumentation.secrets import holds_no_secret, redact_secrets

    text, kinds = redact_secrets(f"before {secret} after")
    assert kinds == ["credential"] and text == "before [REDACTED:credential] after"
    assert not holds_no_secret(secret)


def test_a_text_found_clean_is_remembered_and_a_secret_never_is():
    from gxp_otel.instrumentation import secrets

    clean = "a long tool result without anything to redact " * 10
    assert secrets.holds_no_secret(clean) and clean in secrets._clean
    assert not secrets.holds_no_secret(f"{clean} {OPENAI_KEY}")
    assert f"{clean} {OPENAI_KEY}" not in secrets._clean


def test_a_rag_steps_retrieved_documents_are_redacted_in_the_retriever_span(telemetry):
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from workflows import Context, Workflow, step
    from workflows.events import StartEvent, StopEvent

    index = VectorStoreIndex.from_documents(
        [Document(text=f"SOP-12 LIMS access: use api_key={OPENAI_KEY[3:]} for the export job."),
         Document(text="SOP-13: samples are stored at 4 C.")], embed_model=MockEmbedding(embed_dim=8))
    retriever = index.as_retriever(similarity_top_k=2)

    class Rag(Workflow):
        @step
        async def retrieve(self, ctx: Context, ev: StartEvent) -> StopEvent:
            nodes = await retriever.aretrieve(ev.get("question"))
            return StopEvent(result=[n.get_content() for n in nodes])

    async def go():
        return await Rag(timeout=30).run(question="How is the LIMS export authorised?")

    result = asyncio.run(go())
    assert any(OPENAI_KEY[3:] in text for text in result)  # the application's own data is untouched
    retrievals = [s for s in telemetry.finished_spans() if s.attributes.get("openinference.span.kind") == "RETRIEVER"]
    assert retrievals
    for span in telemetry.finished_spans():
        assert OPENAI_KEY[3:] not in repr(dict(span.attributes)), span.name
    flagged = [e for s in retrievals for e in s.attributes.get("gxp.capture.redacted", ())]
    assert any(e.startswith("retrieval.documents.") for e in flagged)
