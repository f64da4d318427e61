"""Canonical JSON and hashing: RFC 8785 conformance and the fast path's equivalence to the reference."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gxp_otel.audit.canonical import (
    canonical_json,
    canonical_number_free,
    contains_json_number,
    encode_record,
    format_double,
    format_time_ns,
    hash_record_bytes,
    parse_time,
)

JCS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "jcs"
needs_jcs = pytest.mark.skipif(not JCS.is_dir(), reason="../shared/vectors/jcs is absent")


@needs_jcs
@pytest.mark.parametrize("name", sorted(p.name for p in (JCS / "input").glob("*.json")) if JCS.is_dir() else [])
def test_rfc8785_reference_vectors_canonicalise_exactly(name):
    value = json.loads((JCS / "input" / name).read_text(encoding="utf-8"))
    assert canonical_json(value) == (JCS / "output" / name).read_bytes().rstrip(b"\n")


@needs_jcs
def test_every_number_of_the_es6_vector_file_formats_like_v8():
    wrong = []
    for row in (JCS / "numbers.csv").read_text().splitlines():
        hex_bits, expected = row.split(",", 1)
        value = struct.unpack(">d", bytes.fromhex(hex_bits.zfill(16)))[0]
        if value != value or value in (float("inf"), float("-inf")):
            continue
        if format_double(value) != expected:
            wrong.append((hex_bits, expected, format_double(value)))
    assert wrong == []


json_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
number_free = st.recursive(
    st.none() | st.booleans() | json_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(number_free)
def test_fast_path_equals_the_reference_for_number_free_values(value):
    assert canonical_number_free(value) == rfc8785.dumps(value)
    assert canonical_json(value) == rfc8785.dumps(value)
    assert not contains_json_number(canonical_number_free(value))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(json_text, st.integers(-(2**53) + 1, 2**53 - 1) | st.floats(allow_nan=False, allow_infinity=False)))
def test_values_with_numbers_use_the_reference(value):
    out = canonical_json(value)
    assert out == rfc8785.dumps(value)
    assert contains_json_number(out) == bool(value)


def test_keys_sort_by_utf16_code_units_not_code_points():
    value = {"\ue000": "a", "\U0001f600": "b"}
    assert canonical_json(value) == '{"\U0001f600":"b","\ue000":"a"}'.encode("utf-8")


def test_number_detection_ignores_digits_inside_strings():
    assert not contains_json_number(b'{"a":"-1","b":["2:3","\\"4"]}')
    assert contains_json_number(b'{"a":"x","b":[true,-1]}')


def test_record_encoding_matches_canonical_json_of_the_whole_record():
    body = {"z": {"stringValue": "é"}, "a": {"intValue": "1"}}
    digest, line = encode_record("span", "host.0", 7, "0" * 64, "2026-01-01T00:00:00.000000001Z", canonical_json(body))
    record = {"kind": "span", "stream": "host.0", "seq": "7", "prev": "0" * 64,
              "time": "2026-01-01T00:00:00.000000001Z", "body": body}
    assert digest == hash_record_bytes(canonical_json(record))
    assert line == canonical_json({**record, "hash": digest}) + b"\n"


def test_record_hash_is_domain_separated():
    import hashlib

    assert hash_record_bytes(b"{}") != hashlib.sha256(b"{}").hexdigest()
    assert hash_record_bytes(b"{}") == hashlib.sha256(b"gxp-otel:record:v1\x00{}").hexdigest()


@given(st.integers(0, 2**63 - 1))
def test_recorded_time_round_trips(ns):
    text = format_time_ns(ns)
    assert len(text) == 30 and text.endswith("Z")
    assert parse_time(text) == ns


def test_non_finite_doubles_have_names():
    assert [format_double(x) for x in (float("nan"), float("inf"), float("-inf"), -0.0)] == [
        "NaN", "Infinity", "-Infinity", "0"]
