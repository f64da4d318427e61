"""`encode_value`'s plain-data fast path builds exactly the tree (and flags) of the reference `_encode`."""

import enum
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from gxp_otel.audit.values import MAX_DEPTH, _encode, encode_value


def reference(value):
    coerced: list[str] = []
    return _encode(value, "body", coerced, 0, set()), coerced


def fast(value):
    coerced: list[str] = []
    return encode_value(value, "body", coerced), coerced


class Text(str):
    pass


class Table(dict):
    pass


class Colour(enum.Enum):
    RED = "red"


scalars = st.one_of(
    st.none(), st.booleans(), st.text(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=8),
    st.builds(Text, st.text(max_size=4)), st.just(Colour.RED), st.frozensets(st.integers(), max_size=3),
)
keys = st.one_of(st.text(max_size=6), st.integers(), st.builds(Text, st.text(max_size=3)))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(keys, inner, max_size=4),
        st.builds(Table, st.dictionaries(st.text(max_size=3), inner, max_size=2)),
    ),
    max_leaves=24,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_fast_path_equals_the_reference_on_generated_values(value):
    assert fast(value) == reference(value)


def test_plain_payloads_take_the_fast_path_and_equal_the_reference():
    payload = {"input": [{"role": "user", "blocks": [{"text": "Check batch B-7", "n": 3, "x": 1.5}]}],
               "flags": (True, False, None), "big": 2**63 - 1, "nan": math.nan, "": {}}
    assert fast(payload) == reference(payload)
    assert fast(payload)[1] == []


def nested(depth):
    value: object = "leaf"
    for _ in range(depth):
        value = [value] if depth % 2 else {"k": value}
    return value


def test_depth_limit_cycles_and_out_of_range_ints_are_flagged_as_by_the_reference():
    loop: list = []
    loop.append(loop)
    table: dict = {}
    table["self"] = table
    for value in (nested(MAX_DEPTH - 1), nested(MAX_DEPTH), nested(MAX_DEPTH + 1), loop, table,
                  {"n": 2**63}, [-(2**63) - 1], {1: "x"}, [b"\x00"], {"s": {1, 2}}):
        got, flags = fast(value)
        assert (got, flags) == reference(value)
    assert reference(nested(MAX_DEPTH + 2))[1]  # the reference does flag these (the test can fail)
