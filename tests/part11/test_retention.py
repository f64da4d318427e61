"""Retention, legal hold and signed purge (Annex 11 §7.1, §17; ICH E6(R3)): purged files verify as purged by policy."""

from __future__ import annotations

import orjson
import pytest

from gxp_otel.audit.canonical import canonical_json, encode_record

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.part11.retention import active_holds, place_hold, purge, release_hold, survey
from p11_helpers import DAY_NS, PASSPHRASE, START_NS, daily_trail, lines, registry_entry, writer_key

NOW = START_NS + 3000 * DAY_NS  # 2028-03-19: the 2020 files are past 7 years
BEFORE = START_NS + 3 * DAY_NS + DAY_NS // 2  # files 1-3: their last records (rotation) are on 2020-01-04 at 00:00


@pytest.fixture()
def trail(tmp_path):
    daily_trail(tmp_path, 6)
    return tmp_path


def _purge(trail, key, **options):
    now = options.pop("now_ns", NOW)
    later = iter(range(now, now + 10**12, 1000))  # the retention stream records at or after the purge's time (§12.3)
    options.setdefault("writer_options", {"clock": lambda: next(later)})
    return purge(trail, before_ns=options.pop("before_ns", BEFORE), reason="retention period over",
                 policy="SOP-QA-017 v3", key=key, user_id=key.user_id, passphrase=PASSPHRASE,
                 now_ns=now, checkpoint_key=writer_key(), **options)


def _verified(trail, *purgers):
    """Verify with the purger registry (§12.3: tombstones count only when signed by a registered purger)."""
    return verify_trail(trail, purgers=[registry_entry(p) for p in purgers])


def test_purge_writes_a_signed_tombstone_and_verify_reports_purged_by_policy(trail, alice):
    purged = _purge(trail, alice)
    assert [s.file for s in purged] == ["audit-app.0-000001.jsonl", "audit-app.0-000002.jsonl",
                                        "audit-app.0-000003.jsonl"]
    assert not (trail / "audit-app.0-000001.jsonl").exists()
    (tombstone,) = [r for r in lines(trail / "audit-retention-000001.jsonl") if r["kind"] == "purge"]
    statement = tombstone["body"]["statement"]
    assert statement["purged_by"]["user_id"] == "alice" and statement["policy"] == "SOP-QA-017 v3"
    assert [f["last_seq"] for f in statement["files"]] == ["3", "6", "9"]
    report = verify_trail(trail, trusted_keys=[writer_key().public_key_hex], purgers=[registry_entry(alice)])
    assert report.ok, report.problems
    notes = next(s for s in report.streams if s.stream == "app.0").notes
    assert sum("purged by policy" in n for n in notes) == 3
    assert [p["file"] for p in report.part11["purges"]] == [s.file for s in purged]


def test_a_deleted_file_without_tombstone_is_still_missing(trail, alice):
    (trail / "audit-app.0-000001.jsonl").unlink()
    kinds = [p.kind for p in verify_trail(trail).problems]
    assert "missing-file" in kinds and "bad-genesis" in kinds


def test_a_file_deleted_beyond_the_tombstone_is_missing_and_the_chain_is_checked_against_it(trail, alice):
    _purge(trail, alice)
    (trail / "audit-app.0-000004.jsonl").unlink()
    kinds = [p.kind for p in _verified(trail, alice).problems]
    assert kinds == ["missing-file"]


def test_first_remaining_record_must_link_to_the_tombstone(trail, alice):
    _purge(trail, alice)
    path = trail / "audit-app.0-000004.jsonl"
    first, *rest = path.read_bytes().splitlines(keepends=True)
    record = orjson.loads(first)
    _digest, forged = encode_record(record["kind"], record["stream"], int(record["seq"]), "0" * 64, record["time"],
                                    canonical_json(record["body"]))
    path.write_bytes(forged + b"".join(rest))  # a re-hashed first record that no longer follows the purged file
    problems = _verified(trail, alice).problems
    assert (problems[0].file, problems[0].line, problems[0].kind) == ("audit-app.0-000004.jsonl", 1, "inserted")


