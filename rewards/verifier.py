"""Verifier-backed rewards: every call goes through a VerifierPool, in one batch per step."""

from __future__ import annotations

from collections.abc import Sequence
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
        items = rows_from_columns(len(completions), columns)
        texts = [completion_text(c) for c in completions]
        verdicts = self.pool.verify_batch(items, texts)
        for v in verdicts:
            self.counts[v.status] += 1
        self.last_verdicts = verdicts
        return verdicts

    def __call__(self, prompts, completions, completion_ids=None, **columns) -> list[float | None]:
        return [v.score for v in self.verdicts(prompts, completions, **columns)]

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
