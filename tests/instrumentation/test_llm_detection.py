"""The per-class memo of OpenInference's LLM provider/system detection gives OpenInference's own answers."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import MockFunctionCallingLLM, MockLLM
from openinference.instrumentation.llama_index import _handler as oi_handler

from gxp_otel.instrumentation.llm_detection import DETECTORS, DetectionMemo


def _llm_classes() -> list[type]:
    """The LLM classes at hand plus subclasses whose names hit every class-name fallback of the detection."""
    bases = [MockLLM, MockFunctionCallingLLM]
    named = [type(name, (MockLLM,), {}) for name in (
        "MyOpenAILike", "AzureOpenAIThing", "AnthropicClaude", "VertexModel", "GeminiPro", "PlainLocal")]
    return bases + named


def _originals() -> dict[str, object]:
    """The unwrapped detection functions (whether or not something wrapped them meanwhile)."""
    return {name: getattr(getattr(oi_handler, name), "__wrapped__", getattr(oi_handler, name)) for name in DETECTORS}


@pytest.mark.parametrize("name", DETECTORS)
def test_memo_answers_what_openinference_answers_for_every_class(name):
    original = _originals()[name]
    memo = DetectionMemo()
    answers = set()
    for kind in _llm_classes():
        instance = kind()
        expected = original(instance)
        answers.add(expected)
        assert memo(original, None, (instance,), {}) == expected  # first: asks OpenInference
        assert memo(original, None, (kind(),), {}) == expected  # then: from the memo, same answer
    assert len(answers) >= 3  # the fallbacks were really exercised (provider names and None)


def test_memo_asks_once_per_class_and_is_bounded():
    calls = []

    def detect(instance):
        calls.append(type(instance))
        return type(instance).__name__

    memo = DetectionMemo(capacity=2)
    classes = [type(f"C{i}", (), {}) for i in range(3)]
    for kind in classes * 2:
        assert memo(detect, None, (kind(),), {}) == kind.__name__
    assert calls.count(classes[0]) <= 2 and len(memo._answers) <= 2
    memo = DetectionMemo()
    for _ in range(5):
        memo(detect, None, (classes[0](),), {})
    assert calls.count(classes[0]) == 3  # two above, one here


def test_memo_passes_other_calls_through():
    memo = DetectionMemo()
    assert memo(lambda *a, **k: (a, k), None, (1, 2), {"x": 3}) == ((1, 2), {"x": 3})
    assert memo(lambda v: v + 1, None, (41,), {}) == 42


def test_instrument_wraps_and_uninstrument_restores(telemetry_factory):
    before = {name: getattr(oi_handler, name) for name in DETECTORS}
    telemetry_factory()
    for name in DETECTORS:
        assert getattr(oi_handler, name) is not before[name]
        assert getattr(oi_handler, name).__wrapped__ is before[name]
    from gxp_otel.instrumentation import GxpWorkflowInstrumentor

    GxpWorkflowInstrumentor().uninstrument()
    for name in DETECTORS:
        assert getattr(oi_handler, name) is before[name]


def test_llm_span_attributes_unchanged(telemetry):
    """An LLM call records the provider/system attributes OpenInference's own functions give for its class."""
    class OpenAIStub(MockFunctionCallingLLM):  # hits the class-name fallback: provider and system "openai"
        pass

    llm = OpenAIStub()
    originals = _originals()
    for _ in range(2):  # the second call is answered from the memo
        asyncio.run(llm.achat([ChatMessage(role=MessageRole.USER, content="hi")]))
    llm_spans = [s for s in telemetry.finished_spans() if s.attributes.get("openinference.span.kind") == "LLM"]
    assert len(llm_spans) >= 2
    for span in llm_spans:
        assert span.attributes.get("llm.provider") == originals["_detect_llm_provider"](llm)
        assert span.attributes.get("llm.system") == originals["_detect_llm_system"](llm)
    assert llm_spans[0].attributes.get("llm.provider") == "openai"
