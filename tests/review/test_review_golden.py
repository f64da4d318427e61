"""The review pass gives the very data and page it gave before it was made faster (issue 16): digests pinned in
review_golden.json on every vector trail, the example workflow's trail and a multi-file replica of it, with the
default caps and small ones (see review_golden.py)."""

from __future__ import annotations

import orjson
import pytest
from review_golden import GOLDEN, OPTIONS, cases, digests

EXPECTED = orjson.loads(GOLDEN.read_bytes())


@pytest.fixture(scope="module")
def trails(tmp_path_factory) -> dict:
    return cases(tmp_path_factory.mktemp("golden"))


def test_every_case_is_pinned(trails):
    assert sorted(EXPECTED) == sorted(f"{name} {option}" for name in trails for option in OPTIONS)


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_the_review_of_every_trail_is_the_pinned_one(trails, option):
    changed = [name for name, trail in trails.items() if digests(trail, option) != EXPECTED[f"{name} {option}"]]
    assert not changed, f"review output changed for {changed} (see tests/review/review_golden.py)"
