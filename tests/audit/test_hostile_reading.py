"""Hostile trail directories (issue 14.5, 14.6; docs/audit-format.md §2.1): a FIFO or a link named like a trail file,
a gzip bomb, a second gzip member, overlong lines, names and times with non-ASCII digits or a trailing newline,
type-confused lines. Every one is a reported problem naming file and line; none hangs, exhausts memory or raises.

Runs that could hang or exhaust memory with a broken reader go through the real CLI in a subprocess with a timeout
and an address-space limit, so a regression fails the test instead of stalling the suite or the machine.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gxp_otel.audit.canonical import canonical_json, hash_record_bytes
from gxp_otel.audit.reading import MAX_LINE_BYTES, ReadProblem, TrailDirectory, iter_lines
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter

STREAM = "s.0"
MEMORY_LIMIT = 1536 * 1024 * 1024  # address space for a CLI run: a 1 GiB line cannot fit


def _name(index: int, gz: bool = False) -> str:
    return f"audit-{STREAM}-{index:06d}.jsonl" + (".gz" if gz else "")


def _trail(directory: Path, records: int = 60) -> Path:
    """An unsigned trail of one stream in several plain chain files (rotation every 4 KiB)."""
    writer = AuditTrailWriter(directory, stream_id=STREAM, compress=False, rotate_bytes=4096)
    for i in range(records):
        writer.append("log", [{"gxp": {"user_id": {"stringValue": "u"}}, "i": {"intValue": str(i)}}])
    writer.close()
    assert (directory / _name(3)).exists()
    return directory


def _cli_verify(path: Path, *args: str) -> tuple[int, dict]:
    """`gxp-otel verify --json` in a child process bounded in time (60 s) and address space."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    result = subprocess.run([sys.executable, "-m", "gxp_otel.cli", "verify", "--json", str(path), *args],
                            capture_output=True, text=True, timeout=60, preexec_fn=limit)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def _problems(report: dict) -> list[tuple]:
    return [(p["file"], p["line"], p["seq"], p["kind"]) for p in report["problems"]]


