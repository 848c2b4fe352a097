"""Verifier-backed rewards: every call goes through a VerifierPool, in one batch per step.

Scoring has a sync form (``reward(...)``) and an async one (:meth:`VerifierReward.ascore`), which runs the same
batched pool call in a worker thread so that other rewards and the rest of the step go on meanwhile.
:class:`AsyncReward` is the async form as a TRL reward function (TRL gathers async reward functions concurrently).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

from pydantic import Field

from rewards.base import Reward, RewardConfig, completion_text, rows_from_columns
from verifiers.base import Verdict
from verifiers.pool import PoolOptions, VerifierPool

POOL_COUNTERS = frozenset({"calls", "items", "errors", "timeouts", "worker_restarts", "actor_restarts", "retried_batches"})
"""Pool figures that count events: logged per step (since the last log), with a ``_total`` beside each."""


class VerifierRewardConfig(RewardConfig):
    """A registered verifier used as the reward."""

    verifier: str = Field(description="Registry name of the verifier (see `python -m verifiers list`).")
    options: dict[str, Any] = Field(default_factory=dict, description="The verifier's own config (validated by it).")


class OracleRewardConfig(RewardConfig):
    """The task's own ground-truth verifier."""

    format_score: float | None = Field(default=None, ge=0.0, le=1.0, description="Score for a well-formed but wrong answer, if the verifier supports it.")


class VerifierReward(Reward):
    """Scores rollouts with a registered verifier; error/timeout verdicts become None (masked)."""

    name = "verifier"
    Config = VerifierRewardConfig
    binary = True

    def __init__(self, config, task, **options: Any):
        super().__init__(config, task, **options)
        self._pool: VerifierPool | None = None
        self._pool_totals: dict[str, float] = {}
        self.last_verdicts: list[Verdict] = []

    def verifier_name(self) -> str:
        return self.config.verifier

    def verifier_config(self) -> dict[str, Any]:
        return dict(self.config.options)

    @property
    def pool(self) -> VerifierPool:
        if self._pool is None:  # options["pool"]: a PoolOptions, or a mapping of its fields
            options = self.options.get("pool", {})
            options = options if isinstance(options, PoolOptions) else PoolOptions.model_validate(options)
            self._pool = options.make(self.verifier_name(), self.verifier_config())
        return self._pool

    def verdicts(self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[Verdict]:
        """One verdict per rollout, from one batched pool call."""
        pool, items, texts = self._batch(completions, columns)
        return self._record(pool.verify_batch(items, texts))

    def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        return self.scores(prompts, completions, self.verdicts(prompts, completions, **columns))

    def scores(self, prompts: Sequence[Any], completions: Sequence[Any], verdicts: list[Verdict]) -> list[float | None]:
        """The rewards for these verdicts (their scores; a subclass may transform them)."""
        return [v.score for v in verdicts]

    def ascore(self, prompts, completions, completion_ids=None, **columns) -> Awaitable[list[float | None]]:
        """The scores as an awaitable: the pool (made here, on the calling thread, if it is new) and the batch are
        prepared now; the one batched pool call, with its driver-side deadline, runs in a worker thread."""
        pool, items, texts = self._batch(completions, columns)
        return self._await_scores(pool, items, texts, prompts, completions)

    async def _await_scores(self, pool: VerifierPool, items: list[dict], texts: list[str], prompts, completions) -> list[float | None]:
        verdicts = await asyncio.to_thread(pool.verify_batch, items, texts)
        return self.scores(prompts, completions, self._record(verdicts))

    def _batch(self, completions: Sequence[Any], columns: dict[str, Any]) -> tuple[VerifierPool, list[dict], list[str]]:
        return self.pool, rows_from_columns(len(completions), columns), [completion_text(c) for c in completions]

    def _record(self, verdicts: list[Verdict]) -> list[Verdict]:
        for v in verdicts:
            self.counts[v.status] += 1
        self.last_verdicts = verdicts
        return verdicts

    def metrics(self) -> dict[str, float]:
        """Outcome counts since the last call, and the pool's figures: its counters (calls, items, errors,
        timeouts, restarts) also since the last call like every other count, with ``<name>_total`` beside them;
        its rate and latency percentiles as the pool reports them."""
        out = super().metrics()
        if self._pool is not None:
            stats = self._pool.stats()
            for key, value in stats.items():
                if key in POOL_COUNTERS:
                    out[key] = value - self._pool_totals.get(key, 0.0)
                    out[f"{key}_total"] = value
                else:
                    out[key] = value
            self._pool_totals = stats
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
            self._pool_totals = {}


class OracleReward(VerifierReward):
    """Ground truth: the task's verifier (countdown checker, math equivalence, code tests), scoring 1/0."""

    name = "oracle"
    Config = OracleRewardConfig

    def verifier_name(self) -> str:
        return self.task.verifier

    def verifier_config(self) -> dict[str, Any]:
        cfg = dict(self.task.verifier_config())
        if self.config.format_score is not None:
            cfg["format_score"] = self.config.format_score
        return cfg


class AsyncReward:
    """A reward with an async form (:meth:`VerifierReward.ascore`) as an async TRL reward function."""

    def __init__(self, reward: Reward):
        self.reward = reward

    @property
    def __name__(self) -> str:  # TRL names reward columns after this
        return self.reward.name

    async def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        return await self.reward.ascore(prompts=prompts, completions=completions, completion_ids=completion_ids, **columns)


def scores_async(reward: Reward) -> bool:
    """True when the reward can score without the caller's thread (it calls a verifier pool)."""
    return callable(getattr(reward, "ascore", None))
