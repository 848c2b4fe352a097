"""The code task: HumanEval rows and splits, other JSONL schemas, prompts, and every canonical solution in bwrap."""

from __future__ import annotations

import json

import pytest

from tasks import make_task
from tasks.code import CodeTask, from_record, humaneval_rows
from verifiers.code import CodeVerifier

pytestmark = pytest.mark.timeout(180)


def test_humaneval_has_164_problems_with_the_verifier_fields():
    rows = humaneval_rows()
    assert len(rows) == 164
    for row in rows:
        assert row["question"] and row["starter_code"] and row["entry_point"] and "def check" in row["tests"]


def test_splits_are_deterministic_disjoint_and_cover_humaneval():
    task = make_task("code", {"seed": 3})
    train, val = task.rows("train"), task.rows("validation")
    assert len(val) == 32 and len(train) == 132
    assert {r["task_id"] for r in train}.isdisjoint(r["task_id"] for r in val)
    assert [r["task_id"] for r in make_task("code", {"seed": 3}).rows("train")] == [r["task_id"] for r in train]
    assert [r["task_id"] for r in make_task("code", {"seed": 4}).rows("train")] != [r["task_id"] for r in train]
    with pytest.raises(ValueError, match="valid choices"):
        task.rows("test")


def test_prompt_asks_for_a_fenced_complete_function():
    task = CodeTask()
    row = humaneval_rows()[0]
    prompt = task.user_prompt(row)
    assert row["starter_code"].strip() in prompt and "```python" in prompt and "complete function" in prompt
    assert isinstance(task.prompt(row, conversational=True), list)


def test_extract_answer_and_answer_key():
    task = CodeTask()
    assert task.extract_answer("sure:\n```python\ndef f():\n    return 1\n```") == "def f():\n    return 1"
    assert task.extract_answer("```python\n\n```") is None
    assert task.answer_key("def f():\n    return 1  # one") == task.answer_key("def f():\n\n    return (1)")
    assert task.answer_key("def f(:") is None


MBPP = {"task_id": 11, "text": "Write a function to add two numbers.", "code": "def add(a, b):\n    return a + b",
        "test_list": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"], "test_setup_code": ""}
APPS = {"question": "Read two ints, print their sum.", "input_output": json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]})}


def test_loader_reads_mbpp_and_io_schemas(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [MBPP, APPS, {"prompt": "p", "test": "assert True", "task_id": "x"}]))
    task = make_task("code", {"path": str(path), "val_size": 0})
    rows = {r["task_id"]: r for r in task.rows("train")}
    mbpp, apps = rows["11"], rows["1"]
    assert mbpp["question"] == MBPP["text"] and mbpp["tests"] == MBPP["test_list"] and mbpp["solution"] == MBPP["code"]
    assert "assert add(1, 2) == 3" in task.user_prompt(mbpp) and "assert add(0, 0)" not in task.user_prompt(mbpp)
    assert apps["io_tests"] == [{"input": "1 2\n", "output": "3\n"}] and "standard input" in task.user_prompt(apps)
    assert set(mbpp) == set(apps)  # one column set, whatever the schema
    verifier = CodeVerifier()
    assert verifier.verify(mbpp, mbpp["solution"]).status == "correct"
    assert verifier.verify(apps, "a, b = map(int, input().split())\nprint(a + b)").status == "correct"


@pytest.mark.parametrize("record,match", [({"test": "assert 1"}, "no problem text"), ({"text": "t"}, "no tests")])
def test_loader_rejects_records_it_cannot_use(record, match):
    with pytest.raises(ValueError, match=match):
        from_record(record)


def test_every_canonical_solution_passes_and_a_wrong_one_fails_in_bwrap():
    rows = humaneval_rows()
    verifier = CodeVerifier({"concurrency": 4})
    try:
        gold = verifier.verify_batch(rows, ["```python\n" + r["solution"] + "\n```" for r in rows])
        failed = {r["task_id"]: v.reason for r, v in zip(rows, gold) if v.status != "correct"}
        assert failed == {}
        wrong = verifier.verify_batch(rows[:8], [r["starter_code"] + "    return None\n" for r in rows[:8]])
        assert [v.status for v in wrong] == ["incorrect"] * 8
    finally:
        verifier.close()
