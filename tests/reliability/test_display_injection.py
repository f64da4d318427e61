"""Terminal and display injection (issue 14.9): text from the trail never reaches a terminal raw. ANSI escapes in an
e-signature reason or printed name are shown escaped, a purge reason holding rich markup (`[/]`) neither crashes a
later text-mode `verify` nor styles it, and bidi controls are shown as visible escapes. Real CLI processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gxp_otel.display import markup_text, terminal_text, visible_text
from gxp_otel.part11.keys import SignerKey
from gxp_otel.part11.retention import purge
from part11.p11_helpers import DAY_NS, PASSPHRASE, START_NS, daily_trail, small_trail, writer_key

REPAINT = "\x1b[2J\x1b[1;1H\x1b[32mVERIFIED\x1b[0m"
HOSTILE = f"ok {REPAINT} [/] [bold red]x[/] \u202etxt.exe\r\n"


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "gxp_otel.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200", **(env or {})})


def _assert_safe(text: str) -> None:
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    assert "Traceback" not in text


def test_display_functions_escape_controls_bidi_and_markup():
    assert terminal_text("a\x1b[31mb\u202ec\nd\x9b") == "a\\x1b[31mb\\u202ec\\x0ad\\x9b"
    assert markup_text("[/] [red]x") == "\\[/] \\[red]x"
    assert visible_text("line 1\nline\u2067 2\t!") == "line 1\nline\\u2067 2\t!"
    assert terminal_text("Zoë 検証 👩\u200d🔬") == "Zoë 検証 👩\u200d🔬"  # ordinary text is untouched


@pytest.fixture(scope="module")
def hostile_signer(tmp_path_factory) -> SignerKey:
    return SignerKey.create(tmp_path_factory.mktemp("keys") / "mallory.key", printed_name=f"Mallory {REPAINT}",
                            user_id="mallory", passphrase=PASSPHRASE)


def test_a_purge_reason_with_markup_and_escapes_never_crashes_or_repaints_verify(tmp_path, hostile_signer):
    daily_trail(tmp_path, 5, retention_days=30)
    purged = purge(tmp_path, before_ns=START_NS + 3 * DAY_NS + DAY_NS // 2, reason=HOSTILE, policy=f"SOP {REPAINT}",
                   key=hostile_signer, user_id="mallory", passphrase=PASSPHRASE, retention_days=30,
                   checkpoint_key=writer_key())
    assert purged
    shown = _cli("verify", tmp_path, "--purger", hostile_signer.path.with_name("mallory.key.signer.json"))
    assert shown.returncode in (0, 1), shown.stderr
    _assert_safe(shown.stdout + shown.stderr)
    assert "purged by policy" in shown.stdout and "[/] [bold red]x[/]" in shown.stdout
    assert "\\x1b[2J" in shown.stdout and "\\u202etxt.exe" in shown.stdout
    verdicts = [line for line in shown.stdout.splitlines() if line.lstrip().startswith(("VERIFIED", "NOT VERIFIED"))]
    assert len(verdicts) == 1  # the real verdict only: none painted or forged on a line of its own by the reason
    listed = _cli("retention", "list", tmp_path, "--before", "2020-01-04")
    _assert_safe(listed.stdout + listed.stderr)


def test_an_esignature_reason_and_printed_name_are_shown_escaped(tmp_path, hostile_signer):
    small_trail(tmp_path).close()
    signed = _cli("sign", tmp_path, "--seq", "2", "--meaning", "approved", "--reason", HOSTILE, "--key",
                  hostile_signer.path, "--user-id", "mallory", "--passphrase-env", "SIGNER_PASS",
                  env={"SIGNER_PASS": PASSPHRASE})
    assert signed.returncode == 0, signed.stderr
    _assert_safe(signed.stdout + signed.stderr)
    assert "Mallory \\x1b[2J" in signed.stdout
    shown = _cli("verify", tmp_path)
    _assert_safe(shown.stdout + shown.stderr)
    assert "Mallory \\x1b[2J" in shown.stdout