def test_tombstone_not_signed_by_a_registered_purger_is_not_honoured_and_files_stay_missing(trail, alice, bob):
    _purge(trail, alice)
    report = verify_trail(trail, trusted_keys=[writer_key().public_key_hex, alice.public_key])  # writer role only
    kinds = [p.kind for p in report.problems]
    assert "untrusted-key" not in kinds and kinds.count("missing-file") == 3  # no purger registry: not honoured
    kinds = [p.kind for p in verify_trail(trail, purgers=[registry_entry(bob)]).problems]
    assert "untrusted-key" in kinds and kinds.count("missing-file") == 3


def test_legal_hold_blocks_purge_until_released(trail, alice):
    hold = place_hold(trail, reason="litigation L-7", placed_by="legal.counsel")
    assert _purge(trail, alice) == []
    assert [s.why_not.startswith(f"legal hold {hold}") for s in survey(trail, before_ns=BEFORE, now_ns=NOW)] == \
        [True] + [False] * 5  # the files after the first are kept because it is
    release_hold(trail, hold, reason="case closed", released_by="legal.counsel")
    assert active_holds(trail) == []
    assert len(_purge(trail, alice)) == 3


def test_files_within_the_retention_period_are_never_purged(trail, alice):
    assert _purge(trail, alice, now_ns=START_NS + 2000 * DAY_NS) == []  # 5.5 years < 2555 days
    assert all(p.exists() for p in trail.glob("audit-app.0-*.jsonl"))


def test_the_newest_file_and_a_stream_that_does_not_verify_are_never_purged(trail, alice):
    everything = START_NS + 100 * DAY_NS
    rows = survey(trail, before_ns=everything, now_ns=NOW)
    assert [r.eligible for r in rows] == [True] * 5 + [False]
    assert rows[-1].why_not == "the newest file of a stream is never purged"
    path = trail / "audit-app.0-000005.jsonl"
    path.write_bytes(path.read_bytes().replace(b"day 4", b"day 9"))
    assert _purge(trail, alice, before_ns=everything) == []


def test_compressed_files_are_purged_and_verify(tmp_path, alice):
    daily_trail(tmp_path, 5, compress=True)
    purged = _purge(tmp_path, alice)
    assert purged and all(s.file.endswith(".gz") for s in purged)
    assert _verified(tmp_path, alice).ok


def test_an_interrupted_purge_verifies_and_is_finished_without_a_second_tombstone(trail, alice, monkeypatch):
    import gxp_otel.part11.retention as retention

    real_unlink = retention.os.unlink

    def crash(path, **_options):
        raise OSError("power cut after the tombstone")

    monkeypatch.setattr(retention.os, "unlink", crash)
    with pytest.raises(OSError):
        _purge(trail, alice)
    monkeypatch.setattr(retention.os, "unlink", real_unlink)
    report = _verified(trail, alice)
    assert report.ok and any("interrupted purge" in n for s in report.streams for n in s.notes)
    assert [s.file for s in _purge(trail, alice)] == ["audit-app.0-000001.jsonl", "audit-app.0-000002.jsonl",
                                                      "audit-app.0-000003.jsonl"]
    assert sum(r["kind"] == "purge" for r in lines(trail / "audit-retention-000001.jsonl")) == 1
    assert _verified(trail, alice).ok


def test_with_a_purger_registry_a_tombstone_by_an_unregistered_purger_is_untrusted(trail, alice, bob):
    from gxp_otel.part11.keys import load_signer_entry

    _purge(trail, alice)
    registry = [load_signer_entry(bob.path.with_name("bob.key.signer.json"))]
    kinds = [p.kind for p in verify_trail(trail, purgers=registry).problems]
    assert "untrusted-key" in kinds and kinds.count("missing-file") == 3
    alice_entry = load_signer_entry(alice.path.with_name("alice.key.signer.json"))
    assert not verify_trail(trail, signers=[alice_entry]).ok  # the signer role does not authorise purges
    assert verify_trail(trail, purgers=[alice_entry]).ok


