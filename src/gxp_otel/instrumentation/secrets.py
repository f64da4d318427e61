"""Default redaction of secrets in captured payloads (API keys, tokens, private keys, passwords).

Applied to every string a payload holds before it reaches Phoenix, the logs or the audit trail: a secret pasted into
a prompt or a tool result must not become a permanent, replicated record. Each redaction is flagged in the
payload's ``coerced`` list as ``<path>: secret-redacted:<kind>``, so the record says that (and where) it was
changed. Pure functions; thread-safe.
"""

from __future__ import annotations

import re

_PATTERNS = {
    "private-key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
    "openai-key": r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}",
    "aws-access-key": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github-token": r"\bgh[pousr]_[A-Za-z0-9]{30,}\b",
    "slack-token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    "jwt": r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    "bearer-token": r"(?i:\bbearer)\s+[A-Za-z0-9._~+/-]{16,}=*",
    "credential": r"(?i:\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)\b)\s*[=:]\s*[^\s,;&\"']{4,}",
}
_ANY = re.compile("|".join(f"(?P<{name.replace('-', '_')}>{pattern})" for name, pattern in _PATTERNS.items()))
SENSITIVE_KEYS = re.compile(
    r"(?i)^(?:password|passwd|pwd|secret|client[_-]?secret|api[_-]?key|access[_-]?token|refresh[_-]?token|"
    r"auth[_-]?token|authorization|private[_-]?key)$"
)


# Every pattern above needs one of these (lower-cased) substrings: a text without any is not scanned by the regex
# (substring tests are C loops over the text; the alternation is tried at every position). Keep in step with
# _PATTERNS: a pattern whose match contains none of these would be skipped (tests/instrumentation covers each kind).
_ANCHORS = ("-----begin", "sk-", "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xoxa-", "xoxb-", "xoxp-",
            "xoxr-", "xoxs-", "eyj", "bearer", "password", "passwd", "pwd", "secret", "apikey", "api_key", "api-key",
            "accesstoken", "access_token", "access-token", "authtoken", "auth_token", "auth-token")
_SHORTEST = 8  # "pwd=abcd": no secret the patterns find is shorter
# The letters that re's IGNORECASE matches to an ASCII letter of a pattern but str.lower() does not lower to it:
# "paſſword=..." and "apı_key: ..." match the credential pattern. They are folded before the anchors are sought.
_FOLD = str.maketrans({"\u017f": "s", "\u0131": "i", "\u0130": "i", "\u212a": "k"})


def may_hold_secret(text: str) -> bool:
    """False only when no default pattern can match `text` (too short, or none of the anchors in it)."""
    if len(text) < _SHORTEST:
        return False
    lowered = text.lower() if text.isascii() else text.translate(_FOLD).lower()
    return any(anchor in lowered for anchor in _ANCHORS)


# Texts known to hold no secret, so that a text recorded many times (a chat history repeated in every step's input,
# in stream events and in the LLM spans' messages) is scanned once. Bounded by total length; a dict whose single-key
# operations are atomic under the GIL. Only the text itself is a key (no hash or fingerprint that could collide).
_clean: dict[str, None] = {}
_clean_chars = 0
_CLEAN_BUDGET = 4_000_000  # characters held (the texts are shared with the records holding them)


def holds_no_secret(text: str) -> bool:
    """True when `redact_secrets(text)` leaves `text` as it is (no default pattern matches)."""
    global _clean_chars
    if len(text) < _SHORTEST or text in _clean:
        return True
    if may_hold_secret(text) and _ANY.search(text) is not None:
        return False
    if _clean_chars + len(text) > _CLEAN_BUDGET:
        _clean.clear()
        _clean_chars = 0
    _clean[text] = None
    _clean_chars += len(text)
    return True


def redact_secrets(text: str) -> tuple[str, list[str]]:
    """``text`` with every match of the default patterns replaced by ``[REDACTED:<kind>]``, and the kinds found."""
    if holds_no_secret(text):
        return text, []
    kinds: list[str] = []

    def replace(match: re.Match) -> str:
        kind = match.lastgroup.replace("_", "-")
        kinds.append(kind)
        return f"[REDACTED:{kind}]"

    return _ANY.sub(replace, text), kinds
