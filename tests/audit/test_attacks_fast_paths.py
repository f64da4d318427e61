"""Red team, fast paths (issue 16): lines, runs and files that try to make a fast path's verdict differ from the
strict one's (Python ``accepted_record`` vs ``check_line``, worker runs vs the one-process verifier, the ALCOA+
fast path vs each principle's method, the Go scanner vs its ``CheckLine``) or the Python verifier's from the Go one's.

The attacker can write the trail directory and, for the line-level attacks, is given the writer's key too: each
hostile record is then properly chained and signed, so the only thing left to judge is the line itself, and any
difference in verdict is the verifier's, not the chain's. Each test says whether the attack was a HOLE (a false
VERIFIED, or two paths giving different answers) before its fix, or was already CAUGHT.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest

from attack_helpers import CHECKPOINT_FILE, K, go_verdict, log, rechain, writer
from gxp_otel.audit.canonical import canonical_json, encode_record
from gxp_otel.audit.verifier import verify_trail

F1 = "audit-app.0-000001.jsonl"
ANCHORED = {"trusted_keys": [K.public_key_hex]}


def small_trail(directory: Path, records: int = 6, **options: Any) -> None:
    """A signed, closed trail of ``records`` log records (seq 1..records after the genesis)."""
    w = writer(directory, **options)
    for i in range(records):
        w.append("log", [log(f"record {i}")])
    w.close()


def resign(directory: Path, edit: Callable[[dict], None], stream: str = "app.0") -> None:
    """What a holder of the writer's key does: ``edit(record)`` changes records in place, then every hash and prev
    is recomputed, every checkpoint re-signed and the local checkpoint file rewritten to match."""
    rechain(directory, stream=stream, edit=edit, statement=("head", "genesis", "time"))


def at_seq(seq: int, change: Callable[[dict], None]) -> Callable[[dict], None]:
    def edit(record: dict) -> None:
        if record["seq"] == str(seq):
            change(record)
    return edit


def every_path(directory: Path, work: Path, options: dict[str, Any] = ANCHORED) -> tuple[str, list[tuple]]:
    """The verdict and problems of the Python verifier in one process and with two workers, and of the Go
    verifier (skipped when build/gxpaudit-verify is absent): all three must be the same."""
    results = []
    for workers in (0, 2):
        report = verify_trail(directory, trusted_keys=options.get("trusted_keys", []), workers=workers,
                              signers=options.get("signers", []), checkpoint_files=options.get("checkpoint_files", []))
        results.append((report.verdict, [(p.file, p.line, p.seq, p.kind) for p in report.problems]))
    assert results[0] == results[1], "one process and two workers disagree"
    go = go_verdict(directory, options, work)
    assert (go["verdict"], [(p["file"], p["line"], p["seq"], p["kind"]) for p in go["problems"]]) == results[0], \
        "the Go verifier disagrees"
    return results[0]


# --------------------------------------------------------------------------------------- recorded times (§10.2)


@pytest.mark.parametrize("time", ["0000-03-01T00:00:00.000000000Z", "0000-02-29T00:00:00.000000000Z"])
def test_a_record_in_year_zero_is_malformed_in_both_verifiers(tmp_path: Path, time: str) -> None:
    """HOLE (verifiers differed): a record re-signed with the time 0000-03-01 was `malformed` for Python (its
    calendar has no year 0) and VERIFIED by Go (ValidTime took any four digits as a year). No writer can record a
    year before 0001 (int64 nanoseconds since 1970 reach back to 1677); Go now rejects year 0000 too."""
    directory = tmp_path / "trail"
    small_trail(directory)
    resign(directory, at_seq(3, lambda r: r.update(time=time)))
    assert every_path(directory, tmp_path) == ("NOT VERIFIED", [(F1, 4, None, "malformed")])


@pytest.mark.parametrize("time", ["2023-02-29T00:00:00.000000000Z", "1900-02-29T00:00:00.000000000Z",
                                  "2020-04-31T00:00:00.000000000Z", "2020-01-01T24:00:00.000000000Z",
                                  "2016-12-31T23:59:60.000000000Z", "2020-13-01T00:00:00.000000000Z",
                                  "2020-00-10T00:00:00.000000000Z", "2020-01-00T00:00:00.000000000Z"])
def test_impossible_calendar_times_are_malformed_on_every_path(tmp_path: Path, time: str) -> None:
    """CAUGHT: Feb 29 of non-leap years, April 31, 24:00, a leap second, month 13 or 00, day 00."""
    directory = tmp_path / "trail"
    small_trail(directory)
    resign(directory, at_seq(3, lambda r: r.update(time=time)))
    assert every_path(directory, tmp_path) == ("NOT VERIFIED", [(F1, 4, None, "malformed")])


# ------------------------------------------------------------------------------------------- hostile body text


def resign_bodies(directory: Path, bodies: dict[int, bytes], stream: str = "app.0") -> None:
    """Like :func:`resign`, but the records at the seqs of ``bodies`` get that body text byte for byte, hashed as
    written: a path that accepts such a line finds its chain intact, so only the line's own check can object."""
    def line(record: dict, body: bytes) -> tuple[str, bytes] | None:
        seq = int(record["seq"])
        return encode_record(record["kind"], record["stream"], seq, record["prev"], record["time"], bodies[seq]) \
            if seq in bodies else None
    rechain(directory, stream=stream, line=line)


