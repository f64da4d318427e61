"""The Part 11 verbs: keygen --signer, sign (--seq, --trace-id), correct, retention list|hold|release|purge."""

from __future__ import annotations

import json

import orjson
import pytest
from typer.testing import CliRunner

from gxp_otel.audit.verifier import verify_trail
from gxp_otel.cli import app
from gxp_otel.part11.keys import SignerKey
from p11_helpers import PASSPHRASE, daily_trail, small_trail

ENV = {"SIGNER_PASS": PASSPHRASE}


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def test_keygen_signer_makes_an_encrypted_personal_key(tmp_path):
    result = run("keygen", tmp_path / "carol.key", "--signer", "Carol Chemist", "--user-id", "carol",
                 "--passphrase-env", "SIGNER_PASS")
    assert result.exit_code == 0, result.output
    key = SignerKey.load(tmp_path / "carol.key")
    assert (key.printed_name, key.user_id) == ("Carol Chemist", "carol")
    assert (tmp_path / "carol.key.pub").read_text().strip() == key.public_key
    key.unlock("carol", PASSPHRASE)
    assert run("keygen", tmp_path / "d.key", "--signer", "Dan", "--passphrase-env", "SIGNER_PASS").exit_code == 2


def test_sign_by_seq_appends_a_verified_signature(tmp_path, alice):
    small_trail(tmp_path).close()
    result = run("sign", tmp_path, "--seq", "2", "--meaning", "approved", "--reason", "batch record reviewed",
                 "--key", alice.path, "--user-id", "alice", "--passphrase-env", "SIGNER_PASS", "--json")
    assert result.exit_code == 0, result.output
    signed = json.loads(result.stdout)  # "about to sign: ..." goes to stderr
    assert signed["record"]["seq"] == "2" and signed["statement"]["meaning"] == "approval"
    report = verify_trail(tmp_path)
    assert report.ok and report.part11["signatures"][0]["reason"] == "batch record reviewed"
    shown = run("verify", tmp_path)
    assert "signed by Alice Example (alice) on" in shown.output and "meaning: approval" in shown.output


def test_sign_by_trace_id_signs_the_root_span(tmp_path, alice):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from gxp_otel.audit.exporters import ComplianceSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ComplianceSpanExporter(tmp_path, compress=False)))
    with provider.get_tracer("t").start_as_current_span("workflow.run") as root:
        with provider.get_tracer("t").start_as_current_span("step"):
            pass
    provider.shutdown()
    trace_id = f"{root.get_span_context().trace_id:032x}"
    result = run("sign", tmp_path, "--trace-id", trace_id, "--meaning", "review", "--key", alice.path,
                 "--user-id", "alice", "--passphrase-env", "SIGNER_PASS")
    assert result.exit_code == 0, result.output
    (shown,) = verify_trail(tmp_path).part11["signatures"]
    assert shown["record"]["what"] == f"span 'workflow.run' (trace {trace_id})" and shown["linked"]


def test_sign_with_a_wrong_user_id_exits_1_and_writes_nothing(tmp_path, alice):
    small_trail(tmp_path).close()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run("sign", tmp_path, "--seq", "1", "--meaning", "review", "--key", alice.path, "--user-id", "bob",
                 "--passphrase-env", "SIGNER_PASS")
    assert result.exit_code == 1 and "user id or passphrase is wrong" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_correct_records_a_signed_correction(tmp_path, alice):
    small_trail(tmp_path).close()
    result = run("correct", tmp_path, "--seq", "1", "--path", "/attributes/decision", "--new-string", "fixed",
                 "--reason", "typo", "--key", alice.path, "--user-id", "alice", "--passphrase-env", "SIGNER_PASS")
    assert result.exit_code == 0, result.output
    report = verify_trail(tmp_path)
    assert report.ok
    (listed,) = report.part11["corrections"]
    assert (listed["old_value"], listed["new_value"]) == ({"stringValue": "value 0"}, {"stringValue": "fixed"})
    assert run("correct", tmp_path, "--seq", "1", "--path", "/attributes/decision", "--new-value", "3",
               "--reason", "r", "--key", alice.path, "--user-id", "alice",
               "--passphrase-env", "SIGNER_PASS").exit_code == 2  # a JSON number cannot be stored
    assert sorted(p.name for p in tmp_path.glob("audit-*-000001.jsonl")) == ["audit-app.0-000001.jsonl",
                                                                            "audit-esign.0-000001.jsonl"]


@pytest.fixture()
def old_trail(tmp_path):
    daily_trail(tmp_path, 4, retention_days=30)
    return tmp_path


