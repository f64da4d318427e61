"""Builders for Part 11 tests: signer keys (created once per session: scrypt is slow on purpose) and small trails."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import orjson

from gxp_otel.audit.canonical import parse_time
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.writer import AuditTrailWriter

PASSPHRASE = "correct horse battery"
WRITER_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
DAY_NS = 86_400 * 1_000_000_000
START_NS = 1_577_836_800 * 1_000_000_000  # 2020-01-01T00:00:00Z


def writer_key() -> CheckpointSigner:
    return CheckpointSigner.from_seed(WRITER_SEED)


def log_body(text: str, user: str = "qa.author") -> dict:
    return {"gxp": {"user_id": user}, "attributes": {"decision": {"stringValue": text}},
            "body": {"stringValue": text}}


def small_trail(directory: Path, records: int = 3, stream: str = "app.0") -> AuditTrailWriter:
    """An open, signed writer with ``records`` log records after genesis (seq 1..records)."""
    writer = AuditTrailWriter(directory, stream_id=stream, signing_key=writer_key(), compress=False)
    for i in range(records):
        writer.append("log", [log_body(f"value {i}")])
    return writer


def registry_entry(key) -> dict[str, str]:
    """A signer's (or purger's) registry entry, as ``KEY.signer.json`` holds it (verify --signer / --purger)."""
    return {"printed_name": key.printed_name, "user_id": key.user_id, "key_id": key.key_id,
            "public_key": key.public_key}


def daily_trail(directory: Path, days: int, stream: str = "app.0", compress: bool = False,
                retention_days: int = 2555) -> None:
    """A closed trail written from 2020-01-01, one record a day: each day's record starts a new file (daily rotation);
    ``retention_days`` is its genesis's retention period, which bounds every purge (§12.3)."""
    now = [START_NS]

    def clock() -> int:
        now[0] += 1_000
        return now[0]

    writer = AuditTrailWriter(directory, stream_id=stream, signing_key=writer_key(), compress=compress, clock=clock,
                              retention_days=retention_days)
    for day in range(days):
        now[0] = START_NS + day * DAY_NS
        writer.append("log", [log_body(f"day {day}")])
    writer.close()
    age_to_recorded_times(directory)


def age_to_recorded_times(directory: Path) -> None:
    """Give every chain file the file-system time its injected clock claims (its last record's time): purge
    eligibility also asks the file system how old a file is (issue 14.3)."""
    for path in Path(directory).glob("audit-*.jsonl*"):
        if ".checkpoints." in path.name:
            continue
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            last = handle.read().splitlines()[-1]
        moment = parse_time(orjson.loads(last)["time"])
        os.utime(path, ns=(moment, moment))


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def copy_trail(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
