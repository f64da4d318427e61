"""A hostile local account against the Python writer and `retention hold` (issue 14.1, 14.7): real symlinks, real
FIFOs, a real second writer process and a real second OS account. Nothing is written through a link, nothing
outside the trail changes, and one stream is never written by two processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gxp_otel.audit.format import chain_file_name, checkpoint_file_name, lock_file_name
from gxp_otel.audit.trail_directory import NotRegularFileError
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailBusyError, AuditTrailWriter
from gxp_otel.part11.retention import HOLD_FILE, active_holds, place_hold
from trail_helpers import records

STREAM = "s.0"
VICTIM_BYTES = b"root-only secret: must never change\n"


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(VICTIM_BYTES)
    victim.chmod(0o600)
    return victim


def _log(writer: AuditTrailWriter, text: str, count: int = 1) -> None:
    writer.append("log", [{"m": {"stringValue": f"{text}-{i}"}} for i in range(count)])


def test_gzip_step_never_writes_through_a_planted_temporary_link(tmp_path):
    trail, victim = tmp_path / "trail", _victim(tmp_path)
    trail.mkdir()
    (trail / (chain_file_name(STREAM, 1) + ".gz.tmp")).symlink_to(victim)
    writer = AuditTrailWriter(trail, stream_id=STREAM, rotate_bytes=4096)
    _log(writer, "x" * 200, 40)  # rotates at least once: file 1 is gzipped
    writer.close()
    assert victim.read_bytes() == VICTIM_BYTES
    assert (trail / (chain_file_name(STREAM, 1) + ".gz")).is_file()
    assert not (trail / (chain_file_name(STREAM, 1) + ".gz.tmp")).exists()
    assert verify_trail(trail).ok


def test_restart_refuses_a_newest_chain_file_that_is_a_link_and_leaves_its_target_alone(tmp_path):
    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail, stream_id=STREAM, compress=False)
    _log(writer, "before")
    writer.abandon()
    newest = trail / chain_file_name(STREAM, 1)
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_bytes(newest.read_bytes() + b'{"torn tail')  # recovery would quarantine, truncate and append
    newest.unlink()
    newest.symlink_to(foreign)
    before = foreign.read_bytes()
    with pytest.raises(NotRegularFileError, match="symlink"):
        AuditTrailWriter(trail, stream_id=STREAM, compress=False)
    assert foreign.read_bytes() == before
    assert not list(trail.glob("*.quarantine*"))


def test_checkpoint_file_link_is_refused_before_anything_is_written(tmp_path):
    trail, victim = tmp_path / "trail", _victim(tmp_path)
    trail.mkdir()
    (trail / checkpoint_file_name(STREAM)).symlink_to(victim)
    with pytest.raises(NotRegularFileError):
        AuditTrailWriter(trail, stream_id=STREAM)
    assert victim.read_bytes() == VICTIM_BYTES


def test_a_fifo_named_like_the_lock_or_checkpoint_file_is_refused_not_waited_on(tmp_path):
    for name in (lock_file_name(STREAM), checkpoint_file_name(STREAM)):
        trail = tmp_path / name.replace(".", "_")
        trail.mkdir()
        os.mkfifo(trail / name)
        # in a second process, so a regression (open blocking on the FIFO) fails the test instead of hanging it
        run = subprocess.run([sys.executable, "-c", "import sys; from gxp_otel.audit.writer import AuditTrailWriter;"
                              f"AuditTrailWriter(sys.argv[1], stream_id={STREAM!r})", str(trail)],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode != 0 and "not a regular file" in run.stderr, run.stderr


def test_running_writer_does_not_follow_its_directory_replaced_by_a_link(tmp_path):
    trail, elsewhere = tmp_path / "trail", tmp_path / "elsewhere"
    elsewhere.mkdir()
    writer = AuditTrailWriter(trail, stream_id=STREAM, rotate_bytes=4096)
    _log(writer, "before")
    trail.rename(tmp_path / "moved")
    trail.symlink_to(elsewhere, target_is_directory=True)
    _log(writer, "y" * 200, 40)  # writes, rotates and compresses after the swap
    writer.close()
    assert os.listdir(elsewhere) == []
    moved = tmp_path / "moved"
    texts = [r["body"]["m"]["stringValue"] for r in records(moved) if r["kind"] == "log"]
    assert texts[0] == "before-0" and len(texts) == 41
    assert verify_trail(moved).ok


def test_retention_hold_never_writes_through_a_planted_temporary_link(tmp_path):
    trail, victim = tmp_path / "trail", _victim(tmp_path)
    trail.mkdir()
    (trail / (HOLD_FILE + ".tmp")).symlink_to(victim)
    hold = place_hold(trail, reason="inspection", placed_by="qa.lead")
    assert victim.read_bytes() == VICTIM_BYTES
    assert [h["id"] for h in active_holds(trail)] == [hold]


def test_retention_hold_refuses_a_hold_file_that_is_a_link(tmp_path):
    trail, victim = tmp_path / "trail", _victim(tmp_path)
    trail.mkdir()
    (trail / HOLD_FILE).symlink_to(victim)
    with pytest.raises(ValueError, match="not a regular file|symlink"):
        place_hold(trail, reason="inspection", placed_by="qa.lead")
    assert victim.read_bytes() == VICTIM_BYTES


NOBODY = 65534


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to act as a second, unprivileged account")
def test_low_privilege_account_cannot_make_roots_retention_hold_overwrite_a_root_only_file():
    base = Path(tempfile.mkdtemp(prefix="gxp-hostile-", dir="/tmp"))
    try:
        base.chmod(0o755)
        secret = base / "root-only.conf"
        secret.write_bytes(VICTIM_BYTES)
        secret.chmod(0o600)
        trail = base / "trail"
        trail.mkdir()
        os.chown(trail, NOBODY, NOBODY)  # the low-privilege account can write the trail directory
        planted = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                                  "ln", "-s", str(secret), str(trail / (HOLD_FILE + ".tmp"))],
                                 capture_output=True, text=True, timeout=60)
        assert planted.returncode == 0, planted.stderr
        assert (trail / (HOLD_FILE + ".tmp")).lstat().st_uid == NOBODY
        held = subprocess.run([sys.executable, "-m", "gxp_otel.cli", "retention", "hold", str(trail),
                               "--reason", "inspection", "--by", "qa.lead"], capture_output=True, text=True,
                              timeout=120)
        assert held.returncode == 0, held.stderr
        assert secret.read_bytes() == VICTIM_BYTES and secret.stat().st_mode & 0o777 == 0o600
        assert len(active_holds(trail)) == 1
    finally:
        shutil.rmtree(base)


_SECOND_WRITER = """
import sys
from gxp_otel.audit.writer import AuditTrailWriter
writer = AuditTrailWriter(sys.argv[1], stream_id=sys.argv[2], compress=False)
writer.append("log", [{"m": {"stringValue": "first-process-1"}}])
print("ready", flush=True)
sys.stdin.readline()
writer.append("log", [{"m": {"stringValue": "first-process-2"}}])
writer.close()
print("done", flush=True)
"""


@pytest.mark.parametrize("attack", ["deleted", "replaced"])
def test_deleting_or_replacing_the_lock_file_never_lets_a_second_process_write_the_stream(tmp_path, attack):
    trail = tmp_path / "trail"
    first = subprocess.Popen([sys.executable, "-c", _SECOND_WRITER, str(trail), STREAM], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "ready"
        lock = trail / lock_file_name(STREAM)
        if attack == "deleted":
            lock.unlink()
        else:
            (trail / "other").write_bytes(b"")
            (trail / "other").replace(lock)
        with pytest.raises(AuditTrailBusyError, match="held by another writer"):
            AuditTrailWriter(trail, stream_id=STREAM, compress=False)
        first.stdin.write("go\n")
        first.stdin.flush()
        assert first.stdout.readline().strip() == "done"
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    texts = [r["body"]["m"]["stringValue"] for r in records(trail) if r["kind"] == "log"]
    assert texts == ["first-process-1", "first-process-2"]
    assert verify_trail(trail).ok
    # once the first writer is gone, the stream can be continued
    AuditTrailWriter(trail, stream_id=STREAM, compress=False).close()
    assert verify_trail(trail).ok


def test_restart_after_a_torn_line_longer_than_many_read_chunks_quarantines_it_whole(tmp_path):
    """The tail is read backwards in one pass (issue 14.5: it was re-concatenated per 64 KiB chunk, quadratic;
    bench/bench_torn_restart.py times 64 MiB)."""
    import hashlib

    writer = AuditTrailWriter(tmp_path, stream_id=STREAM, compress=False)
    _log(writer, "before")
    path = writer.current_file
    writer.abandon()
    torn = b'{"torn":"' + b"y" * (8 << 20) + b"\n" + b'{"also torn'  # an invalid complete line, then a torn one
    durable = path.read_bytes()
    with open(path, "ab") as handle:
        handle.write(torn)
    writer = AuditTrailWriter(tmp_path, stream_id=STREAM, compress=False)
    writer.close()
    (recovery,) = [r for r in records(tmp_path) if r["kind"] == "recovery"]
    assert recovery["body"]["torn_bytes"] == str(len(torn))
    assert recovery["body"]["quarantine_sha256"] == hashlib.sha256(torn).hexdigest()
    assert (tmp_path / recovery["body"]["quarantine_file"]).read_bytes() == torn
    assert path.read_bytes().startswith(durable) and verify_trail(tmp_path).ok


def test_a_newest_compressed_chain_file_that_is_a_link_is_refused(tmp_path):
    trail = tmp_path / "trail"
    writer = AuditTrailWriter(trail, stream_id=STREAM, rotate_bytes=4096)
    _log(writer, "z" * 200, 40)
    writer.close()
    plain = sorted(trail.glob(f"audit-{STREAM}-*.jsonl"))[-1]
    plain.unlink()  # the newest file is now the last .gz: restart reads its last record
    newest = sorted(trail.glob(f"audit-{STREAM}-*.jsonl.gz"))[-1]
    foreign = tmp_path / "foreign.gz"
    newest.rename(foreign)
    newest.symlink_to(foreign)
    with pytest.raises(NotRegularFileError, match="symlink"):
        AuditTrailWriter(trail, stream_id=STREAM)
