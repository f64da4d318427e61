"""Optional crypto-shredding: the trail records a salted commitment; erasing the vault entry erases the personal
value while the trail still verifies."""

from __future__ import annotations

import stat

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from gxp_otel.audit.exporters import ComplianceSpanExporter
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.part11.shredding import PersonalDataVault, is_commitment
from p11_helpers import lines


def _trail_with(tmp_path, value: str) -> tuple[str, list[dict]]:
    vault = PersonalDataVault(tmp_path / "vault")
    commitment = vault.commit(value)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ComplianceSpanExporter(tmp_path / "trail", compress=False)))
    with provider.get_tracer("t").start_as_current_span("review", attributes={"patient.name": commitment}):
        pass
    provider.shutdown()
    records = [r for p in sorted((tmp_path / "trail").glob("audit-*-000001.jsonl")) for r in lines(p)]
    return commitment, records


def test_the_trail_holds_only_the_commitment_and_the_vault_reveals_the_value(tmp_path):
    commitment, records = _trail_with(tmp_path, "Jane Doe")
    assert all(b"Jane Doe" not in p.read_bytes() for p in (tmp_path / "trail").iterdir())
    span = next(r for r in records if r["kind"] == "span")
    assert span["body"]["attributes"]["patient.name"] == {"stringValue": commitment} and is_commitment(commitment)
    assert PersonalDataVault(tmp_path / "vault").reveal(commitment) == (True, "Jane Doe")
    assert stat.S_IMODE((tmp_path / "vault").stat().st_mode) == 0o700


def test_erasure_destroys_the_value_logs_it_and_the_trail_still_verifies(tmp_path):
    commitment, _records = _trail_with(tmp_path, "Jane Doe")
    vault = PersonalDataVault(tmp_path / "vault")
    assert vault.erase(commitment, reason="GDPR art. 17 request R-9", erased_by="dpo.1")
    assert vault.reveal(commitment) == (False, None)
    assert "Jane Doe" not in "".join(p.read_text() for p in (tmp_path / "vault").iterdir())
    assert "GDPR art. 17" in (tmp_path / "vault" / "erasures.jsonl").read_text()
    assert verify_trail(tmp_path / "trail").ok


def test_same_value_gives_unlinkable_commitments_and_an_altered_vault_entry_is_caught(tmp_path):
    vault = PersonalDataVault(tmp_path)
    first, second = vault.commit("Jane Doe"), vault.commit("Jane Doe")
    assert first != second  # salted: equal values cannot be linked or guessed from the trail
    entry = tmp_path / f"{first.split(':')[-1]}.json"
    entry.write_bytes(entry.read_bytes().replace(b"Jane Doe", b"John Roe"))
    with pytest.raises(ValueError, match="altered"):
        vault.reveal(first)
    with pytest.raises(ValueError):
        vault.erase(second, reason="", erased_by="dpo.1")
