"""check_line_fast gives exactly check_line's result (record, problem, detail) on every line: every vector line,
every one-byte mutation of good lines of each kind, and generated records (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gxp_otel.audit.canonical import encode_record
from gxp_otel.audit.fast_lines import check_line_fast
from gxp_otel.audit.format import check_line

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _vector_lines() -> list[bytes]:
    lines: set[bytes] = set()
    for path in VECTORS.rglob("*"):
        if path.suffix == ".json" and path.parent.name in ("golden", "golden-v1"):
            for text in json.loads(path.read_text(encoding="utf-8"))["expected"]["files"].values():
                lines.update(text.encode("utf-8").split(b"\n"))
        elif path.is_file() and ".jsonl" in path.name and not path.name.endswith(".gz"):
            lines.update(path.read_bytes().split(b"\n"))
    return sorted(lines)


VECTOR_LINES = _vector_lines()


def _same(line: bytes) -> None:
    assert check_line_fast(line) == check_line(line), line[:200]


def test_vectors_hold_good_lines_of_every_kind():
    kinds = {check_line(line).record["kind"] for line in VECTOR_LINES if check_line(line).problem is None}
    assert {"genesis", "span", "log", "checkpoint", "rotation", "recovery", "gap"} <= kinds


def test_every_vector_line_gets_the_strict_result():
    assert len(VECTOR_LINES) > 100
    for line in VECTOR_LINES:
        _same(line)


def _good_lines_by_kind() -> list[bytes]:
    chosen: dict[str, bytes] = {}
    for line in VECTOR_LINES:
        checked = check_line(line)
        if checked.problem is None:
            kind = checked.record["kind"]
            if len(line) > len(chosen.get(kind, b"")):
                chosen[kind] = line
    return [chosen[k] for k in sorted(chosen)]


_REPLACEMENTS = (b"0", b"9", b"-", b'"', b"\\", b",", b":", b"[", b"}", b" ", b"\x00", b"\x7f", b"\xc3", b"\xff",
                 b"A", b"e")


def _mutate_every_byte(line: bytes, step: int) -> None:
    for position in range(0, len(line), step):
        for replacement in _REPLACEMENTS:
            _same(line[:position] + replacement + line[position + 1:])
        _same(line[:position] + line[position + 1:])
        _same(line[:position] + bytes([line[position] ^ 0x01]) + line[position + 1:])
        _same(line[:position] + b"1" + line[position:])


@pytest.mark.parametrize("line", _good_lines_by_kind(), ids=lambda line: check_line(line).record["kind"])
def test_one_byte_mutations_get_the_strict_result(line: bytes):
    _mutate_every_byte(line, 13)


@pytest.mark.slow
@pytest.mark.parametrize("line", _good_lines_by_kind(), ids=lambda line: check_line(line).record["kind"])
def test_every_one_byte_mutation_gets_the_strict_result(line: bytes):
    _mutate_every_byte(line, 1)


_TEXT = st.text(alphabet=st.sampled_from('aZ09-:,[]{}"\\\n\t\x00\x1f é€\ue000\U0001f600\ufeff'), max_size=8)
_SCALARS = st.one_of(_TEXT, st.booleans(), st.none(), st.integers(-10, 10), st.floats(allow_nan=False))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(_TEXT, inner, max_size=3)), max_leaves=12)
_BODIES = st.dictionaries(_TEXT, _VALUES, max_size=5)


@settings(max_examples=400, deadline=None)
@given(body=_BODIES, kind=st.sampled_from(["span", "log", "gap", "checkpoint"]), seq=st.integers(0, 2**63 + 5))
def test_generated_records_get_the_strict_result(body, kind, seq):
    import orjson

    try:
        body_json = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return
    _, line = encode_record(kind, "s.1", seq, "a" * 64, "2026-01-02T03:04:05.123456789Z", body_json)
    _same(line[:-1])
    _same(line[:-1].replace(b'"body":{', b'"body":{ ', 1))
    _same(json.dumps(json.loads(line), ensure_ascii=False).encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_get_the_strict_result(data):
    _same(data)
    good = VECTOR_LINES[len(data) % len(VECTOR_LINES)]
    cut = len(data) % (len(good) + 1)
    _same(good[:cut] + data + good[cut:])


def test_good_lines_are_accepted_without_the_strict_path(monkeypatch):
    """The equality above is not vacuous: good records of every kind take the fast path."""
    import gxp_otel.audit.fast_lines as fast_lines

    good = [line for line in VECTOR_LINES if check_line(line).problem is None]
    monkeypatch.setattr(fast_lines, "check_line", lambda line: pytest.fail(f"strict path taken: {line[:80]!r}"))
    for line in good:
        if b"\\u00" not in line and b"\xf0" not in line:  # a \u escape or 4-byte UTF-8 takes the strict path
            assert check_line_fast(line).problem is None


# The number search (_surely_number_free) against the truth: a body holds a number exactly when its value holds an
# int or a float. Strings are drawn from the bytes the search looks at, so ':1', '[-', ',2', '\\":3' and escaped
# backslashes before quotes occur inside strings and member names.
_TRICKY = st.text(alphabet=st.sampled_from(':,[]{}"\\-019eltrunaT '), max_size=10)
_NUMBERS = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False))
_JSON = st.recursive(st.one_of(_TRICKY, st.booleans(), st.none(), _NUMBERS),
                     lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TRICKY, inner, max_size=4)),
                     max_leaves=16)
_NUMBER_FREE = st.recursive(st.one_of(_TRICKY, st.booleans(), st.none()),
                            lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                    st.dictionaries(_TRICKY, inner, max_size=4)), max_leaves=16)


def _has_number(value) -> bool:
    if type(value) in (int, float):
        return True
    if isinstance(value, dict):
        return any(_has_number(v) for v in value.values())
    return isinstance(value, list) and any(_has_number(v) for v in value)


def _canonical(value) -> bytes | None:
    import orjson

    try:
        return orjson.dumps({"v": value}, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an int beyond 64 bits
        return None


@settings(max_examples=3000, deadline=None)
@given(value=_JSON)
def test_the_number_search_never_calls_a_body_with_a_number_number_free(value):
    from gxp_otel.audit.fast_lines import _holds_number, _surely_number_free

    text = _canonical(value)
    if text is None:
        return
    if _has_number(value):
        assert not _surely_number_free(text), text
        assert _holds_number(text), text
    elif _surely_number_free(text):
        assert not _holds_number(text), text


@settings(max_examples=1000, deadline=None)
@given(value=_NUMBER_FREE)
def test_the_number_search_and_the_parse_proof_agree_on_number_free_bodies(value):
    from gxp_otel.audit.fast_lines import _holds_number, _surely_number_free

    text = _canonical(value)
    assert not _holds_number(text) or "\\u" in text.decode(), text  # the proof fails only on \u escapes with digits


@pytest.mark.parametrize("text", [
    b'{"a":1}', b'{"a":-1}', b'{"a":[1]}', b'{"a":[[[-2]]]}', b'{"a":["x",1]}', b'{"a":[{},1]}', b'{"a":[[],1]}',
    b'{"a":[true,1]}', b'{"a":[false,1]}', b'{"a":[null,1]}', b'{"a":["\\\\",1]}', b'{"\\\\":1}', b'{"":0}',
    b'{"a":"\\"","b":2}', b'{"a":"\\\\\\"","b":[3]}', b'{"a":{"b":[["c"],[4]]}}', b'{"a":"x:1","b":[-0.5]}',
])
def test_the_number_search_finds_a_number_in_every_position_it_can_take(text):
    from gxp_otel.audit.fast_lines import _holds_number, _surely_number_free

    import orjson

    assert orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS) == text  # a canonical body
    assert _holds_number(text) and not _surely_number_free(text)


@pytest.mark.parametrize("text", [
    b'{"a":"{\\"x\\":1,\\"y\\":[-2],\\"z\\":[[3]]}"}', b'{"t":"2026-01-02T03:04:05Z"}', b'{"a":"[1, 2]"}',
    b'{"a":["x","[-1"," ,2"]}', b'{"a":"\\\\\\":1"}', b'{"a":"x,1 y,2 z:3"}', b'{"k:1":"v","l":[true,null]}',
])
def test_the_number_search_rules_out_digits_inside_strings(text):
    """Not vacuous: bodies whose strings hold JSON-looking digits are proven number-free without the second parse."""
    from gxp_otel.audit.fast_lines import _holds_number, _surely_number_free

    assert not _holds_number(text) and _surely_number_free(text)


@settings(max_examples=300, deadline=None)
@given(value=_JSON, seq=st.integers(0, 2**63 + 5))
def test_generated_records_with_numbers_and_tricky_strings_get_the_strict_result(value, seq):
    text = _canonical(value)
    if text is None:
        return
    _, line = encode_record("span", "s.1", seq, "a" * 64, "2026-01-02T03:04:05.123456789Z", text)
    _same(line[:-1])


def test_example_workflow_bodies_skip_the_second_parse(monkeypatch):
    """Span bodies holding JSON text in their attributes (the example workflow's input.value) are accepted without
    the parse proof."""
    import orjson

    import gxp_otel.audit.fast_lines as fast_lines

    inner = orjson.dumps({"requirements": [{"id": "REQ-001", "text": "x"}], "gamp_category": 5, "confidence": 0.92,
                          "when": "2026-12-03T19:02:38.075Z", "ids": [1, 2, [3]]}).decode()
    body = {"attributes": {"input.value": {"stringValue": inner}, "n": {"intValue": "5"}}, "events": [],
            "name": "step"}
    _, line = encode_record("span", "s.1", 7, "a" * 64, "2026-01-02T03:04:05.123456789Z",
                            orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    monkeypatch.setattr(fast_lines, "_holds_number", lambda text: pytest.fail("parse proof taken"))
    monkeypatch.setattr(fast_lines, "check_line", lambda text: pytest.fail("strict path taken"))
    assert fast_lines.check_line_fast(line[:-1]).record["body"] == body
