"""Countdown task: seeded generation, solver-proven targets, loaders and prompts."""

import json

import pytest

from tasks import make_task
from tasks.countdown import CountdownTask, solve
from verifiers.countdown import CountdownVerifier


@pytest.fixture(scope="module")
def task():
    return CountdownTask({"train_size": 200, "val_size": 40, "seed": 3})


def test_generation_is_seeded_and_splits_are_disjoint(task):
    train, val = task.rows("train"), task.rows("validation")
    assert train == CountdownTask({"train_size": 200, "val_size": 40, "seed": 3}).rows("train")
    assert train != CountdownTask({"train_size": 200, "val_size": 40, "seed": 4}).rows("train")
    keys = lambda rows: {(tuple(sorted(r["nums"])), r["target"]) for r in rows}  # noqa: E731
    assert len(keys(train)) == 200 and len(keys(val)) == 40
    assert not keys(train) & keys(val)


def test_validation_does_not_depend_on_train_size():
    small = CountdownTask({"train_size": 20, "val_size": 30, "seed": 5}).rows("validation")
    large = CountdownTask({"train_size": 400, "val_size": 30, "seed": 5}).rows("validation")
    assert small == large
    assert CountdownTask({"train_size": 20, "val_size": 10, "seed": 5}).rows("validation") == small[:10]
    keys = {(tuple(sorted(r["nums"])), r["target"]) for r in small}
    train = CountdownTask({"train_size": 400, "val_size": 30, "seed": 5}).rows("train")
    assert not keys & {(tuple(sorted(r["nums"])), r["target"]) for r in train}


def test_distribution_matches_countdown_3to4(task):
    for row in task.rows("train"):
        assert 3 <= len(row["nums"]) <= 4
        assert all(1 <= n <= 100 for n in row["nums"])
        assert 1 <= row["target"] <= 100


def test_every_target_is_reachable_and_the_solution_verifies(task):
    v = CountdownVerifier()
    for row in task.rows("train") + task.rows("validation"):
        verdict = v.verify(row, f"<answer>{row['solution']}</answer>")
        assert verdict.status == "correct", (row, verdict)


def test_solver_finds_and_refuses():
    assert solve([3, 5, 7], 22) is not None
    assert solve([1, 1], 100) is None


def test_prompt_with_and_without_chat_template(task):
    row = task.rows("train")[0]
    chat = task.prompt(row, conversational=True)
    assert chat[-1]["role"] == "user" and "<answer>" in chat[-1]["content"] and str(row["target"]) in chat[-1]["content"]
    plain = task.prompt(row, conversational=False)
    assert isinstance(plain, str) and plain.endswith("<think>") and str(row["nums"]) in plain


def test_extract_answer_and_key(task):
    assert task.extract_answer("x <answer> 1 + 2 </answer>") == "1 + 2"
    assert task.extract_answer("<answer> </answer>") is None
    assert task.answer_key("(1 + 2) * 2") == task.answer_key("12 / 2")
    assert task.answer_key("2 ** 99") is None


def test_jsonl_loader(tmp_path):
    path = tmp_path / "cd.jsonl"
    path.write_text("\n".join(json.dumps({"nums": [i, 2, 3], "target": i + 5}) for i in range(1, 21)) + "\n")
    task = make_task("countdown", {"path": str(path), "train_size": 15, "val_size": 5})
    train, val = task.rows("train"), task.rows("validation")
    assert len(train) == 15 and len(val) == 5
    assert {r["target"] for r in train} | {r["target"] for r in val} == set(range(6, 26))


def test_hf_datasets_loader(tmp_path):
    import datasets

    datasets.Dataset.from_list([{"nums": [1, 2, 3], "target": 6}] * 4).save_to_disk(str(tmp_path / "ds"))
    rows = make_task("countdown", {"path": str(tmp_path / "ds"), "val_size": 1}).rows("train")
    assert len(rows) == 3 and rows[0]["nums"] == [1, 2, 3]


def test_loader_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nums": [1, 2]}\n')
    with pytest.raises(ValueError, match="missing field"):
        make_task("countdown", {"path": str(bad)}).rows("train")
    bad.write_text("{not json\n")
    with pytest.raises(ValueError, match="bad.jsonl:1: not valid JSON"):
        make_task("countdown", {"path": str(bad)}).rows("train")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        make_task("countdown", {"path": str(tmp_path / "missing.jsonl")}).rows("train")


def test_config_errors():
    with pytest.raises(ValueError, match="min_count"):
        make_task("countdown", {"min_count": 4, "max_count": 3})
    with pytest.raises(ValueError, match="extra"):
        make_task("countdown", {"bogus": 1})
