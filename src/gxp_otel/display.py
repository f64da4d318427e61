"""Showing text from the trail to people: terminal, rich markup and HTML-safe forms (issue 14.9).

Everything a trail holds (reasons, printed names, user ids, file names, problem details) was written by someone,
maybe an attacker. Pure functions, thread-safe. Guarantees:

- :func:`terminal_text` contains no C0/C1 control character (so no ANSI escape, carriage return, backspace or
  newline can repaint or forge a line such as a verdict), no DEL, and no Unicode bidirectional control or other
  invisible format character (which reorder what is shown, e.g. U+202E). Each such character is shown as a visible
  escape (``\\x1b``, ``\\u202e``), so nothing is hidden and the text stays unambiguous.
- :func:`markup_text` is :func:`terminal_text` with rich markup escaped: a ``[/]`` or ``[red]`` in a value is printed
  as written and never interpreted (nor crashes the printer).
- :func:`visible_text` (for HTML, after which the page's own escaping applies) replaces bidi and control characters
  the same way, keeping newlines and tabs, which HTML shows harmlessly.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rich.markup import escape as _escape_markup

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}\\u2028\\u2029\\ufeff]")
_UNSAFE_KEEP_LINES = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}\\u2028\\u2029\\ufeff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _other_format(text: str) -> str:
    """Escape the remaining invisible format characters (Unicode category Cf) the patterns do not list."""
    if text.isascii():
        return text
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) == "Cf" and ch != "\u200d" else ch
                   for ch in text)


def terminal_text(value: Any) -> str:
    """``value`` as one line that is safe to print on a terminal (see the module's guarantees)."""
    return _other_format(_UNSAFE.sub(_visible, str(value)))


def markup_text(value: Any) -> str:
    """``value`` safe to interpolate into a rich markup string (no markup, no control characters)."""
    return _escape_markup(terminal_text(value))


def visible_text(value: Any) -> str:
    """``value`` with control and bidi characters made visible, newlines and tabs kept (for HTML pages)."""
    return _other_format(_UNSAFE_KEEP_LINES.sub(_visible, str(value)))
