"""Drop-in reward functions for a plain TRL ``GRPOTrainer`` script: one obvious call per reward.

>>> from rewards.trl import oracle_reward, verifier_reward, intrinsic_reward
>>> trainer = GRPOTrainer(model, reward_funcs=[verifier_reward("countdown")], train_dataset=rows, ...)

Each call returns a :class:`TRLReward`: a picklable callable with ``__name__``, taking TRL's keyword arguments
(dataset columns, ``log_metric``, ``log_extra``); async for the rewards that call a verifier pool
(:class:`AsyncTRLReward`: TRL runs those concurrently; its ``score`` is the sync form). After every call it reports its counters (correct, incorrect,
error, timeout, pool latency) through TRL's public ``log_metric``, and, when given a ``shadow`` reward (the oracle,
say), it scores the same rollouts with it and logs the agreement and the shadow's scores (``log_extra``) without
training on them. Intrinsic rewards need the policy's per-token statistics: train them with a trainer class
that mixes in ``trainer.policy_stats.PolicyStatsMixin`` (see ``examples/train_with_trl.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from rewards.base import Reward, group_indices
from rewards.diagnostics import group_diagnostics
from rewards.verifier import scores_async
from tasks import make_task
from tasks.base import Task

DEFAULT_POOL = {"backend": "local", "workers": 1}
"""Process-isolated verification with a hard per-item timeout: safe for any verifier, needs no Ray."""

INTRINSIC = ("self_certainty", "token_entropy", "trajectory_entropy", "probability")


class TRLReward:
    """A urlvr reward as a TRL reward function, with its counters and shadow agreement sent to TRL's logs."""

    def __init__(self, reward: Reward, shadow: Reward | None = None):
        self.reward = reward
        self.shadow = shadow

    @property
    def __name__(self) -> str:
        return self.reward.name

    @property
    def needs_policy_stats(self) -> bool:
        return self.reward.needs_policy_stats or bool(self.shadow and self.shadow.needs_policy_stats)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Sequence[Any] | None = None,
                 **kwargs: Any) -> list[float | None]:
        args = {"prompts": prompts, "completions": completions, "completion_ids": completion_ids, **kwargs}
        scores = self.reward(**args)
        truth = self.shadow(**args) if self.shadow is not None else None
        return self._logged(prompts, scores, truth, kwargs)

    def _logged(self, prompts, scores, truth, kwargs: dict[str, Any]) -> list[float | None]:
        """Send the shadow's agreement and the reward's counters to TRL's logs; return the scores."""
        log_metric, log_extra = kwargs.get("log_metric"), kwargs.get("log_extra")
        if truth is not None:
            self._log_agreement(prompts, scores, truth, log_metric, log_extra)
        if log_metric is not None:
            for key, value in self.reward.metrics().items():
                log_metric(f"{self.__name__}/{key}", value)
        return scores

    def _log_agreement(self, prompts, scores, truth, log_metric, log_extra) -> None:
        groups = group_indices(prompts)
        size = len(groups[0]) if groups and all(len(g) == len(groups[0]) for g in groups) else 1
        diag = group_diagnostics(scores, truth, size, binary=self.reward.binary or None)
        if log_metric is not None:
            for key, value in diag.items():
                if value is not None:
                    log_metric(f"{self.__name__}/{self.shadow.name}/{key}", float(value))
        if log_extra is not None:
            log_extra(f"{self.shadow.name}_for_{self.__name__}", list(truth))

    def close(self) -> None:
        self.reward.close()
        if self.shadow is not None:
            self.shadow.close()