def nested(levels: int) -> bytes:
    """A body of ``levels`` nested objects and arrays, the body object counted: Python's limit is 254 (orjson)."""
    return b'{"a":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


# body text -> the problem of its line (None: a good, canonical, number-free line)
HOSTILE_BODIES = {
    b'{"a":"x","a":"y"}': "non-canonical",  # a duplicate member
    b'{"a":{"b":"1","b":"2"}}': "non-canonical",
    b'{"b":"x","a":"y"}': "non-canonical",
    b'{"a":"y","A":"x"}': "non-canonical",
    b'{"A":"x","a":"y"}': None,
    b'{"a":"\\u0041"}': "non-canonical",  # an escaped ASCII letter
    b'{"\\u0061":"x"}': "non-canonical",
    b'{"a":"\\/"}': "non-canonical",
    b'{"a":"\\u001F"}': "non-canonical",  # uppercase hex
    b'{"a":"\\u0008"}': "non-canonical",  # \b written long
    b'{"a":"\\u00e9"}': "non-canonical",
    b'{"a":"\\u2028"}': "non-canonical",
    b'{"a":"\\ud83d\\ude00"}': "non-canonical",  # an astral character as a surrogate pair
    b'{"a": "x"}': "non-canonical",
    b'{"a":"x"} ': "non-canonical",
    b'{"a":"\\u001f","b":"\\b","c":"\\u0000","d":"\x7f","e":"\xe2\x80\xa8","f":"\xc2\xa0\xef\xbb\xbf"}': None,
    b'{"a\\u0000":"x","a\\\\":"1"}': None,
    b'{"\xf0\x9f\x98\x80":"y","\xef\xbf\xbf":"x"}': None,  # JCS order: U+1F600 sorts before U+FFFF (UTF-16)
    b'{"\xef\xbf\xbf":"x","\xf0\x9f\x98\x80":"y"}': "non-canonical",  # code point (orjson) order
    b'{"a":"\\":1","b":"\\\\"}': None,  # number-like text next to escaped quotes
    b'{"a":["x,1","[-1",":0"],"b":[true,null,{}],"c":"e,1"}': None,
    b'{"a":1}': "malformed",
    b'{"a":-0}': "malformed",
    b'{"a":["x",1]}': "malformed",
    b'{"a":[true,-1]}': "malformed",
    b'{"a":[null,[-1]]}': "malformed",
    b'{"a\\\\":1}': "malformed",
    b'{"a":1e5}': "malformed",
    b'{"a":NaN}': "malformed",
    b'{"a":"\x00"}': "malformed",  # a raw control character
    b'{"a":"\t"}': "malformed",
    b'{"a":"\xed\xa0\x80"}': "malformed",  # a UTF-8-encoded surrogate
    b'{"a":"\xc0\x80"}': "malformed",  # an overlong NUL
    b'{"a":"\xf4\x90\x80\x80"}': "malformed",  # above U+10FFFF
    b'{"a":"\\ud800"}': "malformed",  # a lone surrogate escape
    b'{"a":tru}': "malformed",
    b'{"a":"x"}}': "malformed",
    b'{"a":"\\ud83d\\u0041"}': "malformed",  # surrogates: a high one before a letter, two highs, a low one alone
    b'{"a":"\\ud83d\\ud83d\\ude00"}': "malformed",
    b'{"a":"\\udfff"}': "malformed",
    b'{"a":"x\\ud83d"}': "malformed",
    b'{"a":"\\ude00\\ud83d"}': "malformed",
    b'{"\\ud83d":"x"}': "malformed",
    b'{"a":"\\uD83D\\uDE00"}': "non-canonical",
    b'{"a":"\\u00"}': "malformed",  # escapes JSON does not have or cut short
    b'{"a":"\\u00zz"}': "malformed",
    b'{"a":"\\x41"}': "malformed",
    b'{"a":"\\\'"}': "malformed",
    b'{"a":"\\a"}': "malformed",
    b'{"a":"\\"}': "malformed",
    b'{"a":"\xf0\x9f\x98"}': "malformed",  # UTF-8 cut short, invalid, overlong, five bytes
    b'{"a":"\xff"}': "malformed",
    b'{"a":"\xe0\x80\x80"}': "malformed",
    b'{"a":"\xf8\x88\x80\x80\x80"}': "malformed",
    b'{"a":"\xc2"}': "malformed",
    b'{"a":"\x1f"}': "malformed",
    b'{"a":"\x7f\\u007f"}': "non-canonical",
    b'{"a":"\xef\xbf\xbd","b":"\\\\","c":[true,false,null],"d":false}': None,
    b'{"a":[,]}': "malformed",  # broken structure
    b'{"a":[]]}': "malformed",
    b'{,}': "malformed",
    b'{"a":{},}': "malformed",
    b'{"a":["x",]}': "malformed",
    b'{"a":True}': "malformed",
    b'{"a":nul}': "malformed",
    b'{"a":"x"}\x00': "malformed",
    nested(200): None,
    nested(254): None,
    b'{"a":' + b'{"a":' * 252 + b'{}' + b"}" * 252 + b"}": None,
}


