"""Real proofs checked by real Lean: these run only where a toolchain is found, and skip with the reason.

Nothing here is simulated: where Lean is missing, no test in this file claims to have checked a proof.
"""

from __future__ import annotations

import pytest

from tasks.lean import gold_rows
from verifiers.lean import LeanVerifier

REASON = LeanVerifier.unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"needs Lean and its REPL: {str(REASON).split('; install')[0]}")

COMM = {"formal_statement": "theorem lc_add_comm (a b : Nat) : a + b = b + a := by sorry", "header": ""}


@pytest.fixture(scope="module")
def verifier():
    v = LeanVerifier({"proof_timeout": 60})
    yield v
    v.close()


def test_every_shipped_gold_proof_is_accepted_by_lean(verifier):
    pairs = gold_rows()
    verdicts = verifier.verify_batch([r for r, _ in pairs], [c for _, c in pairs])
    bad = [(r["name"], v) for (r, _), v in zip(pairs, verdicts) if v.status != "correct"]
    assert not bad, bad
    assert verifier.stats()["repl_header_reuses"] >= len(pairs) - 1  # one header elaboration for the set


@pytest.mark.parametrize("proof,why", [
    ("theorem lc_add_comm (a b : Nat) : a + b = b + a := by rfl", "Lean error"),
    ("theorem lc_add_comm (a b : Nat) : a + b = b + a := by\n  induction a <;> simp", ""),
    # the statement text matches, but a new instance changes what `+` means: the check theorem catches it
    ("instance (priority := high) fakeAdd : Add Nat := ⟨fun _ _ => 0⟩\n"
     "theorem lc_add_comm (a b : Nat) : a + b = b + a := rfl", "not the task's statement"),
    ("theorem lc_add_comm (a b : Nat) : a + b = b + a := by\n  repeat (first | skip)", ""),
])
def test_wrong_or_tampered_proofs_are_incorrect(verifier, proof, why):
    verdict = verifier.verify(COMM, f"```lean\n{proof}\n```")
    if verdict.status == "correct":  # `induction a <;> simp` may genuinely prove it: only then is correct allowed
        assert "simp" in proof and "fakeAdd" not in proof, verdict
        return
    assert verdict.status == "incorrect" and why in verdict.reason, verdict


def test_a_good_proof_after_a_bad_one_still_passes(verifier):
    assert verifier.verify(COMM, "```lean\ntheorem lc_add_comm (a b : Nat) : a + b = b + a := by\n  sorry_free_garbage\n```").status == "incorrect"
    assert verifier.verify(COMM, "```lean\ntheorem lc_add_comm (a b : Nat) : a + b = b + a := by\n  omega\n```").status == "correct"
