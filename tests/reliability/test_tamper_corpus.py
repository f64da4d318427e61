"""systemd-style tamper corpus: flip bits of a small signed trail and its checkpoint file one at a time; every flip
must be detected. The full corpus (every bit) runs in `make test-faults`; `make test` runs a fixed sample."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gxp_otel.audit.format import check_line
from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from fault_results import record_result

SIGNER = CheckpointSigner.from_seed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


def _trail(directory: Path) -> list[Path]:
    writer = AuditTrailWriter(directory, stream_id="t.0", signing_key=SIGNER, compress=False, checkpoint_records=2)
    for i in range(4):
        writer.append("log", [{"gxp": {"user_id": "qa"}, "i": {"intValue": str(i)}}])
    writer.close()
    return [directory / "audit-t.0-000001.jsonl", directory / "audit-t.0.checkpoints.jsonl"]


def _flip_and_verify(files: list[Path], positions) -> tuple[int, list]:
    undetected = []
    tried = 0
    for path, bit in positions:
        original = path.read_bytes()
        data = bytearray(original)
        data[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(data))
        try:
            if verify_trail(path.parent, trusted_keys=[SIGNER.public_key_hex]).ok:
                undetected.append((path.name, bit))
        finally:
            path.write_bytes(original)
        tried += 1
    return tried, undetected


def _all_bits(files):
    return [(path, bit) for path in files for bit in range(path.stat().st_size * 8)]


def test_a_sample_of_single_bit_flips_is_all_detected(tmp_path):
    files = _trail(tmp_path)
    positions = random.Random(8).sample(_all_bits(files), 1500)
    tried, undetected = _flip_and_verify(files, positions)
    assert tried == 1500 and undetected == []


@pytest.mark.slow
def test_every_single_bit_flip_is_detected(tmp_path):
    files = _trail(tmp_path)
    positions = _all_bits(files)
    tried, undetected = _flip_and_verify(files, positions)
    record_result("bit-flips", flips=tried, detected=tried - len(undetected), undetected=len(undetected))
    assert tried == len(positions) and undetected == []


def _mutations(line: bytes, rng: random.Random, count: int):
    for _ in range(count):
        data = bytearray(line)
        for _ in range(rng.randint(1, 4)):
            choice = rng.random()
            position = rng.randrange(len(data))
            if choice < 0.5:
                data[position] = rng.randrange(256)
            elif choice < 0.75:
                del data[position]
            else:
                data.insert(position, rng.randrange(256))
        yield bytes(data)


@pytest.mark.parametrize("count", [20_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
def test_fuzzed_lines_never_crash_the_verifier_and_never_pass_as_valid(tmp_path, count):
    path = _trail(tmp_path)[0]
    lines = path.read_bytes().split(b"\n")[:-1]
    rng = random.Random(count)
    false_ok = 0
    for line in lines:
        for mutated in _mutations(line, rng, count // len(lines)):
            result = check_line(mutated)  # must not raise
            if result.problem is None and mutated != line:
                false_ok += 1
    record_result(f"fuzz-lines-{count}", inputs=(count // len(lines)) * len(lines), crashes=0, false_ok=false_ok)
    assert false_ok == 0