def test_hostile_body_texts_get_the_same_verdict_on_every_path(tmp_path: Path) -> None:
    """CAUGHT on the fast paths (the Python and Go scanners hand every line above to the strict check or accept
    exactly the lines it accepts): duplicate members, escapes JCS does not write, non-JCS member order, numbers
    hidden next to escaped quotes, raw control characters, surrogates, overlong UTF-8. One trail holds them all, one
    record each, every record chained and signed."""
    directory = tmp_path / "trail"
    small_trail(directory, records=len(HOSTILE_BODIES) + 1)
    resign_bodies(directory, {2 + i: body for i, body in enumerate(HOSTILE_BODIES)})
    wanted = [(F1, 3 + i, None if problem == "malformed" else 2 + i, problem)
              for i, problem in enumerate(HOSTILE_BODIES.values()) if problem is not None]
    assert every_path(directory, tmp_path) == ("NOT VERIFIED", wanted)


@pytest.mark.parametrize("body", [nested(255), nested(300), nested(511), nested(5000),
                                  b'{"a":' + b'{"a":' * 253 + b'{}' + b"}" * 253 + b"}"])
def test_a_body_nested_deeper_than_254_levels_is_malformed_in_both_verifiers(tmp_path: Path, body: bytes) -> None:
    """HOLE (verifiers differed): a body nested 255 to 511 levels deep was `malformed` for Python (orjson cannot
    canonicalise it) and VERIFIED by Go (its parser allowed 512); Go now has Python's limit, 254 levels."""
    directory = tmp_path / "trail"
    small_trail(directory)
    resign_bodies(directory, {3: body})
    assert every_path(directory, tmp_path) == ("NOT VERIFIED", [(F1, 4, None, "malformed")])


# ------------------------------------------------------------------- worker runs (parallel_verify, chain_replay)


def decision_trail(directory: Path, *, cited: str, decisions: int = 1, filler: int = 40) -> None:
    """Alice's signature of a record, then ``filler`` log records (runs for the workers), each decision claiming
    `e-signed` with a reference (``cited``: "signature", "subject" or "none") hidden between more filler records,
    in files rotated every ~4 KB."""
    from attack_helpers import ALICE, START
    from test_attacks_decisions import decision
    from gxp_otel.part11.esign import signature_body
    from gxp_otel.part11.statements import record_reference

    w = writer(directory, rotate_bytes=4096)
    subject = w.append("log", [log("approve suite TS-1 of run R-1")])[0]
    body = signature_body(ALICE.private, ALICE, record_reference("app.0", *subject), meaning="approval",
                          reason="reviewed", authentication="all-components", time_ns=START + 5 * 10**9)
    signature = w.append("signature", [body])[0]
    reference = {"signature": record_reference("app.0", *signature), "subject": record_reference("app.0", *subject),
                 "none": None}[cited]
    for _ in range(decisions):
        w.append("log", [log(f"filler {i}") for i in range(filler)])
        w.append("log", [decision("alice", reference)])
    w.append("log", [log(f"after {i}") for i in range(filler)])
    w.close()


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("cited, decisions, expected", [
    ("signature", 1, []),
    ("none", 1, ["decision-signature"]),
    ("subject", 1, ["decision-signature"]),
    ("signature", 2, ["decision-signature"]),
])
def test_an_e_signed_decision_between_worker_runs_is_checked_like_any_other(tmp_path: Path, cited: str,
                                                                             decisions: int, expected: list,
                                                                             compressed: bool) -> None:
    """CAUGHT: a worker keeps only envelope values of the logs it puts in a run, so a decision hidden among them
    would never reach §12.4; a log naming `gxp.hitl.decision` is never put in a run (`_body_unread`). Also with
    every closed file compressed."""
    import gzip

    from attack_helpers import ALICE, anchored

    directory = tmp_path / "trail"
    decision_trail(directory, cited=cited, decisions=decisions)
    files = sorted(directory.glob("audit-app.0-*.jsonl"))
    assert len(files) > 4
    if compressed:
        for path in files[:-1]:
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
            path.unlink()
    verdict, problems = every_path(directory, tmp_path, anchored(ALICE))
    assert [p[3] for p in problems] == expected
    assert verdict == ("VERIFIED" if not expected else "NOT VERIFIED")


