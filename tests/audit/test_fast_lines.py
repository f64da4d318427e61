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
