"""Red team, retention (docs/audit-format.md §12.3): the purging tool and the time a tombstone claims.

A held (WORM) checkpoint copy holds the writer's statements byte for byte and no arrival time, so it cannot
contradict a purge time; what it does show is a stream rolled back or rewritten. HOLE (before this change):
`retention purge` verified the trail only against its own keys and without the auditor's held copy, so a stream
whose tail an attacker had cut (local checkpoint file rewritten to match) was purged as "verified": evidence of a
problem destroyed by the routine that promises never to purge it.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import orjson

from attack_helpers import ALICE, K, START, Clock, both, kinds, log, writer
from gxp_otel.part11.retention import purge, survey

DAY = 86_400 * 10**9
NOW = START + 3000 * DAY
BEFORE = START + 3 * DAY + DAY // 2


def daily_trail(directory: Path, days: int = 5) -> Path:
    """One record a day from 2020-01-01 (daily rotation), files aged as their last record, and the WORM copy."""
    now = [START]

    def clock() -> int:
        now[0] += 1_000
        return now[0]

    w = writer(directory, clock=clock, retention_days=30)  # 30 days, so a purge is due by the real clock too
    for day in range(days):
        now[0] = START + day * DAY
        w.append("log", [log(f"day {day}")])
    w.close()
    for path in directory.glob("audit-app.0-*.jsonl"):
        last = orjson.loads(path.read_bytes().splitlines()[-1])["time"]
        seconds = datetime.strptime(last[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
        os.utime(path, (seconds, seconds))
    worm = directory.parent / "worm"
    worm.mkdir()
    shutil.copy(directory / "audit-app.0.checkpoints.jsonl", worm / "audit-app.0.checkpoints.jsonl")
    return worm / "audit-app.0.checkpoints.jsonl"


def cut_tail(directory: Path) -> None:
    """What a local account without the key does: drop the newest file's last record and its close checkpoint,
    and the checkpoint file's last line, so the directory verifies against its own keys."""
    newest = sorted(directory.glob("audit-app.0-*.jsonl"))[-1]
    lines = newest.read_bytes().splitlines(keepends=True)
    newest.write_bytes(b"".join(lines[:-2]))
    checkpoints = directory / "audit-app.0.checkpoints.jsonl"
    checkpoints.write_bytes(b"".join(checkpoints.read_bytes().splitlines(keepends=True)[:-1]))


def test_a_rolled_back_stream_verifies_against_its_own_keys_but_not_against_the_worm_copy(tmp_path: Path) -> None:
    directory = tmp_path / "trail"
    held = daily_trail(directory)
    cut_tail(directory)
    assert both(directory, {}, tmp_path)[0] == "VERIFIED-SELF-KEYED"
    verdict, problems = both(directory, {"trusted_keys": [K.public_key_hex], "checkpoint_files": [held]}, tmp_path)
    assert verdict == "NOT VERIFIED" and "truncated" in kinds(problems)


def test_purge_given_the_worm_copy_never_purges_a_stream_it_shows_rolled_back(tmp_path: Path) -> None:
    directory = tmp_path / "trail"
    held = daily_trail(directory)
    cut_tail(directory)
    rows = survey(directory, before_ns=BEFORE, now_ns=NOW, trusted_keys=[K.public_key_hex], checkpoint_files=[held])
    assert not any(r.eligible for r in rows)
    assert all("does not verify" in r.why_not or "newest" in r.why_not or "earlier file" in r.why_not for r in rows)
    purged = purge(directory, before_ns=BEFORE, reason="retention period over", policy="SOP-QA-017 v3", key=ALICE,
                   user_id="alice", passphrase="", now_ns=NOW, checkpoint_key=K, trusted_keys=[K.public_key_hex],
                   checkpoint_files=[held])
    assert purged == []
    assert (directory / "audit-app.0-000001.jsonl").exists()


def test_purge_given_the_worm_copy_purges_an_intact_stream_and_the_auditor_verifies_it(tmp_path: Path) -> None:
    """The same options on an intact trail: purged, and VERIFIED by both verifiers with every role anchored."""
    directory = tmp_path / "trail"
    held = daily_trail(directory)
    purged = purge(directory, before_ns=BEFORE, reason="retention period over", policy="SOP-QA-017 v3", key=ALICE,
                   user_id="alice", passphrase="", now_ns=NOW, checkpoint_key=K, trusted_keys=[K.public_key_hex],
                   checkpoint_files=[held], writer_options={"clock": Clock(NOW)})
    assert [s.file for s in purged] == [f"audit-app.0-00000{i}.jsonl" for i in (1, 2, 3)]
    options = {"trusted_keys": [K.public_key_hex], "checkpoint_files": [held], "purgers": [ALICE.entry]}
    assert both(directory, options, tmp_path) == ("VERIFIED", [])


def test_retention_list_takes_the_auditors_anchors_on_the_command_line(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    directory = tmp_path / "trail"
    held = daily_trail(directory)
    cut_tail(directory)
    base = [sys.executable, "-m", "gxp_otel.cli", "retention", "list", str(directory), "--before", "2020-01-05",
            "--retention-days", "30", "--json"]
    own = json.loads(subprocess.run(base, capture_output=True, text=True, check=True).stdout)
    anchored = json.loads(subprocess.run(base + ["--trusted-key", K.public_key_hex, "--checkpoints", str(held)],
                                         capture_output=True, text=True, check=True).stdout)
    assert [r["eligible"] for r in own][:3] == [True, True, True]  # against its own keys the cut looks intact
    assert not any(r["eligible"] for r in anchored)
    assert "does not verify" in anchored[0]["why_not"]
