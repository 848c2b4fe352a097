"""The noisy-oracle control: the oracle's verdicts flipped at given rates, deterministically per rollout."""

import asyncio

from rewards import REWARDS
from tasks.countdown import CountdownTask

TASK = CountdownTask({"train_size": 4, "val_size": 0})
ITEM = {"nums": [3, 5, 7], "target": 22, "question": "Make 22 from [3, 5, 7]"}
GOLD, WRONG = "<answer>3 * 5 + 7</answer>", "<answer>3 + 5 + 7</answer>"


def make(config=None):
    return REWARDS.get("noisy_oracle")(config or {}, TASK, pool={"backend": "inprocess"})


def columns(n, item=ITEM):
    return {k: [v] * n for k, v in item.items()}


def test_perfect_rates_are_the_oracle_and_zero_rates_invert_it():
    prompts, completions = ["a", "b", "c"], [GOLD, WRONG, "nothing"]
    assert make({"tpr": 1.0, "tnr": 1.0})(prompts, completions, **columns(3)) == [1.0, 0.0, 0.0]
    assert make({"tpr": 0.0, "tnr": 0.0})(prompts, completions, **columns(3)) == [0.0, 1.0, 1.0]


def test_flip_rates_match_the_config_and_are_counted():
    n = 4000
    prompts = [f"p{i}" for i in range(n)]
    reward = make({"tpr": 0.8, "tnr": 0.6})
    right = reward(prompts, [GOLD] * n, **columns(n))
    wrong = reward(prompts, [WRONG] * n, **columns(n))
    # binomial sd at n = 4000 is 25 (p 0.8) and 31 (p 0.6); the flips are a fixed hash, so this cannot wobble
    assert abs(sum(right) - 0.8 * n) < 150 and abs(sum(1 - s for s in wrong) - 0.6 * n) < 180
    m = reward.metrics()
    assert m["flipped_to_0"] == n - sum(right) and m["flipped_to_1"] == sum(wrong)
    assert m["correct"] == n and m["incorrect"] == n  # the verifier's own outcomes are still what is counted


def test_a_flip_is_fixed_by_seed_prompt_and_completion():
    n = 200
    prompts = [f"p{i}" for i in range(n)]
    first = make({"tpr": 0.5})(prompts, [GOLD] * n, **columns(n))
    assert make({"tpr": 0.5})(prompts, [GOLD] * n, **columns(n)) == first  # same rollouts, same scores (resume)
    assert make({"tpr": 0.5, "noise_seed": 1})(prompts, [GOLD] * n, **columns(n)) != first
    assert 50 < sum(first) < 150


def test_masked_verdicts_stay_masked_and_async_gives_the_sync_scores():
    broken = {"nums": [3, 5, 7], "question": "q"}  # no target: an error verdict
    assert make({"tpr": 0.0, "tnr": 0.0})(["p"], [GOLD], **columns(1, broken)) == [None]
    prompts = [f"p{i}" for i in range(50)]
    reward = make({"tpr": 0.7, "tnr": 0.7})
    sync = reward(prompts, [GOLD] * 25 + [WRONG] * 25, **columns(50))
    assert asyncio.run(reward.ascore(prompts, [GOLD] * 25 + [WRONG] * 25, **columns(50))) == sync


def test_rates_out_of_range_fail_at_start_up():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="tpr"):
        make({"tpr": 1.5})