def test_a_record_of_another_stream_inside_a_run_is_malformed_on_every_path(tmp_path: Path) -> None:
    """CAUGHT: a record re-signed as stream `app.1` (its chain otherwise intact) in the middle of app.0's file:
    a worker ends its run there and hands the line on; every path reports it and resynchronises."""
    directory = tmp_path / "trail"
    small_trail(directory, records=30)
    resign(directory, at_seq(12, lambda r: r.update(stream="app.1")))
    verdict, problems = every_path(directory, tmp_path)
    assert verdict == "NOT VERIFIED" and problems[0] == (F1, 13, 12, "malformed")


@pytest.mark.parametrize("link", ["hard link", "same content"])
def test_a_chain_file_twice_under_two_numbers_is_reported_on_every_path(tmp_path: Path, link: str) -> None:
    """CAUGHT: file 2 present again as file 3, as a hard link (the same device and inode: the worker's identity
    check passes, and must, since it read the very bytes the verifier opened) or as a copy."""
    directory = tmp_path / "trail"
    small_trail(directory, records=120, rotate_bytes=4096)
    names = sorted(p.name for p in directory.glob("audit-app.0-*.jsonl"))
    assert len(names) >= 4
    second, third = directory / names[1], directory / names[2]
    third.unlink()
    if link == "hard link":
        os.link(second, third)
    else:
        shutil.copy(second, third)
    verdict, problems = every_path(directory, tmp_path)
    assert verdict == "NOT VERIFIED" and "duplicate" in [p[3] for p in problems]


# ----------------------------------------------------------------------------- ALCOA+ (alcoa.py fast path, runs)

NS = 10**9
BASE = 1_577_836_800 * NS