def _gzip_bomb(mebibytes: int) -> bytes:
    """A valid one-member gzip of ``mebibytes`` MiB of zero bytes (no newline), about 1 KiB per MiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    segment = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)  # identical for every MiB after a full flush
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + segment * mebibytes + packer.flush() + trailer


def _rechain(directory: Path, edit) -> None:
    """Rewrite the stream as a forger would: ``edit(record)`` changes records in place, then every hash, prev and
    (unsigned) checkpoint statement is recomputed, so only the edited content can be wrong."""
    paths = sorted(p for p in directory.iterdir() if p.name.startswith(f"audit-{STREAM}-"))
    prev = "0" * 64
    held = []
    for path in paths:
        out = []
        for raw in path.read_bytes().splitlines():
            record = orjson.loads(raw)
            edit(record)
            if record["kind"] == "checkpoint":
                record["body"]["statement"].update(seq=str(int(record["seq"]) - 1), head=prev)
                held.append(canonical_json(record["body"]) + b"\n")
            record["prev"] = prev
            record.pop("hash")
            prev = record["hash"] = hash_record_bytes(canonical_json(record))
            out.append(canonical_json(record) + b"\n")
        path.write_bytes(b"".join(out))
    (directory / f"audit-{STREAM}.checkpoints.jsonl").write_bytes(b"".join(held))


# --------------------------------------------------------------------------- files that are not regular files


def test_a_fifo_named_like_a_chain_file_is_reported_not_waited_for(tmp_path):
    trail = _trail(tmp_path / "trail")
    os.mkfifo(trail / _name(9))
    code, report = _cli_verify(trail)
    assert code == 1
    problem = next(p for p in report["problems"] if p["file"] == _name(9))
    assert problem["kind"] == "missing-file" and "FIFO" in problem["detail"] and problem["line"] is None


def test_a_fifo_named_like_the_checkpoint_file_is_reported_not_waited_for(tmp_path):
    trail = _trail(tmp_path / "trail")
    checkpoints = trail / f"audit-{STREAM}.checkpoints.jsonl"
    checkpoints.unlink()
    os.mkfifo(checkpoints)
    code, report = _cli_verify(trail)
    assert code == 1
    assert (checkpoints.name, None, None, "bad-checkpoint-file") in _problems(report)


def test_a_link_to_dev_zero_named_like_a_chain_file_is_not_read(tmp_path):
    trail = _trail(tmp_path / "trail")
    (trail / _name(2)).unlink()
    os.symlink("/dev/zero", trail / _name(2))
    code, report = _cli_verify(trail)
    assert code == 1
    problem = next(p for p in report["problems"] if p["file"] == _name(2))
    assert problem["kind"] == "missing-file" and "symbolic link" in problem["detail"]


def test_a_link_to_a_file_outside_the_trail_is_not_followed(tmp_path):
    """The linked file holds the real records: following it would say VERIFIED about bytes outside the trail."""
    trail = _trail(tmp_path / "trail")
    outside = tmp_path / "elsewhere.jsonl"
    os.rename(trail / _name(2), outside)
    os.symlink(outside, trail / _name(2))
    report = verify_trail(trail)
    assert not report.ok
    assert (_name(2), None, None, "missing-file") in [(p.file, p.line, p.seq, p.kind) for p in report.problems]
    assert _name(2) not in report.streams[0].files


def test_a_held_checkpoint_copy_that_is_a_fifo_is_reported(tmp_path):
    trail = _trail(tmp_path / "trail")
    held = tmp_path / "held.checkpoints.jsonl"
    os.mkfifo(held)
    code, report = _cli_verify(trail, "--checkpoints", str(held))
    assert code == 1
    assert (str(held), None, None, "bad-checkpoint-file") in _problems(report)  # §10.5: the path as given


# --------------------------------------------------------------------------- compressed files


def test_a_gzip_bomb_is_read_in_constant_memory_and_reported(tmp_path):
    """1 MiB of gzip that inflates to 1 GiB without a newline: under a 1.5 GiB address-space limit the reader must
    not hold it; it is the torn last line of that file."""
    trail = _trail(tmp_path / "trail")
    (trail / _name(3)).unlink()
    for index in range(4, 10):
        (trail / _name(index)).unlink(missing_ok=True)
    (trail / _name(3, gz=True)).write_bytes(_gzip_bomb(1024))
    code, report = _cli_verify(trail)
    assert code == 1
    assert (_name(3, gz=True), 1, None, "torn-line") in _problems(report)


def test_a_second_gzip_member_is_a_torn_line(tmp_path):
    trail = _trail(tmp_path / "trail")
    lines = (trail / _name(1)).read_bytes().splitlines(keepends=True)
    (trail / _name(1, gz=True)).write_bytes(gzip.compress(b"".join(lines[:3])) + gzip.compress(b"".join(lines[3:])))
    (trail / _name(1)).unlink()
    problems = [(p.file, p.line, p.seq, p.kind) for p in verify_trail(trail).problems]
    assert (_name(1, gz=True), 1, None, "torn-line") in problems  # a .gz is read only when wholly valid (§2.1)


def test_a_damaged_and_a_truncated_gzip_are_torn_lines(tmp_path):
    trail = _trail(tmp_path / "trail")
    data = gzip.compress((trail / _name(1)).read_bytes())
    (trail / _name(1)).unlink()
    (trail / _name(1, gz=True)).write_bytes(data[:-6])
    kinds = {(p.file, p.kind) for p in verify_trail(trail).problems}
    assert (_name(1, gz=True), "torn-line") in kinds
    (trail / _name(1, gz=True)).write_bytes(data[:12] + b"\xff" * 40 + data[52:])
    kinds = {(p.file, p.kind) for p in verify_trail(trail).problems}
    assert (_name(1, gz=True), "torn-line") in kinds


def test_decompressed_size_beyond_the_limit_ends_the_file(tmp_path):
    path = tmp_path / "f.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(b"line %d\n" % i for i in range(1000))))
    with TrailDirectory(tmp_path) as directory, directory.open(path.name) as file:
        items = list(iter_lines(file, True, max_decompressed=100))
    assert all(type(item) is bytes for item in items[:-1])
    last = items[-1]
    assert isinstance(last, ReadProblem) and last.kind == "torn-line" and last.line == len(items)
    assert sum(len(item) for item in items[:-1]) <= 100


# --------------------------------------------------------------------------- line length


def test_a_record_longer_than_the_line_limit_is_malformed_and_the_chain_resynchronises(tmp_path, monkeypatch):
    """A valid, correctly chained record of 16 MiB + 1 byte: accepted by a reader without a limit. (Our writer
    refuses such a record, §2.1; the forging writer here has that check switched off.)"""
    monkeypatch.setattr(AuditTrailWriter, "_fits_line_limit", lambda self, kind, body: True)
    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail, stream_id=STREAM, compress=False)
    writer.append("log", [{"i": {"intValue": "1"}}])
    writer.append("log", [{"big": {"stringValue": "x" * MAX_LINE_BYTES}}])
    writer.append("log", [{"i": {"intValue": "3"}}])
    writer.close()
    problems = [(p.file, p.line, p.seq, p.kind) for p in verify_trail(trail).problems]
    assert (_name(1), 3, None, "malformed") in problems
    assert [p for p in problems if p[0] == _name(1) and p[1] in (1, 2, 4)] == []  # resynchronised after it


def test_an_overlong_last_line_without_newline_is_torn(tmp_path):
    trail = _trail(tmp_path / "trail")
    with open(trail / _name(3), "ab") as handle:
        handle.write(b"y" * (MAX_LINE_BYTES + 10))
    problems = [(p.file, p.kind) for p in verify_trail(trail).problems]
    assert (_name(3), "torn-line") in problems


def test_an_overlong_line_in_the_checkpoint_file_is_reported_with_its_line(tmp_path):
    trail = _trail(tmp_path / "trail")
    checkpoints = trail / f"audit-{STREAM}.checkpoints.jsonl"
    lines = checkpoints.read_bytes().splitlines(keepends=True)
    checkpoints.write_bytes(lines[0] + b"z" * (MAX_LINE_BYTES + 1) + b"\n" + b"".join(lines[1:]))
    problems = [(p.file, p.line, p.kind) for p in verify_trail(trail).problems]
    assert (checkpoints.name, 2, "bad-checkpoint-file") in problems


# --------------------------------------------------------------------------- names and members: whole, ASCII


@pytest.mark.parametrize("fake", ["audit-s.0-000002.jsonl\n", "audit-s.0-00000\u0662.jsonl", "audit-s.0-\uff10\uff10\uff10\uff10\uff10\uff12.jsonl"])
def test_a_name_that_only_looks_like_a_chain_file_is_not_one(tmp_path, fake):
    """The real file 000002 renamed to a look-alike (trailing newline, Arabic-Indic or full-width digits)."""
    trail = _trail(tmp_path / "trail")
    os.rename(trail / _name(2), trail / fake)
    code, report = _cli_verify(trail)
    assert code == 1
    assert (_name(2), None, None, "missing-file") in _problems(report)
    assert all(p["file"] != fake for p in report["problems"])


def test_a_checkpoint_file_name_with_a_trailing_newline_is_not_one(tmp_path):
    trail = _trail(tmp_path / "trail")
    os.rename(trail / f"audit-{STREAM}.checkpoints.jsonl", trail / f"audit-{STREAM}.checkpoints.jsonl\n")
    code, report = _cli_verify(trail)
    assert [s["stream"] for s in report["streams"]] == [STREAM]


def test_a_record_time_with_non_ascii_digits_is_malformed(tmp_path):
    trail = _trail(tmp_path / "trail")
    arabic = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")

    def edit(record):
        if record["seq"] == "5":
            record["time"] = record["time"].translate(arabic)

    _rechain(trail, edit)
    problems = [(p.file, p.line, p.seq, p.kind) for p in verify_trail(trail).problems]
    assert (_name(1), 6, None, "malformed") in problems


def test_a_record_time_with_a_trailing_newline_is_malformed(tmp_path):
    trail = _trail(tmp_path / "trail")
    _rechain(trail, lambda record: record.update(time=record["time"] + "\n") if record["seq"] == "5" else None)
    problems = [(p.file, p.line, p.seq, p.kind) for p in verify_trail(trail).problems]
    assert (_name(1), 6, None, "malformed") in problems


def test_a_stream_id_with_a_trailing_newline_is_refused_by_the_writer(tmp_path):
    with pytest.raises(ValueError):
        AuditTrailWriter(tmp_path / "trail", stream_id="lims.0\n")


# --------------------------------------------------------------------------- type-confused lines

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
CHECKPOINT_PATHS = [("key_id",), ("signature",), ("statement",), ("statement", "seq"), ("statement", "stream"),
                    ("statement", "head"), ("statement", "file"), ("statement", "time"), ("statement", "reason")]


def _replace(value: dict, path: tuple[str, ...], new) -> dict:
    value = json.loads(json.dumps(value))
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return value


@pytest.fixture(scope="module")
def base_trail(tmp_path_factory) -> Path:
    return _trail(tmp_path_factory.mktemp("base"))


def _copy(base: Path, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("confused")
    for path in base.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(CHECKPOINT_PATHS), new=json_values.filter(lambda v: not isinstance(v, str)),
       line=st.integers(0, 5))
def test_type_confused_checkpoint_lines_are_reported_never_raised(base_trail, tmp_path_factory, path, new, line):
    """A member of the wrong type (list, object, null, bool, number) where a held line has a string."""
    trail = _copy(base_trail, tmp_path_factory)
    checkpoints = trail / f"audit-{STREAM}.checkpoints.jsonl"
    lines = checkpoints.read_bytes().splitlines(keepends=True)
    line = line % len(lines)
    body = orjson.loads(lines[line])
    confused = _replace(body, path, new)
    if confused == body:
        return
    lines[line] = _line(confused)
    checkpoints.write_bytes(b"".join(lines))
    report = verify_trail(trail)
    assert not report.ok
    assert any(p.file == checkpoints.name for p in report.problems) or any(p.kind == "truncated" for p in report.problems)


ENVELOPE_PATHS = [("kind",), ("stream",), ("seq",), ("prev",), ("time",), ("hash",), ("body",), ("body", "gxp"),
                  ("body", "i"), ("body", "gxp", "user_id")]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ENVELOPE_PATHS), new=json_values, seq=st.integers(1, 19))
def test_type_confused_chain_lines_are_reported_at_their_line_never_raised(base_trail, tmp_path_factory, path, new, seq):
    trail = _copy(base_trail, tmp_path_factory)
    for chain in sorted(trail.glob(f"audit-{STREAM}-*.jsonl")):
        lines = chain.read_bytes().splitlines(keepends=True)
        for number, raw in enumerate(lines, start=1):
            record = orjson.loads(raw)
            if record["seq"] != str(seq) or record["kind"] != "log":
                continue
            confused = _replace(record, path, new)
            if confused == record:
                return
            lines[number - 1] = _line(confused)
            chain.write_bytes(b"".join(lines))
            report = verify_trail(trail, alcoa=True)
            assert any(p.file == chain.name and p.line == number for p in report.problems), report.problems
            return


def _line(value) -> bytes:
    """Canonical when the value holds no number (numbers are not in the format's value space), else sorted JSON."""
    if _numberless(value):
        return canonical_json(value) + b"\n"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _numberless(value) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return False
    if isinstance(value, list):
        return all(_numberless(v) for v in value)
    return all(_numberless(v) for v in value.values())


BODY_PATHS = [("gxp",), ("gxp", "user_id"), ("coerced",), ("trace_id",), ("span_id",), ("time_unix_nano",),
              ("observed_time_unix_nano",), ("dropped_attributes",), ("attributes",), ("i",)]
body_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=6)
    | st.sampled_from(["1" + "0" * 25, "\u0661\u0662", "\u00b2", "9223372036854775808", "-1", "0"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(BODY_PATHS), new=body_values, seq=st.integers(1, 19))
def test_type_confused_bodies_of_valid_records_never_crash_the_alcoa_assessment(base_trail, tmp_path_factory, path,
                                                                                 new, seq):
    """Correctly hashed and chained records (a compromised writer) with confused body members: verify --alcoa
    assesses them (the principle fails with a reason), it never raises."""
    trail = _copy(base_trail, tmp_path_factory)

    def edit(record):
        if record["seq"] == str(seq) and record["kind"] == "log":
            target = record["body"]
            for key in path[:-1]:
                target = target[key] if isinstance(target.get(key), dict) else {}
            target[path[-1]] = new

    _rechain(trail, edit)
    report = verify_trail(trail, alcoa=True)
    assert report.alcoa["records_assessed"] >= 1


@pytest.mark.parametrize("stamp", ["1" + "0" * 25, "9223372036854775808", "\u00b2", "\u0661\u0662"])
def test_an_event_time_beyond_int64_or_with_non_ascii_digits_is_flagged_by_alcoa(tmp_path, stamp):
    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail, stream_id=STREAM, compress=False)
    writer.append("span", [{"name": "s", "trace_id": "0" * 32, "span_id": "1" * 16, "start_time_unix_nano": stamp,
                            "end_time_unix_nano": stamp, "gxp": {"user_id": "u"}}])
    writer.close()
    principles = verify_trail(trail, alcoa=True).alcoa["principles"]
    assert principles["contemporaneous"]["failed"] == 1 and principles["accurate"]["failed"] == 1
    assert "int64" in principles["accurate"]["examples"][0]["reason"]