def test_retention_list_hold_release_and_purge(old_trail, alice):
    # the files date from 2020-01: with a 30-day minimum they are past retention today
    listed = run("retention", "list", old_trail, "--before", "2020-01-04", "--retention-days", "30", "--json")
    assert [row["eligible"] for row in json.loads(listed.output)] == [True, True, False, False]
    hold = run("retention", "hold", old_trail, "--reason", "FDA inspection", "--by", "qa.head").output.strip()
    purge = ("retention", "purge", old_trail, "--before", "2020-01-04", "--retention-days", "30", "--reason",
             "retention over", "--policy", "SOP-17", "--key", alice.path, "--user-id", "alice",
             "--passphrase-env", "SIGNER_PASS")
    held = run(*purge)
    assert held.exit_code == 0 and "nothing to purge" in held.output
    assert run("retention", "release", old_trail, hold, "--reason", "closed", "--by", "qa.head").exit_code == 0
    done = run(*purge)
    assert done.exit_code == 0 and done.output.count("purged audit-app.0-") == 2
    unanchored = run("verify", old_trail)  # no purger registry: no tombstone is honoured (§12.3)
    assert unanchored.exit_code == 1 and "missing-file" in unanchored.output and "no purger registry" in unanchored.output
    shown = run("verify", old_trail, "--purger", alice.path.with_name("alice.key.signer.json"))
    assert shown.exit_code == 0 and shown.output.count("purged by policy") >= 2, shown.output
    holds = orjson.loads((old_trail / "legal-hold.json").read_bytes())["holds"]
    assert holds[0]["released_by"] == "qa.head" and holds[0]["reason"] == "FDA inspection"


def test_retention_needs_a_real_date_and_a_positive_period(old_trail, alice):
    assert run("retention", "list", old_trail, "--before", "yesterday").exit_code == 2
    result = run("retention", "purge", old_trail, "--before", "2020-01-04", "--retention-days", "0", "--reason", "r",
                 "--policy", "p", "--key", alice.path, "--user-id", "alice", "--passphrase-env", "SIGNER_PASS")
    assert result.exit_code == 2 and "retention_days must be positive" in result.output


def test_verify_with_the_signer_registry_accepts_registered_signers(tmp_path, alice):
    small_trail(tmp_path).close()
    assert run("sign", tmp_path, "--seq", "1", "--meaning", "review", "--key", alice.path, "--user-id", "alice",
               "--passphrase-env", "SIGNER_PASS").exit_code == 0
    registered = run("verify", tmp_path, "--signer", alice.path.with_name("alice.key.signer.json"))
    assert registered.exit_code == 0, registered.output
    assert run("verify", tmp_path, "--signer", alice.path).exit_code == 2  # the private key file is not an identity


def _traced_run(directory, stream: str, key=None, run_id: str = "run-7", trace_id: int | None = None) -> str:
    """One workflow run (root span and a step) through the SDK into stream ``stream``; returns its trace id.
    ``trace_id`` forces the ids (a planted copy of a real run)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    from gxp_otel.audit.exporters import ComplianceSpanExporter

    class Fixed(RandomIdGenerator):
        def generate_trace_id(self) -> int:
            return trace_id if trace_id is not None else super().generate_trace_id()

    provider = TracerProvider(id_generator=Fixed())
    provider.add_span_processor(SimpleSpanProcessor(ComplianceSpanExporter(directory, stream_id=stream,
                                                                           signing_key=key, compress=False)))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("workflow.run", attributes={"gxp.workflow.run_id": run_id}) as root:
        with tracer.start_as_current_span("step", attributes={"gxp.workflow.run_id": run_id}):
            pass
    provider.shutdown()
    return f"{root.get_span_context().trace_id:032x}"


def test_sign_by_trace_id_refuses_a_trace_found_in_two_chains_and_writes_nothing(tmp_path, alice):
    """Attack 7 of issue 11: a planted stream that sorts first holds a copy of the run's root span. Before, sign
    --trace-id signed the first match in any stream; now two records that verify are ambiguous."""
    from p11_helpers import writer_key

    trace_id = _traced_run(tmp_path, "app.0", key=writer_key())
    _traced_run(tmp_path, "aaa.0", trace_id=int(trace_id, 16))  # unsigned, but intact: it verifies self-keyed
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run("sign", tmp_path, "--trace-id", trace_id, "--meaning", "approval", "--key", alice.path,
                 "--user-id", "alice", "--passphrase-env", "SIGNER_PASS")
    assert result.exit_code == 2 and "names 2 records" in result.output
    assert "stream aaa.0 seq" in result.output and "stream app.0 seq" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("by", ["--trace-id", "--run-id"])
def test_sign_resolves_only_within_chains_that_verify_and_shows_what_it_signs(tmp_path, alice, by):
    from p11_helpers import writer_key

    trace_id = _traced_run(tmp_path, "app.0", key=writer_key())
    _traced_run(tmp_path, "aaa.0", trace_id=int(trace_id, 16))  # planted: no trusted writer ever sealed it
    value = trace_id if by == "--trace-id" else "run-7"
    result = run("sign", tmp_path, by, value, "--trusted-key", writer_key().public_key_hex, "--meaning", "approval",
                 "--key", alice.path, "--user-id", "alice", "--passphrase-env", "SIGNER_PASS")
    assert result.exit_code == 0, result.output
    assert "about to sign: stream app.0 seq 2" in result.output  # the root span ends last: seq 2 after the step
    (shown,) = verify_trail(tmp_path).part11["signatures"]
    assert shown["record"]["stream"] == "app.0" and shown["record"]["seq"] == "2"


def test_sign_refuses_a_record_of_a_chain_that_does_not_verify(tmp_path, alice):
    small_trail(tmp_path).close()
    path = tmp_path / "audit-app.0-000001.jsonl"
    path.write_bytes(path.read_bytes().replace(b"value 0", b"value 9"))
    result = run("sign", tmp_path, "--seq", "2", "--meaning", "approval", "--key", alice.path, "--user-id", "alice",
                 "--passphrase-env", "SIGNER_PASS")
    assert result.exit_code == 2 and "does not verify" in result.output