def alcoa_span(i: int, variant: int) -> dict:
    """A span that passes every principle (variant 0) or fails or skips the fast path one way (1-14)."""
    body = {"gxp": {"user_id": "u"}, "attributes": {"k": {"stringValue": "v"}}, "trace_id": f"{i:032x}",
            "span_id": f"{i:016x}", "parent_span_id": "", "start_time_unix_nano": str(BASE + i * NS - NS // 10),
            "end_time_unix_nano": str(BASE + i * NS), "dropped": {"attributes": "0", "events": "0", "links": "0"},
            "name": "s", "kind": "INTERNAL"}
    parent = max(i - 3, 0)
    changes = {
        1: {"end_time_unix_nano": str(BASE - 1000 * NS)},  # recorded long after the event
        2: {"start_time_unix_nano": str(BASE + i * NS + 5)},  # ends before it starts
        3: {"coerced": ["attributes/x: cycle"]},
        4: {"dropped": {"attributes": "0", "events": "2", "links": "0"}},
        5: {"attributes": {"gxp.workflow.resumed_from": {"stringValue": "r"}}, "parent_span_id": f"{parent:016x}",
            "trace_id": f"{parent:032x}"},
        6: {"attributes": {"gxp.workflow.name": {"stringValue": "w"}}},
        7: {"ingest": {"peer": "", "subject": "svc", "via": "authenticator"}},
        8: {"ingest": ["x"]},
        9: {"trace_id": "g" * 32},
        10: {"gxp": {}},
        11: {"gxp": {"agent_id": "a"}, "end_time_unix_nano": "0" + str(BASE + i * NS)},  # a leading zero
        12: {"end_time_unix_nano": "99999999999999999999"},  # above int64
        13: {"gxp": ["u"]},
        14: {"span_id": "", "trace_id": ""},
    }
    body.update(changes.get(variant, {}))
    return body


def alcoa_log(i: int, variant: int) -> dict:
    """A log that passes every principle (variant 0) or fails or skips the fast path one way (1-10)."""
    body = {"gxp": {"user_id": "u"}, "attributes": {"k": {"stringValue": "v"}}, "trace_id": "", "span_id": "",
            "time_unix_nano": str(BASE + i * NS), "observed_time_unix_nano": str(BASE + i * NS),
            "dropped_attributes": "0", "severity_number": "9", "severity_text": "INFO", "body": {"stringValue": "x"},
            "event_name": "", "trace_flags": "00"}
    human = {"gxp.hitl.action": {"stringValue": "human-response"}}
    changes = {
        1: {"attributes": human},  # a human decision without its responder
        2: {"attributes": {**human, "gxp.hitl.responder": {"stringValue": "bob"}}},
        3: {"attributes": {"gxp.hitl.action": {"stringValue": "automated-response"}}},
        4: {"time_unix_nano": "0"},  # the observed time counts
        5: {"time_unix_nano": "0", "observed_time_unix_nano": "0"},
        6: {"dropped_attributes": "3"},
        7: {"attributes": "not a map"},
        8: {"time_unix_nano": "\u0661\u0662"},  # non-ASCII digits
        9: {"gxp": {"user_id": ""}},
        10: {"attributes": {"gxp.hitl.decision": {"stringValue": "declared"}}},
    }
    body.update(changes.get(variant, {}))
    return body


def alcoa_trail(directory: Path, seed: int, records: int = 400) -> None:
    """Spans and logs of every variant above (half of them passing), a clock stepped back now and then (Consistent),
    restarts, rotation every 16 KB and a checkpoint every 23 records (Enduring)."""
    import random

    from attack_helpers import Clock
    from gxp_otel.audit.writer import AuditTrailWriter

    rng = random.Random(seed)
    clock = Clock()

    def stepped() -> int:
        return clock() - (3 * NS if rng.random() < 0.05 else 0)

    def open_writer() -> AuditTrailWriter:
        return AuditTrailWriter(directory, stream_id="app.0", signing_key=K, compress=False, clock=stepped,
                                host="attack", pid=1, writer_name="gxp-otel-attack/1", config_fingerprint="0" * 64,
                                checkpoint_interval=1e9, checkpoint_records=23, rotate_bytes=16_000)

    w = open_writer()
    i = 0
    while i < records:
        count, kind = rng.randrange(1, 6), "span" if rng.random() < 0.6 else "log"
        make = alcoa_span if kind == "span" else alcoa_log
        variants = 15 if kind == "span" else 11
        w.append(kind, [make(i + j, max(0, rng.randrange(2 * variants) - variants)) for j in range(count)])
        i += count
        if rng.random() < 0.03:
            w.close()
            w = open_writer()
    w.close()


@pytest.mark.parametrize("max_run", [8192, 4])
@pytest.mark.parametrize("tampered", [False, True])
def test_alcoa_findings_are_the_same_with_workers_on_hostile_bodies(tmp_path: Path, monkeypatch, max_run: int,
                                                                   tampered: bool) -> None:
    """CAUGHT: the ALCOA+ assessment with two workers (runs assessed in the workers by the fast path, merged by
    merge_run; runs split every ``max_run`` records; a deleted and a modified record force replays and re-reads, a
    held copy that sealed another head a `rewritten` inside a run) equals the one-process one, findings, counts and
    examples, on bodies made to leave the fast path every way."""
    import gxp_otel.audit.parallel_verify as parallel_verify

    monkeypatch.setattr(parallel_verify, "MAX_RUN", max_run)
    directory = tmp_path / "trail"
    alcoa_trail(directory, seed=max_run)
    if tampered:
        files = sorted(directory.glob("audit-app.0-*.jsonl"))
        for path, edit in ((files[2], lambda lines: lines[:5] + lines[6:]),
                           (files[4], lambda lines: lines[:7] + [lines[7].replace(b'"u"', b'"U"', 1)] + lines[8:])):
            path.write_bytes(b"".join(edit(path.read_bytes().splitlines(keepends=True))))
    held = tmp_path / "worm.checkpoints.jsonl"  # the auditor's copy; tampered: one statement sealed another head
    lines = (directory / CHECKPOINT_FILE).read_bytes().splitlines(keepends=True)
    if tampered:
        head = orjson.loads(lines[3])["statement"]["head"]
        lines[3] = lines[3].replace(head.encode(), b"0" * 64)
    held.write_bytes(b"".join(lines))
    options = {"trusted_keys": [K.public_key_hex], "alcoa": True, "checkpoint_files": [held]}
    one = verify_trail(directory, workers=0, **options).to_dict()
    assert one["verdict"] == ("NOT VERIFIED" if tampered else "VERIFIED")
    assert tampered == ("rewritten" in {p["kind"] for p in one["problems"]})
    principles = one["alcoa"]["principles"]
    assert all(principles[p]["failed"] for p in ("attributable", "contemporaneous", "accurate", "complete",
                                                  "consistent"))
    assert verify_trail(directory, workers=2, **options).to_dict() == one


# ----------------------------------------------------------------------------------------- hostile envelopes


def resign_lines(directory: Path, edits: dict[int, Callable[[bytes], bytes]], stream: str = "app.0") -> None:
    """Like :func:`resign_bodies`, but ``edits[seq]`` rewrites the text of that record's line after its body, hash
    member removed (``,"kind":…}``); the hash is then recomputed over the body and the edited text, so a path that
    accepted the edited envelope would find the record's hash and chain intact."""
    from gxp_otel.audit.canonical import hash_body_and_tail

    def line(record: dict, body: bytes) -> tuple[str, bytes] | None:
        seq = int(record["seq"])
        if seq not in edits:
            return None
        _, encoded = encode_record(record["kind"], record["stream"], seq, record["prev"], record["time"], body)
        tail = edits[seq](encoded[8 + len(body) + 74:-1])  # after ,"hash":"<64 hex>"
        digest = hash_body_and_tail(body, tail)
        return digest, b'{"body":' + body + b',"hash":"' + digest.encode() + b'"' + tail + b"\n"
    rechain(directory, stream=stream, line=line)


def replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    return lambda tail: tail.replace(old, new, 1)


def seq_as(text: str) -> Callable[[bytes], bytes]:
    """The record's seq member written as ``text`` (UTF-8)."""
    member = b'"seq":"' + text.encode() + b'"'
    return lambda tail: re.sub(rb'"seq":"[0-9]+"', lambda _: member, tail, count=1)


HOSTILE_ENVELOPES = {
    "seq with a leading zero": seq_as("03"),
    "seq empty": seq_as(""),
    "seq negative": seq_as("-3"),
    "seq in Arabic-Indic digits": seq_as("\u0663"),
    "seq escaped": seq_as("\\u0033"),
    "seq above int64": seq_as("9223372036854775808"),
    "seq of 20 digits": seq_as("10000000000000000003"),
    "seq with a plus sign": seq_as("+3"),
    "kind in capitals": replace(b'"kind":"log"', b'"kind":"Log"'),
    "kind unknown": replace(b'"kind":"log"', b'"kind":"note"'),
    "kind twice": replace(b'"kind":"log"', b'"kind":"log","kind":"log"'),
    "an extra member": replace(b'"kind":"log"', b'"kind":"log","note":"x"'),
    "prev in capitals": lambda tail: re.sub(rb'"prev":"([0-9a-f]{64})"', lambda m: m.group(0).replace(
        m.group(1), m.group(1).upper()), tail, count=1),
    "stream of 65 characters": replace(b'"stream":"app.0"', b'"stream":"' + b"a" * 65 + b'"'),
    "stream with a dash": replace(b'"stream":"app.0"', b'"stream":"app-0"'),
    "time with a lowercase z": lambda tail: tail[:-3] + b'z"}',
    "time with eight fraction digits": lambda tail: tail[:-4] + b'Z"}',
    "time with a space": replace(b"T", b" "),
    "whitespace before the end": lambda tail: tail[:-1] + b" }",
    "a member after time": lambda tail: tail[:-1] + b',"u":"v"}',
    "a carriage return at the end": lambda tail: tail + b"\r",
    "a NUL at the end": lambda tail: tail + b"\x00",
    "a no-break space at the end": lambda tail: tail + "\u00a0".encode(),
}


def test_hostile_envelopes_get_the_same_verdict_on_every_path(tmp_path: Path) -> None:
    """CAUGHT: envelope members of the wrong form (§4), doubled or extra members, escapes and look-alike digits,
    each in its own record of one trail, hashed as written: `malformed` (seq null) on every path, except records
    that parse to a good one (an escaped digit, a doubled member, whitespace), which are `non-canonical`."""
    directory = tmp_path / "trail"
    small_trail(directory, records=len(HOSTILE_ENVELOPES) + 1)
    resign_lines(directory, {2 + i: edit for i, edit in enumerate(HOSTILE_ENVELOPES.values())})
    parsed = {"seq escaped": 3, "kind twice": None, "whitespace before the end": None,
              "a carriage return at the end": None}  # good records, not in their JCS form
    wanted = [(F1, 3 + i, parsed[name] or 2 + i, "non-canonical") if name in parsed else (F1, 3 + i, None, "malformed")
              for i, name in enumerate(HOSTILE_ENVELOPES)]
    assert every_path(directory, tmp_path) == ("NOT VERIFIED", wanted)


def test_the_largest_seq_is_one_more_record_on_every_path(tmp_path: Path) -> None:
    """HOLE (verifiers differed, not a false VERIFIED): seq 9223372036854775807 (int64's largest, hashed as written)
    is a good record, after which Python expects 2^63: the records after it are `reordered` into the range it
    skipped, the close checkpoint with them, so no seal is left (`unknown-stream`). Go's expected seq wrapped to
    -2^63: it reported a `deleted` range from seq -9223372036854775808, accepted the later records and the seal.
    Go now keeps the expected seq unsigned."""
    directory = tmp_path / "trail"
    small_trail(directory)
    resign_lines(directory, {3: replace(b'"seq":"3"', b'"seq":"9223372036854775807"')})
    verdict, problems = every_path(directory, tmp_path)
    assert verdict == "NOT VERIFIED" and {p[3] for p in problems} == {"unknown-stream", "deleted", "reordered"}
    assert min(p[2] for p in problems if p[2] is not None) == 3


# ------------------------------------------------------------------------------------- the line limit (§2.1)


@pytest.mark.parametrize("compressed", [False, True])
def test_lines_at_and_one_byte_over_the_line_limit_on_every_path(tmp_path: Path, compressed: bool) -> None:
    """CAUGHT: a record line of exactly 16 MiB without its newline is a good record, one byte more is `malformed`
    (seq null), on every path: workers read blocks of whole lines, the verifier's process lines, Go its own reader;
    also inside a .gz."""
    import gzip

    from gxp_otel.audit.reading import MAX_LINE_BYTES

    directory = tmp_path / "trail"
    small_trail(directory, records=4)
    overhead = {}
    for seq, extra in ((2, 0), (3, 1)):
        line = next(l for l in (directory / F1).read_bytes().splitlines() if orjson.loads(l)["seq"] == str(seq))
        body = orjson.loads(line)["body"]
        overhead[seq] = len(line) - len(canonical_json(body)) + len(b'{"a":""}') - extra
    resign_bodies(directory, {seq: b'{"a":"' + b"x" * (MAX_LINE_BYTES - size) + b'"}' for seq, size in overhead.items()})
    lengths = [len(l) for l in (directory / F1).read_bytes().splitlines()]
    assert lengths[2:4] == [MAX_LINE_BYTES, MAX_LINE_BYTES + 1]
    if compressed:
        (directory / (F1 + ".gz")).write_bytes(gzip.compress((directory / F1).read_bytes(), compresslevel=1))
        (directory / F1).unlink()
    name = F1 + ".gz" if compressed else F1
    assert every_path(directory, tmp_path) == ("NOT VERIFIED", [(name, 4, None, "malformed")])


# -------------------------------------------------------------------- a file swapped while the workers read it


SWAP: dict[str, Any] = {}  # the file whose worker waits for the marker file (the swap), and the real check_file


def _check_file_after_swap(dir_fd: int, name: str, *args: Any):
    """``parallel_verify.check_file`` in a worker, which for the swapped file first waits for the swap."""
    import time

    if name == SWAP.get("name"):
        deadline = time.monotonic() + 10
        while not SWAP["marker"].exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    return SWAP["check_file"](dir_fd, name, *args)


def test_a_good_copy_renamed_over_a_forged_file_after_the_verifier_opened_it_is_not_used(tmp_path: Path,
                                                                                        monkeypatch) -> None:
    """CAUGHT: the verifier opened the forged file 2; before it takes the worker's result, the good file is renamed
    over the name (same size, another inode), so a worker that opens the name late reads good bytes. The identity
    check (device, inode, size) sends the verifier to its own descriptor: the report is the forged file's, as in one
    process, whichever file the worker read."""
    from gxp_otel.audit import parallel_verify
    from gxp_otel.audit.parallel_verify import Prefetcher

    directory = tmp_path / "trail"
    small_trail(directory, records=60, rotate_bytes=4096)
    target = sorted(directory.glob("audit-app.0-*.jsonl"))[1]
    monkeypatch.setitem(SWAP, "name", target.name)
    monkeypatch.setitem(SWAP, "marker", tmp_path / "swapped")
    monkeypatch.setitem(SWAP, "check_file", parallel_verify.check_file)
    monkeypatch.setattr(parallel_verify, "check_file", _check_file_after_swap)
    good = target.read_bytes()
    target.write_bytes(good.replace(b"record 1", b"record X", 1))
    assert target.read_bytes() != good
    forged_report = verify_trail(directory, trusted_keys=[K.public_key_hex], workers=0).to_dict()
    assert forged_report["verdict"] == "NOT VERIFIED"
    original_take = Prefetcher.take

    def take_after_swap(self, name, file):
        if name == target.name:
            staged = directory / "staged"
            staged.write_bytes(good)
            os.replace(staged, target)
            SWAP["marker"].touch()  # the worker opens the name only now: it reads the good copy
        return original_take(self, name, file)

    monkeypatch.setattr(Prefetcher, "take", take_after_swap)
    assert verify_trail(directory, trusted_keys=[K.public_key_hex], workers=2).to_dict() == forged_report
    assert target.read_bytes() == good


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b" ", b"\x00", "\u00a0".encode()])
def test_a_line_that_starts_with_a_bom_or_a_space_gets_the_same_verdict_on_every_path(tmp_path: Path,
                                                                                    prefix: bytes) -> None:
    """CAUGHT: a byte-order mark, a space, a NUL or a no-break space before a good record: never read as the record
    by any path (a space is JSON whitespace, so that line parses and is `non-canonical`)."""
    directory = tmp_path / "trail"
    small_trail(directory)
    lines = (directory / F1).read_bytes().splitlines(keepends=True)
    lines[3] = prefix + lines[3]
    (directory / F1).write_bytes(b"".join(lines))
    problem = (F1, 4, 3, "non-canonical") if prefix == b" " else (F1, 4, None, "malformed")
    assert every_path(directory, tmp_path) == ("NOT VERIFIED", [problem])