# ---------------------------------------------------------------------------------------------- issue 14.2, 14.3

def _interrupt(monkeypatch, run):
    """Run a purge that stops right after its tombstone is durable (the process dies before any unlink)."""
    import gxp_otel.part11.retention as retention

    def power_cut(*_args, **_options):
        raise OSError("power cut after the tombstone")

    with monkeypatch.context() as patched:
        patched.setattr(retention, "_remove", power_cut)
        with pytest.raises(OSError, match="power cut"):
            run()


def test_a_hold_placed_after_an_interrupted_purge_stops_its_resumption(trail, alice, monkeypatch):
    _interrupt(monkeypatch, lambda: _purge(trail, alice))
    hold = place_hold(trail, reason="litigation L-9", placed_by="legal.counsel")
    assert _purge(trail, alice) == []
    assert all((trail / f"audit-app.0-00000{i}.jsonl").exists() for i in (1, 2, 3))
    assert survey(trail, before_ns=BEFORE, now_ns=NOW)[0].why_not.startswith(f"legal hold {hold}")
    release_hold(trail, hold, reason="case closed", released_by="legal.counsel")
    assert len(_purge(trail, alice)) == 3
    assert sum(r["kind"] == "purge" for r in lines(trail / "audit-retention-000001.jsonl")) == 1
    assert _verified(trail, alice).ok


@pytest.mark.parametrize("days", [6, 1], ids=["old-files", "only-file-of-the-stream"])
def test_an_interrupted_tombstone_by_another_key_is_never_finished_by_a_routine_purge(tmp_path, alice, bob,
                                                                                      monkeypatch, days):
    import gxp_otel.part11.retention as retention

    daily_trail(tmp_path, days)
    names = sorted(p.name for p in tmp_path.glob("audit-app.0-*.jsonl"))
    real_survey = retention.survey

    def everything_eligible(*args, **options):
        rows = real_survey(*args, **options)
        for row in rows:
            row.eligible, row.why_not = True, ""
        return rows

    with monkeypatch.context() as patched:  # bob's tombstone names every file, the newest too
        patched.setattr(retention, "survey", everything_eligible)
        _interrupt(monkeypatch, lambda: purge(tmp_path, before_ns=NOW, reason="r", policy="p", key=bob,
                                              user_id="bob", passphrase=PASSPHRASE + " bob", now_ns=NOW))
    assert _purge(tmp_path, alice, before_ns=START_NS) == []  # a routine purge that makes nothing eligible
    assert sorted(p.name for p in tmp_path.glob("audit-app.0-*.jsonl")) == names


def _trail_written_with_a_clock_at(directory, start_ns: int, days: int) -> None:
    from gxp_otel.audit.writer import AuditTrailWriter
    from p11_helpers import log_body

    now = [start_ns]

    def clock() -> int:
        now[0] += 1_000
        return now[0]

    writer = AuditTrailWriter(directory, stream_id="app.0", signing_key=writer_key(), compress=False, clock=clock)
    for day in range(days):
        now[0] = start_ns + day * DAY_NS
        writer.append("log", [log_body(f"day {day}")])
    writer.close()


def test_files_written_minutes_ago_with_the_clock_at_2015_are_not_purged(tmp_path, alice):
    clock_2015 = 1_420_070_400 * 1_000_000_000  # 2015-01-01, more than 7 years before the real now
    _trail_written_with_a_clock_at(tmp_path, clock_2015, 4)
    rows = survey(tmp_path, before_ns=clock_2015 + 100 * DAY_NS)
    assert not any(r.eligible for r in rows)
    assert "the writer's clock alone is not trusted" in rows[0].why_not
    assert any("before the file system's time" in w for w in rows[0].clock_warnings)
    assert purge(tmp_path, before_ns=clock_2015 + 100 * DAY_NS, reason="r", policy="p", key=alice,
                 user_id="alice", passphrase=PASSPHRASE, checkpoint_key=writer_key()) == []
    assert len(list(tmp_path.glob("audit-app.0-*.jsonl"))) == 4


