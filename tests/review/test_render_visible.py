"""The page's strings are made visible exactly as ``display.visible_text`` makes them (issue 16: printable ASCII
skips the call, since visible_text returns it unchanged)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gxp_otel.display import visible_text
from gxp_otel.review.render import _visible_strings


def test_every_ascii_character_and_the_bidi_and_format_ones_are_shown_as_visible_text_shows_them():
    for code in [*range(0x100), 0x061C, 0x200D, 0x200E, 0x202E, 0x2066, 0x2028, 0xFEFF, 0x00AD]:
        text = f"a{chr(code)}b"
        assert _visible_strings(text) == visible_text(text)
        assert _visible_strings({text: [text]}) == {visible_text(text): [visible_text(text)]}


@settings(max_examples=1000, deadline=None)
@given(text=st.text())
def test_any_text_is_shown_as_visible_text_shows_it(text):
    assert _visible_strings(text) == visible_text(text)