FILE_EDITS = {
    # name: (edit of the sorted chain files, the problems, at (file number, line, seq, kind))
    "an empty file after the newest": (lambda files, new: new.write_bytes(b""), []),  # §10.7: not a problem
    "newlines only after the newest": (lambda files, new: new.write_bytes(b"\n\n\n"),
                                       [(7, 1, None, "malformed"), (7, 2, None, "malformed"), (7, 3, None, "malformed")]),
    "blank lines": (lambda files, new: files[1].write_bytes(files[1].read_bytes().replace(b"\n", b"\n\n", 3)),
                    [(2, 2, None, "malformed"), (2, 4, None, "malformed"), (2, 6, None, "malformed")]),
    "a middle file emptied": (lambda files, new: files[1].write_bytes(b""), [(3, 1, 13, "deleted")]),
    "a middle file of one newline": (lambda files, new: files[1].write_bytes(b"\n"), [(2, 1, None, "malformed")]),
    "CRLF line ends": (lambda files, new: files[1].write_bytes(files[1].read_bytes().replace(b"\n", b"\r\n")),
                       [(2, i, 12 + i, "non-canonical") for i in range(1, 14)]),
    "a middle file's last newline cut": (lambda files, new: files[1].write_bytes(files[1].read_bytes()[:-1]),
                                         [(2, 13, None, "torn-line")]),
}


