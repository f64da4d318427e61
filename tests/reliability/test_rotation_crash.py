"""A Python writer SIGKILLed at rotation, between the durable rotation record (and its checkpoint) and the creation
of the next chain file (issue 11): a real process is killed at exactly that step; the restarted writer continues in
the next file, nothing acknowledged is lost and the trail verifies."""

from __future__ import annotations

import signal
import subprocess
import sys

import orjson

from gxp_otel.audit.format import chain_file_name
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from trail_helpers import records

CHILD = """
import os, signal, sys
from gxp_otel.audit.stream_files import StreamFiles
from gxp_otel.audit.writer import AuditTrailWriter

real_open_chain = StreamFiles.open_chain

def open_chain(self, index, existing_size=None):
    if index == 2:  # the rotation record and checkpoint of file 1 are durable; file 2 does not exist yet
        os.kill(os.getpid(), signal.SIGKILL)
    return real_open_chain(self, index, existing_size)

StreamFiles.open_chain = open_chain
writer = AuditTrailWriter(sys.argv[1], stream_id="r.0", rotate_bytes=4096, compress=False)
for i in range(200):
    writer.append("log", [{"m": {"stringValue": f"acknowledged-{i}-" + "x" * 100}}])
    print(f"acknowledged-{i}-", flush=True)
"""


def test_sigkill_between_the_rotation_record_and_the_next_file_loses_nothing_acknowledged(tmp_path):
    trail = tmp_path / "trail"
    child = subprocess.run([sys.executable, "-c", CHILD, str(trail)], capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    acknowledged = child.stdout.split()
    assert acknowledged and not (trail / chain_file_name("r.0", 2)).exists()
    last = orjson.loads((trail / chain_file_name("r.0", 1)).read_bytes().splitlines()[-1])
    assert last["kind"] == "checkpoint" and last["body"]["statement"]["reason"] == "rotation"
    writer = AuditTrailWriter(trail, stream_id="r.0", rotate_bytes=4096, compress=False)
    writer.append("log", [{"m": {"stringValue": "after-restart"}}])
    writer.close()
    logs = [r["body"]["m"]["stringValue"] for r in records(trail) if r["kind"] == "log"]
    assert [text.rsplit("-", 1)[0] + "-" for text in logs[:-1]] == acknowledged  # all of them, in order
    assert logs[-1] == "after-restart"
    recovery = [r for r in records(trail) if r["kind"] == "recovery"]
    assert [r["body"]["reason"] for r in recovery] == ["unclean-shutdown"]
    assert (trail / chain_file_name("r.0", 2)).exists()
    report = verify_trail(trail)
    assert report.ok, report.problems
