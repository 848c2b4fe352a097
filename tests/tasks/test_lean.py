"""Lean task: the shipped core statements, the miniF2F-style loader, prompts and answer extraction.

These tests need no Lean: the gold proofs are checked here only against the guards (the proofs themselves are
checked by Lean in tests/verifiers/test_lean_integration.py where a toolchain exists).
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tasks import make_task
from tasks.lean import LeanTask, gold_rows
from verifiers.base import Verdict
from verifiers.lean import prepare
from verifiers.lean.config import LeanConfig


@pytest.fixture(scope="module")
def task():
    return LeanTask({"seed": 1})


def test_shipped_rows_split_disjointly_and_reproducibly(task):
    train, val = task.rows("train"), task.rows("validation")
    assert len(val) == 4 and len(train) == 19
    assert {r["name"] for r in train}.isdisjoint(r["name"] for r in val)
    assert train == LeanTask({"seed": 1}).rows("train") and train != LeanTask({"seed": 2}).rows("train")
    for row in train + val:
        assert set(row) == {"name", "formal_statement", "header", "informal_statement", "allow_native_decide", "question"}
        assert row["formal_statement"].startswith(f"theorem {row['name']} ") and "Mathlib" not in row["header"]
    with pytest.raises(ValueError, match="valid choices"):
        task.rows("test")


def test_every_gold_proof_passes_the_guards():
    pairs = gold_rows()
    assert len(pairs) == 23
    for row, completion in pairs:
        prepared = prepare(row, completion, LeanConfig())
        assert not isinstance(prepared, Verdict), (row["name"], prepared)
        assert prepared.statement.name == row["name"]


def test_prompt_shows_the_statement_and_asks_for_a_lean_block(task):
    row = task.rows("train")[0]
    prompt = task.user_prompt(row)
    assert row["formal_statement"] in prompt and "```lean" in prompt and row["informal_statement"] in prompt
    assert task.prompt(row, conversational=True)[-1]["content"] == prompt


def test_extract_answer_takes_the_last_block(task):
    completion = "first ```lean\ntheorem a : True := trivial\n``` then ```lean\ntheorem b : True := trivial\n```"
    assert task.extract_answer(completion) == "theorem b : True := trivial"
    assert task.extract_answer("no block") is None and task.extract_answer("```lean\n  \n```") is None
    assert task.answer_key("a  b\n c") == task.answer_key("a b c")


def test_minif2f_style_jsonl_loads(tmp_path):
    path = tmp_path / "minif2f.jsonl"
    rows = [{"name": f"mathd_{i}", "formal_statement": f"theorem mathd_{i} (x : Nat) (h : x = {i}) : x = {i} := by\n",
             "header": "import Mathlib\nimport Aesop\n", "informal_prefix": f"/-- Show x = {i}. -/"} for i in range(6)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    task = LeanTask({"path": str(path), "val_size": 2, "lean": {"project_dir": "/opt/mathlib-project"}})
    train, val = task.rows("train"), task.rows("validation")
    assert len(train) == 4 and len(val) == 2 and train[0]["header"].startswith("import Mathlib")
    assert task.verifier_config() == {"project_dir": "/opt/mathlib-project"}
    assert "import Mathlib" in task.user_prompt(train[0])


def test_a_row_without_a_statement_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"name": "x"}) + "\n")
    with pytest.raises(ValueError, match="row 0: missing field"):
        LeanTask({"path": str(path)}).rows("train")


def test_config_rejects_unknown_verifier_options():
    with pytest.raises(ValidationError, match="bogus"):
        LeanTask({"lean": {"bogus": 1}})
    assert make_task("lean").verifier == "lean"