@pytest.mark.parametrize("name", FILE_EDITS)
def test_file_level_oddities_get_the_same_verdict_on_every_path(tmp_path: Path, name: str) -> None:
    """CAUGHT: blank lines, empty files, CRLF line ends and a cut final newline, where workers (blocks of whole
    lines) and the verifier's process (lines) split the bytes differently."""
    directory = tmp_path / "trail"
    small_trail(directory, records=60, rotate_bytes=4096)
    files = sorted(directory.glob("audit-app.0-*.jsonl"))
    assert len(files) == 6
    edit, wanted = FILE_EDITS[name]
    edit(files, directory / "audit-app.0-000007.jsonl")
    verdict, problems = every_path(directory, tmp_path)
    assert problems == [(f"audit-app.0-{n:06d}.jsonl", line, seq, kind) for n, line, seq, kind in wanted]
    assert verdict == ("VERIFIED" if not wanted else "NOT VERIFIED")


def two_streams(directory: Path) -> tuple[list[Path], list[Path]]:
    for stream in ("app.0", "app.1"):
        w = writer(directory, stream=stream, rotate_bytes=4096)
        for i in range(50):
            w.append("log", [log(f"{stream} record {i}")])
        w.close()
    return sorted(directory.glob("audit-app.0-*.jsonl")), sorted(directory.glob("audit-app.1-*.jsonl"))


