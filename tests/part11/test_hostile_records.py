"""Hostile Part 11 records never crash the verifier: any member replaced by any JSON value (even when the statement
is then validly signed by the attacker's own key) is a reported problem, never an exception or a pass."""

from __future__ import annotations

import shutil

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gxp_otel.audit.canonical import purge_message, signature_message
from gxp_otel.audit.signing import key_id_for
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.audit.writer import AuditTrailWriter
from gxp_otel.part11.retention import purge
from gxp_otel.part11.statements import RETENTION_STREAM
from p11_helpers import DAY_NS, PASSPHRASE, START_NS, daily_trail, lines, registry_entry

json_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=8) | st.sampled_from(["0", "1", "ab" * 32, "none", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)
ATTACKER = Ed25519PrivateKey.generate()
PUBLIC = ATTACKER.public_key().public_bytes_raw().hex()


@pytest.fixture(scope="module")
def purged_trail(tmp_path_factory, alice):
    """A trail with a real tombstone, whose statement the tests take apart."""
    directory = tmp_path_factory.mktemp("purged")
    daily_trail(directory, 4)
    purge(directory, before_ns=START_NS + 2 * DAY_NS + DAY_NS // 2, reason="r", policy="p", key=alice,
          user_id="alice", passphrase=PASSPHRASE, now_ns=START_NS + 3000 * DAY_NS)
    return directory


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _replace(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), new=json_values)
def test_a_resigned_tombstone_with_any_member_replaced_never_crashes_the_verifier(purged_trail, tmp_path_factory,
                                                                                 data, new):
    trail = tmp_path_factory.mktemp("hostile")
    shutil.rmtree(trail)
    shutil.copytree(purged_trail, trail)
    (record,) = [r for r in lines(trail / f"audit-{RETENTION_STREAM}-000001.jsonl") if r["kind"] == "purge"]
    statement = record["body"]["statement"]
    path = data.draw(st.sampled_from([p for p in _paths(statement) if p]))
    forged = _replace(statement, path, new)
    if isinstance(forged, dict):
        forged = {**forged, "public_key": PUBLIC, "key_id": key_id_for(bytes.fromhex(PUBLIC))} \
            if path[0] not in ("public_key", "key_id") else forged
    try:
        signature = ATTACKER.sign(purge_message(forged)).hex()
    except ValueError:
        return  # not JSON the format can hold (the writer would refuse it too)
    writer = AuditTrailWriter(trail, stream_id=RETENTION_STREAM, compress=False)
    writer.append("purge", [{"statement": forged, "signature": signature}])
    writer.close()
    verify_trail(trail)  # must not raise


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["signature", "correction", "purge"]), body=json_values, statement=json_values)
def test_any_body_of_a_reserved_kind_is_reported_not_raised(tmp_path_factory, kind, body, statement):
    trail = tmp_path_factory.mktemp("bodies")
    writer = AuditTrailWriter(trail, stream_id=RETENTION_STREAM, compress=False)
    writer.append("log", [{"x": {"stringValue": "y"}}])
    candidates = [body if isinstance(body, dict) else {"value": body}]
    if isinstance(statement, dict):
        message = signature_message if kind == "signature" else purge_message
        try:
            candidates.append({"statement": statement, "signature": ATTACKER.sign(message(statement)).hex()})
        except ValueError:
            pass
    try:
        writer.append(kind, candidates)
    except ValueError:
        return
    finally:
        writer.close()
    report = verify_trail(trail)
    assert not report.ok


def test_a_tombstone_claiming_a_purge_inside_the_retention_period_is_bad_purge(tmp_path, alice):
    """Even correctly signed, a tombstone that contradicts its own retention period is not honoured."""
    daily_trail(tmp_path, 4, retention_days=10)
    purge(tmp_path, before_ns=START_NS + 2 * DAY_NS + DAY_NS // 2, reason="r", policy="p", key=alice,
          user_id="alice", passphrase=PASSPHRASE, retention_days=10, now_ns=START_NS + 20 * DAY_NS)
    (record,) = [r for r in lines(tmp_path / f"audit-{RETENTION_STREAM}-000001.jsonl") if r["kind"] == "purge"]
    statement = {**record["body"]["statement"], "retention_days": "2555"}
    private = alice.unlock("alice", PASSPHRASE)
    writer = AuditTrailWriter(tmp_path, stream_id=RETENTION_STREAM, compress=False)
    writer.append("purge", [{"statement": statement, "signature": private.sign(purge_message(statement)).hex()}])
    writer.close()
    problems = verify_trail(tmp_path, purgers=[registry_entry(alice)]).problems
    assert [p.kind for p in problems] == ["bad-purge"] and "retention period" in problems[0].detail
