"""Secrets in workflow payloads are redacted by default patterns before they reach Phoenix, logs or the trail."""

from __future__ import annotations

from gxp_otel.instrumentation.payload import PayloadCapture
from gxp_otel.instrumentation.secrets import redact_secrets

SECRETS = {
    "openai-key": "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "aws-access-key": "AKIAIOSFODNN7EXAMPLE",
    "github-token": "ghp_" + "a1B2" * 9,
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "bearer-token": "Bearer abcdefghijklmnop1234567890",
    "credential": "password=Hunter2Hunter2",
    "private-key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+abc\n-----END PRIVATE KEY-----",
}


def test_each_default_pattern_is_redacted_and_named():
    for kind, secret in SECRETS.items():
        text, kinds = redact_secrets(f"before {secret} after")
        assert secret not in text and f"[REDACTED:{kind}]" in text and kinds == [kind], kind
        assert text.startswith("before ") and text.endswith(" after")


def test_ordinary_pharma_text_is_untouched():
    text = "URS-042 REQ-004: the system shall require an electronic signature; token count 512; sk-1 is a sample id"
    assert redact_secrets(text) == (text, [])


def test_captured_payloads_are_redacted_and_flagged():
    captured = PayloadCapture().capture({"prompt": f"use {SECRETS['openai-key']} please", "api_key": "anything",
                                         "nested": [{"Authorization": SECRETS["bearer-token"]}]})
    assert SECRETS["openai-key"] not in captured.text and "anything" not in captured.text
    assert "abcdefghijklmnop1234567890" not in captured.text
    assert "/prompt: secret-redacted:openai-key" in captured.coerced
    assert "/api_key: secret-redacted:sensitive-key" in captured.coerced
    assert "/nested/0/Authorization: secret-redacted:sensitive-key" in captured.coerced
