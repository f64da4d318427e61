"""A fast per-line check that gives exactly :func:`gxp_otel.audit.format.check_line`'s results (§10.1, §10.2).

:func:`accepted_record` returns a line's record only when a cheap proof holds, and :func:`check_line_fast` otherwise
returns what the strict ``check_line`` returns for it, so problems, details and records are always the strict ones.
The proof, for a line ``L`` (without its ``\\n``):

1. ``orjson.loads(L)`` succeeds (valid UTF-8, valid JSON, no lone surrogates) and gives a dict whose ``body`` is a
   dict;
2. ``C = orjson.dumps(body, sorted keys)`` is the canonical body (§3: pure ASCII, or no 4-byte UTF-8 sequence, the
   one case where orjson's order is not JCS's) and ``L`` starts with ``{"body":`` followed by exactly ``C``. An
   object is self-delimiting, so the body text *is* ``C``: canonical, without duplicate members;
3. the rest of ``L`` matches :data:`_TAIL`, the canonical envelope after the body with values of the §4 shapes and
   no escapes: ``L`` is then the RFC 8785 form of a record with exactly the seven envelope members;
4. ``C`` holds no number (§3): :func:`_surely_number_free` (a byte search, :func:`_cannot_start_first_number`), or
   when it cannot tell, the parse proof :func:`_holds_number`;
5. the seq fits int64, the time is a real calendar time, and SHA-256 over the record domain and ``L`` without its
   ``hash`` member equals the ``hash`` member.

Then the strict path would parse the same record (the JSON is number-free, so both parsers give the same values),
find it canonical and its hash right: the results are equal. Equality is also tested on every vector line, every
one-byte mutation of good lines and by property tests (tests/audit/test_fast_lines.py).

Pure and thread-safe (the one cache, of the last calendar-valid second, is an immutable string replaced by rebinding).
"""

from __future__ import annotations

import re

import orjson

from gxp_otel.audit.canonical import hash_body_and_tail, parse_time
from gxp_otel.audit.format import KNOWN_KINDS, LineCheck, check_line, seq_in_range

_SORTED = orjson.OPT_SORT_KEYS
_HEAD = b'{"body":'
_TAIL = re.compile(
    rb',"hash":"[0-9a-f]{64}","kind":"(?:' + b"|".join(k.encode() for k in sorted(KNOWN_KINDS)) + rb')"'
    rb',"prev":"[0-9a-f]{64}","seq":"(?:0|[1-9][0-9]{0,18})","stream":"[A-Za-z0-9._]{1,64}"'
    rb',"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z"\}\Z'
)
_DIGITS_TO_X = bytes.maketrans(b"-0123456789", b"xxxxxxxxxxx")
_ASTRAL = re.compile(rb"[\xf0-\xf4]")
_HASH_MEMBER = len(b',"hash":"') + 64 + 1  # bytes of ,"hash":"<64 hex>"
_DECODE_ERRORS = (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError, KeyError)

# ``:``, ``,`` and ``[`` become ``:``; ``-`` and the digits ``0``: ``b":0"`` in the translation marks each place where
# a number token may start right after one of them
_NUMBER_STARTS = bytes.maketrans(b",[-0123456789", b"::00000000000")
_QUOTE, _BACKSLASH, _COLON, _COMMA, _BRACKET = b'"'[0], b"\\"[0], b":"[0], b","[0], b"["[0]
_NOT_NUMBER_ENDS = frozenset(b"}]el")  # last bytes of a value that is not a number: object, array, true/false, null
_valid_second = ""  # the last recorded time's first 19 characters that parse_time accepted


def check_line_fast(line: bytes) -> LineCheck:
    """:func:`~gxp_otel.audit.format.check_line` of ``line`` (without its ``\\n``), faster for good records."""
    record = accepted_record(line)
    return LineCheck(record) if record is not None else check_line(line)


