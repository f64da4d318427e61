"""Red team, e-signed decisions (docs/audit-format.md §12.4): a human decision recorded as `e-signed` must be bound
to a valid e-signature of its responder in the trail, else the trail says something that did not happen.

HOLE (before §12.4): every case below but the intact one was VERIFIED by both verifiers with the auditor's writer
key and signer registry, and `verify --alcoa` counted the decision as e-signed; the review page listed it as an
e-signed approval.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from attack_helpers import ALICE, BOB, START, anchored, both, kinds, log, python_verdict, writer
from gxp_otel.audit.verifier import verify_trail
from gxp_otel.review.build import ReviewOptions, build_review
from gxp_otel.part11.esign import signature_body
from gxp_otel.part11.statements import record_reference


def ref_value(ref: dict[str, str]) -> dict:
    return {"kvlistValue": {k: {"stringValue": v} for k, v in ref.items()}}


def decision(responder: str, ref: dict[str, str] | None, claimed: str | dict = "e-signed") -> dict:
    """The log record `send_human_response(ctx, Approval(..., signature=ref), responder=...)` writes."""
    fields = {"response": {"stringValue": "approved"}, "approved": {"boolValue": True}}
    if ref is not None:
        fields["signature"] = ref_value(ref)
    record = log("decision", {"gxp.hitl.action": {"stringValue": "human-response"},
                              "gxp.hitl.responder": {"stringValue": responder},
                              "gxp.hitl.decision": claimed if isinstance(claimed, dict) else {"stringValue": claimed}},
                 body={"kvlistValue": fields})
    record["gxp"]["run_id"] = "R-1"
    return record


def trail(directory: Path, *, signer=ALICE, as_identity=None, responder="alice", target=None, reference=None,
          break_signature=False, decisions=1, claimed="e-signed") -> None:
    """Subject record, the responder's signature of it, then the decision that cites the signature."""
    w = writer(directory)
    subject = w.append("log", [log("approve suite TS-1 of run R-1")])[0]
    other = w.append("log", [log("something else")])[0]
    signed = record_reference("app.0", *(other if target == "other" else subject))
    body = signature_body(signer.private, as_identity or signer, signed, meaning="approval", reason="reviewed",
                          authentication="all-components", time_ns=START + 5 * 10**9)
    if break_signature:
        body["signature"] = "00" * 64
    sig = w.append("signature", [body])[0]
    cited = record_reference("app.0", *sig)
    if reference == "subject":
        cited = record_reference("app.0", *subject)
    elif reference == "absent":
        cited = {"stream": "app.0", "seq": "99", "hash": "e" * 64}
    elif reference == "none":
        cited = None
    for _ in range(decisions):
        w.append("log", [decision(responder, cited, claimed)])
    w.close()


CASES = {
    # name: (trail options, expected problem kinds)
    "intact": ({}, []),
    "declared-without-signature-is-fine": ({"reference": "none", "claimed": "declared"}, []),
    "no-reference": ({"reference": "none"}, ["decision-signature"]),
    "reference-to-absent-record": ({"reference": "absent"}, ["decision-signature"]),
    "reference-to-a-record-that-is-no-signature": ({"reference": "subject"}, ["decision-signature"]),
    "signature-by-another-signer": ({"signer": BOB}, ["decision-signature"]),
    "signature-that-does-not-verify": ({"break_signature": True}, ["bad-esignature", "decision-signature"]),
    "one-signature-cited-by-two-decisions": ({"decisions": 2}, ["decision-signature"]),
}


@pytest.mark.parametrize("name", CASES)
def test_an_e_signed_decision_needs_a_valid_signature_of_its_responder(name: str, tmp_path: Path) -> None:
    options, expected = CASES[name]
    directory = tmp_path / "trail"
    trail(directory, **options)
    verdict, problems = both(directory, anchored(ALICE, BOB), tmp_path)
    assert kinds(problems) == expected, problems
    assert verdict == ("VERIFIED" if not expected else "NOT VERIFIED")


def test_the_decision_problem_is_at_the_decision_record(tmp_path: Path) -> None:
    directory = tmp_path / "trail"
    trail(directory, reference="absent")
    _, problems = both(directory, anchored(ALICE), tmp_path)
    assert problems == [("audit-app.0-000001.jsonl", 5, 4, "decision-signature")]


