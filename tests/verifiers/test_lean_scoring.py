"""Table tests for reading Lean's answers (pure: the REPL's JSON as Lean's REPL writes it, no Lean needed)."""

from __future__ import annotations

import pytest

from verifiers.lean.guards import parse_statement
from verifiers.lean.scoring import (NATIVE_AXIOMS, STANDARD_AXIOMS, axioms_used, build_commands, by_severity,
                                    extract_proof, judge, judge_one_file, one_file, repl_failure)

CHECK = "urlvr_check_ab"


def msg(severity: str, data: str, line: int = 1) -> dict:
    return {"severity": severity, "pos": {"line": line, "column": 0}, "endPos": None, "data": data}


def axioms(*names: str) -> dict:
    text = f"'{CHECK}' depends on axioms: [{', '.join(names)}]" if names else f"'{CHECK}' does not depend on any axioms"
    return {"env": 3, "messages": [msg("info", text, 2)]}


OK_PROOF = {"env": 2, "messages": [msg("info", "Try this: omega")]}

TABLE = {
    "accepted, standard axioms": (OK_PROOF, axioms("propext", "Quot.sound"), True, "accepted"),
    "accepted, no axioms": ({"env": 2}, axioms(), True, "no axioms"),
    "error in the proof": ({"env": 2, "messages": [msg("warning", "unused"), msg("error", "unsolved goals\n⊢ n = n", 3)]},
                           {}, False, "line 3: unsolved goals ⊢ n = n"),
    "first error is the one reported": ({"env": 2, "messages": [msg("error", "first"), msg("error", "second")]}, {}, False, "first"),
    "sorry in the REPL's list": ({"env": 2, "sorries": [{"pos": {"line": 1, "column": 0}, "goal": "⊢ True"}]},
                                 axioms("sorryAx"), False, "sorry"),
    "sorry warning": ({"env": 2, "messages": [msg("warning", "declaration uses 'sorry'")]}, axioms(), False, "sorry"),
    "check fails: statement differs": (OK_PROOF, {"env": 3, "messages": [msg("error", "type mismatch")]}, False,
                                       "not the task's statement"),
    "sorryAx through another lemma": (OK_PROOF, axioms("propext", "sorryAx"), False, "sorryAx"),
    "a new axiom": (OK_PROOF, axioms("cheat"), False, "cheat"),
    "native axioms not allowed": (OK_PROOF, axioms("Lean.ofReduceBool"), False, "ofReduceBool"),
    "no axioms report": (OK_PROOF, {"env": 3, "messages": []}, False, "did not report"),
    "report for another name": (OK_PROOF, {"env": 3, "messages": [msg("info", "'other' does not depend on any axioms")]},
                                False, "did not report"),
    "report faked as a warning": (OK_PROOF, {"env": 3, "messages": [msg("warning", f"'{CHECK}' does not depend on any axioms")]},
                                  False, "did not report"),
}


@pytest.mark.parametrize("proof,check,correct,why", TABLE.values(), ids=TABLE.keys())
def test_judge(proof, check, correct, why):
    verdict = judge(proof, check, CHECK)
    assert verdict.correct is correct and why in verdict.reason, verdict


def test_native_axioms_are_accepted_when_allowed():
    assert judge(OK_PROOF, axioms("Lean.ofReduceBool", "propext"), CHECK, STANDARD_AXIOMS | NATIVE_AXIOMS).correct


def test_one_file_judgement_uses_the_same_rules():
    good = {"env": 0, "messages": axioms("propext")["messages"]}
    assert judge_one_file(good, CHECK).correct
    assert not judge_one_file({**good, "sorries": [{"goal": "⊢ False"}]}, CHECK).correct
    assert not judge_one_file({"env": 0, "messages": [msg("error", "x")] + good["messages"]}, CHECK).correct


def test_axioms_used_and_severity_groups():
    assert axioms_used(axioms("propext", "Classical.choice")["messages"], CHECK) == ["propext", "Classical.choice"]
    assert axioms_used(axioms()["messages"], CHECK) == []
    groups = by_severity([msg("error", "a"), msg("info", "b"), msg("error", "c")])
    assert [m["data"] for m in groups["error"]] == ["a", "c"] and len(groups["info"]) == 1


def test_repl_failure_is_told_apart_from_an_answer():
    assert repl_failure({"message": "Unknown environment."}) == "Unknown environment."
    assert repl_failure({"env": 1, "messages": []}) is None


@pytest.mark.parametrize("completion,proof", [
    ("text ```lean\nA\n``` more ```lean\nB\n``` end", "B\n"),
    ("```lean4\nA\n```", "A\n"),
    ("```Lean\nA\n```", "A\n"),
    ("```lean\nA\n``` then ```lean\nunclosed", None),
    ("no block", None),
    ("```python\nA\n```", None),
])
def test_extract_proof_takes_the_last_closed_block(completion, proof):
    assert extract_proof(completion) == proof


def test_commands_state_the_reference_first_and_check_the_named_theorem():
    s = parse_statement("theorem t (n : Nat) : n + 0 = n := by sorry")
    c = build_commands(s, "theorem t (n : Nat) : n + 0 = n := by omega", "ab")
    assert c.reference == "axiom urlvr_ref_ab (n : Nat) : n + 0 = n\n"
    assert c.check.startswith("theorem urlvr_check_ab : type_of% @urlvr_ref_ab := @t\n#print axioms urlvr_check_ab")
    text = one_file("import Mathlib", c)
    assert text.index("import Mathlib") < text.index("axiom urlvr_ref_ab") < text.index(":= by omega") < text.index("#print")
