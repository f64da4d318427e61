"""Verification with worker processes gives exactly the one-process report: every vector (negative, part11,
golden), with and without ALCOA+, and trails tampered in ways that break the runs the workers hand back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
TRAILS = sorted(p.parent for p in VECTORS.glob("*/*/expected.json"))


def _options(directory: Path) -> dict:
    options = json.loads((directory / "expected.json").read_text())["options"]
    return {"trusted_keys": options.get("trusted_keys", []), "signers": options.get("signers", []),
            "purgers": options.get("purgers", []),
            "checkpoint_files": [directory / p for p in options.get("checkpoint_files", [])]}


def _same_report(path: Path, **options) -> None:
    one = verify_trail(path, workers=0, **options).to_dict()
    two = verify_trail(path, workers=2, **options).to_dict()
    assert two == one


@pytest.mark.parametrize("directory", TRAILS, ids=[f"{p.parent.name}/{p.name}" for p in TRAILS])
def test_every_vector_gets_the_one_process_report(directory: Path):
    _same_report(directory / "trail", **_options(directory))
    _same_report(directory / "trail", alcoa=True, **_options(directory))


def _trail(tmp_path: Path) -> Path:
    writer = AuditTrailWriter(tmp_path, compress=False, rotate_bytes=20_000, checkpoint_records=7)
    for i in range(300):
        writer.append("span" if i % 3 else "log", [{"name": f"r{i}", "trace_id": f"{i:032x}"}])
    writer.close()
    return tmp_path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("tamper", ["delete", "swap", "duplicate", "modify", "truncate", "torn", "foreign"])
def test_tampered_runs_get_the_one_process_report(tmp_path: Path, tamper: str):
    trail = _trail(tmp_path)
    files = sorted(trail.glob("audit-*-*.jsonl"))
    assert len(files) > 3
    target = files[1]
    lines = _lines(target)
    if tamper == "delete":
        del lines[5]
    elif tamper == "swap":
        lines[4], lines[6] = lines[6], lines[4]
    elif tamper == "duplicate":
        lines.insert(8, lines[3])
    elif tamper == "modify":
        lines[5] = lines[5].replace(b'"name":"r', b'"name":"R', 1)
    elif tamper == "truncate":
        lines = lines[:3]
    elif tamper == "torn":
        lines[-1] = lines[-1][:-10]
    else:
        lines[5] = lines[5].replace(b'"stream":"', b'"stream":"x', 1)
    target.write_bytes(b"".join(lines))
    _same_report(trail)
    _same_report(trail, alcoa=True)
    checkpoints = next(trail.glob("*.checkpoints.jsonl"))
    held = tmp_path.parent / f"{tmp_path.name}-held.jsonl"
    held.write_bytes(checkpoints.read_bytes())
    _same_report(trail, checkpoint_files=[held])


def test_a_held_copy_that_sealed_other_records_is_reported_inside_a_run(tmp_path: Path):
    trail = _trail(tmp_path)
    checkpoints = _lines(next(trail.glob("*.checkpoints.jsonl")))
    head = json.loads(checkpoints[3])["statement"]["head"]
    checkpoints[3] = checkpoints[3].replace(head.encode(), b"0" * 64)
    held = tmp_path.parent / f"{tmp_path.name}-held.jsonl"
    held.write_bytes(b"".join(checkpoints))
    report = verify_trail(trail, workers=2, checkpoint_files=[held])
    assert "rewritten" in {p.kind for p in report.problems}
    _same_report(trail, checkpoint_files=[held])


def test_runs_are_applied_merged_replayed_and_reread(tmp_path: Path, monkeypatch):
    """The paths of chain_replay are all taken by the cases above: a run applied at once (with its ALCOA+ partial),
    replayed record by record, read again (ALCOA+ after a broken link), split at MAX_RUN records."""
    import gxp_otel.audit.chain_replay as chain_replay
    import gxp_otel.audit.parallel_verify as parallel_verify

    calls: dict[str, int] = {}
    for name in ("_apply_run", "_replay_run", "_reread_run"):
        original = getattr(chain_replay, name)

        def counted(*args, _original=original, _name=name):
            calls[_name] = calls.get(_name, 0) + 1
            return _original(*args)

        monkeypatch.setattr(chain_replay, name, counted)
    monkeypatch.setattr(parallel_verify, "MAX_RUN", 5)
    trail = _trail(tmp_path)
    target = sorted(trail.glob("audit-*-*.jsonl"))[1]
    lines = _lines(target)
    lines.insert(8, lines[3])
    target.write_bytes(b"".join(lines))
    _same_report(trail)
    _same_report(trail, alcoa=True)
    assert calls.get("_apply_run", 0) > 10 and calls.get("_replay_run", 0) >= 1 and calls.get("_reread_run", 0) >= 1


def test_a_file_of_many_whole_records_is_read_by_the_verifier_itself(tmp_path: Path, monkeypatch):
    import gxp_otel.audit.parallel_verify as parallel_verify

    monkeypatch.setattr(parallel_verify, "MAX_HELD_BYTES", 100)
    _same_report(_trail(tmp_path))


def test_no_workers_are_forked_while_another_thread_runs(monkeypatch):
    """A fork while another thread holds a lock can hang the child: in-process verification in a threaded
    application (an SDK's export thread, a web server) stays in one process unless workers are asked for."""
    from gxp_otel.audit import parallel_verify

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(parallel_verify.threading, "active_count", lambda: 1)
    assert parallel_verify.worker_count(parallel_verify.PARALLEL_MIN_BYTES, None) == 2
    monkeypatch.setattr(parallel_verify.threading, "active_count", lambda: 2)
    assert parallel_verify.worker_count(parallel_verify.PARALLEL_MIN_BYTES, None) == 0
    assert parallel_verify.worker_count(parallel_verify.PARALLEL_MIN_BYTES, 2) == 2


@pytest.mark.parametrize("compress", [False, True])
def test_lines_the_reader_cannot_hand_on_get_the_one_process_report(tmp_path: Path, monkeypatch, compress: bool):
    """Workers read blocks of whole lines (iter_line_blocks), the verifier's process line by line (iter_lines): an
    overlong line, a torn last line, a damaged .gz and garbage between good records are numbered alike."""
    import functools
    import gzip

    import gxp_otel.audit.chain_replay as chain_replay
    import gxp_otel.audit.parallel_verify as parallel_verify
    import gxp_otel.audit.reading as reading
    import gxp_otel.audit.verifier as verifier

    monkeypatch.setattr(parallel_verify, "iter_line_blocks", functools.partial(reading.iter_line_blocks, max_line=900))
    for module in (verifier, chain_replay):
        monkeypatch.setattr(module, "iter_lines", functools.partial(reading.iter_lines, max_line=900))
    trail = _trail(tmp_path)
    files = sorted(trail.glob("audit-*-*.jsonl"))
    lines = _lines(files[1])
    lines[4:4] = [b"x" * 5000 + b"\n", b"not json\n", b"y" * 901 + b"\n", b"z" * 900 + b"\n"]
    files[1].write_bytes(b"".join(lines))
    files[2].write_bytes(b"".join(_lines(files[2])[:-1]) + b"w" * 3000)  # torn and overlong
    files[3].write_bytes(b"".join(_lines(files[3]))[:-7])  # torn
    if compress:
        for path, data in ((files[4], gzip.compress(files[4].read_bytes())),
                           (files[5], gzip.compress(files[5].read_bytes())[:-12])):  # the second one damaged
            path.with_name(path.name + ".gz").write_bytes(data)
            path.unlink()
    _same_report(trail)
    _same_report(trail, alcoa=True)
    report = verify_trail(trail, workers=2)
    kinds = {p.kind for p in report.problems}
    assert {"malformed", "torn-line"} <= kinds, kinds