def test_a_session_whose_recorded_times_jump_back_is_flagged_with_the_dates_it_would_delete(tmp_path):
    from gxp_otel.audit.writer import AuditTrailWriter
    from p11_helpers import age_to_recorded_times, log_body

    now = [START_NS]

    def clock() -> int:
        now[0] += 1_000
        return now[0]

    writer = AuditTrailWriter(tmp_path, stream_id="app.0", signing_key=writer_key(), compress=False,
                              rotate_daily=False, clock=clock)
    writer.append("log", [log_body("first")])
    now[0] = START_NS - 30 * DAY_NS  # the clock is set back a month
    writer.append("log", [log_body("after the jump")])
    writer.close()
    age_to_recorded_times(tmp_path)
    (row,) = survey(tmp_path, before_ns=NOW, now_ns=NOW)
    assert row.clock_warnings and "steps back" in row.clock_warnings[0]
    assert row.date_span == "2020-01-01..2019-12-02"
    assert not row.eligible  # the newest file; an older one with a jump is kept until the purger accepts it


def test_a_file_whose_recorded_times_step_back_is_purged_only_when_the_purger_accepts_the_jump(tmp_path, alice):
    from gxp_otel.audit.writer import AuditTrailWriter
    from p11_helpers import age_to_recorded_times, log_body

    now = [START_NS]

    def clock() -> int:
        now[0] += 1_000
        return now[0]

    writer = AuditTrailWriter(tmp_path, stream_id="app.0", signing_key=writer_key(), compress=False, clock=clock)
    writer.append("log", [log_body("first")])
    now[0] = START_NS - 30 * DAY_NS  # set back a month, then forward again: a new day, so a new file
    writer.append("log", [log_body("after the jump")])
    now[0] = START_NS + 2 * DAY_NS
    writer.append("log", [log_body("later")])
    writer.close()
    age_to_recorded_times(tmp_path)
    first = survey(tmp_path, before_ns=NOW, now_ns=NOW)[0]
    assert not first.eligible and "recorded times jump (records dated 2020-01-01..2019-12-02)" in first.why_not
    assert _purge(tmp_path, alice, before_ns=NOW) == []
    assert [s.date_span for s in _purge(tmp_path, alice, before_ns=NOW, accept_clock_jumps=True)][:1] == \
        ["2020-01-01..2019-12-02"]


def test_a_shorter_retention_than_the_streams_genesis_declares_is_never_applied(tmp_path, alice):
    daily_trail(tmp_path, 5)  # the genesis declares 2555 days; the files date from 2020
    rows = survey(tmp_path, before_ns=BEFORE, retention_days=30)
    assert not any(r.eligible for r in rows) and "within retention (2555 days)" in rows[0].why_not
    assert purge(tmp_path, before_ns=BEFORE, reason="r", policy="p", key=alice, user_id="alice",
                 passphrase=PASSPHRASE, retention_days=30, checkpoint_key=writer_key()) == []
    assert len(list(tmp_path.glob("audit-app.0-*.jsonl"))) == 5


def test_a_purge_interrupted_between_two_unlinks_is_finished_by_the_next(trail, alice, monkeypatch):
    import gxp_otel.part11.retention as retention

    real_remove, removed = retention._remove, []

    def power_cut_after_one(*args, **options):
        if removed:
            raise OSError("power cut after the first unlink")
        removed.append(args[1])
        return real_remove(*args, **options)

    with monkeypatch.context() as patched:
        patched.setattr(retention, "_remove", power_cut_after_one)
        with pytest.raises(OSError, match="power cut"):
            _purge(trail, alice)
    assert removed == ["audit-app.0-000001.jsonl"] and not (trail / removed[0]).exists()
    assert [s.file for s in _purge(trail, alice)] == ["audit-app.0-000002.jsonl", "audit-app.0-000003.jsonl"]
    assert sum(r["kind"] == "purge" for r in lines(trail / "audit-retention-000001.jsonl")) == 1
    assert _verified(trail, alice).ok
