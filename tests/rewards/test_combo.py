"""``reward=combo``: a weighted sum of registered rewards, each part kept for logging, masked where any part is."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from rewards import REWARDS
from tasks.countdown import CountdownTask

TASK = CountdownTask({"train_size": 4, "val_size": 0})
ITEM = {"nums": [3, 5, 7], "target": 22, "question": "Make 22 from [3, 5, 7]"}
POOL = {"pool": {"backend": "inprocess"}}


def combo(**config):
    return REWARDS.get("combo")({"name": "combo", **config}, TASK, **POOL)


def columns(n, item=ITEM):
    return {k: [v] * n for k, v in item.items()}


def test_weighted_sum_of_parts_with_each_part_kept():
    reward = combo(parts=["oracle", "majority_vote"], weights=[1.0, 0.5])
    completions = ["<answer>3*5+7</answer>", "<answer>3*5+7</answer>", "<answer>3+5+7</answer>"]
    scores = reward(["p"] * 3, completions, **columns(3))
    assert scores == [1.5, 1.5, 0.0]
    assert reward.part_scores == {"oracle": [1.0, 1.0, 0.0], "majority_vote": [1.0, 1.0, 0.0]}
    metrics = reward.metrics()
    assert metrics["oracle/correct"] == 2 and metrics["oracle/incorrect"] == 1


def test_a_masked_part_masks_the_rollout():
    reward = combo(parts=["oracle", "majority_vote"])
    broken = {"nums": [3, 5, 7], "question": "q"}  # no target: the oracle gives an error verdict -> None
    assert reward(["p"], ["<answer>3*5+7</answer>"], **columns(1, broken)) == [None]
    assert reward.metrics()["masked"] == 1


@pytest.mark.parametrize("config, message", [
    ({"parts": ["oracle", "self_certanty"]}, r"unknown reward part\(s\) \['self_certanty'\]; valid choices: .*self_certainty"),
    ({"parts": ["oracle", "combo"]}, r"unknown reward part\(s\) \['combo'\]"),
    ({"parts": ["oracle", "majority_vote"], "weights": [1.0]}, "1 weights for 2 parts"),
    ({"parts": ["oracle", "oracle"]}, "must be distinct"),
    ({"parts": ["oracle"], "part_options": {"self_verify": {"judge": "frozen"}}}, "not among the parts"),
    ({"parts": ["self_verify"], "part_options": {"self_verify": {"judgee": "frozen"}}}, "judgee"),
])
def test_bad_configs_fail_with_the_valid_choices(config, message):
    with pytest.raises(ValidationError, match=message):
        REWARDS.get("combo").Config.model_validate({"name": "combo", **config})


def test_needs_policy_stats_when_an_intrinsic_part_does_and_pickles():
    assert combo(parts=["oracle", "self_certainty"]).needs_policy_stats
    assert not combo(parts=["oracle", "majority_vote"]).needs_policy_stats
    clone = pickle.loads(pickle.dumps(combo(parts=["oracle", "majority_vote"], weights=[2.0, 1.0])))
    assert clone.weights == [2.0, 1.0] and list(clone.parts) == ["oracle", "majority_vote"]
