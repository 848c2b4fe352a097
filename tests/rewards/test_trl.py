"""``rewards.trl``: urlvr rewards as plain TRL reward functions, logging through TRL's log_metric / log_extra."""

from __future__ import annotations

import pickle
from collections import defaultdict

import pytest

from rewards.trl import TRLReward, intrinsic_reward, majority_vote_reward, oracle_reward, self_verify_reward, verifier_reward
from tasks.countdown import CountdownTask

TASK = CountdownTask({"train_size": 4, "val_size": 0})
ITEM = {"nums": [3, 5, 7], "target": 22, "question": "Make 22 from [3, 5, 7]"}
INPROCESS = {"backend": "inprocess"}


class Log:
    """What TRL hands a reward function: ``log_metric(name, value)`` and ``log_extra(column, values)``."""

    def __init__(self):
        self.metrics, self.extra = defaultdict(list), {}

    def kwargs(self):
        return {"log_metric": lambda k, v: self.metrics[k].append(v), "log_extra": self.extra.__setitem__}


def call(reward, completions, log):
    n = len(completions)
    return reward(prompts=["p"] * n, completions=completions, completion_ids=None,
                  **{k: [v] * n for k, v in ITEM.items()}, **log.kwargs())


def test_verifier_reward_scores_and_logs_its_counters():
    reward, log = verifier_reward("countdown", pool=INPROCESS), Log()
    assert reward.__name__ == "verifier"
    assert call(reward, ["<answer>3*5+7</answer>", "<answer>3+5+7</answer>"], log) == [1.0, 0.0]
    assert log.metrics["verifier/correct"] == [1.0] and log.metrics["verifier/incorrect"] == [1.0]


def test_shadow_agreement_goes_to_log_metric_and_log_extra():
    reward = TRLReward(majority_vote_reward(TASK).reward, shadow=oracle_reward(TASK, pool=INPROCESS).reward)
    log = Log()
    scores = call(reward, ["<answer>3+5+7</answer>", "<answer>3+5+7</answer>", "<answer>3*5+7</answer>"], log)
    assert scores == [1.0, 1.0, 0.0]
    assert log.extra["oracle_for_majority_vote"] == [0.0, 0.0, 1.0]
    assert log.metrics["majority_vote/oracle/reward_accuracy"] == [0.0]  # majority picked the wrong answer


def test_works_without_trl_logging_kwargs_and_pickles():
    reward = oracle_reward("countdown", {"train_size": 4, "val_size": 0}, pool=INPROCESS)
    assert reward(prompts=["p"], completions=["<answer>3*5+7</answer>"], **{k: [v] for k, v in ITEM.items()}) == [1.0]
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == "oracle" and clone(prompts=["p"], completions=["x"], **{k: [v] for k, v in ITEM.items()}) == [0.0]


def test_intrinsic_rewards_declare_their_need_and_name_the_mixin():
    reward = intrinsic_reward("self_certainty")
    assert reward.needs_policy_stats and reward.__name__ == "self_certainty"
    with pytest.raises(RuntimeError, match="PolicyStatsMixin"):
        reward(prompts=["p"], completions=["x"])
    with pytest.raises(ValueError, match="valid choices: self_certainty, token_entropy"):
        intrinsic_reward("confidence")


def test_self_verify_reward_takes_any_judge_callable():
    asked = []

    def judge(prompts):  # a stand-in for a model: accepts 3*5+7, rejects anything else
        asked.extend(prompts)
        return ["\\boxed{True}" if "3*5+7" in p else "\\boxed{False}" for p in prompts]

    reward, log = self_verify_reward(TASK, judge, shadow=oracle_reward(TASK, pool=INPROCESS)), Log()
    assert call(reward, ["<answer>3*5+7</answer>", "<answer>3+5+7</answer>", "no answer"], log) == [1.0, 0.0, 0.0]
    assert len(asked) == 2  # a completion without an answer never reaches the judge
    assert log.metrics["self_verify/oracle/reward_accuracy"] == [1.0]
