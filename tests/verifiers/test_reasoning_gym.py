"""The reasoning-gym verifier: each dataset's own scorer, behind the process-isolated pool."""

from __future__ import annotations

import json
import time

import pytest

from verifiers import reasoning_gym as rg
from verifiers.pool import make_pool
from verifiers.registry import make_verifier

DATASETS = ["basic_arithmetic", "leg_counting", "word_sorting", "countdown", "base_conversion", "caesar_cipher",
            "gcd", "spell_backward"]


def item(name: str, index: int = 0) -> dict:
    config = {"size": index + 1, "seed": 3}
    return rg.make_item(name, config, rg.dataset_for(name, json.dumps(config, sort_keys=True))[index])


@pytest.mark.parametrize("name", DATASETS)
def test_gold_scores_one_and_a_wrong_answer_does_not(name):
    verifier = make_verifier("reasoning_gym")
    row = item(name)
    assert verifier.verify(row, f"so <answer>{row['answer']}</answer>").status == "correct"
    wrong = verifier.verify(row, "<answer>definitely not it 4242</answer>")
    assert wrong.status == "incorrect" and wrong.score < 1.0


@pytest.mark.parametrize("completion, reason", [
    ("the answer is 4", "no <answer>"),
    ("<answer>4", "no <answer>"),
    ("4</answer>", "no <answer>"),
    ("<answer>" + "9" * 20_000 + "</answer>", "over the 10000 limit"),
])
def test_unanswered_or_oversized_is_incorrect(completion, reason):
    verdict = make_verifier("reasoning_gym").verify(item("basic_arithmetic"), completion)
    assert verdict.status == "incorrect" and reason in verdict.reason


def test_last_tagged_answer_wins():
    assert rg.last_tagged_answer("<answer>1</answer> then <answer> 2 </answer>") == "2"
    assert rg.last_tagged_answer("<answer>1 <answer>2</answer>") == "2"
    assert rg.last_tagged_answer("</answer><answer>") is None


def test_unusable_item_is_an_error_not_a_zero():
    verifier = make_verifier("reasoning_gym")
    assert verifier.verify({"rg_dataset": "no_such_dataset", "rg_entry": "{}"}, "<answer>1</answer>").status == "error"
    assert verifier.verify({"rg_dataset": "gcd", "rg_entry": "{not json"}, "<answer>1</answer>").status == "error"


def test_a_scorer_that_raises_on_the_answer_scores_incorrect(monkeypatch):
    class Choking:
        def score_answer(self, answer, entry):
            raise ValueError("cannot parse")

    monkeypatch.setattr(rg, "dataset_for", lambda name, config: Choking())
    verdict = make_verifier("reasoning_gym").verify({"rg_dataset": "gcd", "rg_entry": "{}"}, "<answer>x</answer>")
    assert verdict.status == "incorrect" and "scorer rejected" in verdict.reason


def test_extraction_is_linear_in_the_completion():
    shapes = ["<answer>" * 125_000, "</answer>" * 111_111, "<answer>x" * 111_111 + "</answer>", "<" * 1_000_000]
    for shape in shapes:
        small = shape[: len(shape) // 8]
        t_small = _best(lambda: rg.last_tagged_answer(small))
        t_big = _best(lambda: rg.last_tagged_answer(shape))
        t_scan = _best(lambda: shape.count("<"))  # a linear baseline over the same text
        assert t_big <= 40 * max(t_small, 1e-6) and t_big <= 200 * max(t_scan, 1e-6), (shape[:20], t_small, t_big, t_scan)


def _best(fn, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def test_several_datasets_end_to_end_through_the_local_pool():
    rows = [item(name, i) for name in DATASETS[:4] for i in range(2)]
    completions = [f"<answer>{r['answer']}</answer>" if i % 2 == 0 else "<answer>nope</answer>" for i, r in enumerate(rows)]
    with make_pool("reasoning_gym", backend="local", workers=1) as pool:
        verdicts = pool.verify_batch(rows, completions)
    assert [v.status for v in verdicts] == ["correct", "incorrect"] * 4


def test_verifiers_list_shows_every_dataset():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "verifiers", "list"], capture_output=True, text=True, timeout=300).stdout
    line = next(line for line in out.splitlines() if line.startswith("reasoning_gym: "))
    assert f"{len(rg.dataset_names())} datasets" in line and "leg_counting" in line and "basic_arithmetic" in line