class AsyncTRLReward(TRLReward):
    """A pool-backed reward as an *async* TRL reward function: TRL gathers async reward functions concurrently,
    so the batched verifier call (in a worker thread) overlaps the step's other rewards; a pool-backed shadow
    runs beside it, any other shadow on the caller's thread meanwhile. ``score`` is the same, called directly."""

    async def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],
                       completion_ids: Sequence[Any] | None = None, **kwargs: Any) -> list[float | None]:
        args = {"prompts": prompts, "completions": completions, "completion_ids": completion_ids, **kwargs}
        main = asyncio.ensure_future(self.reward.ascore(**args))
        await asyncio.sleep(0)  # let it hand its pool call to a worker thread before a sync shadow holds this one
        truth = None
        if self.shadow is not None:
            truth = await self.shadow.ascore(**args) if scores_async(self.shadow) else self.shadow(**args)
        return self._logged(prompts, await main, truth, kwargs)

    def score(self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Sequence[Any] | None = None,
              **kwargs: Any) -> list[float | None]:
        """The scores, synchronously (outside TRL, or from a running event loop's worker thread)."""
        return TRLReward.__call__(self, prompts, completions, completion_ids, **kwargs)


def _wrap(reward: Reward, shadow: Reward | None, concurrent: bool) -> TRLReward:
    return AsyncTRLReward(reward, shadow) if concurrent and scores_async(reward) else TRLReward(reward, shadow)


def _task(task: Task | str | None, task_config: Mapping[str, Any] | None) -> Task | None:
    if task is None or isinstance(task, Task):
        return task
    return make_task(task, dict(task_config or {}))


def _build(name: str, config: Mapping[str, Any], task: Task | None, pool: Mapping[str, Any] | None) -> Reward:
    from rewards import REWARDS

    return REWARDS.get(name)({"name": name, **config}, task, pool=dict(pool or DEFAULT_POOL))


def verifier_reward(verifier: str, options: Mapping[str, Any] | None = None, *, shadow: Reward | TRLReward | None = None,
                    pool: Mapping[str, Any] | None = None, concurrent: bool = True) -> TRLReward:
    """Score with any registered verifier (``python -m verifiers list``); its item fields come from the dataset.

    An async TRL reward function (:class:`AsyncTRLReward`) unless ``concurrent=False``.
    """
    reward = _build("verifier", {"verifier": verifier, "options": dict(options or {})}, None, pool)
    return _wrap(reward, _unwrap(shadow), concurrent)


def oracle_reward(task: Task | str, task_config: Mapping[str, Any] | None = None, *,
                  pool: Mapping[str, Any] | None = None, concurrent: bool = True) -> TRLReward:
    """The task's ground-truth verifier (``oracle_reward("countdown")``), 1 for a correct answer, else 0; async
    as ``verifier_reward`` is."""
    return _wrap(_build("oracle", {}, _task(task, task_config), pool), None, concurrent)


def self_verify_reward(task: Task | str, judge: Any, task_config: Mapping[str, Any] | None = None, *,
                       shadow: Reward | TRLReward | None = None, **options: Any) -> TRLReward:
    """The policy (or any judge: a callable from prompts to replies) checks each answer with a verification prompt."""
    from rewards import REWARDS

    cls = REWARDS.get("self_verify")
    reward = cls({"name": "self_verify", **options}, _task(task, task_config), judge=judge)
    return TRLReward(reward, _unwrap(shadow))


def intrinsic_reward(name: str, *, shadow: Reward | TRLReward | None = None) -> TRLReward:
    """One of the intrinsic baselines (``self_certainty`` ...); train with ``PolicyStatsMixin`` in the trainer."""
    if name not in INTRINSIC:
        raise ValueError(f"unknown intrinsic reward {name!r}; valid choices: {', '.join(INTRINSIC)}")
    return TRLReward(_build(name, {}, None, None), _unwrap(shadow))


def majority_vote_reward(task: Task | str, task_config: Mapping[str, Any] | None = None) -> TRLReward:
    """1 for rollouts whose answer agrees with their group's majority (TTRL-style)."""
    return TRLReward(_build("majority_vote", {}, _task(task, task_config), None))


def _unwrap(reward: Reward | TRLReward | None) -> Reward | None:
    return reward.reward if isinstance(reward, TRLReward) else reward
