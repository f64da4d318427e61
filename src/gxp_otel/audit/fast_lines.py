"""A fast per-line check that gives exactly :func:`gxp_otel.audit.format.check_line`'s results (§10.1, §10.2).

:func:`check_line_fast` accepts a line only when a cheap proof holds, and otherwise returns what the strict
``check_line`` returns for it, so problems, details and records are always the strict ones. The proof, for a line
``L`` (without its ``\\n``):

1. ``orjson.loads(L)`` succeeds (valid UTF-8, valid JSON, no lone surrogates) and gives a dict whose ``body`` is a
   dict;
2. ``C = orjson.dumps(body, sorted keys)`` is the canonical body (§3: pure ASCII, or no 4-byte UTF-8 sequence, the
   one case where orjson's order is not JCS's) and ``L`` starts with ``{"body":`` followed by exactly ``C``. An
   object is self-delimiting, so the body text *is* ``C``: canonical, without duplicate members;
3. the rest of ``L`` matches :data:`_TAIL`, the canonical envelope after the body with values of the §4 shapes and
   no escapes: ``L`` is then the RFC 8785 form of a record with exactly the seven envelope members;
4. ``C`` holds no number: ``C`` with every ``-`` and digit replaced by ``x`` still parses (:func:`_holds_number`);
5. the seq fits int64, the time is a real calendar time, and SHA-256 over the record domain and ``L`` without its
   ``hash`` member equals the ``hash`` member.

Then the strict path would parse the same record (the JSON is number-free, so both parsers give the same values),
find it canonical and its hash right: the results are equal. Equality is also tested on every vector line, every
one-byte mutation of good lines and by property tests (tests/audit/test_fast_lines.py).

Pure and thread-safe.
"""

from __future__ import annotations

import hashlib
import re

import orjson

from gxp_otel.audit.canonical import RECORD_DOMAIN, parse_time
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


def check_line_fast(line: bytes) -> LineCheck:
    """:func:`~gxp_otel.audit.format.check_line` of ``line`` (without its ``\\n``), faster for good records."""
    try:
        record = orjson.loads(line)
        body = record["body"]
        if type(body) is not dict:
            return check_line(line)
        body_json = orjson.dumps(body, option=_SORTED)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError, KeyError):
        return check_line(line)
    end = 8 + len(body_json)
    if not (line.startswith(_HEAD) and line.startswith(body_json, 8) and _TAIL.match(line, end) is not None):
        return check_line(line)
    if _holds_number(body_json) or (not body_json.isascii() and _ASTRAL.search(body_json) is not None):
        return check_line(line)
    if not seq_in_range(record["seq"]) or parse_time(record["time"]) is None:
        return check_line(line)
    view = memoryview(line)
    digest = hashlib.sha256(RECORD_DOMAIN)
    digest.update(view[:end])
    digest.update(view[end + _HASH_MEMBER:])
    if digest.hexdigest() != record["hash"]:
        return check_line(line)
    return LineCheck(record)


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
