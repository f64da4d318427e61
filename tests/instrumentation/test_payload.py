"""The direct path of the payload capture (`plain_json`) records exactly what `to_jsonable` does.

`PayloadCapture.capture` serialises plain JSON data without a secret directly; `capture_strict` always walks it
through `to_jsonable`. Every case here, and every generated value, must give equal `CapturedPayload`s.
"""

from __future__ import annotations

import enum
import math
from collections import OrderedDict
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from gxp_otel.instrumentation.payload import MAX_DEPTH, PayloadCapture, plain_json


class Role(str, enum.Enum):
    USER = "user"


class Colour(enum.Enum):
    RED = "red"
    ONE = 1


class Tag(str):
    pass


class Note(BaseModel):
    text: str


def nested(depth: int, leaf: object = "x") -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


SECRET = "sk-" + "a" * 30
CASES = [
    {"role": "user", "content": "Check batch B-7", "n": 3, "ok": True, "none": None, "x": 1.5},
    {"messages": [{"role": Role.USER, "blocks": [{"block_type": "text", "text": "hi"}]}]},
    {"prompt": f"use {SECRET} please"},  # a secret: redacted and flagged
    {"note": "the password: hunter22 is old"},
    {"api_key": "anything"},  # a sensitive key
    {"API_KEY": None},
    {"text": "task-based risk assessment in Asia"},  # anchors without a secret
    {"f": math.nan}, {"f": math.inf}, {"f": -math.inf}, {"f": -0.0},
    {"i": 2**63 - 1}, {"i": 2**63}, {"i": -(2**63)}, {"i": -(2**63) - 1}, {"i": 2**64 + 5},
    {"s": "lone \ud800 surrogate"}, {"s\ud800": 1},
    {1: "int key"}, {None: "none key"},
    {"t": (1, 2, "three")}, {"set": {1, 2}}, {"b": b"\x00bytes"}, {"d": datetime(2026, 1, 1, tzinfo=timezone.utc)},
    {"e": Colour.RED}, {"e": Colour.ONE}, {"tag": Tag("sub")}, {"od": OrderedDict(a=1)}, {"model": Note(text="n")},
    {"bool_int": [True, 1, False, 0]}, {"unicode": "Größe ✓ K"},
    nested(MAX_DEPTH - 1), nested(MAX_DEPTH), nested(MAX_DEPTH + 1), nested(MAX_DEPTH - 1, Role.USER),
    nested(MAX_DEPTH, Role.USER), nested(MAX_DEPTH, 7),
    "plain string", 42, None, [], {}, "x" * 5000,
]


@pytest.mark.parametrize("value", CASES, ids=[repr(c)[:40] for c in CASES])
@pytest.mark.parametrize("options", [{}, {"max_chars": 16}, {"capture_content": False}])
def test_capture_equals_strict_capture(value, options):
    capture = PayloadCapture(**options)
    assert capture.capture(value) == capture.capture_strict(value)


def test_cycle_is_captured_as_strict():
    value: list = [1]
    value.append(value)
    capture = PayloadCapture()
    assert plain_json(value) is None
    assert capture.capture(value) == capture.capture_strict(value)


def test_plain_data_takes_the_direct_path():
    assert plain_json({"role": Role.USER, "content": "Check batch B-7", "n": [1, 2.5, None, True]}) is not None


@pytest.mark.parametrize("value", [{"prompt": f"use {SECRET}"}, {"api_key": "x"}, {"f": math.nan}, {"i": 2**63},
                                   {"t": Tag("x")}, nested(MAX_DEPTH + 1)])
def test_anything_to_flag_or_redact_takes_the_strict_path(value):
    assert plain_json(value) is None


def test_recorded_value_is_a_copy():
    """A payload waiting in an export queue must not change when the application changes its objects."""
    data = {"items": [1, 2]}
    captured = PayloadCapture().capture(data)
    data["items"].append(3)
    assert captured.value == {"items": [1, 2]}


_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**65), max_value=2**65)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
            | st.sampled_from([SECRET, "Bearer abcdefghijklmnopqrstu", "pwd=abcd", "asia", "sk-", Role.USER,
                               Colour.RED, Colour.ONE, b"raw", "\ud800"]))
_keys = st.text(max_size=12) | st.sampled_from(["password", "Api-Key", "token", "secret", "role", "content"])
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
                       | st.dictionaries(_keys, inner, max_size=5), max_leaves=40)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_values, max_chars=st.sampled_from([16, 64, 4096]))
def test_generated_values_capture_as_strict(value, max_chars):
    capture = PayloadCapture(max_chars=max_chars)
    assert capture.capture(value) == capture.capture_strict(value)


class Box(BaseModel):
    item: object = None
    label: str = ""


def _loop() -> Box:
    box = Box(item=[])
    box.item.append(box)
    return box


def _events():
    from llama_index.core.llms.llm import ToolSelection
    from workflows.events import Event, StopEvent

    class Step(Event):
        n: int = 0

    tool = ToolSelection(tool_id="lookup_batch", tool_name="lookup_batch", tool_kwargs={"batch_id": "B-7"})
    return [
        {"response": "", "tool_calls": [tool], "chunks": 1},
        {"tool_calls": (tool, tool)},
        Step(n=3, extra="carried in _data"),
        StopEvent(result={"n": 1}),
        {"result": Step(n=1, token=SECRET)},  # a secret inside a model: redacted and flagged
        {"box": Box(item={"api_key": "x"})},  # a sensitive key inside a model
        {"box": Box(item={1: "int key"})},
        Box(item=Box(item=Box(item=Note(text="deep")))),
        nested(MAX_DEPTH - 2, Box(item="leaf")), nested(MAX_DEPTH - 1, Box(item="leaf")),
        nested(MAX_DEPTH, Box(item="leaf")),
        _loop(),
    ]


@pytest.mark.parametrize("options", [{}, {"max_chars": 16}, {"capture_content": False}])
def test_values_holding_pydantic_models_capture_as_strict(options):
    capture = PayloadCapture(**options)
    for value in _events():
        assert capture.capture(value) == capture.capture_strict(value), value


def test_models_inside_plain_data_take_the_direct_path():
    from gxp_otel.instrumentation.payload import models_as_mappings

    value = _events()[0]
    assert plain_json(value) is None
    assert plain_json(models_as_mappings(value)) is not None
    assert models_as_mappings({"a": [1, "x"]}) == {"a": [1, "x"]}


_modelled = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                         | st.dictionaries(_keys, inner, max_size=4) | st.builds(Box, item=inner, label=_keys),
                         max_leaves=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_modelled, max_chars=st.sampled_from([16, 4096]))
def test_generated_values_with_models_capture_as_strict(value, max_chars):
    capture = PayloadCapture(max_chars=max_chars)
    assert capture.capture(value) == capture.capture_strict(value)