def accepted_record(line: bytes) -> dict | None:
    """The record of ``line`` (without its ``\\n``) when the proof above holds: then ``check_line(line)`` is exactly
    ``LineCheck(record)``; ``None`` when it does not (the line may still be good: ask ``check_line``)."""
    global _valid_second
    try:
        record = orjson.loads(line)
        body = record["body"]
        if type(body) is not dict:
            return None
        body_json = orjson.dumps(body, option=_SORTED)
    except _DECODE_ERRORS:
        return None
    end = 8 + len(body_json)
    if not (line.startswith(_HEAD) and line.startswith(body_json, 8) and _TAIL.match(line, end) is not None):
        return None
    if not _surely_number_free(body_json) and _holds_number(body_json):
        return None
    if not body_json.isascii() and _ASTRAL.search(body_json) is not None:
        return None
    time = record["time"]
    if time[:19] != _valid_second:  # _TAIL fixed its form: only the date and the second can be impossible
        if parse_time(time) is None:
            return None
        _valid_second = time[:19]
    if not seq_in_range(record["seq"]):
        return None
    view = memoryview(line)
    if hash_body_and_tail(view[8:end], view[end + _HASH_MEMBER:]) != record["hash"]:
        return None
    return record


def _surely_number_free(canonical: bytes) -> bool:
    """Whether the JSON text ``canonical``, as orjson writes it (valid, no whitespace between tokens), surely holds no
    number token; ``False`` when it may hold one. Without whitespace a number token starts right after ``:`` (a
    member value), ``[`` (a first element) or ``,`` (a later element): each such place is found by one byte search
    and kept unless :func:`_cannot_start_first_number` proves it is not where the text's first number starts. A
    text with a number has a first one, which is never ruled out, so ``True`` is never said of it."""
    starts = canonical.translate(_NUMBER_STARTS)
    at = starts.find(b":0")
    while at >= 0:
        if not _cannot_start_first_number(canonical, at):
            return False
        at = starts.find(b":0", at + 1)
    return True


def _cannot_start_first_number(text: bytes, at: int) -> bool:
    """For ``text[at]`` one of ``:``, ``,``, ``[`` followed by ``-`` or a digit: ``True`` only when the byte after it
    cannot start the first number token of ``text`` (a valid compact JSON object). Were it that token:

    - after ``[`` (possibly several), the ``[`` are structural, so the byte before them is a structural ``:`` or ``,``
      (after ``{`` comes ``"`` or ``}``; the text starts with ``{``);
    - a structural ``:`` follows the unescaped quote closing a member name;
    - a structural ``,`` before a value is in an array and follows the previous element's last byte, which, the
      number being the first, is not a digit: ``}``, ``]``, ``e`` (true, false), ``l`` (null) or an unescaped quote.

    A quote is escaped when an odd number of backslashes precede it: backslashes occur only inside strings, and the
    byte before the run is not a backslash, so the run starts where an escape may start and pairs up as ``\\\\``."""
    while text[at] == _BRACKET:
        at -= 1
    if at < 1:
        return False
    before = text[at - 1]
    mark = text[at]
    if mark == _COLON:
        return before != _QUOTE or _escaped_quote(text, at - 1)
    if mark == _COMMA:
        if before == _QUOTE:
            return _escaped_quote(text, at - 1)
        return before not in _NOT_NUMBER_ENDS
    return True  # a '[' after anything else is inside a string


def _escaped_quote(text: bytes, quote: int) -> bool:
    """Whether the quote at ``text[quote]`` follows an odd number of backslashes."""
    start = quote
    while start > 0 and text[start - 1] == _BACKSLASH:
        start -= 1
    return (quote - start) & 1 == 1


def _holds_number(canonical: bytes) -> bool:
    """Whether the JSON text ``canonical`` (valid, as orjson wrote it) may hold a number token; ``False`` only when
    it surely holds none. Every ``-`` and digit becomes ``x``, which no JSON token outside a string starts with;
    quotes and backslashes are unchanged, so strings stay strings (a ``\\u`` escape with a digit stops being an
    escape and fails the parse). The parser reaches the first number token, if there is one, in the same state as
    in the original text and fails there: a successful parse proves there is none."""
    try:
        orjson.loads(canonical.translate(_DIGITS_TO_X))
    except orjson.JSONDecodeError:
        return True
    return False