@pytest.mark.parametrize("edit", ["hard link", "swap", "checkpoint file"])
def test_files_of_one_stream_under_the_other_streams_names_on_every_path(tmp_path: Path, edit: str) -> None:
    """CAUGHT: two streams read by the same workers; a file of app.0 hard-linked as a file of app.1, a file of each
    swapped with the other's, app.0's checkpoint file copied as app.1's: every path (and ALCOA+ with two workers)
    reports each line of the wrong stream."""
    directory = tmp_path / "trail"
    first, second = two_streams(directory)
    if edit == "hard link":
        second[2].unlink()
        os.link(first[2], second[2])
    elif edit == "swap":
        content = first[1].read_bytes()
        first[1].write_bytes(second[1].read_bytes())
        second[1].write_bytes(content)
    else:
        shutil.copy(directory / CHECKPOINT_FILE, directory / "audit-app.1.checkpoints.jsonl")
    verdict, problems = every_path(directory, tmp_path)
    wrong = "bad-checkpoint-file" if edit == "checkpoint file" else "malformed"
    assert verdict == "NOT VERIFIED" and problems and {p[3] for p in problems} == {wrong}
    options = {"trusted_keys": [K.public_key_hex], "alcoa": True}
    assert verify_trail(directory, workers=2, **options).to_dict() == verify_trail(directory, workers=0, **options).to_dict()


@pytest.mark.parametrize("levels", [300, 1200])
def test_a_deeply_nested_held_line_is_a_bad_checkpoint_file_on_every_path(tmp_path: Path, levels: int) -> None:
    """CAUGHT: the checkpoint file's lines are parsed by neither line fast path: a statement nested deeper than
    either parser's limit is `bad-checkpoint-file` everywhere (Go's body-depth limit does not apply to held lines)."""
    directory = tmp_path / "trail"
    small_trail(directory)
    checkpoints = directory / CHECKPOINT_FILE
    checkpoints.write_bytes(checkpoints.read_bytes() + b'{"key_id":"none","signature":"","statement":'
                            + b"[" * levels + b"]" * levels + b"}\n")
    assert every_path(directory, tmp_path) == ("NOT VERIFIED", [(CHECKPOINT_FILE, 2, None, "bad-checkpoint-file")])
