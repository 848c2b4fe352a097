"""The math task: generated rows score correct under the verifier, splits are deterministic, loaders map fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tasks import make_task
from tasks.math import MathTask, fraction_arithmetic, normalize_row
from verifiers.base import safe_verify
from verifiers.math import MathVerifier

CONF = Path(__file__).resolve().parents[2] / "trainer" / "conf" / "task" / "math.yaml"


@pytest.fixture(scope="module")
def task() -> MathTask:
    return make_task("math", {"train_size": 120, "val_size": 30, "seed": 7})


def test_every_generated_gold_answer_scores_correct(task):
    verifier = MathVerifier()
    rows = task.rows("train") + task.rows("validation")
    assert {r["source"] for r in rows} == set(task.config.generators)
    for row in rows:
        completion = f"Working...\nSo the answer is \\boxed{{{row['answer']}}}."
        verdict = safe_verify(verifier, row, completion)
        assert verdict.status == "correct", (row, verdict.reason)
        assert task.extract_answer(completion) is not None


def test_a_wrong_answer_scores_incorrect(task):
    verifier = MathVerifier()
    for row in task.rows("validation")[:10]:
        assert safe_verify(verifier, row, "\\boxed{\\frac{123457}{3}}").status == "incorrect"


def test_splits_are_deterministic_sized_and_disjoint(task):
    train, val = task.rows("train"), task.rows("validation")
    assert len(train) == 120 and len(val) == 30
    assert train == make_task("math", {"train_size": 120, "val_size": 30, "seed": 7}).rows("train")
    assert not {r["question"] for r in train} & {r["question"] for r in val}
    assert train != make_task("math", {"train_size": 120, "val_size": 30, "seed": 8}).rows("train")
    with pytest.raises(ValueError, match="split"):
        task.rows("test")


def test_prompt_asks_for_boxed_answer(task):
    row = task.rows("train")[0]
    prompt = task.user_prompt(row)
    assert row["question"] in prompt and "\\boxed{}" in prompt
    messages = task.prompt(row, conversational=True)
    assert messages[-1]["content"] == prompt


def test_extract_answer_and_answer_key(task):
    assert task.extract_answer("so \\boxed{\\dfrac{1}{2}}.") == "\\frac{1}{2}"
    assert task.extract_answer("The answer is 12.") == "12"
    assert task.extract_answer("no idea") is None
    same = ["0.5", "1/2", "\\frac{1}{2}", "\\frac12", "x = 1/2", "0.50"]
    assert len({task.answer_key(a) for a in same}) == 1
    assert task.answer_key("1,000") == task.answer_key("1000")
    assert task.answer_key("\\text{Monday}") == task.answer_key("monday")
    assert task.answer_key("2") != task.answer_key("3")
    assert task.answer_key("(1, 2)") != task.answer_key("(2, 1)")
    assert task.answer_key("  ") is None
    assert task.answer_key("9^{9^{9^9}}") is not None  # cheap: no evaluation
    assert task.answer_key("2x") != task.answer_key("2X")  # variables keep their case, as in the verifier
    assert task.answer_key("MONDAY") == task.answer_key("Monday")


def test_float_answers_load_as_plain_decimals(tmp_path):
    path = tmp_path / "floats.jsonl"
    path.write_text(json.dumps({"problem": "tiny?", "answer": 1e-07}) + "\n" + json.dumps({"problem": "s?", "answer": "2.5e-05"}) + "\n")
    rows = make_task("math", {"path": str(path), "val_size": 0}).rows("train")
    assert sorted(r["answer"] for r in rows) == ["0.0000001", "0.000025"]
    verifier = MathVerifier()
    for row in rows:
        assert safe_verify(verifier, row, f"\\boxed{{{row['answer']}}}").status == "correct"
        assert safe_verify(verifier, row, "\\boxed{0.0000003}").status == "incorrect"


def test_fraction_generator_answers_are_reduced_exact_values():
    rows = fraction_arithmetic(seed=1, size=50)
    verifier = MathVerifier()
    for row in rows:
        assert safe_verify(verifier, row, f"\\boxed{{{row['answer']}}}").status == "correct"


def test_loader_maps_math500_and_dapo_schemas(tmp_path):
    path = tmp_path / "mixed.jsonl"
    records = [
        {"problem": "What is 1+1?", "answer": "2", "subject": "x"},
        {"question": "What is 2+2?", "solution": "We add. $2+2=\\boxed{4}$"},
        {"prompt": [{"role": "user", "content": "What is 3+3?"}], "reward_model": {"ground_truth": "6"}},
        {"prompt": "What is 4+4?", "solution": "8"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    task = make_task("math", {"path": str(path), "train_size": 10, "val_size": 1})
    rows = task.rows("train") + task.rows("validation")
    assert len(rows) == 4
    by_question = {r["question"]: r["answer"] for r in rows}
    assert by_question == {"What is 1+1?": "2", "What is 2+2?": "4", "What is 3+3?": "6", "What is 4+4?": "8"}


def test_loader_names_the_missing_field(tmp_path):
    with pytest.raises(ValueError, match="answer field"):
        normalize_row({"problem": "1+1?"}, "data.jsonl row 0")
    with pytest.raises(ValueError, match="question field"):
        normalize_row({"answer": "2"}, "data.jsonl row 3")
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"problem": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"row 0.*missing an answer field"):
        make_task("math", {"path": str(path)}).rows("train")


def test_hf_datasets_folder_loads(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list([{"problem": f"{i}+1?", "answer": str(i + 1)} for i in range(5)]).save_to_disk(str(tmp_path / "ds"))
    rows = make_task("math", {"path": str(tmp_path / "ds"), "val_size": 2}).rows("train")
    assert len(rows) == 3 and all(set(r) == {"question", "answer"} for r in rows)


def test_config_node_validates_and_rejects_unknown():
    node = yaml.safe_load(CONF.read_text())
    config = MathTask.Config.model_validate(node)
    assert config.name == "math" and config.generators
    with pytest.raises(ValueError):
        MathTask.Config.model_validate({**node, "bogus": 1})
    with pytest.raises(ValueError, match="unknown generator"):
        MathTask.Config.model_validate({**node, "generators": ["no_such_dataset"]})