def test_a_fifo_named_like_a_retention_stream_file_does_not_hang_the_purge_tombstone_lookup(tmp_path):
    """The §12 checks read the retention stream (purge tombstones) through part11.lookup: bounded there too."""
    trail = _trail(tmp_path / "trail")
    os.mkfifo(trail / "audit-retention-000001.jsonl")
    code, report = _cli_verify(trail)
    assert code == 1
    assert ("audit-retention-000001.jsonl", None, None, "missing-file") in _problems(report)


def test_the_phoenix_audit_status_reader_is_bounded_too(tmp_path):
    """runs_in_trail (the demo's per-run audit annotation) reads through the same bounded reader: a FIFO and a list
    where a record belongs are skipped, in a child process bounded in time."""
    trail = _trail(tmp_path / "trail")
    os.mkfifo(trail / _name(9))
    with open(trail / _name(3), "ab") as handle:
        handle.write(b'["not", "a", "record"]\n')
    code = "import sys; from gxp_otel.phoenix.audit_status import runs_in_trail; print(len(runs_in_trail(sys.argv[1])))"
    result = subprocess.run([sys.executable, "-c", code, str(trail)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "0", result.stderr[-2000:]


def test_a_signature_or_key_with_a_trailing_newline_does_not_verify():
    """``$`` matches before a final newline and ``bytes.fromhex`` skips whitespace: both together accepted a
    malleated signature. Hex members are matched whole."""
    from gxp_otel.audit.signing import CheckpointSigner, verify_statement
    from gxp_otel.part11.shredding import is_commitment

    signer = CheckpointSigner.from_seed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    statement = {"format": "gxp-otel-audit/1", "stream": STREAM}
    signature = signer.sign(statement)
    assert verify_statement(signer.public_key_hex, statement, signature)
    assert not verify_statement(signer.public_key_hex, statement, signature + "\n")
    assert not verify_statement(signer.public_key_hex + "\n", statement, signature)
    assert not is_commitment("gxp-shred:v1:" + "0" * 64 + "\n")


@pytest.mark.parametrize("count", ["\u00b2", "\u0661", "1" + "0" * 30])
def test_a_gap_count_with_non_ascii_digits_is_not_a_crash(tmp_path, count):
    trail = _trail(tmp_path / "trail")
    _rechain(trail, lambda record: record.update(kind="gap", body={"signal": "spans", "count": count, "reason": "x"})
             if record["seq"] == "5" else None)
    report = verify_trail(trail)
    assert report.streams[0].records > 5


def test_a_json_pointer_index_with_non_ascii_digits_points_nowhere():
    from gxp_otel.part11.statements import pointer_get

    assert pointer_get({"a": [1, 2]}, "/a/\u0661") == (False, None)
    assert pointer_get({"a": [1, 2]}, "/a/\u00b2") == (False, None)
    assert pointer_get({"a": [1, 2]}, "/a/1") == (True, 2)


def test_a_unix_socket_named_like_a_chain_file_is_reported(tmp_path):
    """Opening a socket fails with ENXIO (not a link, not a FIFO): still a reported problem, not a traceback."""
    import socket

    trail = _trail(tmp_path / "trail")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(trail / _name(9)))
        code, report = _cli_verify(trail)
    finally:
        server.close()
    assert code == 1
    assert (_name(9), None, None, "missing-file") in _problems(report)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become a second account (nobody)")
def test_a_chain_file_the_verifying_account_cannot_read_is_reported_not_a_traceback(tmp_path):
    """Files are 0600 (§2): an auditor's account that may list the directory but not read one file gets a
    reported problem naming it. A forked child becomes ``nobody`` (its interpreter is already loaded)."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="gxp-perm-"))
    try:
        os.chmod(base, 0o755)
        trail = _trail(base / "trail")
        os.chmod(trail, 0o755)
        for path in trail.iterdir():
            os.chmod(path, 0o644)
        os.chmod(trail / _name(2), 0o000)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            try:
                os.close(read_end)
                os.setgid(65534)
                os.setuid(65534)
                report = verify_trail(trail)
                os.write(write_end, orjson.dumps([[p.file, p.line, p.seq, p.kind] for p in report.problems]))
                os._exit(0)
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                os.write(write_end, orjson.dumps({"raised": repr(exc)}))
                os._exit(1)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            output = orjson.loads(pipe.read())
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, output
        assert [_name(2), None, None, "missing-file"] in output
    finally:
        shutil.rmtree(base)
