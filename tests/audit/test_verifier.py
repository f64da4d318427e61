"""The verifier: any single-byte change is detected; arbitrary values round-trip and verify; reports are exact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gxp_otel.audit.signing import CheckpointSigner
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from trail_helpers import chain_files, records, traced

SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"


@pytest.fixture(scope="module")
def small_trail(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("small")
    writer = AuditTrailWriter(directory, stream_id="s.0", signing_key=CheckpointSigner.from_seed(SEED),
                              compress=False, checkpoint_records=3)
    for i in range(8):
        writer.append("log", [{"gxp": {"user_id": {"stringValue": "u"}}, "i": {"intValue": str(i)}}])
    writer.close()
    return directory


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(0, 1, exclude_max=True), new=st.integers(0, 255), which=st.sampled_from(["chain", "cp"]))
def test_any_single_byte_change_is_detected(small_trail, tmp_path_factory, position, new, which):
    copy = tmp_path_factory.mktemp("flip")
    shutil.rmtree(copy)
    shutil.copytree(small_trail, copy)
    target = chain_files(copy)[0] if which == "chain" else copy / "audit-s.0.checkpoints.jsonl"
    data = bytearray(target.read_bytes())
    index = int(position * len(data))
    if data[index] == new:
        new = (new + 1) % 256
    data[index] = new
    target.write_bytes(bytes(data))
    report = verify_trail(copy, trusted_keys=[CheckpointSigner.from_seed(SEED).public_key_hex])
    assert not report.ok


attribute_values = st.one_of(
    st.text(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.text(max_size=5), max_size=4),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4),
    st.lists(st.floats(), max_size=4),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.text(min_size=1, max_size=12), attribute_values, max_size=6))
def test_arbitrary_attribute_values_round_trip_and_verify(tmp_path_factory, attributes):
    directory = tmp_path_factory.mktemp("attrs")
    provider, _ = traced(directory)
    with provider.get_tracer("t").start_as_current_span("s", attributes=attributes) as span:
        expected = dict(span.attributes)
    provider.shutdown()
    report = verify_trail(directory)
    assert report.ok, report.problems
    body = next(r["body"] for r in records(directory) if r["kind"] == "span")
    assert set(body["attributes"]) == set(expected)
    for key, value in expected.items():
        encoded = body["attributes"][key]
        if isinstance(value, bool):
            assert encoded == {"boolValue": value}
        elif isinstance(value, int):
            assert encoded == {"intValue": str(value)}
        elif isinstance(value, str):
            assert encoded.get("stringValue", "").replace("\ufffd", "") == value.encode("utf-8", "ignore").decode() \
                or "coerced" in body
        elif isinstance(value, float):
            assert float(encoded["doubleValue"]) == value or value != value


def test_trusted_key_mismatch_is_reported_as_untrusted(small_trail):
    other = CheckpointSigner.from_seed("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
    report = verify_trail(small_trail, trusted_keys=[other.public_key_hex])
    assert not report.ok
    assert {p.kind for p in report.problems} == {"untrusted-key", "bad-checkpoint-file", "unknown-stream"}


def test_unsigned_checkpoints_are_called_out(tmp_path):
    AuditTrailWriter(tmp_path).close()
    AuditTrailWriter(tmp_path).close()
    report = verify_trail(tmp_path)
    assert report.ok
    assert any("unsigned" in note for note in report.streams[0].notes)


def test_verifies_a_single_chain_file_and_reads_gz(tmp_path):
    writer = AuditTrailWriter(tmp_path, rotate_bytes=4096)
    for _ in range(30):
        writer.append("log", [{"x": {"stringValue": "y" * 200}}])
    writer.close()
    files = chain_files(tmp_path)
    assert files[0].name.endswith(".gz")
    assert verify_trail(tmp_path).ok
    assert verify_trail(files[-1]).streams[0].stream == writer.stream_id


def test_alcoa_findings_are_computed_from_each_record(tmp_path):
    provider, _ = traced(tmp_path)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("attributed", attributes={"gxp.agent.id": "agent-1"}):
        pass
    provider.shutdown()
    unattributed = AuditTrailWriter(tmp_path, stream_id="raw.0")
    unattributed.append("log", [{"gxp": {}, "time_unix_nano": "1", "observed_time_unix_nano": "1",
                                 "dropped_attributes": "0", "trace_id": "", "span_id": ""}])
    unattributed.close()
    findings = verify_trail(tmp_path, alcoa=True).alcoa["principles"]
    assert findings["attributable"]["passed"] == 1 and findings["attributable"]["failed"] == 1
    assert findings["contemporaneous"]["failed"] == 1  # an event in 1970 recorded today
    assert findings["contemporaneous"]["examples"][0]["file"].startswith("audit-raw.0")
    assert findings["enduring"]["passed"] == 0  # unsigned checkpoints seal nothing