def test_self_keyed_the_decision_is_still_checked_against_the_trails_own_signatures(tmp_path: Path) -> None:
    directory = tmp_path / "trail"
    trail(directory, signer=BOB)
    verdict, problems = both(directory, {}, tmp_path)
    assert (verdict, kinds(problems)) == ("NOT VERIFIED", ["decision-signature"])


def test_a_signature_by_an_unregistered_key_does_not_make_a_decision_e_signed(tmp_path: Path) -> None:
    """Anchored, an e-signature by a key outside the signer registry is untrusted-key; the decision citing it is
    not e-signed either."""
    directory = tmp_path / "trail"
    trail(directory)
    _, problems = both(directory, anchored(BOB), tmp_path)
    assert kinds(problems) == ["untrusted-key", "decision-signature"]


def review_kinds(directory: Path, options: dict) -> list[str]:
    review = build_review(directory, ReviewOptions(trusted_keys=tuple(options["trusted_keys"]),
                                                   signers=tuple(options["signers"])))
    return [a["kind"] for run in review["runs"] for a in run["approvals"]]


def test_a_value_that_only_reads_as_e_signed_is_neither_counted_nor_shown_as_e_signed(tmp_path: Path) -> None:
    """HOLE: `{"boolValue": true, "stringValue": "e-signed"}` (not an AnyValue of §5.1) evaded the verifier's
    exact check, while `verify --alcoa` counted it e-signed and the review page listed an e-signed approval of a
    VERIFIED trail. Readers now count as e-signed exactly what §12.4 checks."""
    directory = tmp_path / "trail"
    trail(directory, reference="none", claimed={"boolValue": True, "stringValue": "e-signed"})
    options = anchored(ALICE)
    assert both(directory, options, tmp_path) == ("VERIFIED", [])
    alcoa = verify_trail(directory, trusted_keys=options["trusted_keys"], signers=options["signers"], alcoa=True)
    assert alcoa.alcoa["decisions"]["e-signed"] == 0
    assert review_kinds(directory, options) == ["declared"]


def test_the_review_page_does_not_list_an_unbound_e_signed_decision_as_e_signed(tmp_path: Path) -> None:
    """HOLE (display): the review page showed the decision as e-signed next to a NOT VERIFIED verdict."""
    directory = tmp_path / "trail"
    trail(directory, reference="absent")
    options = anchored(ALICE)
    assert python_verdict(directory, options).verdict == "NOT VERIFIED"
    assert review_kinds(directory, options) == ["e-signed claim not verified"]
    trail(tmp_path / "intact")
    assert review_kinds(tmp_path / "intact", options) == ["e-signed"]


def test_a_copy_of_a_real_signature_made_to_make_a_second_decision_e_signed(tmp_path: Path) -> None:
    """HOLE: the application (it holds the writer key, not Alice's) copies Alice's genuine signature record, byte
    for byte, as a new signature record, and cites the copy from a second decision recorded as e-signed by
    Alice. The copy verified (same statement, same record) and was cited by no other decision: VERIFIED with two
    e-signed approvals, one of which Alice never gave. A signature that appears in two signature records is a
    copied signature (11.70): bad-esignature at each (which one is the copy is not knowable: the copy may sort
    first), and neither decision is bound."""
    directory = tmp_path / "trail"
    w = writer(directory)
    subject = w.append("log", [log("approve suite TS-1 of run R-1")])[0]
    body = signature_body(ALICE.private, ALICE, record_reference("app.0", *subject), meaning="approval",
                          reason="reviewed", authentication="all-components", time_ns=START + 5 * 10**9)
    genuine = w.append("signature", [body])[0]
    w.append("log", [decision("alice", record_reference("app.0", *genuine))])
    copy = w.append("signature", [body])[0]
    w.append("log", [decision("alice", record_reference("app.0", *copy))])
    w.close()
    _, problems = both(directory, anchored(ALICE), tmp_path)
    assert [(p[2], p[3]) for p in problems] == [(genuine[0], "bad-esignature"), (genuine[0] + 1, "decision-signature"),
                                                (copy[0], "bad-esignature"), (copy[0] + 1, "decision-signature")]
