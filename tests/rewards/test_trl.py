"""``rewards.trl``: urlvr rewards as plain TRL reward functions, logging through TRL's log_metric / log_extra."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import time
from collections import defaultdict

import pytest

from rewards.trl import TRLReward, intrinsic_reward, majority_vote_reward, oracle_reward, self_verify_reward, verifier_reward
from tasks.countdown import CountdownTask
from verifiers.base import Verdict

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
    """Call ``reward`` as TRL does: awaited when it is async."""
    n = len(completions)
    out = reward(prompts=["p"] * n, completions=completions, completion_ids=None,
                 **{k: [v] * n for k, v in ITEM.items()}, **log.kwargs())
    return asyncio.run(out) if inspect.isawaitable(out) else out


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
    assert reward.score(prompts=["p"], completions=["<answer>3*5+7</answer>"], **{k: [v] for k, v in ITEM.items()}) == [1.0]
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == "oracle"
    assert asyncio.run(clone(prompts=["p"], completions=["x"], **{k: [v] for k, v in ITEM.items()})) == [0.0]


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


def test_pool_backed_rewards_are_async_for_trl_and_the_rest_stay_sync():
    from trl.trainer.utils import is_async_callable

    assert is_async_callable(verifier_reward("countdown", pool=INPROCESS))
    assert is_async_callable(oracle_reward(TASK, pool=INPROCESS))
    for sync in (verifier_reward("countdown", pool=INPROCESS, concurrent=False), majority_vote_reward(TASK),
                 intrinsic_reward("self_certainty")):
        assert not is_async_callable(sync)
    reward, log = oracle_reward(TASK, pool=INPROCESS), Log()
    n = 2
    direct = reward.score(prompts=["p"] * n, completions=["<answer>3*5+7</answer>", "<answer>1</answer>"],
                          **{k: [v] * n for k, v in ITEM.items()})
    assert direct == call(reward, ["<answer>3*5+7</answer>", "<answer>1</answer>"], log) == [1.0, 0.0]


class SlowPoolStandIn:
    """Stand-in for a VerifierPool (named as such): each batch sleeps ``seconds``, then says correct."""

    def __init__(self, seconds):
        self.seconds = seconds

    def verify_batch(self, items, completions):
        time.sleep(self.seconds)
        return [Verdict.correct("stand-in")] * len(completions)

    def stats(self):
        return {}

    def close(self):
        pass


def test_async_rewards_and_a_sync_shadow_overlap_the_slow_pool_call():
    """Two pool-backed rewards whose batches take 0.6 s each finish together in about 0.6 s under TRL's gather,
    and a slow sync shadow (0.6 s) runs while the pool call is in its worker thread."""
    a, b = oracle_reward(TASK, pool=INPROCESS), oracle_reward(TASK, pool=INPROCESS)
    for r in (a, b):
        r.reward._pool = SlowPoolStandIn(0.6)
    shadow = majority_vote_reward(TASK).reward
    slow_shadow = type("SlowShadow", (), {"name": "slow", "needs_policy_stats": False,
                                          "__call__": lambda self, **kw: time.sleep(0.6) or shadow(**kw),
                                          "close": lambda self: None})()
    b.shadow = slow_shadow
    args = {"prompts": ["p", "p"], "completions": ["<answer>3*5+7</answer>"] * 2, **{k: [v] * 2 for k, v in ITEM.items()}}

    async def both():
        return await asyncio.gather(a(**args), b(**args))

    start = time.perf_counter()
    assert asyncio.run(both()) == [[1.0, 1.0], [1.0, 1.0]]
    assert time.perf_counter() - start < 1.1  # one 0.6 s wait, not three (1.8 s) or two
