"""``task=reasoning_gym``: any reasoning-gym dataset as prompt rows for the ``reasoning_gym`` verifier."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tasks import make_task
from verifiers.registry import make_verifier


def test_rows_prompt_and_gold_round_trip():
    task = make_task("reasoning_gym", {"dataset": "leg_counting", "train_size": 6, "val_size": 4})
    train, val = task.rows("train"), task.rows("validation")
    assert len(val) == 4 and 1 <= len(train) <= 6
    assert not {r["question"] for r in train} & {r["question"] for r in val}
    row = train[0]
    assert json.loads(row["rg_entry"])["answer"] == row["answer"]
    assert "<answer></answer>" in task.prompt(row, conversational=False)
    completion = f"<think>legs</think> <answer>{row['answer']}</answer>"
    assert task.extract_answer(completion) == row["answer"]
    assert make_verifier(task.verifier).verify(row, completion).status == "correct"


def test_unknown_dataset_lists_the_valid_choices():
    with pytest.raises(ValidationError, match="unknown reasoning-gym dataset 'leg_countin'; valid choices: .*leg_counting"):
        make_task("reasoning_gym", {"dataset": "leg_countin"})


def test_generator_options_reach_the_dataset():
    task = make_task("reasoning_gym", {"dataset": "basic_arithmetic", "train_size": 5, "val_size": 0,
                                       "dataset_config": {"min_terms": 2, "max_terms": 2}})
    for row in task.rows("train"):
        assert json.loads(row["rg_config"])["max_terms"] == 2
        assert make_verifier("reasoning_gym").verify(row, f"<answer>{row['answer']}</answer>").status == "correct"


def test_loaded_rows_need_the_verifier_fields(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"question": "q", "answer": "1"}) + "\n")
    with pytest.raises(ValueError, match="missing field"):
        make_task("reasoning_gym", {"path": str(path)}).rows("train")
